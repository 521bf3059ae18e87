#!/usr/bin/env python3
"""Peak memory of single PromQL queries in metrics-adapter, against the memory holding the store.

Loads the history of bench/promql_vs_prometheus.py (one hour at 15s, 10,000 series by default)
with `metrics-adapter import openmetrics`, then for each query starts a fresh `metrics-adapter
serve` on it, waits until it is ready, resets the kernel's peak-RSS mark (/proc/PID/clear_refs),
runs the query once over HTTP and reads the peak (VmHWM) back. A fresh process per query keeps
memory that the allocator retained from an earlier query out of the figure.

Prints a Markdown table: query, kind, series it selects, samples it reads, result bytes, and the
peak RSS above the ready server's RSS, next to that RSS (the store, the index and the server).
The point: a query's memory follows what it selects and returns, not the size of the store.

Usage:
  bench/query_memory.py --binary build/release/adapter/metrics-adapter [--series 10000]
      [--workdir DIR] [--keep]

Linux only (reads /proc). Only the Python standard library is used.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

from promql_vs_prometheus import SAMPLES, KeepAliveClient, at, free_port, generate, wait_ready


def queries():
    """(kind, expression, target, the selector inside it, minutes of samples it reads)."""
    t = at(55)
    instant = {"query": None, "time": t}
    ranged = {"query": None, "start": at(5), "end": at(60), "step": "60"}
    out = []
    for q, kind, selector, window_minutes in [
        ('bench_gauge{instance="i7"}', "instant", 'bench_gauge{instance="i7"}', 5),
        ('rate(bench_requests_total{instance="i3"}[5m])', "range 55m/60s",
         'bench_requests_total{instance="i3"}', 60),
        ("sum(rate(bench_requests_total[5m]))", "instant", "bench_requests_total", 5),
        ("sum(rate(bench_requests_total[5m]))", "range 55m/60s", "bench_requests_total", 60),
        ("bench_requests_total", "range 55m/60s", "bench_requests_total", 60),
        ('count({__name__=~"bench_.+"})', "instant", '{__name__=~"bench_.+"}', 5),
    ]:
        params = dict(instant if kind == "instant" else ranged)
        params["query"] = q
        path = "/api/v1/query" if kind == "instant" else "/api/v1/query_range"
        out.append((kind, q, path + "?" + urllib.parse.urlencode(params), selector,
                    window_minutes))
    return out


def proc_status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("%s not in /proc/%d/status" % (field, pid))


def series_count(client, selector):
    """How many series selector matches."""
    status, body = client.get("/api/v1/query?" + urllib.parse.urlencode(
        {"query": "count(%s)" % selector, "time": at(55)}))
    result = json.loads(body)["data"]["result"]
    return int(result[0]["value"][1]) if status == 200 and result else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.environ.get("MA_BINARY",
                                                           "build/release/adapter/metrics-adapter"))
    parser.add_argument("--series", type=int, default=10000)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit("metrics-adapter binary not found: %s (use --binary)" % args.binary)

    work = args.workdir or tempfile.mkdtemp(prefix="query-memory-")
    os.makedirs(work, exist_ok=True)
    try:
        data = os.path.join(work, "data.om")
        n = generate(data, args.series)
        store = os.path.join(work, "ours")
        shutil.rmtree(store, ignore_errors=True)
        subprocess.run([args.binary, "import", "openmetrics", data, "--storage-path", store],
                       check=True, stdout=subprocess.DEVNULL)
        print("%d series x %d samples\n" % (n, SAMPLES))
        print("| query | kind | series | samples read | result bytes | ready RSS MiB |"
              " query peak above it MiB |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for kind, q, target, selector, window_minutes in queries():
            port = free_port()
            log = open(os.path.join(work, "serve.log"), "w")
            proc = subprocess.Popen(
                [args.binary, "serve", "--storage-path", store, "--retention", "100y",
                 "--http-listen-address", "127.0.0.1:%d" % port, "--secure-port", "0"],
                stdout=log, stderr=subprocess.STDOUT)
            try:
                if not wait_ready(port, proc, 300):
                    sys.exit("metrics-adapter did not become ready; see %s/serve.log" % work)
                client = KeepAliveClient(port)
                series = series_count(client, selector)
                client.get("/api/v1/query?query=1")  # the connection and the engine warmed up
                time.sleep(0.2)
                with open("/proc/%d/clear_refs" % proc.pid, "w") as f:
                    f.write("5")  # resets VmHWM to the current RSS
                ready_kb = proc_status_kb(proc.pid, "VmRSS")
                status, body = client.get(target)
                if status != 200:
                    sys.exit("%s answered %d: %s" % (q, status, body[:300]))
                peak_kb = proc_status_kb(proc.pid, "VmHWM")
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            samples = series * window_minutes * 4
            print("| `%s` | %s | %d | %d | %d | %.1f | %.1f |" % (
                q.replace("|", "\\|"), kind, series, samples, len(body), ready_kb / 1024,
                max(0, peak_kb - ready_kb) / 1024))
            sys.stdout.flush()
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
