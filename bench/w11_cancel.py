"""W11 cancel parked tasks and W12 a scope of many children: what cancellation and structured
waiting cost, against trio's nursery, asyncio's tasks and TaskGroup, and gevent's kill.

W11: n tasks each park on a take from a channel of their own (gochan allows
1024 pending takes per channel); once all are parked, each is cancelled and
the run waits until all have ended. Metrics: microseconds per task for the
cancelling part (cancel + unwind + end), and for the whole (spawn, park,
cancel, end).

W12: a scope (trio nursery, asyncio TaskGroup) that starts n children which
each return at once; microseconds per child from entering the scope to
leaving it (every child finished).
"""
from __future__ import annotations

import itertools

from .common import Metric, Workload, now


def _w11(n, t0, t1, t2):
    return {"cancel_us": (t2 - t1) / n * 1e6, "total_us": (t2 - t0) / n * 1e6}


def gochan(n):
    from gochan import cancel, chan, go, put, take

    started = itertools.count()
    ready = chan(1)

    def child(c):
        if next(started) == n - 1:
            put(ready, True)
        take(c)

    def driver():
        chans = [chan() for _ in range(n)]
        t0 = now()
        procs = [go(child, c) for c in chans]
        take(ready)
        t1 = now()
        for p in procs:
            cancel(p)
        for p in procs:
            take(p)
        t2 = now()
        return _w11(n, t0, t1, t2)

    return take(go(driver))


def gevent_channel(n):
    import gevent
    from gevent.event import Event
    from gevent.queue import Channel

    started = itertools.count()
    ready = Event()

    def child(c):
        if next(started) == n - 1:
            ready.set()
        c.get()

    chans = [Channel() for _ in range(n)]
    t0 = now()
    glets = [gevent.spawn(child, c) for c in chans]
    ready.wait()
    t1 = now()
    gevent.killall(glets)  # raises GreenletExit in each and waits for all
    t2 = now()
    return _w11(n, t0, t1, t2)


def asyncio(n):
    import asyncio as aio

    async def main():
        started = itertools.count()
        ready = aio.Event()

        async def child(c):
            if next(started) == n - 1:
                ready.set()
            await c.get()

        chans = [aio.Queue(1) for _ in range(n)]
        t0 = now()
        tasks = [aio.create_task(child(c)) for c in chans]
        await ready.wait()
        t1 = now()
        for t in tasks:
            t.cancel()
        await aio.gather(*tasks, return_exceptions=True)
        t2 = now()
        return _w11(n, t0, t1, t2)

    return aio.run(main())


def trio(n):
    import trio as tr

    async def main():
        started = itertools.count()
        ready = tr.Event()

        async def child(rx):
            if next(started) == n - 1:
                ready.set()
            await rx.receive()

        pairs = [tr.open_memory_channel(0) for _ in range(n)]
        t0 = now()
        async with tr.open_nursery() as nursery:
            for _tx, rx in pairs:
                nursery.start_soon(child, rx)
            await ready.wait()
            t1 = now()
            nursery.cancel_scope.cancel()
        t2 = now()
        return _w11(n, t0, t1, t2)

    return tr.run(main)


WORKLOAD = Workload(
    wid="w11",
    title="W11 cancel parked tasks",
    metrics=[
        Metric("cancel_us", "W11 cancel a parked task (us each)", "us", False),
        Metric("total_us", "W11 spawn, park, cancel (us each)", "us", False),
    ],
    contestants={"gochan": gochan, "gevent_channel": gevent_channel, "asyncio": asyncio, "trio": trio},
    not_applicable={"raw_greenlet": "no cancellation", "gevent_queue": "same as gevent Channel",
                    "threads": "threads cannot be cancelled"},
    notes={"gevent_channel": "killall"},
    n=100_000,
    quick_n=10_000,
)


# ---------------------------------------------------------------------- W12


def scope_gochan(n):
    from gochan import go, scope, take

    def child():
        return 1

    def driver():
        t0 = now()
        with scope() as s:
            for _ in range(n):
                s.go(child)
        t1 = now()
        return {"per_child_us": (t1 - t0) / n * 1e6}

    return take(go(driver))


def scope_asyncio(n):
    import asyncio as aio

    async def child():
        return 1

    async def main():
        t0 = now()
        async with aio.TaskGroup() as tg:
            for _ in range(n):
                tg.create_task(child())
        t1 = now()
        return {"per_child_us": (t1 - t0) / n * 1e6}

    return aio.run(main())


def scope_trio(n):
    import trio as tr

    async def child():
        return 1

    async def main():
        t0 = now()
        async with tr.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(child)
        t1 = now()
        return {"per_child_us": (t1 - t0) / n * 1e6}

    return tr.run(main)


def scope_gevent(n):
    from gevent.pool import Group

    def child():
        return 1

    t0 = now()
    g = Group()
    for _ in range(n):
        g.spawn(child)
    g.join(raise_error=True)
    t1 = now()
    return {"per_child_us": (t1 - t0) / n * 1e6}


SCOPE_WORKLOAD = Workload(
    wid="w12",
    title="W12 a scope of many children",
    metrics=[Metric("per_child_us", "W12 scope with n children (us per child)", "us", False)],
    contestants={"gochan": scope_gochan, "gevent_channel": scope_gevent, "asyncio": scope_asyncio,
                 "trio": scope_trio},
    not_applicable={"raw_greenlet": "no scopes", "gevent_queue": "same as gevent Group",
                    "threads": "no scopes"},
    notes={"gevent_channel": "pool.Group", "asyncio": "TaskGroup (3.11+)"},
    n=10_000,
    quick_n=10_000,
)
