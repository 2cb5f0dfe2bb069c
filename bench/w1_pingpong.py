"""W1 ping-pong: two tasks pass an int back and forth over two unbuffered channels.

Metric: round trips per second. Peers use their closest rendezvous channel:
asyncio Queue(1) (asyncio has no unbuffered queue), gevent Channel and
Queue(1), trio open_memory_channel(0), queue.Queue(1) between two threads.
"""
from __future__ import annotations

from .common import Metric, Workload, now


def _result(n, dt):
    return {"rate": n / dt, "seconds": dt, "us_per_rt": dt / n * 1e6}


def gochan(n):
    from gochan import chan, go, put, take

    def ponger(a, b):
        for _ in range(n):
            put(b, take(a))

    def driver():
        a, b = chan(), chan()
        # spawned from a go block, the ponger may stay on the driver's hub
        done = go(ponger, a, b)
        t0 = now()
        for i in range(n):
            put(a, i)
            take(b)
        dt = now() - t0
        take(done)
        return dt

    return _result(n, take(go(driver)))


def gochan_naive(n):
    """W1-naive: both sides spawned from the main thread, as a user writes it first (issue #15)."""
    from gochan import chan, go, put, take

    def ping(a, b):
        t0 = now()
        for i in range(n):
            put(a, i)
            take(b)
        return now() - t0

    def pong(a, b):
        for _ in range(n):
            put(b, take(a))

    a, b = chan(), chan()
    p = go(ping, a, b)
    q = go(pong, a, b)
    dt = take(p)
    take(q)
    return _result(n, dt)


def raw_greenlet(n):
    from . import rawhub

    def ponger(a, b):
        for _ in range(n):
            b.put(a.take())

    def driver():
        a, b = rawhub.Chan(), rawhub.Chan()
        rawhub.spawn(ponger, a, b)
        t0 = now()
        for i in range(n):
            a.put(i)
            b.take()
        return now() - t0

    return _result(n, rawhub.run(driver))


def _gevent(n, make):
    import gevent

    a, b = make(), make()

    def ponger():
        for _ in range(n):
            b.put(a.get())

    g = gevent.spawn(ponger)
    t0 = now()
    for i in range(n):
        a.put(i)
        b.get()
    dt = now() - t0
    g.join()
    return _result(n, dt)


def gevent_channel(n):
    from gevent.queue import Channel
    return _gevent(n, Channel)


def gevent_queue(n):
    from gevent.queue import Queue
    return _gevent(n, lambda: Queue(1))


def asyncio(n):
    import asyncio as aio

    async def ponger(a, b):
        for _ in range(n):
            await b.put(await a.get())

    async def main():
        a, b = aio.Queue(1), aio.Queue(1)
        t = aio.create_task(ponger(a, b))
        t0 = now()
        for i in range(n):
            await a.put(i)
            await b.get()
        dt = now() - t0
        await t
        return dt

    return _result(n, aio.run(main()))


def trio(n):
    import trio as tr

    async def ponger(arx, btx):
        for _ in range(n):
            await btx.send(await arx.receive())

    async def main():
        atx, arx = tr.open_memory_channel(0)
        btx, brx = tr.open_memory_channel(0)
        async with tr.open_nursery() as nursery:
            nursery.start_soon(ponger, arx, btx)
            t0 = now()
            for i in range(n):
                await atx.send(i)
                await brx.receive()
            dt = now() - t0
        return dt

    return _result(n, tr.run(main))


def threads(n):
    import queue
    import threading

    a, b = queue.Queue(1), queue.Queue(1)

    def ponger():
        for _ in range(n):
            b.put(a.get())

    t = threading.Thread(target=ponger, daemon=True)
    t.start()
    t0 = now()
    for i in range(n):
        a.put(i)
        b.get()
    dt = now() - t0
    t.join()
    return _result(n, dt)


WORKLOAD = Workload(
    wid="w1",
    title="W1 ping-pong, unbuffered",
    metrics=[Metric("rate", "W1 ping-pong (round trips/s)", "/s", True)],
    contestants={
        "gochan": gochan,
        "raw_greenlet": raw_greenlet,
        "gevent_channel": gevent_channel,
        "gevent_queue": gevent_queue,
        "asyncio": asyncio,
        "trio": trio,
        "threads": threads,
    },
    n=100_000,
    quick_n=10_000,
)

WORKLOAD_NAIVE = Workload(
    wid="w1_naive",
    title="W1-naive ping-pong, both go blocks spawned from the main thread",
    metrics=[Metric("rate", "W1-naive ping-pong (round trips/s)", "/s", True)],
    contestants={"gochan": gochan_naive},
    not_applicable={c: "placement is gochan's: peers run one loop" for c in (
        "raw_greenlet", "gevent_channel", "gevent_queue", "asyncio", "trio", "threads")},
    n=100_000,
    quick_n=10_000,
)
