#!/usr/bin/env bash
# Installs what is missing, builds the optimised binary and starts `metrics-adapter serve` on its
# embedded default: the example application (examples/sample_app.py, two replicas) is scraped
# into the embedded storage and served through the rules in examples/rules.yaml on the HTTPS
# Kubernetes metrics API (port 6443, self-signed certificate) and the plain listener (8080).
# Extra arguments are passed to `serve`. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
export CCACHE_DIR=${CCACHE_DIR:-$PWD/build/.ccache}
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build/release --target metrics-adapter

demo=build/demo
mkdir -p "$demo"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
python3 examples/sample_app.py --port 8081 --rps 2 & pids+=($!)
python3 examples/sample_app.py --port 8082 --rps 0.5 & pids+=($!)

cat >"$demo/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: metrics-adapter
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: local
  user: {token: local}  # not checked in local mode; keeps kubectl from prompting
contexts:
- name: metrics-adapter
  context: {cluster: metrics-adapter, user: local}
current-context: metrics-adapter
KUBECONFIG

k="kubectl --kubeconfig $demo/kubeconfig get --raw"
cat <<HELP
The example application is being scraped every 5s; its metrics are served within seconds:
  $k '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/http_requests'
  $k '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/sample-app-1/http_requests'
  $k '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth'
  $k '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods'
  $k '/apis/custom.metrics.k8s.io/v1beta1'
What one request does: curl 'http://127.0.0.1:8080/debug/explain?path=/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/http_requests'
PromQL: curl 'http://127.0.0.1:8080/api/v1/query?query=rate(http_requests_total[1m])'
HELP

build/release/adapter/metrics-adapter serve --storage-path "$demo/data" \
  --scrape-config examples/scrape.yml --config examples/rules.yaml \
  --cert-dir "$demo/certs" "$@"
