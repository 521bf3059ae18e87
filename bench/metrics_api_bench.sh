#!/usr/bin/env bash
# The Kubernetes metrics APIs under load, and the memory of the whole process.
#
# Latency: `metrics-adapter serve` scrapes PODS pods (bench/pods_sim.py: http_requests_total with
# namespace/pod/app labels, one target) every 5 s with examples/rules.yaml; once the rate window
# holds samples, a fixed-rate load generator (Python, keep-alive HTTPS connections, open loop:
# each request has an intended start time and its latency is counted from that time, so a
# stalled server is not hidden by a stalled client) sends RATE req/s of
#   GET /apis/custom.metrics.k8s.io/v1beta1/namespaces/bench/pods/*/http_requests?labelSelector=app=app-3
# (100 of the 1000 pods) for DURATION seconds and prints p50/p90/p99/max and the achieved rate.
# With wrk installed, a closed-loop run (wrk -t2 -c16) gives the peak requests/s as well.
#
# Memory: serve scrapes TARGETS targets x SERIES series (bench/scrape_target_sim.py) every 5 s;
# after SCRAPES scrapes, the VmRSS of the process and its head series count are printed.
#
#   bench/metrics_api_bench.sh [path/to/metrics-adapter]    # default: build/release/adapter/...
#   RATE=500 DURATION=30 PODS=1000 bench/metrics_api_bench.sh /tmp/b/adapter/metrics-adapter
#   ONLY=latency | ONLY=memory   run one half
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${1:-$root/build/release/adapter/metrics-adapter}
pods=${PODS:-1000}
rate=${RATE:-500}
duration=${DURATION:-30}
connections=${CONNECTIONS:-8}
targets=${TARGETS:-100}
series=${SERIES:-1000}
scrapes=${SCRAPES:-4}
only=${ONLY:-}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/ma-api-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start_serve NAME SCRAPE_CONFIG: starts serve, sets ma_pid, http_port, secure_port.
start_serve() {
  http_port=$(free_port)
  secure_port=$(free_port)
  "$bin" serve --storage-path "$work/$1-data" --http-listen-address "127.0.0.1:$http_port" \
    --secure-port "$secure_port" --bind-address 127.0.0.1 --cert-dir "$work/certs" \
    --config "$root/examples/rules.yaml" --scrape-config "$2" --log-level warn \
    2>"$work/$1-serve.log" &
  ma_pid=$!
  pids+=("$ma_pid")
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$http_port/-/ready" >/dev/null && break
    sleep 0.2
  done
  if ! kill -0 "$ma_pid" 2>/dev/null; then
    echo "metrics-adapter serve exited:" >&2
    cat "$work/$1-serve.log" >&2
    exit 1
  fi
}

stop_serve() {
  kill "$ma_pid" 2>/dev/null || true
  wait "$ma_pid" 2>/dev/null || true
}

if [[ $only != memory ]]; then
  sim_port=$(free_port)
  python3 "$here/pods_sim.py" --port "$sim_port" --pods "$pods" --apps 10 --namespace bench &
  pids+=($!)
  cat >"$work/pods.yml" <<EOF
global: {scrape_interval: 5s, scrape_timeout: 4s}
scrape_configs:
  - job_name: pods
    static_configs:
      - targets: ['127.0.0.1:$sim_port']
EOF
  sleep 1
  start_serve pods "$work/pods.yml"
  path="/apis/custom.metrics.k8s.io/v1beta1/namespaces/bench/pods/*/http_requests?labelSelector=app%3Dapp-3"
  url="https://127.0.0.1:$secure_port$path"
  echo "waiting for the rate window to fill ($pods pods scraped every 5s)..." >&2
  for _ in $(seq 1 120); do
    n=$(curl -sk "$url" | grep -o '"describedObject"' | wc -l || true)
    [[ $n -eq $((pods / 10)) ]] && break
    sleep 0.5
  done
  echo "pods=$pods items_per_response=$n response_bytes=$(curl -sk "$url" | wc -c)" \
    "load_average=$(cut -d' ' -f1-3 /proc/loadavg)"
  ticks0=$(awk '{print $14 + $15}' "/proc/$ma_pid/stat")
  python3 - "$secure_port" "$path" "$rate" "$duration" "$connections" <<'EOF'
