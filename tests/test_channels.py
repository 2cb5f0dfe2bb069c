"""Channels: put/take/close semantics, pending limits, FIFO service, the Chan
conveniences, offer/poll and put_async/take_async.

Ported from core.async's async_test.clj (semantics reference §3.1) where a
case exists, plus the close and limit rules of SPEC "Channels" (§2.2-2.5).
A background thread is known to be blocked once the channel's repr counts
its pending op; "still blocked" is a bounded join expected to time out.
"""
from __future__ import annotations

import threading
from typing import Any, List

import pytest

import gochan
from gochan import (
    Chan,
    TooManyPendingError,
    chan,
    close,
    go,
    offer,
    poll,
    put,
    put_async,
    take,
    take_async,
)

LIMIT = 1024


class Calls:
    """Callback recorder: the values it was called with and on which thread."""

    def __init__(self) -> None:
        self.values: List[Any] = []
        self.idents: List[int] = []
        self.event = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, v: Any) -> None:
        with self._lock:
            self.values.append(v)
            self.idents.append(threading.get_ident())
        self.event.set()

    def wait(self) -> None:
        assert self.event.wait(10), "callback was never called"


# ------------------------------------------------------------------- basics


@pytest.mark.timeout(10)
def test_basic_channel(bg) -> None:
    c = chan(1)
    t = bg(take, c)
    assert put(c, 42) is True
    assert t.join() == 42


@pytest.mark.timeout(10)
def test_writes_block_on_full_buffer(bg) -> None:
    c = chan(1)
    assert put(c, 1) is True
    t = bg(put, c, 2)
    assert t.blocked()
    assert take(c) == 1
    assert t.join() is True
    assert take(c) == 2


@pytest.mark.timeout(10)
def test_unfulfilled_readers_block(bg, pending, until) -> None:
    c = chan(1)
    r1 = bg(take, c)
    r2 = bg(take, c)
    until(lambda: pending(c) == (0, 2), what="two readers pending")
    assert put(c, 42) is True
    until(lambda: not (r1.thread.is_alive() and r2.thread.is_alive()), what="one reader released")
    done, waiting = (r1, r2) if not r1.thread.is_alive() else (r2, r1)
    assert done.join() == 42
    assert waiting.blocked()
    close(c)
    assert waiting.join() is None


@pytest.mark.timeout(10)
def test_put_async_callback_waits_for_a_reader() -> None:
    c = chan()
    calls = Calls()
    assert put_async(c, 42, calls) is True
    assert calls.values == []
    assert take(c) == 42
    calls.wait()
    assert calls.values == [True]


@pytest.mark.timeout(10)
def test_take_async_callback_waits_for_a_writer() -> None:
    c = chan()
    calls = Calls()
    assert take_async(c, calls) is None
    assert calls.values == []
    assert put(c, 42) is True
    calls.wait()
    assert calls.values == [42]


@pytest.mark.timeout(10)
def test_puts_fulfill_when_buffer_available() -> None:
    c = chan(1)
    assert put(c, 1) is True
    calls = Calls()
    assert put_async(c, 2, calls) is True
    assert calls.values == []
    assert take(c) == 1
    calls.wait()
    assert calls.values == [True]
    assert take(c) == 2


@pytest.mark.parametrize("value", [0, False, "", [], 0.0])
def test_falsy_values_are_values(value: Any) -> None:
    c = chan(1)
    assert put(c, value) is True
    got = take(c)
    assert got == value and type(got) is type(value)


def test_chan_methods() -> None:
    c: Chan[int] = chan(1)
    assert c.put(7) is True
    assert c.take() == 7
    assert c.closed is False
    c.close()
    assert c.closed is True
    assert c.put(8) is False
    assert c.take() is None


# ------------------------------------------------- which thread runs callbacks


@pytest.mark.timeout(10)
def test_take_async_on_caller_no_value_yet_runs_on_putters_thread(bg, pending, until) -> None:
    c = chan()
    calls = Calls()
    take_async(c, calls)
    until(lambda: pending(c) == (0, 1))
    putter = bg(put, c, 42)
    assert putter.join() is True
    calls.wait()
    assert calls.values == [42]
    assert calls.idents == [putter.ident]


