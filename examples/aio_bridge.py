"""go blocks fan out requests through an asyncio client to an asyncio server; results come back on channels.

Both directions of `gochan.aio`, with the standard library only:
- go blocks call `aio.await_(ask(...))`: each parks (its hub keeps running
  the others) while the asyncio client runs on gochan's own loop;
- a coroutine drains the results channel with `async for`, started with
  `aio.spawn`, whose result channel the main thread takes from.

    python examples/aio_bridge.py [--n 50]
"""
from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any, Dict, Tuple

from gochan import Chan, aio, chan, close, go, put, take


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The server: answers each line with its upper case, after a little (asynchronous) work."""
    while line := await reader.readline():
        await asyncio.sleep(0.01)
        writer.write(line.upper())
        await writer.drain()
    writer.close()


async def ask(port: int, text: str) -> str:
    """The client: one connection, one request, one reply."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(text.encode() + b"\n")
    await writer.drain()
    reply = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return reply.decode().strip()


async def collect(results: "Chan[Tuple[int, str]]") -> Dict[int, str]:
    """A coroutine reading a channel: takes until the channel is closed."""
    return {i: reply async for i, reply in results}


def main(n: int) -> Dict[int, str]:
    # start_server runs on gochan's own asyncio loop; this thread waits for it
    server = aio.await_(asyncio.start_server(handle, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    results: Chan[Tuple[int, str]] = chan(8)
    collected = aio.spawn(collect(results))

    def worker(i: int) -> None:
        put(results, (i, aio.await_(ask(port, f"request {i}"))))

    workers = [go(worker, i) for i in range(n)]
    for w in workers:
        take(w)  # each go block's channel closes when it is done
    close(results)
    got: Any = take(collected)
    server.close()
    aio.await_(server.wait_closed())
    return got  # type: ignore[no-any-return]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="requests, one go block each")
    args = parser.parse_args()
    t0 = time.perf_counter()
    replies = main(args.n)
    ms = (time.perf_counter() - t0) * 1000
    assert replies == {i: f"REQUEST {i}" for i in range(args.n)}, replies
    print(f"{len(replies)} replies in {ms:.0f} ms, e.g. {replies[0]!r}")
