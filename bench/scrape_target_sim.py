#!/usr/bin/env python3
"""Scrape target simulator for bench/scrape_load.sh.

One HTTP/1.1 server (keep-alive, any path) answering every GET with a Prometheus text exposition
of --series series: counters that grow with time, gauges that move, a histogram. Every target of
the load test points at this one port (the targets differ by a label), so a single process stands
in for a thousand exporters. The body is rendered at most once per second and shared by all the
requests of that second, so the simulator itself stays cheap.

    python3 bench/scrape_target_sim.py --port 9700 --series 500
"""
import argparse
import math

from exposition_server import serve_forever


def series_prefixes(n):
    """n (family, series text, kind) triples with realistic names and label sets."""
    out = []
    codes = ["200", "201", "400", "404", "500"]
    handlers = ["/api/v1/h%d" % i for i in range(20)]
    for h in handlers:
        for c in codes:
            out.append(("sim_requests_total", 'sim_requests_total{code="%s",handler="%s"}' % (c, h), "counter"))
    for h in handlers:
        for le in ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]:
            out.append(("sim_request_duration_seconds",
                        'sim_request_duration_seconds_bucket{handler="%s",le="%s"}' % (h, le), "bucket"))
        out.append(("sim_request_duration_seconds",
                    'sim_request_duration_seconds_sum{handler="%s"}' % h, "counter"))
        out.append(("sim_request_duration_seconds",
                    'sim_request_duration_seconds_count{handler="%s"}' % h, "counter"))
    i = 0
    while len(out) < n:
        out.append(("sim_memory_bytes", 'sim_memory_bytes{area="a%d"}' % i, "gauge"))
        i += 1
    return out[:n]


def make_render(n):
    series = series_prefixes(n)
    types = {"sim_requests_total": "counter", "sim_request_duration_seconds": "histogram",
             "sim_memory_bytes": "gauge"}

    def render(now):
        lines = []
        family = None
        for k, (fam, text, kind) in enumerate(series):
            if fam != family:
                family = fam
                lines.append("# HELP %s Simulated %s.\n# TYPE %s %s\n" % (fam, fam, fam, types[fam]))
            if kind == "gauge":
                v = 1e6 + 1e5 * math.sin(now / 60.0 + k)
                lines.append("%s %.0f\n" % (text, v))
            else:
                lines.append("%s %d\n" % (text, (k % 17 + 1) * (now - 1_700_000_000)))
        return "".join(lines).encode()

    return render


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--series", type=int, default=500)
    args = ap.parse_args()
    serve_forever(args.port, make_render(args.series), backlog=2048)


if __name__ == "__main__":
    main()
