"""W2 buffered throughput: n ints through a channel of 1024, one producer, one consumer.

Metric: items per second. gevent's Channel has no buffer, so only gevent
Queue(1024) runs; the thread peer is queue.Queue(1024) between two threads.
"""
from __future__ import annotations

from .common import Metric, Workload, now

CAP = 1024


def _result(n, dt):
    return {"rate": n / dt, "seconds": dt}


def gochan(n):
    from gochan import chan, go, put, take

    def producer(c):
        for i in range(n):
            put(c, i)

    def driver():
        c = chan(CAP)
        t0 = now()
        done = go(producer, c)
        for _ in range(n):
            take(c)
        dt = now() - t0
        take(done)
        return dt

    return _result(n, take(go(driver)))


def gochan_naive(n):
    """W2-naive: producer and consumer both spawned from the main thread (issue #15)."""
    from gochan import chan, go, put, take

    def producer(c):
        for i in range(n):
            put(c, i)

    def consumer(c):
        t0 = now()
        for _ in range(n):
            take(c)
        return now() - t0

    c = chan(CAP)
    q = go(consumer, c)
    p = go(producer, c)
    dt = take(q)
    take(p)
    return _result(n, dt)


def raw_greenlet(n):
    from . import rawhub

    def producer(c):
        for i in range(n):
            c.put(i)

    def driver():
        c = rawhub.Chan(CAP)
        t0 = now()
        rawhub.spawn(producer, c)
        for _ in range(n):
            c.take()
        return now() - t0

    return _result(n, rawhub.run(driver))


def gevent_queue(n):
    import gevent
    from gevent.queue import Queue

    c = Queue(CAP)

    def producer():
        for i in range(n):
            c.put(i)

    t0 = now()
    g = gevent.spawn(producer)
    for _ in range(n):
        c.get()
    dt = now() - t0
    g.join()
    return _result(n, dt)


def asyncio(n):
    import asyncio as aio

    async def producer(c):
        for i in range(n):
            await c.put(i)

    async def main():
        c = aio.Queue(CAP)
        t0 = now()
        t = aio.create_task(producer(c))
        for _ in range(n):
            await c.get()
        dt = now() - t0
        await t
        return dt

    return _result(n, aio.run(main()))


def trio(n):
    import trio as tr

    async def producer(tx):
        for i in range(n):
            await tx.send(i)

    async def main():
        tx, rx = tr.open_memory_channel(CAP)
        async with tr.open_nursery() as nursery:
            t0 = now()
            nursery.start_soon(producer, tx)
            for _ in range(n):
                await rx.receive()
            dt = now() - t0
        return dt

    return _result(n, tr.run(main))


def threads(n):
    import queue
    import threading

    c = queue.Queue(CAP)

    def producer():
        for i in range(n):
            c.put(i)

    t0 = now()
    t = threading.Thread(target=producer, daemon=True)
    t.start()
    for _ in range(n):
        c.get()
    dt = now() - t0
    t.join()
    return _result(n, dt)


WORKLOAD = Workload(
    wid="w2",
    title="W2 buffered throughput, buffer 1024",
    metrics=[Metric("rate", "W2 buffered 1024 (items/s)", "/s", True)],
    contestants={
        "gochan": gochan,
        "raw_greenlet": raw_greenlet,
        "gevent_queue": gevent_queue,
        "asyncio": asyncio,
        "trio": trio,
        "threads": threads,
    },
    not_applicable={"gevent_channel": "gevent Channel has no buffer"},
    n=1_000_000,
    quick_n=100_000,
)

WORKLOAD_NAIVE = Workload(
    wid="w2_naive",
    title="W2-naive buffered throughput, both go blocks spawned from the main thread",
    metrics=[Metric("rate", "W2-naive buffered 1024 (items/s)", "/s", True)],
    contestants={"gochan": gochan_naive},
    not_applicable={c: "placement is gochan's: peers run one loop" for c in (
        "raw_greenlet", "gevent_channel", "gevent_queue", "asyncio", "trio", "threads")},
    n=1_000_000,
    quick_n=100_000,
)
