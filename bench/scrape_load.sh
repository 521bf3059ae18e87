#!/usr/bin/env bash
# Whole-process CPU of `metrics-adapter serve` scraping TARGETS targets of SERIES series each every
# INTERVAL, against the target simulator (bench/scrape_target_sim.py, one port, the targets differ
# by a label). Prints the CPU used over MEASURE seconds of steady state as a share of one core:
# the serve process's user + system time (all its threads, from /proc/PID/stat) divided by the
# wall time of the window, which other load on the machine does not inflate. The simulator's own
# CPU is not counted.
#
#   bench/scrape_load.sh [path/to/metrics-adapter]     # default: build/release/adapter/...
#   TARGETS=1000 SERIES=500 INTERVAL=15s MEASURE=120 bench/scrape_load.sh build/release/adapter/metrics-adapter
#   SERVE_FLAGS="--scrape-threads 1" bench/scrape_load.sh    # extra flags for serve
#
# Steady state: the measurement starts after two full intervals (the first creates the series).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build/release/adapter/metrics-adapter}
targets=${TARGETS:-1000}
series=${SERIES:-500}
interval=${INTERVAL:-15s}
measure=${MEASURE:-120}
interval_s=${interval%s}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/ma-scrape-load-XXXXXX)
sim_port=$(free_port)
ma_port=$(free_port)
cleanup() {
  [[ -n ${ma_pid:-} ]] && kill "$ma_pid" 2>/dev/null && wait "$ma_pid" 2>/dev/null || true
  [[ -n ${sim_pid:-} ]] && kill "$sim_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

python3 "$here/scrape_target_sim.py" --port "$sim_port" --series "$series" &
sim_pid=$!

{
  echo "global:"
  echo "  scrape_interval: $interval"
  echo "  scrape_timeout: $((interval_s < 10 ? interval_s : 10))s"
  echo "scrape_configs:"
  echo "  - job_name: sim"
  echo "    static_configs:"
  for ((i = 0; i < targets; i++)); do
    echo "      - targets: ['127.0.0.1:$sim_port']"
    echo "        labels: {shard: 's$i'}"
  done
} >"$work/scrape.yml"

sleep 1
"$bin" serve --storage-path "$work/data" --http-listen-address "127.0.0.1:$ma_port" \
  --secure-port 0 --scrape-config "$work/scrape.yml" --log-level warn ${SERVE_FLAGS:-} \
  2>"$work/serve.log" &
ma_pid=$!

for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$ma_port/-/ready" >/dev/null && break
  sleep 0.2
done

if ! kill -0 "$ma_pid" 2>/dev/null; then
  echo "metrics-adapter serve exited:" >&2
  cat "$work/serve.log" >&2
  exit 1
fi

warmup=$((2 * interval_s + 2))
echo "warming up for ${warmup}s ($targets targets x $series series every $interval)..." >&2
sleep "$warmup"

ticks() { awk '{print $14 + $15}' "/proc/$ma_pid/stat"; }
appended() { curl -s "http://127.0.0.1:$ma_port/metrics" | awk '/^metrics_adapter_tsdb_head_samples_appended_total /{print $2}'; }
hz=$(getconf CLK_TCK)
t0=$(date +%s.%N)
c0=$(ticks)
s0=$(appended)
sleep "$measure"
c1=$(ticks)
s1=$(appended)
t1=$(date +%s.%N)
rss_kb=$(awk '/VmRSS/{print $2}' "/proc/$ma_pid/status")
up=$(curl -s "http://127.0.0.1:$ma_port/api/v1/targets" | grep -o '"health":"up"' | wc -l)

python3 - "$c0" "$c1" "$t0" "$t1" "$hz" "$s0" "$s1" "$rss_kb" "$up" "$targets" "$series" "$interval" <<'EOF'
import sys
c0, c1, t0, t1, hz, s0, s1, rss, up, targets, series, interval = sys.argv[1:]
wall = float(t1) - float(t0)
cpu = (int(c1) - int(c0)) / int(hz)
samples = (float(s1 or 0) - float(s0 or 0)) / wall
print(f"targets={targets} series/target={series} interval={interval} targets_up={up}")
print(f"measured {wall:.1f}s: cpu {cpu:.2f}s = {100 * cpu / wall:.2f}% of one core; "
      f"{samples:.0f} samples/s appended; RSS {int(rss) / 1024:.0f} MiB")
EOF
