"""W3 spawn and park: n tasks each park on a take, then n puts release them.

gochan (like core.async) allows at most 1024 pending takes per channel, so
every contestant gets one channel per task, created before the clock and the
RSS baseline start: the RSS figure is the cost of a parked task alone.

Metrics: spawn rate (tasks spawned and parked per second), total time
(spawn + park + release + finish, ms) and RSS bytes per parked task (RSS when
all are parked minus RSS before spawning, over n, in a fresh process).
The thread peer is not run: 100,000 OS threads is not a design anyone ships.
"""
from __future__ import annotations

import gc
import itertools

from .common import Metric, Workload, now, rss_bytes


def _result(n, t0, t1, t2, r0, r1):
    return {
        "spawn_rate": n / (t1 - t0),
        "total_ms": (t2 - t0) * 1e3,
        "rss_per_task": (r1 - r0) / n,
        "rss_before": r0,
        "rss_parked": r1,
    }


def gochan(n):
    from gochan import chan, go, put, take

    started, finished = itertools.count(), itertools.count()
    ready, done = chan(1), chan(1)

    def child(c):
        if next(started) == n - 1:
            put(ready, True)
        take(c)
        if next(finished) == n - 1:
            put(done, True)

    def driver():
        chans = [chan() for _ in range(n)]
        gc.collect()
        r0 = rss_bytes()
        t0 = now()
        for c in chans:
            go(child, c)
        take(ready)
        t1 = now()
        r1 = rss_bytes()
        for c in chans:
            put(c, 1)
        take(done)
        t2 = now()
        return _result(n, t0, t1, t2, r0, r1)

    return take(go(driver))


def raw_greenlet(n):
    from . import rawhub

    started, finished = itertools.count(), itertools.count()
    ready, done = rawhub.Chan(1), rawhub.Chan(1)

    def child(c):
        if next(started) == n - 1:
            ready.put(True)
        c.take()
        if next(finished) == n - 1:
            done.put(True)

    def driver():
        chans = [rawhub.Chan() for _ in range(n)]
        gc.collect()
        r0 = rss_bytes()
        t0 = now()
        for c in chans:
            rawhub.spawn(child, c)
        ready.take()
        t1 = now()
        r1 = rss_bytes()
        for c in chans:
            c.put(1)
        done.take()
        t2 = now()
        return _result(n, t0, t1, t2, r0, r1)

    return rawhub.run(driver)


def _gevent(n, make):
    import gevent
    from gevent.event import Event

    started, finished = itertools.count(), itertools.count()
    ready, done = Event(), Event()

    def child(c):
        if next(started) == n - 1:
            ready.set()
        c.get()
        if next(finished) == n - 1:
            done.set()

    chans = [make() for _ in range(n)]
    gc.collect()
    r0 = rss_bytes()
    t0 = now()
    for c in chans:
        gevent.spawn(child, c)
    ready.wait()
    t1 = now()
    r1 = rss_bytes()
    for c in chans:
        c.put(1)
    done.wait()
    t2 = now()
    return _result(n, t0, t1, t2, r0, r1)


def gevent_channel(n):
    from gevent.queue import Channel
    return _gevent(n, Channel)


def gevent_queue(n):
    from gevent.queue import Queue
    return _gevent(n, lambda: Queue(1))


def asyncio(n):
    import asyncio as aio

    async def main():
        started, finished = itertools.count(), itertools.count()
        ready, done = aio.Event(), aio.Event()

        async def child(c):
            if next(started) == n - 1:
                ready.set()
            await c.get()
            if next(finished) == n - 1:
                done.set()

        chans = [aio.Queue(1) for _ in range(n)]
        tasks = []
        gc.collect()
        r0 = rss_bytes()
        t0 = now()
        for c in chans:
            tasks.append(aio.create_task(child(c)))  # asyncio needs the refs kept
        await ready.wait()
        t1 = now()
        r1 = rss_bytes()
        for c in chans:
            await c.put(1)
        await done.wait()
        t2 = now()
        return _result(n, t0, t1, t2, r0, r1)

    return aio.run(main())


def trio(n):
    import trio as tr

    async def main():
        started, finished = itertools.count(), itertools.count()
        ready, done = tr.Event(), tr.Event()

        async def child(rx):
            if next(started) == n - 1:
                ready.set()
            await rx.receive()
            if next(finished) == n - 1:
                done.set()

        pairs = [tr.open_memory_channel(0) for _ in range(n)]
        gc.collect()
        r0 = rss_bytes()
        t0 = now()
        async with tr.open_nursery() as nursery:
            for _tx, rx in pairs:
                nursery.start_soon(child, rx)
            await ready.wait()
            t1 = now()
            r1 = rss_bytes()
            for tx, _rx in pairs:
                await tx.send(1)
            await done.wait()
        t2 = now()
        return _result(n, t0, t1, t2, r0, r1)

    return tr.run(main)


WORKLOAD = Workload(
    wid="w3",
    title="W3 spawn and park",
    metrics=[
        Metric("spawn_rate", "W3 spawn+park (tasks/s)", "/s", True),
        Metric("total_ms", "W3 spawn, park, release (ms)", "ms", False),
        Metric("rss_per_task", "W3 RSS per parked task (B)", "B", False),
    ],
    contestants={
        "gochan": gochan,
        "raw_greenlet": raw_greenlet,
        "gevent_channel": gevent_channel,
        "gevent_queue": gevent_queue,
        "asyncio": asyncio,
        "trio": trio,
    },
    not_applicable={"threads": "100,000 OS threads"},
    n=100_000,
    quick_n=10_000,
)