def test_take_async_on_caller_value_ready_runs_on_caller_before_returning() -> None:
    c = chan(1)
    offer(c, 42)
    calls = Calls()
    take_async(c, calls)
    assert calls.values == [42]  # synchronous
    assert calls.idents == [threading.get_ident()]


@pytest.mark.timeout(10)
def test_take_async_not_on_caller_value_ready_runs_elsewhere() -> None:
    c = chan(1)
    offer(c, 42)
    calls = Calls()
    take_async(c, calls, on_caller=False)
    calls.wait()
    assert calls.values == [42]
    assert calls.idents[0] != threading.get_ident()


@pytest.mark.timeout(10)
def test_take_async_not_on_caller_pending_runs_elsewhere(pending, until) -> None:
    c = chan()
    calls = Calls()
    take_async(c, calls, on_caller=False)
    until(lambda: pending(c) == (0, 1))
    assert put(c, 42) is True
    calls.wait()
    assert calls.values == [42]
    assert calls.idents[0] != threading.get_ident()


@pytest.mark.timeout(10)
def test_put_async_on_caller_with_taker_waiting_runs_on_caller(bg, pending, until) -> None:
    c = chan()
    taker = bg(take, c)
    until(lambda: pending(c) == (0, 1))
    calls = Calls()
    assert put_async(c, 42, calls) is True
    assert calls.values == [True]  # synchronous, before put_async returned
    assert calls.idents == [threading.get_ident()]
    assert taker.join() == 42


@pytest.mark.timeout(10)
def test_put_async_not_on_caller_with_taker_waiting_runs_elsewhere(bg, pending, until) -> None:
    c = chan()
    taker = bg(take, c)
    until(lambda: pending(c) == (0, 1))
    calls = Calls()
    assert put_async(c, 42, calls, on_caller=False) is True
    calls.wait()
    assert calls.values == [True]
    assert calls.idents[0] != threading.get_ident()
    assert taker.join() == 42


@pytest.mark.timeout(10)
def test_put_async_on_caller_no_taker_runs_on_takers_thread(bg) -> None:
    c = chan()
    calls = Calls()
    assert put_async(c, 42, calls) is True
    assert calls.values == []
    taker = bg(take, c)
    assert taker.join() == 42
    calls.wait()
    assert calls.values == [True]
    assert calls.idents == [taker.ident]


def test_put_async_on_closed_returns_false_and_calls_back_with_false() -> None:
    c = chan(1)
    close(c)
    calls = Calls()
    assert put_async(c, 1, calls) is False
    assert calls.values == [False]
    assert calls.idents == [threading.get_ident()]
    assert put_async(c, 1) is False  # without a callback too


def test_put_async_without_callback_still_enqueues() -> None:
    c = chan()
    assert put_async(c, 1) is True
    assert poll(c) == 1  # the pending put was there to be taken


def test_put_async_immediate_runs_callback_before_returning() -> None:
    c = chan(1)
    calls = Calls()
    assert put_async(c, 1, calls) is True
    assert calls.values == [True]


def test_take_async_on_closed_calls_back_with_none() -> None:
    c = chan()
    close(c)
    calls = Calls()
    take_async(c, calls)
    assert calls.values == [None]


@pytest.mark.timeout(10)
def test_exception_in_put_callback_is_reported(reported) -> None:
    c = chan()
    boom = ZeroDivisionError("put callback")

    def cb(ok: bool) -> None:
        raise boom

    put_async(c, 1, cb)
    assert take(c) == 1  # the callback's exception does not reach the taker
    assert reported.wait_for(1) == [boom]
    # the channel still works
    assert offer(c, 2) is None


@pytest.mark.timeout(10)
def test_exception_in_take_callback_is_reported(reported) -> None:
    c = chan()
    boom = ZeroDivisionError("take callback")

    def cb(v: Any) -> None:
        raise boom

    take_async(c, cb)
    assert put(c, 1) is True  # the callback's exception does not reach the putter
    assert reported.wait_for(1) == [boom]


@pytest.mark.timeout(10)
def test_exception_in_immediate_callbacks_is_reported(reported) -> None:
    c = chan(1)

    def bad(v: Any) -> None:
        raise KeyError(v)

    assert put_async(c, "p", bad) is True  # completes at once; fn raises on the caller
    take_async(c, bad)
    excs = reported.wait_for(2)  # both ran synchronously, in this order
    assert [e.args[0] for e in excs] == [True, "p"]