import http.client, ssl, sys, threading, time
port, path, rate, duration, conns = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
total = int(rate * duration)
lock = threading.Lock()
state = {"next": 0}
latency, service, errors = [], [], []
t0 = time.perf_counter() + 0.5

def worker():
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
    c.connect()
    while True:
        with lock:
            i = state["next"]
            state["next"] += 1
        if i >= total:
            break
        intended = t0 + i / rate
        delay = intended - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        start = time.perf_counter()
        try:
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            status = r.status
        except Exception as e:  # count and reconnect
            status = str(e)
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
        end = time.perf_counter()
        with lock:
            latency.append(end - intended)
            service.append(end - start)
            if status != 200:
                errors.append(status)

threads = [threading.Thread(target=worker) for _ in range(conns)]
for t in threads: t.start()
for t in threads: t.join()
wall = time.perf_counter() - t0

def pct(xs, p):
    xs = sorted(xs)
    return 1000 * xs[min(len(xs) - 1, int(p / 100 * len(xs)))]

print(f"fixed rate {rate:.0f} req/s over {conns} keep-alive HTTPS connections for {duration:.0f}s: "
      f"{len(latency)} requests, {len(latency) / wall:.0f} req/s achieved, {len(errors)} errors")
for name, xs in (("latency (from intended start)", latency), ("service time (from send)", service)):
    print(f"  {name}: p50 {pct(xs, 50):.2f} ms  p90 {pct(xs, 90):.2f} ms  p99 {pct(xs, 99):.2f} ms  "
          f"max {pct(xs, 100):.2f} ms")
EOF
  ticks1=$(awk '{print $14 + $15}' "/proc/$ma_pid/stat")
  awk -v t="$((ticks1 - ticks0))" -v hz="$(getconf CLK_TCK)" -v n="$((rate * duration))" \
    -v d="$duration" 'BEGIN { printf "  serve CPU meanwhile: %.2f ms per request, %.0f%% of one core\n", 1000 * t / hz / n, 100 * t / hz / (d + 0.5) }'
  if command -v wrk >/dev/null 2>&1; then
    echo "closed loop (wrk -t2 -c16 -d${duration}s), peak throughput:"
    wrk -t2 -c16 -d"${duration}s" --latency "$url" | grep -E 'Requests/sec|Latency|50%|90%|99%|Non-2xx'
  fi
  stop_serve
fi

if [[ $only != latency ]]; then
  sim_port=$(free_port)
  python3 "$here/scrape_target_sim.py" --port "$sim_port" --series "$series" &
  pids+=($!)
  {
    echo "global: {scrape_interval: 5s, scrape_timeout: 4s}"
    echo "scrape_configs:"
    echo "  - job_name: sim"
    echo "    static_configs:"
    for ((i = 0; i < targets; i++)); do
      echo "      - targets: ['127.0.0.1:$sim_port']"
      echo "        labels: {shard: 's$i'}"
    done
  } >"$work/memory.yml"
  sleep 1
  start_serve memory "$work/memory.yml"
  echo "scraping $targets targets x $series series every 5s, $scrapes scrapes..." >&2
  sleep $((scrapes * 5 + 2))
  head_series=$(curl -s "http://127.0.0.1:$http_port/metrics" |
    awk '/^metrics_adapter_tsdb_head_series /{print $2}')
  rss_kb=$(awk '/VmRSS/{print $2}' "/proc/$ma_pid/status")
  hwm_kb=$(awk '/VmHWM/{print $2}' "/proc/$ma_pid/status")
  echo "targets=$targets series/target=$series head_series=$head_series after $scrapes scrapes:" \
    "RSS $((rss_kb / 1024)) MiB (peak $((hwm_kb / 1024)) MiB)"
  stop_serve
fi
