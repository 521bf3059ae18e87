#!/usr/bin/env python3
"""A small web application that exposes Prometheus metrics, to be scraped by metrics-adapter.

It plays the role of prometheus-adapter's walkthrough app: every request to / counts in
http_requests_total, and a background loop adds --rps simulated requests per second so that
there is something to scale on without a load generator. It also reports its own CPU time and
memory as a container runtime would (container_cpu_usage_seconds_total,
container_memory_working_set_bytes), which the resource metrics rules turn into `kubectl top`
numbers, and a queue_depth gauge for the external metrics API.

    examples/sample_app.py --port 8081 --rps 2.5
"""
import argparse
import os
import resource
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
requests_total = {"get": 0.0}
queue_depth = 0.0


def simulate(rps, depth, steady):
    global queue_depth
    start = time.monotonic()
    while True:
        time.sleep(0.25)
        with lock:
            requests_total["get"] += rps * 0.25
            if steady:
                queue_depth = depth
            else:
                # A queue that fills and drains over a minute.
                phase = (time.monotonic() - start) % 60
                queue_depth = depth * (phase / 30 if phase < 30 else (60 - phase) / 30)


def rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/metrics":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            with lock:
                lines = [
                    "# HELP http_requests_total Requests served.",
                    "# TYPE http_requests_total counter",
                ]
                for method, value in requests_total.items():
                    lines.append('http_requests_total{method="%s"} %.3f' % (method, value))
                lines += [
                    "# HELP queue_depth Jobs waiting in the work queue.",
                    "# TYPE queue_depth gauge",
                    'queue_depth{queue="jobs"} %.1f' % queue_depth,
                    "# HELP container_cpu_usage_seconds_total CPU time used by the container.",
                    "# TYPE container_cpu_usage_seconds_total counter",
                    'container_cpu_usage_seconds_total{container="app"} %.6f'
                    % (usage.ru_utime + usage.ru_stime),
                    "# HELP container_memory_working_set_bytes Working set of the container.",
                    "# TYPE container_memory_working_set_bytes gauge",
                    'container_memory_working_set_bytes{container="app"} %d' % rss_bytes(),
                ]
            body = ("\n".join(lines) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        else:
            with lock:
                requests_total["get"] += 1
            body = b"hello\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--rps", type=float, default=1.0, help="simulated requests per second")
    parser.add_argument("--queue-depth", type=float, default=40.0, help="peak queue depth")
    parser.add_argument(
        "--steady-queue", action="store_true", help="keep queue_depth at --queue-depth"
    )
    args = parser.parse_args()
    threading.Thread(
        target=simulate, args=(args.rps, args.queue_depth, args.steady_queue), daemon=True
    ).start()
    ThreadingHTTPServer((args.address, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
