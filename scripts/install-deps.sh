#!/usr/bin/env bash
# Installs, with apt-get, every Debian bookworm package the build and the tests need.
# Idempotent: packages already present are left alone, so a second run is quick.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache clang-14 libclang-rt-14-dev clang-format
  # libraries
  libboost1.81-dev libboost-json1.81-dev libssl-dev libyaml-cpp-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libre2-dev libabsl-dev libsnappy-dev zlib1g-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # real peers used by the tests
  prometheus prometheus-node-exporter curl time python3 openssl
  # load generator of bench/metrics_api_bench.sh
  wrk
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# kubectl is not in bookworm's main archive; it is used as a client only when present or installable.
if ! command -v kubectl >/dev/null 2>&1; then
  apt-cache show kubectl >/dev/null 2>&1 && missing+=(kubectl)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
