#!/usr/bin/python3
"""A TCP proxy on loopback that adds a fixed delay in each direction.

Every chunk read from one side is written to the other DELAY ms after it
arrived, whatever else is in flight: a delay line, so that a round trip
costs 2 x DELAY while the throughput is not limited by it (like a long
link, not a slow one). Connection opens are delayed too (the TCP
handshake's round trip), and a close is passed on after the data before
it. TLS goes through untouched."""
import argparse
import asyncio
import time


async def pump(reader, writer, delay):
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    task = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(256 * 1024)
            queue.put_nowait((time.monotonic() + delay, data or None))
            if not data:
                break
    except (ConnectionError, OSError):
        queue.put_nowait((time.monotonic() + delay, None))
    try:
        await task
    except (ConnectionError, OSError):
        pass


async def handle(creader, cwriter, target, delay):
    await asyncio.sleep(delay * 2)
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pump(creader, swriter, delay),
                         pump(sreader, cwriter, delay))
    for w in (cwriter, swriter):
        try:
            w.close()
        except OSError:
            pass


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--target", type=int, required=True)
    p.add_argument("--delay-ms", type=float, default=0)
    args = p.parse_args()
    delay = args.delay_ms / 1000.0
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args.target, delay), "127.0.0.1", args.listen,
        backlog=512)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