@pytest.mark.timeout(10)
def test_exception_in_not_on_caller_callback_is_reported(reported) -> None:
    c = chan(1)
    offer(c, 1)
    boom = ValueError("dispatched")

    def cb(v: Any) -> None:
        raise boom

    take_async(c, cb, on_caller=False)
    assert reported.wait_for(1) == [boom]


# -------------------------------------------------------------- offer / poll


def test_offer_poll_buffered() -> None:
    c = chan(2)
    assert offer(c, 1) is True
    assert offer(c, 2) is True
    assert offer(c, 3) is None
    assert take(c) == 1
    assert poll(c) == 2
    assert poll(c) is None


def test_offer_poll_unbuffered_with_nobody_waiting() -> None:
    c = chan()
    assert offer(c, 1) is None
    assert poll(c) is None
    assert (gochan.stats(c).pending_puts, gochan.stats(c).pending_takes) == (0, 0)  # neither was enqueued


@pytest.mark.timeout(10)
def test_offer_hands_to_a_waiting_taker(bg, pending, until) -> None:
    c = chan()
    taker = bg(take, c)
    until(lambda: pending(c) == (0, 1))
    assert offer(c, 5) is True
    assert taker.join() == 5


def test_poll_takes_from_a_pending_putter() -> None:
    c = chan()
    calls = Calls()
    put_async(c, 5, calls)
    assert poll(c) == 5
    assert calls.values == [True]
    assert poll(c) is None


def test_offer_poll_on_closed() -> None:
    c = chan(1)
    offer(c, 1)
    close(c)
    assert offer(c, 2) is False
    assert poll(c) == 1
    assert poll(c) is None


def test_offer_poll_do_not_count_toward_the_limits() -> None:
    c = chan()
    for i in range(LIMIT):
        put_async(c, i)
    assert offer(c, "x") is None  # no error: offer never enqueues
    d = chan()
    for _ in range(LIMIT):
        take_async(d, lambda v: None)
    assert poll(d) is None


# ------------------------------------------------------------------- close


def test_close_keeps_buffered_values() -> None:
    c = chan(3)
    put(c, 1)
    put(c, 2)
    close(c)
    assert c.closed
    assert put(c, 3) is False
    assert offer(c, 3) is False
    assert [take(c), take(c), take(c), take(c)] == [1, 2, None, None]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("buf", [None, 1])
def test_close_delivers_already_pending_puts_and_their_putters_get_true(bg, pending, until, buf) -> None:
    c = chan(buf)
    expected = []
    if buf:
        put(c, "buffered")
        expected.append("buffered")
    calls = Calls()
    put_async(c, "callback", calls)
    until(lambda: pending(c) == (1, 0))
    thread_putter = bg(put, c, "thread")
    until(lambda: pending(c) == (2, 0))
    go_putter = go(put, c, "go")
    until(lambda: pending(c) == (3, 0))
    expected += ["callback", "thread", "go"]

    close(c)
    assert c.closed
    assert put(c, "late") is False
    late = Calls()
    assert put_async(c, "late", late) is False and late.values == [False]
    assert thread_putter.blocked()  # close does not release pending puts

    assert [take(c) for _ in expected] == expected  # in arrival order
    assert take(c) is None
    assert take(c) is None
    calls.wait()
    assert calls.values == [True]
    assert thread_putter.join() is True
    assert take(go_putter) is True


@pytest.mark.timeout(10)
def test_close_releases_pending_takers_with_none(bg, pending, until) -> None:
    c = chan()
    calls = Calls()
    take_async(c, calls)
    thread_taker = bg(take, c)
    until(lambda: pending(c) == (0, 2))
    go_taker = go(take, c)
    until(lambda: pending(c) == (0, 3))
    alts_taker = bg(gochan.alts, [c, chan()])
    until(lambda: pending(c) == (0, 4))
    close(c)
    calls.wait()
    assert calls.values == [None]
    assert thread_taker.join() is None
    assert take(go_taker) is None
    assert alts_taker.join() == (None, c)


@pytest.mark.timeout(10)
def test_take_from_closed_and_drained_returns_at_once() -> None:
    c = chan()
    close(c)
    for _ in range(3):
        assert take(c) is None
    assert take(go(take, c)) is None


