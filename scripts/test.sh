#!/usr/bin/env bash
# Installs what is missing, builds the project twice (optimised, and with ASan+UBSan) and runs
# every test in both builds. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
jobs=$(nproc)
export CCACHE_DIR=${CCACHE_DIR:-$PWD/build/.ccache}

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build/release -j "$jobs"
ctest --test-dir build/release --output-on-failure -j "$jobs"

cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMA_SANITIZE=ON -DMA_BENCH=OFF
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs" -LE no-sanitizer

# Parsers under libFuzzer (clang-14): a short run of every fuzz target from its seed corpus.
CC=clang-14 CXX=clang++-14 cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DMA_FUZZ=ON -DMA_BENCH=OFF
fuzzers=$(cd tests/fuzz && ls ./*_fuzz.cc | xargs -n1 basename | sed 's/\.cc$//')
# shellcheck disable=SC2086
cmake --build build/fuzz -j "$jobs" --target $fuzzers
for f in $fuzzers; do
  corpus=build/fuzz/corpus/$f
  mkdir -p "$corpus"
  if [ -d "tests/fuzz/corpus/$f" ]; then cp -r "tests/fuzz/corpus/$f/." "$corpus/"; fi
  echo "fuzzing $f for ${FUZZ_SECONDS:-30}s"
  "build/fuzz/tests/fuzz/$f" -max_total_time="${FUZZ_SECONDS:-30}" -print_final_stats=0 "$corpus" \
    2>"build/fuzz/$f.log" || { tail -50 "build/fuzz/$f.log"; exit 1; }
done
echo "all tests passed"
