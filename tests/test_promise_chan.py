"""promise_chan, and the offer/poll rules, through gochan's public API
(semantics reference §1.1 `promise-chan`, §1.3 `offer!`/`poll!`, §3.1
`test-promise-chan` and `offer-poll`).

A promise channel keeps the first value forever: every taker, present and
future, gets it; later puts return True and are dropped; close before a
value gives None to everyone; close after a value keeps delivering it; puts
after close return False.

Pending operations are registered with `take_async`/`put_async` (which
enqueue before they return); callback results are awaited with a bounded
wait. No test orders events by sleeping.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from gochan import (
    TooManyPendingError,
    alts,
    chan,
    close,
    go,
    offer,
    poll,
    promise_chan,
    put,
    put_async,
    take,
    take_async,
    thread,
    xf,
)

WAIT = 5.0


class Recorder:
    """Collects callback values from any thread; `wait(n)` blocks until n arrived."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, value: Any) -> None:
        with self._cond:
            self.values.append(value)
            self._cond.notify_all()

    def tagged(self, tag: Any) -> Callable[[Any], None]:
        return lambda value: self((tag, value))

    def wait(self, n: int) -> list[Any]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.values) >= n, timeout=WAIT)
        assert ok, f"expected {n} callbacks, got {len(self.values)}: {self.values[:10]!r}"
        return list(self.values)


# ---------------------------------------------------------------------------
# test-promise-chan


@pytest.mark.timeout(10)
def test_measured_sequence() -> None:
    # core.async: [true true true 1 1 1 1 false] for
    # [>!! >!! offer! <!! <!! poll! (close, <!!) >!!]
    p = promise_chan()
    got = [put(p, 1), put(p, 2), offer(p, 3), take(p), take(p), poll(p)]
    close(p)
    got += [take(p), put(p, 4)]
    assert got == [True, True, True, 1, 1, 1, 1, False]


@pytest.mark.timeout(10)
def test_one_put_fulfils_all_pending_takers() -> None:
    p = promise_chan()
    rec = Recorder()
    for i in range(5):
        take_async(p, rec.tagged(i))
    assert rec.values == []
    assert put(p, "v") is True
    assert sorted(rec.wait(5)) == [(i, "v") for i in range(5)]
    assert take(p) == "v"  # and future takers


@pytest.mark.timeout(10)
def test_go_blocks_and_threads_all_get_the_value() -> None:
    p = promise_chan()
    waiters = [go(take, p) for _ in range(20)] + [thread(take, p) for _ in range(3)]
    # Whether each waiter parks before or after the put, it gets the value.
    assert put(p, 42) is True
    assert [take(w) for w in waiters] == [42] * 23


@pytest.mark.timeout(10)
def test_later_puts_are_accepted_and_dropped() -> None:
    p = promise_chan()
    assert put(p, "first") is True
    rec = Recorder()
    assert put_async(p, "second", rec) is True
    assert offer(p, "third") is True
    assert rec.wait(1) == [True]
    assert [take(p), poll(p), take(p)] == ["first"] * 3


@pytest.mark.timeout(10)
def test_puts_never_pend() -> None:
    # The promise buffer is never full, so puts complete at once and never
    # count toward the 1024 pending-puts limit.
    p = promise_chan()
    rec = Recorder()
    for i in range(1, 2001):
        assert put_async(p, i, rec) is True
    assert rec.wait(2000) == [True] * 2000
    assert take(p) == 1


@pytest.mark.timeout(10)
def test_close_without_value_releases_takers_with_none() -> None:
    p = promise_chan()
    rec = Recorder()
    for i in range(3):
        take_async(p, rec.tagged(i))
    close(p)
    assert sorted(rec.wait(3)) == [(0, None), (1, None), (2, None)]
    assert take(p) is None
    assert poll(p) is None
    assert put(p, 1) is False
    assert offer(p, 1) is False
    assert take(p) is None


@pytest.mark.timeout(10)
def test_close_after_value_keeps_delivering() -> None:
    p = promise_chan()
    assert put(p, "v") is True
    close(p)
    assert p.closed
    assert [take(p), take(p), poll(p)] == ["v", "v", "v"]
    assert put(p, "w") is False
    rec = Recorder()
    take_async(p, rec)
    assert rec.wait(1) == ["v"]
    assert take(go(take, p)) == "v"


@pytest.mark.timeout(10)
def test_close_is_idempotent() -> None:
    p = promise_chan()
    assert put(p, 7) is True
    close(p)
    close(p)
    assert take(p) == 7