def test_close_is_idempotent() -> None:
    c = chan(1)
    put(c, 1)
    close(c)
    close(c)
    c.close()
    assert c.closed
    assert take(c) == 1
    assert take(c) is None


@pytest.mark.timeout(10)
def test_put_on_closed_from_go_block_returns_false() -> None:
    c = chan()
    close(c)
    assert take(go(put, c, 1)) is False


# --------------------------------------------------------------- the limits


@pytest.mark.timeout(20)
def test_put_async_limit() -> None:
    c = chan()
    results: List[bool] = []
    for i in range(LIMIT):
        assert put_async(c, i, results.append) is True
    with pytest.raises(TooManyPendingError) as info:
        put_async(c, LIMIT, results.append)
    assert isinstance(info.value, RuntimeError)
    # nothing already pending was lost, and the channel still works
    assert [take(c) for _ in range(LIMIT)] == list(range(LIMIT))
    assert results == [True] * LIMIT
    assert put_async(c, "again") is True
    assert take(c) == "again"


@pytest.mark.timeout(20)
def test_put_async_limit_on_full_buffer() -> None:
    c = chan(1)
    put(c, "buffered")
    for i in range(LIMIT):
        put_async(c, i)
    with pytest.raises(TooManyPendingError):
        put_async(c, LIMIT)
    assert [take(c) for _ in range(LIMIT + 1)] == ["buffered"] + list(range(LIMIT))
    assert poll(c) is None


@pytest.mark.timeout(20)
def test_take_async_limit() -> None:
    c = chan()
    got: List[Any] = [None] * LIMIT
    for i in range(LIMIT):
        take_async(c, lambda v, i=i: got.__setitem__(i, v))
    with pytest.raises(TooManyPendingError) as info:
        take_async(c, lambda v: None)
    assert isinstance(info.value, RuntimeError)
    for i in range(LIMIT):
        assert put(c, i * 10) is True
    assert got == [i * 10 for i in range(LIMIT)]  # FIFO, nothing lost
    calls = Calls()
    take_async(c, calls)
    assert offer(c, "again") is True
    assert calls.values == ["again"]


@pytest.mark.timeout(30)
def test_parked_go_block_puts_count_toward_the_limit(pending, until, reported) -> None:
    c = chan()
    putters = [go(put, c, i) for i in range(LIMIT)]
    until(lambda: pending(c) == (LIMIT, 0), what="1024 parked puts")

    def one_more() -> str:
        try:
            put(c, "extra")
        except TooManyPendingError:
            return "raised"
        return "accepted"

    assert take(go(one_more)) == "raised"
    uncaught = go(put, c, "uncaught")  # the error escapes this go block: reported
    assert take(uncaught) is None
    assert isinstance(reported.wait_for(1)[0], TooManyPendingError)
    with pytest.raises(TooManyPendingError):
        put_async(c, "extra")
    assert sorted(take(c) for _ in range(LIMIT)) == list(range(LIMIT))
    assert [take(p) for p in putters] == [True] * LIMIT
    assert poll(c) is None


@pytest.mark.timeout(30)
def test_parked_go_block_takes_count_toward_the_limit(pending, until) -> None:
    c = chan()
    takers = [go(take, c) for _ in range(LIMIT)]
    until(lambda: pending(c) == (0, LIMIT), what="1024 parked takes")

    def one_more() -> str:
        try:
            take(c)
        except TooManyPendingError:
            return "raised"
        return "took"

    assert take(go(one_more)) == "raised"
    with pytest.raises(TooManyPendingError):
        take_async(c, lambda v: None)
    for i in range(LIMIT):
        assert put(c, i) is True
    assert sorted(take(t) for t in takers) == list(range(LIMIT))


@pytest.mark.timeout(30)
def test_blocked_thread_puts_count_toward_the_limit(bg, pending, until) -> None:
    c = chan()
    n_threads = 16
    threads = [bg(put, c, ("t", i)) for i in range(n_threads)]
    until(lambda: pending(c) == (n_threads, 0))
    for i in range(LIMIT - n_threads):
        put_async(c, ("a", i))
    extra = bg(put, c, "extra")
    with pytest.raises(TooManyPendingError):
        extra.join()
    got = [take(c) for _ in range(LIMIT)]
    assert sorted(got) == sorted([("t", i) for i in range(n_threads)]
                                 + [("a", i) for i in range(LIMIT - n_threads)])
    assert [t.join() for t in threads] == [True] * n_threads
    assert "extra" not in got and poll(c) is None


