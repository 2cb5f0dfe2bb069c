"""W10 asyncio interop: gochan.aio against the usual thread <-> asyncio bridges.

Two rows:
- ping-pong between an asyncio task (the main thread's loop) and a go block
  over two unbuffered channels (round trips/s); the peers ping-pong between
  an asyncio task and an OS thread: janus queues (column "threads", marked
  janus) and `asyncio.Queue` driven from the thread through
  `run_coroutine_threadsafe(...).result()` (column "asyncio");
- `aio.await_` of a trivial coroutine from one go block, on gochan's own
  loop (awaits/s), against `run_coroutine_threadsafe(...).result()` from one
  thread to a loop running in another (column "threads");
- diagnostic: the same from 100 go blocks at once against 100 threads.
Times are taken where the loop or the go block runs.
"""
from __future__ import annotations

import asyncio
import threading

from .common import Metric, Workload, now


def gochan_pingpong(n):
    from gochan import aio, chan, go, put, take

    a, b = chan(), chan()

    def ponger():
        for _ in range(n):
            put(b, take(a))

    async def main():
        p = go(ponger)
        t0 = now()
        for i in range(n):
            await aio.put(a, i)
            await aio.take(b)
        dt = now() - t0
        await aio.take(p)
        return dt

    dt = asyncio.run(main())
    return {"rate": n / dt, "seconds": dt, "us_per_rt": dt / n * 1e6}


def janus_pingpong(n):
    import janus

    async def main():
        a, b = janus.Queue(), janus.Queue()

        def ponger():
            for _ in range(n):
                b.sync_q.put(a.sync_q.get())

        t = threading.Thread(target=ponger, daemon=True)
        t.start()
        t0 = now()
        for i in range(n):
            await a.async_q.put(i)
            await b.async_q.get()
        dt = now() - t0
        await asyncio.to_thread(t.join)  # the thread may need the loop to finish
        a.close()
        b.close()
        await a.wait_closed()
        await b.wait_closed()
        return dt

    dt = asyncio.run(main())
    return {"rate": n / dt, "seconds": dt, "us_per_rt": dt / n * 1e6}


def asyncio_rcts_pingpong(n):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = asyncio.Queue(), asyncio.Queue()

        def ponger():
            for _ in range(n):
                v = asyncio.run_coroutine_threadsafe(a.get(), loop).result()
                asyncio.run_coroutine_threadsafe(b.put(v), loop).result()

        t = threading.Thread(target=ponger, daemon=True)
        t.start()
        t0 = now()
        for i in range(n):
            await a.put(i)
            await b.get()
        dt = now() - t0
        await asyncio.to_thread(t.join)  # the thread may need the loop to finish
        return dt

    dt = asyncio.run(main())
    return {"rate": n / dt, "seconds": dt, "us_per_rt": dt / n * 1e6}


async def trivial(i):
    return i


def gochan_await(n):
    from gochan import aio, go, take

    aio.await_(trivial(0))  # start gochan's loop first

    def body():
        t0 = now()
        for i in range(n):
            aio.await_(trivial(i))
        return now() - t0

    dt = take(go(body))
    return {"rate": n / dt, "seconds": dt, "us_per_await": dt / n * 1e6}


def thread_rcts_await(n):
    loop = asyncio.new_event_loop()
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    asyncio.run_coroutine_threadsafe(trivial(0), loop).result()
    t0 = now()
    for i in range(n):
        asyncio.run_coroutine_threadsafe(trivial(i), loop).result()
    dt = now() - t0
    loop.call_soon_threadsafe(loop.stop)
    t.join()
    return {"rate": n / dt, "seconds": dt, "us_per_await": dt / n * 1e6}


CONCURRENT = 100


def gochan_await_concurrent(n):
    from gochan import aio, go, take

    aio.await_(trivial(0))
    per = n // CONCURRENT

    def body():
        for i in range(per):
            aio.await_(trivial(i))

    t0 = now()
    chans = [go(body) for _ in range(CONCURRENT)]
    for ch in chans:
        take(ch)
    dt = now() - t0
    return {"rate": per * CONCURRENT / dt, "seconds": dt}


def thread_rcts_await_concurrent(n):
    loop = asyncio.new_event_loop()
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    asyncio.run_coroutine_threadsafe(trivial(0), loop).result()
    per = n // CONCURRENT

    def body():
        for i in range(per):
            asyncio.run_coroutine_threadsafe(trivial(i), loop).result()

    threads = [threading.Thread(target=body, daemon=True) for _ in range(CONCURRENT)]
    t0 = now()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    dt = now() - t0
    loop.call_soon_threadsafe(loop.stop)
    t.join()
    return {"rate": per * CONCURRENT / dt, "seconds": dt}


_NA = {
    "raw_greenlet": "no asyncio bridge",
    "gevent_channel": "no asyncio bridge",
    "gevent_queue": "no asyncio bridge",
    "trio": "no asyncio bridge",
}

WORKLOADS = [
    Workload(
        wid="w10_pingpong",
        title="W10 asyncio task <-> go block ping-pong",
        metrics=[Metric("rate", "W10 asyncio<->go ping-pong (round trips/s)", "/s", True)],
        contestants={"gochan": gochan_pingpong, "threads": janus_pingpong, "asyncio": asyncio_rcts_pingpong},
        notes={"threads": "janus", "asyncio": "Queue+run_coroutine_threadsafe"},
        not_applicable=_NA,
        n=50_000,
        quick_n=5_000,
    ),
    Workload(
        wid="w10_await",
        title="W10 aio.await_ of a trivial coroutine",
        metrics=[Metric("rate", "W10 await_ trivial coroutine (awaits/s)", "/s", True)],
        contestants={"gochan": gochan_await, "threads": thread_rcts_await},
        notes={"threads": "run_coroutine_threadsafe().result()"},
        not_applicable={**_NA, "asyncio": "the peer is a thread"},
        n=50_000,
        quick_n=5_000,
    ),
    Workload(
        wid="w10_await_100",
        title="W10 aio.await_ from 100 go blocks at once",
        metrics=[Metric("rate", "W10 await_ x100 concurrent (awaits/s)", "/s", True)],
        contestants={"gochan": gochan_await_concurrent, "threads": thread_rcts_await_concurrent},
        notes={"threads": "100 threads, run_coroutine_threadsafe"},
        not_applicable={**_NA, "asyncio": "the peer is a thread"},
        n=50_000,
        quick_n=5_000,
        diagnostic=True,
    ),
]
