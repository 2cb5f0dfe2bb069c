"""W6 two OS threads, blocking put/take over a buffer of 1024.

gochan's ``put``/``take`` called from two plain threads on ``chan(1024)``
against ``queue.Queue(1024)``. Metric: items per second.
"""
from __future__ import annotations

import threading

from .common import Metric, Workload, now

CAP = 1024


def _result(n, dt):
    return {"rate": n / dt, "seconds": dt}


def gochan(n):
    from gochan import chan, put, take

    c = chan(CAP)

    def producer():
        for i in range(n):
            put(c, i)

    t0 = now()
    t = threading.Thread(target=producer, daemon=True)
    t.start()
    for _ in range(n):
        take(c)
    dt = now() - t0
    t.join()
    return _result(n, dt)


def threads(n):
    import queue

    q = queue.Queue(CAP)

    def producer():
        for i in range(n):
            q.put(i)

    t0 = now()
    t = threading.Thread(target=producer, daemon=True)
    t.start()
    for _ in range(n):
        q.get()
    dt = now() - t0
    t.join()
    return _result(n, dt)


WORKLOAD = Workload(
    wid="w6",
    title="W6 two OS threads, buffer 1024",
    metrics=[Metric("rate", "W6 two threads, buf 1024 (items/s)", "/s", True)],
    contestants={"gochan": gochan, "threads": threads},
    not_applicable={
        "raw_greenlet": "single-threaded by design",
        "gevent_channel": "gevent is not thread-safe",
        "gevent_queue": "gevent is not thread-safe",
        "asyncio": "asyncio.Queue is not thread-safe",
        "trio": "trio channels are not thread-safe",
    },
    n=1_000_000,
    quick_n=100_000,
)
