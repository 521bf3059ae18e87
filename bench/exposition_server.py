"""The HTTP side of the benchmark simulators (pods_sim.py, scrape_target_sim.py).

One asyncio HTTP/1.1 server (keep-alive, any path) answering every GET with a Prometheus text
exposition. The body comes from a render(now) callback called at most once per second: every
request of the same second shares it, so a single process can stand in for a thousand exporters
without becoming the bottleneck of the measurement.
"""
import asyncio
import time


class CachedBody:
    """render(second) -> bytes, re-rendered only when the wall-clock second changes."""

    def __init__(self, render):
        self.render = render
        self.second = None
        self.body = b""

    def get(self):
        now = int(time.time())
        if now != self.second:
            self.body = self.render(now)
            self.second = now
        return self.body


async def _serve(reader, writer, cached):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                break
            body = cached.get()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body))
            writer.write(body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def serve_forever(port, render, backlog=1024):
    """Serves render's expositions on 127.0.0.1:port until the process is killed."""
    cached = CachedBody(render)

    async def main():
        server = await asyncio.start_server(lambda r, w: _serve(r, w, cached), "127.0.0.1", port,
                                            backlog=backlog, limit=1 << 16)
        async with server:
            await server.serve_forever()

    asyncio.run(main())
