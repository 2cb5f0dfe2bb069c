"""W8 cross-hub: producer and consumer go blocks pinned to different hubs.

Two rows: buffered throughput (chan(1024), items/s) and W1's ping-pong over
two unbuffered channels (round trips/s), each with the two go blocks pinned
by ``gochan.process.go_on`` to hubs 0 and 1 (GOCHAN_POOL_SIZE=2). Every
value crosses threads, so this measures the cross-hub wake path. The peer is
the same shape with two OS threads and queue.Queue (1024, and 1 for
ping-pong). Times are taken on the main thread, which only waits.
"""
from __future__ import annotations

import threading

from .common import Metric, Workload, now

CAP = 1024
ENV = {"GOCHAN_POOL_SIZE": "2"}


def gochan_tput(n):
    from gochan import chan, put, take
    from gochan.process import go_on

    def producer(c):
        for i in range(n):
            put(c, i)

    def consumer(c):
        for _ in range(n):
            take(c)
        return n

    c = chan(CAP)
    t0 = now()
    p = go_on(0, producer, c)
    q = go_on(1, consumer, c)
    got = take(q)
    dt = now() - t0
    take(p)
    assert got == n, got
    return {"rate": n / dt, "seconds": dt}


def threads_tput(n):
    import queue

    c = queue.Queue(CAP)

    def producer():
        for i in range(n):
            c.put(i)

    def consumer():
        for _ in range(n):
            c.get()

    t0 = now()
    ts = [threading.Thread(target=f, daemon=True) for f in (producer, consumer)]
    for t in ts:
        t.start()
    ts[1].join()
    dt = now() - t0
    ts[0].join()
    return {"rate": n / dt, "seconds": dt}


def gochan_pingpong(n):
    from gochan import chan, put, take
    from gochan.process import go_on

    def pinger(a, b):
        for i in range(n):
            put(a, i)
            take(b)
        return n

    def ponger(a, b):
        for _ in range(n):
            put(b, take(a))

    a, b = chan(), chan()
    t0 = now()
    p = go_on(1, ponger, a, b)
    q = go_on(0, pinger, a, b)
    got = take(q)
    dt = now() - t0
    take(p)
    assert got == n, got
    return {"rate": n / dt, "seconds": dt, "us_per_rt": dt / n * 1e6}


def threads_pingpong(n):
    import queue

    a, b = queue.Queue(1), queue.Queue(1)

    def pinger():
        for i in range(n):
            a.put(i)
            b.get()

    def ponger():
        for _ in range(n):
            b.put(a.get())

    t0 = now()
    ts = [threading.Thread(target=f, daemon=True) for f in (ponger, pinger)]
    for t in ts:
        t.start()
    ts[1].join()
    dt = now() - t0
    ts[0].join()
    return {"rate": n / dt, "seconds": dt, "us_per_rt": dt / n * 1e6}


_NA = {
    "raw_greenlet": "single hub by design",
    "gevent_channel": "one hub per thread, not thread-safe",
    "gevent_queue": "one hub per thread, not thread-safe",
    "asyncio": "one loop per thread",
    "trio": "one run per thread",
}

WORKLOADS = [
    Workload(
        wid="w8_tput",
        title="W8 cross-hub buffered throughput",
        metrics=[Metric("rate", "W8 cross-hub buf 1024 (items/s)", "/s", True)],
        contestants={"gochan": gochan_tput, "threads": threads_tput},
        not_applicable=_NA,
        env=ENV,
        n=1_000_000,
        quick_n=100_000,
    ),
    Workload(
        wid="w8_pingpong",
        title="W8 cross-hub ping-pong",
        metrics=[Metric("rate", "W8 cross-hub ping-pong (round trips/s)", "/s", True)],
        contestants={"gochan": gochan_pingpong, "threads": threads_pingpong},
        not_applicable=_NA,
        env=ENV,
        n=100_000,
        quick_n=10_000,
    ),
]
