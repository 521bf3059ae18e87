#!/usr/bin/env python3
"""Pods simulator for bench/metrics_api_bench.sh.

One HTTP/1.1 server (keep-alive, any path) standing in for the pods of a cluster: every GET
answers with a Prometheus text exposition of http_requests_total for --pods pods, each series
labelled with its namespace, pod and app (pod i belongs to app "app-<i % --apps>", so a
labelSelector on app picks --pods / --apps pods), and a counter that grows at a per-pod rate. The
body is rendered at most once per second and shared by all the requests of that second.

    python3 bench/pods_sim.py --port 9700 --pods 1000 --apps 10 --namespace bench
"""
import argparse

from exposition_server import serve_forever


def make_render(pods, apps, namespace):
    series = [
        ('http_requests_total{namespace="%s",pod="pod-%d",app="app-%d"}' % (namespace, i, i % apps),
         1 + i % 7)
        for i in range(pods)
    ]

    def render(now):
        lines = ["# HELP http_requests_total Requests served by the pod.\n",
                 "# TYPE http_requests_total counter\n"]
        elapsed = now - 1_700_000_000
        for text, per_second in series:
            lines.append("%s %d\n" % (text, per_second * elapsed))
        return "".join(lines).encode()

    return render


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--apps", type=int, default=10)
    ap.add_argument("--namespace", default="bench")
    args = ap.parse_args()
    serve_forever(args.port, make_render(args.pods, args.apps, args.namespace), backlog=1024)


if __name__ == "__main__":
    main()
