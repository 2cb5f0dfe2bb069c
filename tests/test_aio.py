"""gochan.aio: channel operations from coroutines, cancellation that loses nothing, and awaitables
run from go blocks and threads.

Events are ordered explicitly (a coroutine is known to be parked once the
channel's stats count its pending op; a go block once it is listed in a
dump), never by sleeping.
"""
from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from typing import Any, Callable, Iterator, List, Optional

import pytest
from conftest import WAIT, pending_of, wait_until

import gochan
from gochan import aio, chan, close, go, offer, poll, put, take
from gochan.process import go_on

HAS_TIMEOUT = sys.version_info >= (3, 11)


class LoopThread:
    """An asyncio loop running forever in a daemon thread (the 'other thread' of `loop=`)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.loop.call_soon(started.set)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        assert started.wait(WAIT)

    def run(self, coro: Any, timeout: float = WAIT) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(WAIT)
            self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[Callable[[], LoopThread]]:
    made: List[LoopThread] = []

    def make() -> LoopThread:
        lt = LoopThread()
        made.append(lt)
        return lt

    yield make
    for lt in made:
        lt.stop()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def parked(c: Any, takes: int = 0, puts: int = 0) -> None:
    """Yield to the loop until `c` counts the pending ops (bounded)."""
    deadline = time.monotonic() + WAIT
    tries = 0
    while pending_of(c) != (puts, takes):
        assert time.monotonic() < deadline, f"timed out waiting for {takes} takes/{puts} puts on {c!r}"
        tries += 1
        await asyncio.sleep(0 if tries < 50 else 0.0005)  # a task registers at its first step


# ------------------------------------------------------------ channel ops
@pytest.mark.timeout(20)
@pytest.mark.parametrize("buf", [None, 2])
def test_take_and_put_against_go_blocks(buf: Optional[int]) -> None:
    async def main() -> None:
        c, d = chan(buf), chan(buf)
        echo = go(lambda: [put(d, take(c) * 10) for _ in range(50)])  # type: ignore[operator]
        got = []
        for i in range(1, 51):
            assert await aio.put(c, i) is True
            got.append(await aio.take(d))
        assert got == [i * 10 for i in range(1, 51)]
        assert await aio.take(echo) is not None

    run(main())


@pytest.mark.timeout(20)
@pytest.mark.parametrize("buf", [None, 2])
def test_take_and_put_against_threads(buf: Optional[int], bg: Any) -> None:
    c, d = chan(buf), chan(buf)
    worker = bg(lambda: [put(d, take(c) + 1) for _ in range(50)])  # type: ignore[operator]

    async def main() -> List[Any]:
        out = []
        for i in range(50):
            assert await aio.put(c, i)
            out.append(await aio.take(d))
        return out

    assert run(main()) == list(range(1, 51))
    worker.join()


@pytest.mark.timeout(20)
def test_a_parked_coroutine_is_woken_by_a_go_block_and_a_thread(bg: Any) -> None:
    async def main() -> None:
        c = chan()
        t = asyncio.ensure_future(aio.take(c))
        await parked(c, takes=1)
        go(put, c, "from go")
        assert await t == "from go"
        t = asyncio.ensure_future(aio.take(c))
        await parked(c, takes=1)
        bg(put, c, "from thread")
        assert await t == "from thread"
        p = asyncio.ensure_future(aio.put(c, "to go"))
        await parked(c, puts=1)
        assert await aio.take(go(take, c)) == "to go"
        assert await p is True

    run(main())


@pytest.mark.timeout(20)
def test_closed_channels() -> None:
    async def main() -> None:
        c = chan(3)
        await aio.put(c, 1)
        await aio.put(c, 2)
        close(c)
        assert await aio.put(c, 3) is False
        assert [await aio.take(c), await aio.take(c), await aio.take(c)] == [1, 2, None]
        d = chan()
        t = asyncio.ensure_future(aio.take(d))
        p = asyncio.ensure_future(aio.put(chan_parked := chan(), "v"))
        await parked(d, takes=1)
        await parked(chan_parked, puts=1)
        close(d)
        close(chan_parked)
        assert await t is None
        assert await aio.take(chan_parked) == "v"  # a pending put is still delivered after close...
        assert await p is True  # ...and then returns True, as in core.async
        e = chan(2)
        await aio.put(e, "a")
        close(e)
        assert [v async for v in e] == ["a"]

    run(main())


@pytest.mark.timeout(20)
def test_async_for_takes_until_closed_and_drained() -> None:
    async def main() -> None:
        c = chan(4)
        go(lambda: [put(c, i) for i in range(1, 101)] and close(c))
        assert [v async for v in c] == list(range(1, 101))
        d = chan()
        go(lambda: [put(d, i) for i in range(3)] and close(d))
        assert [v async for v in aio.iterate(d)] == [0, 1, 2]

    run(main())


@pytest.mark.timeout(20)
def test_alts_default_priority_and_puts() -> None:
    async def main() -> None:
        a, b = chan(1), chan(1)
        assert await aio.alts([a, b], default="none") == ("none", aio.DEFAULT)
        await aio.put(a, 1)
        await aio.put(b, 2)
        assert await aio.alts([a, b], priority=True) == (1, a)
        assert await aio.alts([a, b], priority=True) == (2, b)
        full = chan(1)
        await aio.put(full, "x")
        ok, port = await aio.alts([(full, "y"), (b, "z")], priority=True)
        assert (ok, port) == (True, b)
        assert poll(b) == "z" and poll(full) == "x"
        # random choice among ready ops: both are chosen over many tries
        seen = set()
        for _ in range(200):
            await aio.put(a, 1)
            await aio.put(b, 2)
            v, port = await aio.alts([a, b])
            seen.add(port is a)
            poll(a)
            poll(b)
        assert seen == {True, False}

    run(main())


@pytest.mark.timeout(20)
def test_alts_parks_and_exactly_one_completes(bg: Any) -> None:
    async def main() -> None:
        a, b, out = chan(), chan(), chan()
        t = asyncio.ensure_future(aio.alts([a, b, (out, "sent")]))
        await parked(a, takes=1)
        await parked(out, puts=1)
        go(put, b, "B")
        v, port = await t
        assert (v, port) == ("B", b)
        # the other registrations are inert: nothing pending, nothing completes
        assert pending_of(a) == (0, 0) and pending_of(out) == (0, 0)
        assert offer(a, 1) is None and poll(out) is None
        t = asyncio.ensure_future(aio.alts([a, (out, "sent")]))
        await parked(out, puts=1)
        assert take(go(take, out)) == "sent"
        assert await t == (True, out)

    run(main())


@pytest.mark.timeout(20)
def test_alts_never_completes_its_own_put_with_its_own_take() -> None:
    async def main() -> None:
        c = chan()
        t = asyncio.ensure_future(aio.alts([c, (c, "self")]))
        await parked(c, takes=1, puts=1)
        assert not t.done()
        assert take(go(take, c)) == "self"
        assert await t == (True, c)

    run(main())


@pytest.mark.timeout(20)
def test_the_loop_keeps_ticking_while_1000_coroutines_are_parked() -> None:
    async def main() -> None:
        chans = [chan() for _ in range(10)]
        tasks = [asyncio.ensure_future(aio.take(chans[i % 10])) for i in range(1000)]
        for c in chans:
            await parked(c, takes=100)
        ticks = 0
        t0 = time.monotonic()
        while ticks < 50:  # the loop is not blocked: timers fire
            await asyncio.sleep(0.001)
            ticks += 1
        assert time.monotonic() - t0 < WAIT
        assert not any(t.done() for t in tasks)

        def feed() -> None:
            for i in range(1000):
                put(chans[i % 10], i + 1)

        go(feed)
        got = await asyncio.gather(*tasks)
        assert sorted(got) == list(range(1, 1001))

    run(main())


@pytest.mark.timeout(20)
def test_several_loops_in_several_threads() -> None:
    requests = chan(8)
    n_loops, per = 4, 100

    def server() -> int:
        served = 0
        for reply, x in requests:
            put(reply, x * 2)
            served += 1
        return served

    srv = go(server)

    def client(k: int) -> List[Any]:
        async def main() -> List[Any]:
            reply = chan()
            out = []
            for i in range(per):
                await aio.put(requests, (reply, k * 1000 + i))
                out.append(await aio.take(reply))
            return out

        return asyncio.run(main())

    results: List[Any] = [None] * n_loops
    threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, client(k))) for k in range(n_loops)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    close(requests)
    assert take(srv) == n_loops * per
    for k in range(n_loops):
        assert results[k] == [(k * 1000 + i) * 2 for i in range(per)]


# ------------------------------------------------------- cancellation
@pytest.mark.timeout(20)
def test_cancelled_take_and_put_are_withdrawn() -> None:
    async def main() -> None:
        c = chan()
        t = asyncio.ensure_future(aio.take(c))
        await parked(c, takes=1)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert pending_of(c) == (0, 0)
        assert offer(c, 1) is None  # nothing takes it: the take is gone
        p = asyncio.ensure_future(aio.put(c, "lost?"))
        await parked(c, puts=1)
        p.cancel()
        with pytest.raises(asyncio.CancelledError):
            await p
        assert poll(c) is None  # nothing was delivered
        a, b = chan(), chan()
        t = asyncio.ensure_future(aio.alts([a, (b, 1)]))
        await parked(b, puts=1)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert offer(a, 1) is None and poll(b) is None
        # wait_for (a timeout) withdraws too
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(aio.take(c), 0.01)
        assert pending_of(c) == (0, 0)

    run(main())


@pytest.mark.timeout(20)
def test_completed_in_the_instant_of_cancel_returns_the_value_then_cancels_at_the_next_await() -> None:
    """The hard race, made deterministic: the value is handed over (on the loop's thread, or
    by another thread with its wake still queued) and the task is cancelled before it runs."""

    async def main() -> None:
        c = chan()
        # a task whose coroutine ends with the op: it ends with the value
        t = asyncio.ensure_future(aio.take(c))
        await parked(c, takes=1)
        assert offer(c, "v1") is True  # completes now, on the loop's thread
        t.cancel()
        assert await t == "v1"
        # the same with the hand-off made by another thread (its wake queued on the loop)
        t = asyncio.ensure_future(aio.take(c))
        await parked(c, takes=1)
        done = threading.Event()
        threading.Thread(target=lambda: (offer(c, "v2"), done.set())).start()
        assert done.wait(WAIT)  # the loop's thread is held here: the wake cannot have run yet
        t.cancel()
        assert await t == "v2"
        # a task that goes on: it receives the value, and the cancellation lands at its next await
        got: List[Any] = []

        async def consumer() -> None:
            while True:
                got.append(await aio.take(c))

        t = asyncio.ensure_future(consumer())
        await parked(c, takes=1)
        assert offer(c, "v3") is True
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert got == ["v3"]
        assert pending_of(c) == (0, 0)
        # a put that completed in the instant: True, nothing delivered twice
        p = asyncio.ensure_future(aio.put(c, "v4"))
        await parked(c, puts=1)
        assert poll(c) == "v4"
        p.cancel()
        assert await p is True
        # alts likewise
        a = chan()
        t = asyncio.ensure_future(aio.alts([a, c]))
        await parked(a, takes=1)
        assert offer(c, "v5") is True
        t.cancel()
        assert await t == ("v5", c)
        if HAS_TIMEOUT:
            cur = asyncio.current_task()
            assert cur is not None and cur.cancelling() == 0

    run(main())


@pytest.mark.timeout(60)
@pytest.mark.parametrize("side", ["take", "put", "alts"])
def test_stress_cancel_against_the_other_side(side: str) -> None:
    """2,000 rounds: a task's take (or put, or alts of a take and a put) is cancelled while a
    thread completes the other side. Every value whose put returned True is received exactly
    once; nothing else is; a cancelled alts completed none of its ops."""
    rounds = 2000
    c = chan()
    never = chan()  # the alts' other op: a put nobody takes
    go_ahead = threading.Semaphore(0)
    stop = object()
    outcome: List[Any] = []  # what the other side saw, per round

    def other() -> None:
        for i in range(rounds):
            go_ahead.acquire()
            if side in ("take", "alts"):
                outcome.append(offer(c, i))  # True iff a live take received it
            else:
                outcome.append(poll(c))  # the value if a live put delivered it
        assert stop

    worker = threading.Thread(target=other, daemon=True)
    worker.start()

    async def main() -> List[Any]:
        mine: List[Any] = []
        for i in range(rounds):
            if side == "take":
                t = asyncio.ensure_future(aio.take(c))
                await parked(c, takes=1)
            elif side == "put":
                t = asyncio.ensure_future(aio.put(c, i))
                await parked(c, puts=1)
            else:
                t = asyncio.ensure_future(aio.alts([c, (never, "x")]))
                await parked(c, takes=1)
                await parked(never, puts=1)
            go_ahead.release()
            for _ in range(i % 7):  # vary who wins
                await asyncio.sleep(0)
            t.cancel()
            try:
                got = await t
                mine.append(got[0] if side == "alts" else got)
                assert side != "alts" or got[1] is c
            except asyncio.CancelledError:
                mine.append("cancelled")
            while len(outcome) <= i:
                await asyncio.sleep(0)
            assert pending_of(c) == (0, 0) and pending_of(never) == (0, 0)
            assert poll(never) is None
        return mine

    mine = run(main())
    worker.join(WAIT)
    if side in ("take", "alts"):
        for i, (got, offered) in enumerate(zip(mine, outcome, strict=True)):
            assert (got == i) == (offered is True), (i, got, offered)
            assert got in (i, "cancelled")
    else:
        for i, (put_result, polled) in enumerate(zip(mine, outcome, strict=True)):
            assert (put_result is True) == (polled == i), (i, put_result, polled)
    # both outcomes happened: the race was exercised
    assert "cancelled" in mine and any(x not in ("cancelled",) for x in mine)


@pytest.mark.timeout(60)
def test_stress_timeouts_against_puts_lose_nothing() -> None:
    """A consumer takes with a tiny timeout in a loop while go blocks put 2,000 values:
    every accepted value is received exactly once, and no cancellation leaks past a timeout."""
    n = 2000
    c = chan()

    def producer() -> int:
        accepted = 0
        for i in range(n):
            if put(c, i):
                accepted += 1
        close(c)
        return accepted

    async def consumer() -> List[Any]:
        got = []
        while True:
            try:
                if HAS_TIMEOUT:
                    async with asyncio.timeout(0.0002):
                        v = await aio.take(c)
                else:
                    v = await asyncio.wait_for(aio.take(c), 0.0002)
            except (asyncio.TimeoutError, TimeoutError):
                continue
            if v is None:
                return got
            got.append(v)
            await asyncio.sleep(0)  # a leaked cancellation would raise here

    async def main() -> List[Any]:
        p = go(producer)
        got = await consumer()
        assert await aio.take(p) == n
        return got

    got = run(main())
    assert sorted(got) == list(range(n))


# ------------------------------------------------------------ await_
async def double(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2


@pytest.mark.timeout(20)
def test_await_from_go_blocks_and_threads_with_gochan_loop() -> None:
    assert aio.await_(double(21)) == 42  # from this thread
    assert take(go(lambda: aio.await_(double(4)))) == 8
    chans = [go(lambda i=i: aio.await_(double(i))) for i in range(50)]
    assert [take(ch) for ch in chans] == [i * 2 for i in range(50)]


@pytest.mark.timeout(20)
def test_await_with_an_explicit_loop(loop_thread: Any) -> None:
    lt = loop_thread()

    async def where() -> Any:
        return asyncio.get_running_loop()

    assert aio.await_(where(), loop=lt.loop) is lt.loop
    assert take(go(lambda: aio.await_(where(), loop=lt.loop))) is lt.loop
    assert aio.await_(where()) is not lt.loop  # gochan's own
    fut = lt.run(_make_future())
    lt.loop.call_soon_threadsafe(fut.set_result, "fut")
    assert aio.await_(fut) == "fut"  # a Future runs on its own loop


async def _make_future() -> "asyncio.Future[Any]":
    return asyncio.get_running_loop().create_future()


@pytest.mark.timeout(20)
def test_a_go_block_in_await_parks_and_its_hub_keeps_running(loop_thread: Any) -> None:
    lt = loop_thread()
    gate = lt.run(_make_event())

    async def wait_gate() -> str:
        await gate.wait()
        return "opened"

    waiting = go_on(0, lambda: aio.await_(wait_gate(), loop=lt.loop))
    wait_until(lambda: any(i.op == "await" for i in gochan.dump()), what="a go block parked in await")
    info = [i for i in gochan.dump() if i.op == "await"]
    assert info[0].hub == 0 and info[0].state == "parked"
    assert info[0].location.startswith(__file__)  # the caller's line, not gochan's
    assert "aio.await_" in repr(info[0].ports[0])
    # other go blocks on hub 0 keep running meanwhile
    ping, pong = chan(), chan()
    echo = go_on(0, lambda: [put(pong, take(ping)) for _ in range(100)])
    for i in range(100):
        put(ping, i)
        assert take(pong) == i
    take(echo)
    assert poll(waiting) is None
    lt.loop.call_soon_threadsafe(gate.set)
    assert take(waiting) == "opened"


async def _make_event() -> asyncio.Event:
    return asyncio.Event()


class Boom(Exception):
    pass


async def fails() -> None:
    await asyncio.sleep(0)
    raise Boom("bad")


@pytest.mark.timeout(20)
def test_exceptions_keep_their_type_and_traceback() -> None:
    with pytest.raises(Boom, match="bad") as info:
        aio.await_(fails())
    names = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "fails" in names

    def in_go() -> Any:
        try:
            aio.await_(fails())
        except Boom as exc:
            return [f.name for f in traceback.extract_tb(exc.__traceback__)]
        return None

    assert "fails" in take(go(in_go))


@pytest.mark.timeout(20)
def test_spawn_returns_a_result_channel(reported: Any, loop_thread: Any) -> None:
    assert take(aio.spawn(double(5))) == 10
    lt = loop_thread()
    assert take(aio.spawn(double(6), loop=lt.loop)) == 12
    ch = aio.spawn(fails())
    assert take(ch) is None and ch.closed
    assert isinstance(reported.wait_for(1)[0], Boom)
    # cancel() of a spawned task: the channel closes without a value, nothing reported
    gate = lt.run(_make_event())
    ch = aio.spawn(gate.wait(), loop=lt.loop)
    assert ch.proc.cancel() is True
    assert take(ch) is None
    assert ch.proc.cancel() is False
    assert len(reported.excs) == 1


# ----------------------------------------------------- closed loops
@pytest.mark.timeout(20)
def test_a_loop_closed_while_await_is_pending_gives_a_clear_error(loop_thread: Any, reported: Any) -> None:
    lt = loop_thread()
    gate = lt.run(_make_event())

    async def forever() -> None:
        await gate.wait()

    in_go = go(lambda: _catch(lambda: aio.await_(forever(), loop=lt.loop)))
    spawned = aio.spawn(forever(), loop=lt.loop)
    wait_until(lambda: any(i.op == "await" for i in gochan.dump()), what="a go block parked in await")
    lt.stop()  # stopped and closed without cancelling its tasks: no callback will ever come
    with pytest.raises(RuntimeError, match="closed"):
        aio.await_(forever(), loop=lt.loop)  # at the call
    err = take(in_go)
    assert isinstance(err, RuntimeError) and "closed" in str(err)
    assert take(spawned) is None
    assert any(isinstance(e, RuntimeError) and "closed" in str(e) for e in reported.wait_for(1))


def _catch(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except BaseException as exc:
        return exc


@pytest.mark.timeout(20)
def test_no_value_is_handed_to_a_take_whose_loop_is_gone() -> None:
    c = chan()
    loop = asyncio.new_event_loop()
    task = loop.create_task(aio.take(c))
    loop.run_until_complete(asyncio.sleep(0.001))
    assert pending_of(c) == (0, 1)
    loop.close()  # the task is abandoned with its take pending
    assert pending_of(c) == (0, 0)  # a dead registration is not counted...
    assert offer(c, 1) is None  # ...nor completed
    got = go(take, c)
    assert put(c, 2) is True and take(got) == 2
    del task


class _LoopClosingNow(asyncio.SelectorEventLoop):
    """A loop that closes in the instant a hand-off is scheduled on it (the race of `put_back`)."""

    closing = False

    def call_soon_threadsafe(self, *args: Any, **kwargs: Any) -> Any:
        if self.closing:
            raise RuntimeError("Event loop is closed")
        return super().call_soon_threadsafe(*args, **kwargs)


@pytest.mark.timeout(20)
def test_a_value_handed_over_as_the_loop_closes_goes_back_to_its_channel(bg: Any) -> None:
    c = chan()
    loop = _LoopClosingNow()

    async def start() -> "asyncio.Task[Any]":
        t = asyncio.ensure_future(aio.take(c))
        await parked(c, takes=1)
        return t

    bg(loop.run_until_complete, start()).join()  # the take waits on a stopped loop run by another thread
    loop.closing = True
    assert offer(c, "v") is True  # handed over; the wake cannot reach the loop...
    assert poll(c) == "v"  # ...so the value is back on its channel, not lost
    loop.closing = False
    loop.close()


# ------------------------------------------------------- bad arguments
@pytest.mark.timeout(20)
def test_bad_arguments_name_themselves(loop_thread: Any) -> None:
    c = chan()
    with pytest.raises(TypeError, match="aio.take: c must be a Chan"):
        aio.take(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="aio.put: c must be a Chan"):
        aio.put("c", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="aio.put: v must not be None"):
        aio.put(c, None)
    with pytest.raises(ValueError, match="ops must contain"):
        aio.alts([])
    with pytest.raises(TypeError, match=r"ops\[1\]"):
        aio.alts([c, 3])
    with pytest.raises(ValueError, match=r"ops\[0\] puts None"):
        aio.alts([(c, None)])
    with pytest.raises(TypeError, match="aio.iterate: c must be a Chan"):
        aio.iterate(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="aio.await_: awaitable must be"):
        aio.await_(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"call it: double\(...\)"):
        aio.await_(double)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="aio.spawn: awaitable must be"):
        aio.spawn("x")  # type: ignore[arg-type]
    coro = double(1)
    with pytest.raises(TypeError, match="aio.await_: loop must be"):
        aio.await_(coro, loop="loop")  # type: ignore[arg-type]
    closed = asyncio.new_event_loop()
    closed.close()
    with pytest.raises(RuntimeError, match="is closed"):
        aio.await_(double(1), loop=closed)
    idle = asyncio.new_event_loop()
    with pytest.raises(RuntimeError, match="not running"):
        aio.spawn(double(1), loop=idle)
    idle.close()

    async def on_own_loop() -> None:
        with pytest.raises(ValueError, match="own running loop"):
            aio.await_(double(1), loop=asyncio.get_running_loop())
        with pytest.raises(ValueError, match="own running loop"):
            aio.spawn(double(1), loop=asyncio.get_running_loop())

    run(on_own_loop())
    lt = loop_thread()
    fut = lt.run(_make_future())
    other = loop_thread()
    with pytest.raises(ValueError, match="belongs to loop"):
        aio.await_(fut, loop=other.loop)


@pytest.mark.timeout(20)
def test_await_on_gochans_own_loop_from_that_loop_is_refused() -> None:
    async def inner() -> Any:
        return _catch(lambda: aio.await_(double(1)))

    err = aio.await_(inner())
    assert isinstance(err, ValueError) and "gochan's own asyncio loop" in str(err)


# ----------------------------------------------------- cancellation of go blocks
@pytest.mark.timeout(20)
def test_shutdown_cancels_a_go_block_in_await_and_its_asyncio_task(loop_thread: Any) -> None:
    lt = loop_thread()
    seen: List[Any] = []

    slow = _slow_recording(seen)

    def body() -> None:
        try:
            aio.await_(slow(), loop=lt.loop)
        except gochan.errors.Cancelled:
            seen.append("go block cancelled")
            raise

    ch = go(body)
    wait_until(lambda: "started" in seen, what="the coroutine started")
    assert gochan.shutdown(5000)
    wait_until(lambda: len(seen) == 3, what="both sides cancelled")
    assert sorted(seen) == ["go block cancelled", "started", "task cancelled"]
    assert take(ch) is None


@pytest.mark.timeout(20)
def test_withdraw_of_a_parked_await_cancels_the_task_once(loop_thread: Any) -> None:
    """What `cancel(ch)` does to a go block parked in `await_` (the Withdrawable protocol)."""
    lt = loop_thread()
    seen: List[str] = []
    slow = _slow_recording(seen)

    def body() -> None:
        aio.await_(slow(), loop=lt.loop)

    ch = go(body)
    wait_until(lambda: "started" in seen, what="the coroutine started")
    wait_until(lambda: any(i.op == "await" for i in gochan.dump()), what="a go block parked in await")
    (info,) = [i for i in gochan.dump() if i.op == "await"]
    (op,) = info.ports
    assert op.withdraw(None) is True
    assert op.withdraw(None) is False
    wait_until(lambda: seen == ["started", "task cancelled"], what="the asyncio task cancelled")
    # no wake comes after a withdraw: the go block stays parked until shut down
    assert poll(ch) is None
    gochan.shutdown(5000)
    assert take(ch) is None


# ----------------------------------------------------------- uvloop
@pytest.mark.timeout(20)
def test_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        c = chan()
        go(lambda: [put(c, i) for i in range(10)] and close(c))
        assert [v async for v in c] == list(range(10))
        t = asyncio.ensure_future(aio.take(c2 := chan()))
        await parked(c2, takes=1)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert offer(c2, 1) is None

    loop = uvloop.new_event_loop()
    loop.run_until_complete(main())
    loop.close()
    loop = uvloop.new_event_loop()
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    wait_until(loop.is_running, what="uvloop running")
    try:
        assert take(go(lambda: aio.await_(double(3), loop=loop))) == 6
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(WAIT)
        loop.close()


@pytest.mark.timeout(20)
def test_timeouts_work_from_coroutines() -> None:
    async def main() -> None:
        t0 = time.monotonic()
        assert await aio.take(gochan.timeout(20)) is None
        assert time.monotonic() - t0 >= 0.019
        c = chan()
        v, port = await aio.alts([c, t := gochan.timeout(10)])
        assert v is None and port is t
        assert pending_of(c) == (0, 0)

    run(main())


@pytest.mark.timeout(20)
def test_shutdown_cancels_a_thread_body_blocked_in_await(loop_thread: Any) -> None:
    lt = loop_thread()
    gate = lt.run(_make_event())

    def body() -> str:
        try:
            aio.await_(gate.wait(), loop=lt.loop)
        except gochan.errors.Cancelled:
            return "cancelled"
        return "not cancelled"

    seen: List[str] = []
    ch = gochan.thread(lambda: seen.append(body()))
    wait_until(lambda: any(i.op == "await" and i.kind == "thread" for i in gochan.dump()),
               what="a thread blocked in await")
    assert gochan.shutdown(5000)
    assert seen == ["cancelled"]
    assert take(ch) is None


# ------------------------------------------------- cancel(ch) and scopes (#12)
def _slow_recording(seen: List[str]) -> Callable[[], Any]:
    """A coroutine factory: records "started", then "task cancelled" when cancelled. (A task
    cancelled before its first step never runs: tests wait for "started" before they cancel.)"""

    async def slow() -> None:
        seen.append("started")
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen.append("task cancelled")
            raise

    return slow


@pytest.mark.timeout(20)
@pytest.mark.parametrize("own_loop", [True, False])
def test_cancelling_a_go_block_in_await_cancels_the_asyncio_task(own_loop: bool, loop_thread: Any) -> None:
    loop = None if own_loop else loop_thread().loop
    seen: List[str] = []
    slow = _slow_recording(seen)

    def body() -> str:
        try:
            aio.await_(slow(), loop=loop)
        except gochan.Cancelled:
            seen.append("go block cancelled")
            return "cleaned up"
        return "finished"

    ch = go(body)
    wait_until(lambda: "started" in seen, what="the coroutine started")
    wait_until(lambda: [i.op for i in gochan.dump() if i.function == "body"] == ["await"],
               what="the go block parked in await")
    assert gochan.cancel(ch) is True
    assert take(ch) == "cleaned up"  # it caught Cancelled and returned
    wait_until(lambda: "task cancelled" in seen, what="the asyncio task cancelled")
    assert sorted(seen) == ["go block cancelled", "started", "task cancelled"]
    assert gochan.cancel(ch) is False


@pytest.mark.timeout(20)
def test_cancelling_a_thread_body_in_await_cancels_the_asyncio_task() -> None:
    seen: List[str] = []
    slow = _slow_recording(seen)
    ch = gochan.thread(lambda: aio.await_(slow()))
    wait_until(lambda: "started" in seen, what="the coroutine started")
    wait_until(lambda: any(i.op == "await" and i.kind == "thread" for i in gochan.dump()),
               what="the thread blocked in await")
    assert gochan.cancel(ch) is True
    assert take(ch) is None
    wait_until(lambda: seen == ["started", "task cancelled"], what="the asyncio task cancelled")


@pytest.mark.timeout(20)
def test_cancel_of_a_spawned_awaitable(reported: Any) -> None:
    seen: List[str] = []
    ch = aio.spawn(_slow_recording(seen)())
    wait_until(lambda: "started" in seen, what="the coroutine started")
    assert gochan.cancel(ch) is True
    assert take(ch) is None
    assert seen == ["started", "task cancelled"]
    assert gochan.cancel(ch) is False
    assert reported.excs == []


@pytest.mark.timeout(20)
def test_a_scope_deadline_cancels_awaits_in_its_go_blocks() -> None:
    seen: List[str] = []
    slow = _slow_recording(seen)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        with gochan.scope(timeout_ms=500) as s:
            for _ in range(3):
                s.go(lambda: aio.await_(slow()))
            wait_until(lambda: seen.count("started") == 3, what="three coroutines started")
    assert time.monotonic() - t0 < 5
    wait_until(lambda: seen.count("task cancelled") == 3, what="every asyncio task cancelled")


@pytest.mark.timeout(20)
def test_cancel_before_the_task_starts(loop_thread: Any, reported: Any) -> None:
    """cancel(ch) of an aio.spawn whose loop has not yet run the task's first step: the
    coroutine never runs, the channel closes, nothing is reported or warned about."""
    lt = loop_thread()
    hold, held = threading.Event(), threading.Event()
    lt.loop.call_soon_threadsafe(lambda: (held.set(), hold.wait(WAIT)))
    assert held.wait(WAIT)  # the loop's thread is busy: nothing scheduled there runs yet
    ran: List[str] = []

    async def body() -> str:
        ran.append("ran")
        return "value"

    ch = aio.spawn(body(), loop=lt.loop)
    assert gochan.cancel(ch) is True
    hold.set()
    assert take(ch) is None
    assert ran == [] and reported.excs == []


@pytest.mark.timeout(20)
def test_await_under_a_pending_cancel_request_raises_and_closes_the_coroutine() -> None:
    import inspect

    go_on_ = threading.Event()

    def body() -> Any:
        while not go_on_.is_set():  # running (not parked) when cancelled: the request waits
            time.sleep(0.001)
        coro = double(1)
        try:
            aio.await_(coro)
        except gochan.Cancelled:
            return inspect.getcoroutinestate(coro)
        return "not cancelled"

    ch = go(body)
    wait_until(lambda: any(i.function == "body" and i.state == "running" for i in gochan.dump()),
               what="the go block running")
    assert gochan.cancel(ch) is True
    go_on_.set()
    assert take(ch) == inspect.CORO_CLOSED