@pytest.mark.timeout(30)
def test_blocked_thread_takes_count_toward_the_limit(bg, pending, until) -> None:
    c = chan()
    n_threads = 16
    threads = [bg(take, c) for _ in range(n_threads)]
    until(lambda: pending(c) == (0, n_threads))
    got: List[Any] = []
    for _ in range(LIMIT - n_threads):
        take_async(c, got.append)
    extra = bg(take, c)
    with pytest.raises(TooManyPendingError):
        extra.join()
    for i in range(LIMIT):
        put(c, i)
    assert sorted(got + [t.join() for t in threads]) == list(range(LIMIT))


# -------------------------------------------------------------------- FIFO


@pytest.mark.timeout(10)
@pytest.mark.parametrize("buf", [None, 1, 4])
def test_takers_served_in_arrival_order(bg, pending, until, buf) -> None:
    c = chan(buf)
    kinds: List[Any] = []
    for i in range(9):
        kind = i % 3
        if kind == 0:
            calls = Calls()
            take_async(c, calls)
            kinds.append(calls)
        elif kind == 1:
            kinds.append(bg(take, c))
        else:
            kinds.append(go(take, c))
        until(lambda i=i: pending(c) == (0, i + 1), what=f"taker {i} pending")
    for i in range(9):
        assert put(c, i * 10) is True
    got = []
    for k in kinds:
        if isinstance(k, Calls):
            k.wait()
            got.append(k.values[0])
        elif isinstance(k, Chan):
            got.append(take(k))
        else:
            got.append(k.join())
    assert got == [i * 10 for i in range(9)]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("buf", [None, 1, 2])
def test_putters_served_in_arrival_order(bg, pending, until, buf) -> None:
    c = chan(buf)
    for i in range(buf or 0):
        put(c, ("buffered", i))
    putters: List[Any] = []
    for i in range(9):
        kind = i % 3
        if kind == 0:
            put_async(c, i)
        elif kind == 1:
            putters.append(bg(put, c, i))
        else:
            putters.append(go(put, c, i))
        until(lambda i=i: pending(c) == (i + 1, 0), what=f"putter {i} pending")
    got = [take(c) for _ in range(9 + (buf or 0))]
    assert got == [("buffered", i) for i in range(buf or 0)] + list(range(9))
    for p in putters:
        assert (take(p) if isinstance(p, Chan) else p.join()) is True


# ------------------------------------------------------ Chan conveniences


@pytest.mark.timeout(10)
def test_iteration_takes_until_closed_and_drained(bg) -> None:
    c = chan()

    def produce() -> None:
        for i in range(5):
            put(c, i)
        close(c)

    p = bg(produce)
    assert list(c) == [0, 1, 2, 3, 4]
    p.join()


@pytest.mark.timeout(10)
def test_iteration_in_a_go_block() -> None:
    c = chan(10)
    for i in range(5):
        put(c, i)
    close(c)
    assert take(go(lambda: [v * 2 for v in c])) == [0, 2, 4, 6, 8]


def test_context_manager_closes_on_exit() -> None:
    with chan(1) as c:
        assert put(c, 1) is True
        assert not c.closed
    assert c.closed
    assert take(c) == 1  # accepted values survive the close
    assert take(c) is None


def test_context_manager_closes_on_exception() -> None:
    with pytest.raises(KeyError):
        with chan() as c:
            raise KeyError("x")
    assert c.closed


@pytest.mark.timeout(10)
def test_repr_shows_id_kind_fill_pending_and_state(pending, until) -> None:
    c = chan()
    r = repr(c)
    assert f"{id(c):x}" in r
    assert "unbuffered" in r and "open" in r
    assert pending(c) == (0, 0)
    put_async(c, 1)
    put_async(c, 2)
    assert pending(c) == (2, 0)
    close(c)
    assert "closed" in repr(c)
    d = chan(4)
    offer(d, 1)
    assert "buffer(1/4)" in repr(d)
    e = chan()
    for _ in range(3):
        take_async(e, lambda v: None)
    assert pending(e) == (0, 3)


def test_chan_is_generic() -> None:
    c: Chan[int] = chan(1)
    assert Chan[int] is not None
    assert isinstance(c, Chan)
