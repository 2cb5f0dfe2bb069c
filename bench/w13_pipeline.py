"""W13 pipeline: n ints through a parallel map stage with a trivial function, in input order
(W13) and as they finish (W13u), with 1 and with 4 workers.

gochan: ``pipeline(k, to, xf.map(inc), frm)`` (``ordered=False`` for W13u),
``frm`` fed by ``onto_chan`` through ``chan(1024)``, ``to`` a ``chan(1024)``
drained by the driver go block. Peers, each its natural equivalent:

- gevent: ``Pool(k).imap(inc, range(n))`` and ``imap_unordered``;
- asyncio: k worker tasks on an input ``Queue(1024)``; ordered, a feeder
  puts ``(v, future)`` on the jobs queue and the future on a results queue
  that the driver awaits in order (core.async's construction); unordered,
  the workers put on an output ``Queue(1024)``;
- threads: ``ThreadPoolExecutor(k).map`` (ordered) and k threads between
  two ``queue.Queue(1024)`` (unordered);
- trio (unordered only): k tasks between two memory channels of 1024.

Metrics: microseconds per item, k = 1 and k = 4 (each over all n items, in one
process). ``W13_PAR=1`` (or ``4``) in the environment runs one k only, for
``python -m bench.instr w13 gochan gochan_pure`` (instructions per item).
"""
from __future__ import annotations

import os

from .common import Metric, Workload, now

CAP = 1024


def inc(x):
    return x + 1


def _pars():
    only = os.environ.get("W13_PAR")
    return [int(only)] if only else [1, 4]


def _measure(run, n):
    """{"us1": ..., "us4": ...}: run(k, n) returns seconds for n items with k workers."""
    out = {}
    for k in _pars():
        out[f"us{k}"] = run(k, n) / n * 1e6
    return out


# ---------------------------------------------------------------- gochan

def _gochan(ordered):
    def contestant(n):
        from gochan import chan, go, onto_chan, pipeline, take, xf

        xform = xf.map(inc)
        kw = {} if ordered else {"ordered": False}

        def driver(k):
            frm, to = chan(CAP), chan(CAP)
            t0 = now()
            onto_chan(frm, range(n))
            done = pipeline(k, to, xform, frm, **kw)
            got = 0
            while take(to) is not None:
                got += 1
            dt = now() - t0
            take(done)
            assert got == n, got
            return dt

        return _measure(lambda k, n: take(go(driver, k)), n)
    return contestant


# ---------------------------------------------------------------- gevent

def _gevent(ordered):
    def contestant(n):
        from gevent.pool import Pool

        def run(k, n):
            pool = Pool(k)
            t0 = now()
            it = pool.imap(inc, range(n)) if ordered else pool.imap_unordered(inc, range(n))
            got = 0
            for _ in it:
                got += 1
            dt = now() - t0
            assert got == n, got
            return dt

        return _measure(run, n)
    return contestant


# ---------------------------------------------------------------- asyncio

def _asyncio(ordered):
    def contestant(n):
        import asyncio as aio

        async def run_ordered(k):
            jobs: aio.Queue = aio.Queue(k)
            results: aio.Queue = aio.Queue(k)
            loop = aio.get_running_loop()

            async def feeder():
                for v in range(n):
                    fut = loop.create_future()
                    await jobs.put((v, fut))
                    await results.put(fut)
                for _ in range(k):
                    await jobs.put(None)
                await results.put(None)

            async def worker():
                while True:
                    job = await jobs.get()
                    if job is None:
                        return
                    v, fut = job
                    fut.set_result(inc(v))

            t0 = now()
            tasks = [aio.create_task(feeder())] + [aio.create_task(worker()) for _ in range(k)]
            got = 0
            while True:
                fut = await results.get()
                if fut is None:
                    break
                await fut
                got += 1
            dt = now() - t0
            await aio.gather(*tasks)
            assert got == n, got
            return dt

        async def run_unordered(k):
            jobs: aio.Queue = aio.Queue(CAP)
            out: aio.Queue = aio.Queue(CAP)

            async def feeder():
                for v in range(n):
                    await jobs.put(v)
                for _ in range(k):
                    await jobs.put(None)

            async def worker():
                while True:
                    v = await jobs.get()
                    if v is None:
                        await out.put(None)
                        return
                    await out.put(inc(v))

            t0 = now()
            tasks = [aio.create_task(feeder())] + [aio.create_task(worker()) for _ in range(k)]
            got = ended = 0
            while ended < k:
                if await out.get() is None:
                    ended += 1
                else:
                    got += 1
            dt = now() - t0
            await aio.gather(*tasks)
            assert got == n, got
            return dt

        run = run_ordered if ordered else run_unordered
        return _measure(lambda k, n: aio.run(run(k)), n)
    return contestant


