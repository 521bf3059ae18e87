#!/usr/bin/env python3
"""Query latency of metrics-adapter against Prometheus over the same data, through both HTTP APIs.

Generates one hour of history at 15s spacing for 10,000 series (5,000 counters, 4,000 gauges and
100 classic histograms of 8 buckets plus _sum and _count), loads it into Prometheus with
`promtool tsdb create-blocks-from openmetrics` and into metrics-adapter with
`metrics-adapter import openmetrics`, starts both servers on loopback ports and times a set of
instant and range queries over one kept-alive connection per server, alternating between the two,
taking the median of --reps repetitions after one warm-up. Prints a Markdown table: query, ours ms, prometheus ms,
ours/prometheus, and whether the answers are the same (label sets, timestamps, values within
1e-6 relative, NaN equal to NaN).

Usage:
  bench/promql_vs_prometheus.py --binary build/release/adapter/metrics-adapter [--series 10000]
      [--reps 7] [--workdir /tmp/promql-bench] [--keep]

Needs promtool and prometheus on PATH (scripts/install-deps.sh installs Debian's 2.42). Only the
Python standard library is used.
"""

import argparse
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

BASE = 1699999980  # a whole minute; samples sit 7s past each quarter minute
SAMPLES = 240       # one hour at 15s
BUCKETS = ["0.005", "0.01", "0.05", "0.1", "0.5", "2.5", "10.0", "+Inf"]


def at(minutes):
    return BASE + 60 * minutes


