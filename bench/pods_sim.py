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
import asyncio
import time


class Exposition:
    def __init__(self, pods, apps, namespace):
        self.series = [
            ('http_requests_total{namespace="%s",pod="pod-%d",app="app-%d"}' % (namespace, i, i % apps),
             1 + i % 7)
            for i in range(pods)
        ]
        self.second = None
        self.body = b""

    def render(self):
        now = int(time.time())
        if now == self.second:
            return self.body
        lines = ["# HELP http_requests_total Requests served by the pod.\n",
                 "# TYPE http_requests_total counter\n"]
        elapsed = now - 1_700_000_000
        for text, per_second in self.series:
            lines.append("%s %d\n" % (text, per_second * elapsed))
        self.body = "".join(lines).encode()
        self.second = now
        return self.body


async def serve(reader, writer, expo):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            body = expo.render()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body))
            writer.write(body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--apps", type=int, default=10)
    ap.add_argument("--namespace", default="bench")
    args = ap.parse_args()
    expo = Exposition(args.pods, args.apps, args.namespace)
    server = await asyncio.start_server(lambda r, w: serve(r, w, expo), "127.0.0.1", args.port,
                                        backlog=1024, limit=1 << 16)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