@pytest.mark.timeout(10)
def test_pending_take_limit_still_applies() -> None:
    p = promise_chan()
    rec = Recorder()
    for _ in range(1024):
        take_async(p, rec)
    with pytest.raises(TooManyPendingError):
        take_async(p, rec)
    assert rec.values == []
    assert put(p, "v") is True  # nothing already pending was lost
    assert rec.wait(1024) == ["v"] * 1024
    take_async(p, rec)  # completes at once now
    assert rec.wait(1025)[-1] == "v"


@pytest.mark.timeout(10)
def test_alts_on_promise_chan() -> None:
    p = promise_chan()
    other = chan()
    assert put(p, "v") is True
    for _ in range(3):
        assert alts([other, p]) == ("v", p)


# ---------------------------------------------------------------------------
# promise_chan with a transducer


@pytest.mark.timeout(10)
def test_promise_chan_with_map() -> None:
    p = promise_chan(xf.map(lambda x: x + 1))
    assert put(p, 1) is True
    assert put(p, 10) is True
    assert [take(p), take(p)] == [2, 2]


@pytest.mark.timeout(10)
def test_promise_chan_with_filter_delivers_first_accepted_value() -> None:
    p = promise_chan(xf.filter(lambda x: x % 2 == 0))
    rec = Recorder()
    take_async(p, rec)
    assert put(p, 1) is True  # filtered: no value yet, taker still waiting
    assert poll(p) is None and rec.values == []
    assert put(p, 2) is True
    assert rec.wait(1) == [2]
    assert put(p, 4) is True
    assert take(p) == 2


@pytest.mark.timeout(10)
def test_promise_chan_with_take_closes_and_keeps_value() -> None:
    p = promise_chan(xf.take(1))
    assert put(p, "v") is True
    assert p.closed
    assert put(p, "w") is False
    assert [take(p), take(p)] == ["v", "v"]


@pytest.mark.timeout(10)
def test_promise_chan_ex_handler() -> None:
    p = promise_chan(xf.map(lambda x: 10 // x), lambda e: "err")
    assert put(p, 0) is True
    assert put(p, 5) is True  # dropped: the handler's value came first
    assert [take(p), take(p)] == ["err", "err"]


@pytest.mark.timeout(10)
def test_promise_chan_completion_value_on_close() -> None:
    p = promise_chan(xf.partition_all(3))
    rec = Recorder()
    take_async(p, rec)
    assert put(p, 1) is True and put(p, 2) is True
    assert rec.values == []
    close(p)
    assert rec.wait(1) == [[1, 2]]
    assert take(p) == [1, 2]


def test_promise_chan_bad_arguments() -> None:
    with pytest.raises(TypeError):
        promise_chan(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        promise_chan(None, 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        put(promise_chan(), None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# offer-poll


def test_offer_poll_buffered() -> None:
    c = chan(2)
    assert [offer(c, 1), offer(c, 2), offer(c, 3)] == [True, True, None]
    assert take(c) == 1
    assert poll(c) == 2
    assert poll(c) is None
    close(c)
    assert offer(c, 4) is False
    assert poll(c) is None


def test_offer_poll_unbuffered_without_partner() -> None:
    c = chan()
    assert offer(c, 1) is None
    assert poll(c) is None


@pytest.mark.timeout(10)
def test_offer_poll_inside_go() -> None:
    # ioc_macros_test offer-poll: [true true 5 6 nil]
    def body() -> list[Any]:
        c = chan(2)
        return [offer(c, 5), offer(c, 6), poll(c), poll(c), poll(c)]

    assert take(go(body)) == [True, True, 5, 6, None]


@pytest.mark.timeout(10)
def test_offer_to_pending_taker_and_poll_from_pending_putter() -> None:
    c = chan()
    rec = Recorder()
    take_async(c, rec.tagged("take"))
    assert offer(c, "x") is True
    puts = Recorder()
    assert put_async(c, "y", puts) is True  # no taker now: pending
    assert poll(c) == "y"
    assert rec.wait(1) == [("take", "x")]
    assert puts.wait(1) == [True]
    assert offer(c, "z") is None


@pytest.mark.timeout(10)
def test_offer_and_poll_never_pend() -> None:
    # offer/poll are never enqueued, so they do not count toward the limits.
    c = chan()
    for _ in range(2000):
        assert offer(c, 1) is None
        assert poll(c) is None
    rec = Recorder()
    take_async(c, rec)
    assert put(c, "ok") is True
    assert rec.wait(1) == ["ok"]


def test_offer_none_is_value_error() -> None:
    c = chan(1)
    with pytest.raises(ValueError):
        offer(c, None)  # type: ignore[arg-type]
    assert poll(c) is None
