#!/usr/bin/env bash
# Installs what is missing, builds the optimised binary and starts `metrics-adapter serve` on its
# embedded default. Extra arguments are passed to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
export CCACHE_DIR=${CCACHE_DIR:-$PWD/build/.ccache}
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build/release --target metrics-adapter
exec build/release/metrics-adapter serve "$@"