def generate(path, series):
    """Writes the OpenMetrics history; returns the number of series written."""
    rng = random.Random(7)
    histograms = max(1, series // 100)
    hist_series = histograms * (len(BUCKETS) + 2)
    rest = series - hist_series
    counters = rest * 5 // 9
    gauges = rest - counters
    stamps = ["%d.000" % (BASE + 7 + 15 * k) for k in range(SAMPLES)]
    with open(path, "w") as out:
        out.write("# TYPE bench_requests counter\n")
        for i in range(counters):
            labels = 'instance="i%d",path="/p%d",code="%s"' % (i % 100, i // 100 % 50,
                                                              "500" if i % 10 == 0 else "200")
            v = rng.random() * 1000
            lines = []
            for k in range(SAMPLES):
                v += rng.random() * 10
                if k == 120 and i % 7 == 0:
                    v = 0.0
                lines.append("bench_requests_total{%s} %r %s\n" % (labels, v, stamps[k]))
            out.write("".join(lines))
        out.write("# TYPE bench_gauge gauge\n")
        for i in range(gauges):
            labels = 'instance="i%d",id="g%d"' % (i % 100, i)
            lines = ["bench_gauge{%s} %r %s\n" % (labels, 50 + 40 * math.sin(k / 9 + i)
                                                  + rng.random(), stamps[k])
                     for k in range(SAMPLES)]
            out.write("".join(lines))
        out.write("# TYPE bench_duration_seconds histogram\n")
        for h in range(histograms):
            labels = 'instance="i%d"' % h
            counts = [0.0] * len(BUCKETS)
            total = 0.0
            rows = [[] for _ in range(len(BUCKETS) + 2)]
            for k in range(SAMPLES):
                for _ in range(rng.randint(1, 30)):
                    d = rng.random() ** 3 * 12
                    total += d
                    for b, bound in enumerate(BUCKETS):
                        if bound == "+Inf" or d <= float(bound):
                            counts[b] += 1
                for b, bound in enumerate(BUCKETS):
                    rows[b].append('bench_duration_seconds_bucket{%s,le="%s"} %r %s\n'
                                   % (labels, bound, counts[b], stamps[k]))
                rows[-2].append("bench_duration_seconds_sum{%s} %r %s\n" % (labels, total, stamps[k]))
                rows[-1].append("bench_duration_seconds_count{%s} %r %s\n"
                                % (labels, counts[-1], stamps[k]))
            for r in rows:
                out.write("".join(r))
        out.write("# EOF\n")
    return counters + gauges + hist_series


def queries():
    t = at(55)
    instant = [
        "bench_requests_total",
        'bench_gauge{instance="i7"}',
        "count(bench_requests_total)",
        "sum(rate(bench_requests_total[5m]))",
        "sum by (code) (rate(bench_requests_total[5m]))",
        "topk(10, rate(bench_requests_total[5m]))",
        "max by (instance) (bench_gauge)",
        "quantile(0.9, bench_gauge)",
        "avg_over_time(bench_gauge[10m])",
        "histogram_quantile(0.99, sum by (le) (rate(bench_duration_seconds_bucket[5m])))",
        "sum by (instance) (rate(bench_requests_total[5m])) / on (instance) "
        "sum by (instance) (bench_gauge)",
        "max_over_time(sum(rate(bench_requests_total[5m]))[30m30s:1m])",
    ]
    ranged = [
        "sum(rate(bench_requests_total[5m]))",
        "sum by (code) (rate(bench_requests_total[5m]))",
        "histogram_quantile(0.9, sum by (le, instance) (rate(bench_duration_seconds_bucket[5m])))",
        'rate(bench_requests_total{instance="i3"}[5m])',
        "avg by (instance) (bench_gauge)",
    ]
    # What an autoscaler asks: the latest values, at the end of the data.
    latest = [
        'bench_gauge{instance="i7"}',
        "max by (instance) (bench_gauge)",
        "count(bench_requests_total)",
        "sum by (instance) (rate(bench_requests_total[2m]))",
    ]
    out = []
    for q in instant:
        out.append(("instant", q, "/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": t})))
    for q in latest:
        out.append(("instant at end", q,
                    "/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": at(60)})))
    for q in ranged:
        out.append(("range 1h/60s", q, "/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": q, "start": at(5), "end": at(60), "step": "60"})))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, target, timeout=300):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, target), timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class KeepAliveClient:
    """One persistent HTTP/1.1 connection, read with as little client work as possible.

    urllib spends about half a millisecond per request of its own (a new connection, header
    parsing), as much as a small query takes on either server; this client sends a prepared
    request over a kept-alive socket and reads the body by Content-Length or chunked encoding,
    so the figures are the servers' time rather than the client's.
    """

    def __init__(self, port):
        self.port = port
        self.sock = None
        self.buf = b""

    def _connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=300)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def _read_until(self, marker):
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(marker):]
                return out
            self._fill()

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def get(self, target):
        if self.sock is None:
            self._connect()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                           % (target, self.port)).encode())
        head = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self._read_until(b"\r\n")
                    break
                parts.append(self._read_exact(size))
                self._read_exact(2)
            body = b"".join(parts)
        else:
            body = self._read_exact(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.sock.close()
            self.sock = None
        return status, body


def wait_ready(port, proc, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if get(port, "/-/ready", timeout=5)[0] == 200:
                return True
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            pass
        time.sleep(0.5)
    return False


def value(s):
    return float(s.replace("Inf", "inf"))


def canonical(body):
    doc = json.loads(body)
    if doc.get("status") != "success":
        return ("error", doc.get("errorType"))
    data = doc["data"]
    kind, result = data["resultType"], data["result"]
    if kind in ("scalar", "string"):
        return (kind, [("", [tuple(result)])])
    series = []
    for s in result:
        key = tuple(sorted(s["metric"].items()))
        points = [s["value"]] if kind == "vector" else s["values"]
        series.append((key, [(p[0], p[1]) for p in points]))
    return (kind, sorted(series))


def same(a, b):
    if a[0] != b[0] or a[0] == "error":
        return a == b
    if len(a[1]) != len(b[1]):
        return False
    for (ka, pa), (kb, pb) in zip(a[1], b[1]):
        if ka != kb or len(pa) != len(pb):
            return False
        for (ta, va), (tb, vb) in zip(pa, pb):
            if ta != tb:
                return False
            if a[0] == "string":
                if va != vb:
                    return False
                continue
            x, y = value(va), value(vb)
            if math.isnan(x) or math.isnan(y):
                if not (math.isnan(x) and math.isnan(y)):
                    return False
            elif abs(x - y) > 1e-6 * max(abs(x), abs(y)) + 1e-12:
                return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.environ.get("MA_BINARY", "build/release/adapter/metrics-adapter"))
    parser.add_argument("--series", type=int, default=10000)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    for tool in ("promtool", "prometheus"):
        if shutil.which(tool) is None:
            sys.exit("%s is not on PATH (scripts/install-deps.sh installs it)" % tool)
    if not os.access(args.binary, os.X_OK):
        sys.exit("metrics-adapter binary not found: %s (use --binary)" % args.binary)

    work = args.workdir or tempfile.mkdtemp(prefix="promql-bench-")
    os.makedirs(work, exist_ok=True)
    procs = []
    try:
        data = os.path.join(work, "data.om")
        t0 = time.time()
        n = generate(data, args.series)
        print("generated %d series x %d samples in %.1fs" % (n, SAMPLES, time.time() - t0),
              file=sys.stderr)
        prom_dir, our_dir = os.path.join(work, "prometheus"), os.path.join(work, "ours")
        for d in (prom_dir, our_dir):
            shutil.rmtree(d, ignore_errors=True)
        t0 = time.time()
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", data, prom_dir],
                       check=True, stdout=subprocess.DEVNULL)
        print("promtool backfill: %.1fs" % (time.time() - t0), file=sys.stderr)
        t0 = time.time()
        subprocess.run([args.binary, "import", "openmetrics", data, "--storage-path", our_dir],
                       check=True, stdout=subprocess.DEVNULL)
        print("metrics-adapter import: %.1fs" % (time.time() - t0), file=sys.stderr)

        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\nscrape_configs: []\n")
        prom_port, our_port = free_port(), free_port()
        prom_log = open(os.path.join(work, "prometheus.log"), "w")
        our_log = open(os.path.join(work, "ours.log"), "w")
        procs.append(subprocess.Popen(
            ["prometheus", "--config.file=" + config, "--storage.tsdb.path=" + prom_dir,
             "--web.listen-address=127.0.0.1:%d" % prom_port, "--storage.tsdb.retention.time=100y"],
            stdout=prom_log, stderr=subprocess.STDOUT))
        procs.append(subprocess.Popen(
            [args.binary, "serve", "--storage-path", our_dir, "--retention", "100y",
             "--http-listen-address", "127.0.0.1:%d" % our_port, "--secure-port", "0"],
            stdout=our_log, stderr=subprocess.STDOUT))
        if not wait_ready(prom_port, procs[0], 300):
            sys.exit("prometheus did not become ready; see %s/prometheus.log" % work)
        if not wait_ready(our_port, procs[1], 300):
            sys.exit("metrics-adapter did not become ready; see %s/ours.log" % work)

        clients = {our_port: KeepAliveClient(our_port), prom_port: KeepAliveClient(prom_port)}
        # The round trip of a request that does no work, on each server: the part of every
        # figure below that is loopback, scheduling and this client rather than the query.
        floor = {}
        for port in (our_port, prom_port):
            samples = []
            for _ in range(200):
                start = time.perf_counter()
                clients[port].get("/-/healthy")
                samples.append((time.perf_counter() - start) * 1000)
            floor[port] = statistics.median(samples)
        print("round trip of /-/healthy (no query): ours %.2f ms, prometheus %.2f ms\n"
              % (floor[our_port], floor[prom_port]))
        print("| query | kind | ours ms | prometheus ms | ours/prometheus | identical |")
        print("|---|---|---:|---:|---:|---|")
        for kind, q, target in queries():
            times = {our_port: [], prom_port: []}
            bodies = {}
            for rep in range(args.reps + 1):
                for port in ((our_port, prom_port) if rep % 2 == 0 else (prom_port, our_port)):
                    start = time.perf_counter()
                    status, body = clients[port].get(target)
                    elapsed = (time.perf_counter() - start) * 1000
                    if rep > 0:
                        times[port].append(elapsed)
                    bodies[port] = (status, body)
            ours_ms = statistics.median(times[our_port])
            prom_ms = statistics.median(times[prom_port])
            try:
                identical = same(canonical(bodies[our_port][1]), canonical(bodies[prom_port][1]))
            except (ValueError, KeyError) as e:
                identical = False
                print("  %s: cannot compare: %s" % (q, e), file=sys.stderr)
            print("| `%s` | %s | %.1f | %.1f | %.2f | %s |" % (
                q.replace("|", "\\|"), kind, ours_ms, prom_ms, ours_ms / prom_ms if prom_ms else 0,
                "yes" if identical else "NO"))
            sys.stdout.flush()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
