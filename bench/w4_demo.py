"""W4 the walkthrough's demo: n tasks each say "hi" on their own unbuffered
channel; the main thread reads them with n selects over all n channels.

(core.async walkthrough: ``(doseq [c cs] (go (>! c "hi")))`` then
``(dotimes [i n] (alts!! cs))``.) gochan and the raw-greenlet floor run a true
select over all n channels each time (gochan from the main OS thread, as in
the walkthrough; the floor from its main task). The peers have no select over
channels, so they run a fan-in instead: all n producers put into one
rendezvous channel and main takes n times; those cells are marked "fan-in".
Metric: wall time in ms, spawning included.

Two diagnostic rows (``w4go_*``) run gochan's reader inside a go block instead
of the main thread, against the same floor: the gap between the two gochan
rows is the price of waking go blocks from another OS thread.
"""
from __future__ import annotations

from .common import Metric, Workload, now


def _result(dt):
    return {"ms": dt * 1e3}


def gochan(n):
    from gochan import alts, chan, go, put

    def producer(c):
        put(c, "hi")

    cs = [chan() for _ in range(n)]
    t0 = now()
    for c in cs:
        go(producer, c)
    for _ in range(n):
        v, _c = alts(cs)
        assert v == "hi", v
    return _result(now() - t0)


def gochan_in_go(n):
    """Diagnostic variant: the reader is a go block, so no wake crosses threads."""
    from gochan import alts, chan, go, put, take

    def producer(c):
        put(c, "hi")

    def reader():
        cs = [chan() for _ in range(n)]
        t0 = now()
        for c in cs:
            go(producer, c)
        for _ in range(n):
            v, _c = alts(cs)
            assert v == "hi", v
        return now() - t0

    return _result(take(go(reader)))


def raw_greenlet(n):
    from . import rawhub

    def producer(c):
        c.put("hi")

    def driver():
        cs = [rawhub.Chan() for _ in range(n)]
        t0 = now()
        for c in cs:
            rawhub.spawn(producer, c)
        for _ in range(n):
            v, _c = rawhub.alts(cs)
            assert v == "hi", v
        return now() - t0

    return _result(rawhub.run(driver))


def _gevent(n, c):
    import gevent

    t0 = now()
    gs = [gevent.spawn(c.put, "hi") for _ in range(n)]
    for _ in range(n):
        assert c.get() == "hi"
    dt = now() - t0
    gevent.joinall(gs)
    return _result(dt)


def gevent_channel(n):
    from gevent.queue import Channel
    return _gevent(n, Channel())


def gevent_queue(n):
    from gevent.queue import Queue
    return _gevent(n, Queue(1))


def asyncio(n):
    import asyncio as aio

    async def main():
        c = aio.Queue(1)
        t0 = now()
        ts = [aio.create_task(c.put("hi")) for _ in range(n)]
        for _ in range(n):
            assert await c.get() == "hi"
        dt = now() - t0
        await aio.gather(*ts)
        return dt

    return _result(aio.run(main()))


def trio(n):
    import trio as tr

    async def main():
        tx, rx = tr.open_memory_channel(0)
        async with tr.open_nursery() as nursery:
            t0 = now()
            for _ in range(n):
                nursery.start_soon(tx.send, "hi")
            for _ in range(n):
                assert await rx.receive() == "hi"
            dt = now() - t0
        return dt

    return _result(tr.run(main))


def threads(n):
    import queue
    import threading

    c = queue.Queue(1)
    t0 = now()
    ts = []
    for _ in range(n):
        t = threading.Thread(target=c.put, args=("hi",), daemon=True)
        t.start()
        ts.append(t)
    for _ in range(n):
        assert c.get() == "hi"
    dt = now() - t0
    for t in ts:
        t.join()
    return _result(dt)


_CONTESTANTS = {
    "gochan": gochan,
    "raw_greenlet": raw_greenlet,
    "gevent_channel": gevent_channel,
    "gevent_queue": gevent_queue,
    "asyncio": asyncio,
    "trio": trio,
    "threads": threads,
}
_NOTES = {k: "fan-in" for k in _CONTESTANTS if k not in ("gochan", "raw_greenlet")}

WORKLOADS = [
    Workload(
        wid=f"w4_{n}",
        title=f"W4 walkthrough demo, n={n:,}",
        metrics=[Metric("ms", f"W4 demo n={n:,} (ms)", "ms", False)],
        contestants=_CONTESTANTS,
        notes=_NOTES,
        n=n,
        quick_n=n,
        quick_skip={"threads": "10,000 OS threads take ~12 s per run"} if n > 1000 else {},
    )
    for n in (1000, 10_000)
] + [
    Workload(
        wid=f"w4go_{n}",
        title=f"W4 demo, reader in a go block (diagnostic), n={n:,}",
        metrics=[Metric("ms", f"W4 demo n={n:,}, reader in go block (ms)", "ms", False)],
        contestants={"gochan": gochan_in_go, "raw_greenlet": raw_greenlet},
        not_applicable={k: "diagnostic row: gochan vs floor only"
                        for k in _CONTESTANTS if k not in ("gochan", "raw_greenlet")},
        n=n,
        quick_n=n,
        diagnostic=True,
    )
    for n in (1000, 10_000)
]
