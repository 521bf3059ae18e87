#!/usr/bin/env bash
# Times `metrics-adapter import openmetrics` on a generated file (default: 1,000 series x 10,000
# samples = 10M samples, counters and gauges, 15 s apart) and, when promtool is installed, the same
# file through `promtool tsdb create-blocks-from openmetrics`.
#
# Usage: bench/import_bench.sh [BINARY] [SERIES] [SAMPLES_PER_SERIES]
set -euo pipefail
binary=${1:-build/release/adapter/metrics-adapter}
series=${2:-1000}
per_series=${3:-10000}
work=$(mktemp -d /tmp/ma-import-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

python3 - "$series" "$per_series" >"$work/in.om" <<'PY'
import sys
series, per_series = int(sys.argv[1]), int(sys.argv[2])
start = 1_700_000_000
out = sys.stdout
out.write("# TYPE app_requests counter\n")
for s in range(series // 2):
    v = 0
    lines = []
    for i in range(per_series):
        v += (i * 7 + s) % 13
        lines.append(f'app_requests_total{{pod="pod-{s}",code="200"}} {v} {start + 15 * i}\n')
    out.write("".join(lines))
out.write("# TYPE app_queue_depth gauge\n")
for s in range(series - series // 2):
    lines = []
    for i in range(per_series):
        lines.append(f'app_queue_depth{{pod="pod-{s}"}} {((i * 31 + s) % 200) / 4} {start + 15 * i}\n')
    out.write("".join(lines))
out.write("# EOF\n")
PY
echo "input: $(wc -l <"$work/in.om") lines, $(du -h "$work/in.om" | cut -f1)"

echo "== metrics-adapter import openmetrics"
/usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KiB" \
  "$binary" import openmetrics "$work/in.om" --storage-path "$work/ours"
if command -v promtool >/dev/null; then
  echo "== promtool tsdb create-blocks-from openmetrics"
  /usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KiB" \
    promtool tsdb create-blocks-from openmetrics "$work/in.om" "$work/prom" >/dev/null
fi