# ---------------------------------------------------------------- threads

def _threads(ordered):
    def contestant(n):
        import queue
        import threading
        from concurrent.futures import ThreadPoolExecutor

        def run_ordered(k, n):
            with ThreadPoolExecutor(k) as ex:
                t0 = now()
                got = sum(1 for _ in ex.map(inc, range(n)))
                dt = now() - t0
            assert got == n, got
            return dt

        def run_unordered(k, n):
            jobs: queue.Queue = queue.Queue(CAP)
            out: queue.Queue = queue.Queue(CAP)

            def feeder():
                for v in range(n):
                    jobs.put(v)
                for _ in range(k):
                    jobs.put(None)

            def worker():
                while True:
                    v = jobs.get()
                    if v is None:
                        out.put(None)
                        return
                    out.put(inc(v))

            t0 = now()
            ts = [threading.Thread(target=feeder, daemon=True)]
            ts += [threading.Thread(target=worker, daemon=True) for _ in range(k)]
            for t in ts:
                t.start()
            got = ended = 0
            while ended < k:
                if out.get() is None:
                    ended += 1
                else:
                    got += 1
            dt = now() - t0
            for t in ts:
                t.join()
            assert got == n, got
            return dt

        return _measure(run_ordered if ordered else run_unordered, n)
    return contestant


# ---------------------------------------------------------------- trio

def trio_unordered(n):
    import trio as tr

    async def run(k):
        tx_in, rx_in = tr.open_memory_channel(CAP)
        tx_out, rx_out = tr.open_memory_channel(CAP)

        async def feeder():
            async with tx_in:
                for v in range(n):
                    await tx_in.send(v)

        async def worker(rx, tx):
            async with rx, tx:
                async for v in rx:
                    await tx.send(inc(v))

        got = 0
        t0 = now()
        async with tr.open_nursery() as nursery:
            nursery.start_soon(feeder)
            async with tx_out, rx_in:
                for _ in range(k):
                    nursery.start_soon(worker, rx_in.clone(), tx_out.clone())
            async for _ in rx_out:
                got += 1
        dt = now() - t0
        assert got == n, got
        return dt

    return _measure(lambda k, n: tr.run(run, k), n)


def _metrics(tag):
    return [Metric("us1", f"{tag}, 1 worker (us/item)", "us", False),
            Metric("us4", f"{tag}, 4 workers (us/item)", "us", False)]


_NOTES = {"gevent_queue": "Pool.imap", "asyncio": "k tasks, Queue",
          "threads": "ThreadPoolExecutor.map"}

WORKLOAD = Workload(
    wid="w13",
    title="W13 pipeline, trivial xform, input order",
    metrics=_metrics("W13 pipeline, ordered"),
    contestants={"gochan": _gochan(True), "gevent_queue": _gevent(True),
                 "asyncio": _asyncio(True), "threads": _threads(True)},
    notes=_NOTES,
    not_applicable={"raw_greenlet": "no pool", "gevent_channel": "see gevent Queue (Pool.imap)",
                    "trio": "no natural ordered equivalent"},
    n=100_000,
    quick_n=10_000,
)

WORKLOAD_UNORDERED = Workload(
    wid="w13u",
    title="W13u pipeline, trivial xform, ordered=False (as they finish)",
    metrics=_metrics("W13u pipeline, unordered"),
    contestants={"gochan": _gochan(False), "gevent_queue": _gevent(False),
                 "asyncio": _asyncio(False), "threads": _threads(False), "trio": trio_unordered},
    notes={**_NOTES, "gevent_queue": "Pool.imap_unordered", "threads": "k threads, queue.Queue",
           "trio": "k tasks, memory channels"},
    not_applicable={"raw_greenlet": "no pool", "gevent_channel": "see gevent Queue (Pool.imap_unordered)"},
    n=100_000,
    quick_n=10_000,
)
