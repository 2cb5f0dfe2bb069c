"""Transducers on channels: core.async's rules (semantics reference §1.1-1.2,
§3.1 "Transducers and alts edge cases") through gochan's public API.

Covered: xform needs a buffer; filtering puts return True; ex_handler results
bypass the xform; without a handler the exception goes to the process-wide
handler and nothing is added; `reduced` closes the channel and releases
pending putters with True; completion flushes on close, is deferred while
puts are pending, and runs once (a deliberate difference from core.async);
expanding xforms over-fill the buffer and serve every pending taker; and a
Hypothesis property that a channel delivers exactly what `xf.into_list` gives.

Ordering is explicit: pending operations are registered with `put_async` /
`take_async` (which enqueue before they return), and callback results are
awaited on an Event with a bounded wait. No test orders events by sleeping.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gochan import (
    chan,
    close,
    dropping_buffer,
    go,
    offer,
    poll,
    put,
    put_async,
    sliding_buffer,
    take,
    take_async,
    thread,
    xf,
)

WAIT = 5.0  # seconds; an upper bound for callbacks that must already be on their way


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

    def wait(self, n: int, timeout: float = WAIT) -> list[Any]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.values) >= n, timeout=timeout)
        assert ok, f"expected {n} callbacks, got {self.values!r}"
        return list(self.values)


def drain(c: Any) -> list[Any]:
    """Poll every value available right now."""
    out = []
    while True:
        v = poll(c)
        if v is None:
            return out
        out.append(v)


def emit_on_completion(token: Any) -> xf.Transducer:
    """A transducer whose completion emits `token` unconditionally (not idempotent)."""

    def xform(rf: xf.ReducingFn) -> xf.ReducingFn:
        def step(*args: Any) -> Any:
            if len(args) == 1:
                return rf(xf.unreduced(rf(args[0], token)))
            return rf(*args)

        return step

    return xform


def raise_on_completion(exc: BaseException) -> xf.Transducer:
    def xform(rf: xf.ReducingFn) -> xf.ReducingFn:
        def step(*args: Any) -> Any:
            if len(args) == 1:
                raise exc
            return rf(*args)

        return step

    return xform


# ---------------------------------------------------------------------------
# construction


@pytest.mark.parametrize("buf", [None, 0])
def test_xform_needs_a_buffer(buf: Any) -> None:
    with pytest.raises(ValueError):
        chan(buf, xf.map(str))


def test_xform_keyword_without_buffer_is_value_error() -> None:
    with pytest.raises(ValueError):
        chan(xform=xf.map(str))


def test_ex_handler_without_xform_is_allowed() -> None:
    c = chan(1, None, lambda e: None)
    assert put(c, 1) is True and take(c) == 1


# ---------------------------------------------------------------------------
# stepping


def test_map_xform() -> None:
    c = chan(3, xf.map(lambda x: x + 1))
    assert [put(c, v) for v in (1, 2, 3)] == [True, True, True]
    assert [take(c) for _ in range(3)] == [2, 3, 4]


def test_filtering_put_returns_true_and_buffers_nothing() -> None:
    c = chan(1, xf.filter(lambda x: x % 2 == 0))
    assert put(c, 1) is True
    assert offer(c, 3) is True  # accepted (and filtered): the buffer still has room
    assert poll(c) is None
    assert put(c, 2) is True
    assert offer(c, 4) is None  # now the buffer is full
    assert drain(c) == [2]
    assert offer(c, 5) is True  # room again; 5 is stepped and filtered out
    assert poll(c) is None


def test_offer_on_full_xform_chan_is_none_and_not_stepped() -> None:
    seen: list[Any] = []
    c = chan(1, xf.map(lambda x: seen.append(x) or x))
    assert offer(c, 1) is True
    assert offer(c, 2) is None  # buffer full: not accepted, so the xform never saw it
    assert seen == [1]
    close(c)
    assert offer(c, 3) is False
    assert drain(c) == [1]


def test_pending_puts_pass_through_xform_in_order() -> None:
    c = chan(1, xf.map(lambda x: x * 10))
    rec = Recorder()
    assert put(c, 1) is True
    assert put_async(c, 2, rec.tagged(2)) is True  # pending: buffer full
    assert put_async(c, 3, rec.tagged(3)) is True
    assert rec.values == []
    assert [take(c), take(c), take(c)] == [10, 20, 30]
    assert sorted(rec.wait(2)) == [(2, True), (3, True)]


def test_sliding_and_dropping_buffers_with_xform() -> None:
    s = chan(sliding_buffer(2), xf.map(lambda x: x + 1))
    assert [put(s, v) for v in range(1, 6)] == [True] * 5
    assert drain(s) == [5, 6]

    d = chan(dropping_buffer(2), xf.mapcat(lambda x: [x, x * 10]))
    assert put(d, 1) is True
    assert put(d, 2) is True  # both outputs dropped: buffer full
    assert drain(d) == [1, 10]


# ---------------------------------------------------------------------------
# exceptions: ex_handler and the process-wide handler


def test_ex_handler_result_bypasses_the_xform() -> None:
    seen: list[BaseException] = []

    def handler(e: BaseException) -> Any:
        seen.append(e)
        return -1

    c = chan(2, xf.map(lambda x: 10 // x), handler)
    assert put(c, 0) is True
    # Through the xform, -1 would have become 10 // -1 == -10.
    assert poll(c) == -1
    assert len(seen) == 1 and isinstance(seen[0], ZeroDivisionError)


def test_ex_handler_result_ignores_fullness() -> None:
    # One put expands to 10 // 5 (fills the buffer of 1), then 10 // 0 raises:
    # the handler's value is added although the buffer is already full.
    c = chan(1, xf.comp(xf.mapcat(lambda xs: xs), xf.map(lambda x: 10 // x)), lambda e: "err")
    assert put(c, [5, 0]) is True
    assert offer(c, [1]) is None  # over-full
    assert drain(c) == [2, "err"]


@pytest.mark.timeout(10)
def test_ex_handler_runs_for_a_pending_put_admitted_by_a_take() -> None:
    c = chan(1, xf.map(lambda x: 10 // x), lambda e: "err")
    rec = Recorder()
    assert put(c, 5) is True  # buffer now full with 2
    assert put_async(c, 0, rec) is True  # pending; stepped when a take makes room
    assert rec.values == []
    assert take(c) == 2
    assert rec.wait(1) == [True]
    assert take(c) == "err"


def test_ex_handler_returning_none_adds_nothing(reported: Any) -> None:
    c = chan(1, xf.map(lambda x: 10 // x), lambda e: None)
    assert put(c, 0) is True
    assert poll(c) is None
    assert put(c, 5) is True and poll(c) == 2
    assert reported.excs == []  # the ex_handler dealt with it


def test_exception_without_handler_is_reported_and_nothing_added(reported: Any) -> None:
    # `reported` (tests/conftest.py) routes set_exception_handler to a recorder.
    c = chan(1, xf.map(lambda x: 10 // x))
    assert put(c, 0) is True
    exc = reported.wait_for(1)[0]
    assert isinstance(exc, ZeroDivisionError)
    assert poll(c) is None
    assert put(c, 5) is True and take(c) == 2  # the channel still works


def test_ex_handler_that_raises_propagates_to_putter() -> None:
    def handler(e: BaseException) -> Any:
        raise KeyError("from handler")

    c = chan(1, xf.map(lambda x: 10 // x), handler)
    with pytest.raises(KeyError):
        put(c, 0)
    assert put(c, 5) is True and take(c) == 2  # lock released, channel usable


@pytest.mark.timeout(10)
def test_exception_in_completion_goes_to_ex_handler_once() -> None:
    c = chan(2, raise_on_completion(ValueError("done")), lambda e: "handled")
    assert put(c, 1) is True
    close(c)
    # core.async repeats completion on every take ("handled" forever);
    # gochan runs it once.
    assert [take(c), take(c), take(c), take(c)] == [1, "handled", None, None]


def _raising_handler(e: BaseException) -> Any:
    raise KeyError("from handler")


@pytest.mark.timeout(10)
def test_raising_ex_handler_on_take_path_loses_nothing() -> None:
    # chan(1, map(10 // x), handler raising KeyError); put 5 (buffer [2]);
    # put_async 0 (pending). take() pops 2, admits the pending put, the step
    # raises, the handler raises: the handler's exception is reported, the
    # putter is answered (True, its value was accepted) and 2 is not lost.
    c = chan(1, xf.map(lambda x: 10 // x), _raising_handler)
    assert put(c, 5) is True
    rec = Recorder()
    assert put_async(c, 0, rec) is True
    delivered = []
    try:
        delivered.append(take(c))
    except KeyError:
        pass
    delivered += drain(c)
    assert delivered == [2]
    assert rec.wait(1, timeout=1.0) == [True]


@pytest.mark.timeout(10)
def test_raising_ex_handler_in_completion_still_releases_takers() -> None:
    # chan(1, comp(partition_all(3), map(1 // 0)), handler raising KeyError);
    # put 1; take_async (pending); close() -> completion flushes [1], the map
    # raises, the handler raises: the pending taker still gets None (the
    # channel is closed and empty).
    c = chan(1, xf.comp(xf.partition_all(3), xf.map(lambda g: 1 // 0)), _raising_handler)
    assert put(c, 1) is True
    rec = Recorder()
    take_async(c, rec)
    try:
        close(c)
    except KeyError:
        pass
    assert c.closed
    assert rec.wait(1, timeout=1.0) == [None]


# ---------------------------------------------------------------------------
# early termination: reduced closes the channel


def test_take_1_closes_on_first_put() -> None:
    c = chan(1, xf.take(1))
    assert put(c, "a") is True
    assert c.closed
    assert put(c, "b") is False
    assert offer(c, "b") is False
    assert take(c) == "a"
    assert take(c) is None


def test_take_0_drops_first_put_and_closes() -> None:
    c = chan(1, xf.take(0))
    assert put(c, "a") is True
    assert c.closed
    assert take(c) is None


@pytest.mark.timeout(10)
def test_reduced_releases_pending_putters_with_true() -> None:
    # Measured in core.async with (chan 1 (take 2)): 1 is buffered, puts of 2
    # and 3 are pending. A take returns 1 and moves put 2 into the buffer,
    # where take returns reduced: put 2 gets true (delivered), put 3 gets
    # true (dropped), and the channel is closed. Takes: [1 2 nil].
    c = chan(1, xf.take(2))
    rec = Recorder()
    assert put(c, 1) is True
    assert put_async(c, 2, rec.tagged(2)) is True
    assert put_async(c, 3, rec.tagged(3)) is True
    assert not c.closed
    assert take(c) == 1
    assert sorted(rec.wait(2)) == [(2, True), (3, True)]
    assert c.closed
    assert [take(c), take(c)] == [2, None]
    assert put(c, 4) is False


@pytest.mark.timeout(10)
def test_reduced_releases_parked_go_block_and_blocked_thread_putters(
    bg: Any, pending: Any, until: Any
) -> None:
    # The same as above with a blocked thread and a parked go block as the
    # pending putters; each is known to be pending once the repr counts it.
    c = chan(1, xf.take(2))
    assert put(c, 1) is True
    t = bg(put, c, 2)
    until(lambda: pending(c) == (1, 0), what="thread put pending")
    g = go(put, c, 3)
    until(lambda: pending(c) == (2, 0), what="go put pending")
    assert take(c) == 1
    assert t.join() is True  # delivered
    assert take(g) is True  # dropped, but still True
    assert c.closed
    assert [take(c), take(c)] == [2, None]


@pytest.mark.timeout(10)
def test_reduced_serves_pending_takers_then_closes() -> None:
    c = chan(1, xf.take(2))
    rec = Recorder()
    for i in range(3):
        take_async(c, rec.tagged(i))
    assert put(c, "a") is True
    assert put(c, "b") is True
    assert sorted(rec.wait(3)) == [(0, "a"), (1, "b"), (2, None)]
    assert c.closed


@pytest.mark.timeout(10)
def test_take_while_closes_on_first_failure() -> None:
    c = chan(5, xf.take_while(lambda x: x < 3))
    assert [put(c, v) for v in (1, 2, 3)] == [True, True, True]
    assert c.closed
    assert put(c, 1) is False
    assert [take(c), take(c), take(c)] == [1, 2, None]


# ---------------------------------------------------------------------------
# completion on close


@pytest.mark.timeout(10)
def test_partition_all_flushes_to_parked_taker_on_close() -> None:
    c = chan(10, xf.partition_all(3))
    assert put(c, 1) is True and put(c, 2) is True
    rec = Recorder()
    take_async(c, rec)  # nothing to take yet: the group is still open, so this waits
    assert rec.values == []
    close(c)
    assert rec.wait(1) == [[1, 2]]
    assert take(c) is None


@pytest.mark.timeout(10)
def test_partition_all_flush_reaches_parked_go_block_and_blocked_thread(
    bg: Any, pending: Any, until: Any
) -> None:
    c = chan(10, xf.partition_all(3))
    for v in (1, 2, 3, 4):
        assert put(c, v) is True
    assert take(c) == [1, 2, 3]
    g = go(take, c)
    until(lambda: pending(c) == (0, 1), what="go take parked")
    t = bg(take, c)
    until(lambda: pending(c) == (0, 2), what="thread take blocked")
    close(c)
    # FIFO: the parked go block came first and gets the flushed group.
    assert take(g) == [4]
    assert t.join() is None


@pytest.mark.timeout(10)
def test_partition_all_flush_reaches_a_go_block_taker() -> None:
    c = chan(10, xf.partition_all(3))
    for v in range(5):
        assert put(c, v) is True

    def consume() -> list[Any]:
        return list(c)  # takes until closed and drained, parking in between

    g = go(consume)
    close(c)
    assert take(g) == [[0, 1, 2], [3, 4]]


@pytest.mark.timeout(10)
def test_partition_by_flushes_on_close() -> None:
    c = chan(10, xf.partition_by(lambda x: x > 0))
    for v in (1, 2, -1, -2):
        assert put(c, v) is True
    close(c)
    assert [take(c), take(c), take(c)] == [[1, 2], [-1, -2], None]


@pytest.mark.timeout(10)
def test_completion_runs_once() -> None:
    # core.async emits :eof again on every take from the drained closed
    # channel ([:eof :eof :eof]); gochan runs completion once.
    c = chan(5, emit_on_completion("eof"))
    assert put(c, "x") is True
    close(c)
    assert [take(c), take(c), take(c), take(c)] == ["x", "eof", None, None]
    assert poll(c) is None


@pytest.mark.timeout(10)
def test_completion_on_empty_channel_reaches_pending_takers() -> None:
    c = chan(5, emit_on_completion("eof"))
    rec = Recorder()
    take_async(c, rec.tagged(0))
    take_async(c, rec.tagged(1))
    close(c)
    assert sorted(rec.wait(2)) == [(0, "eof"), (1, None)]


@pytest.mark.timeout(10)
def test_completion_waits_for_pending_puts() -> None:
    # close() with puts pending must not complete yet: their values still go
    # through the xform, and the last partial group is flushed after them.
    c = chan(1, xf.partition_all(2))
    rec = Recorder()
    assert put(c, 1) is True and put(c, 2) is True  # [1, 2] buffered: full
    for v in (3, 4, 5):
        assert put_async(c, v, rec.tagged(v)) is True
    close(c)
    assert put(c, 6) is False
    assert take(c) == [1, 2]
    assert take(c) == [3, 4]
    assert take(c) == [5]
    assert take(c) is None
    assert sorted(rec.wait(3)) == [(3, True), (4, True), (5, True)]


# ---------------------------------------------------------------------------
# expanding transducers


def test_expanding_xform_overfills_buffer() -> None:
    # (chan 1 (mapcat identity)): >!! [1 2 3] is true with 3 buffered; offer!
    # gives nil while over-full; after the takes drain it, offer! gives true.
    c = chan(1, xf.mapcat(lambda x: x))
    assert put(c, [1, 2, 3]) is True
    assert offer(c, [4]) is None
    assert take(c) == 1
    assert offer(c, [4]) is None  # still count >= n
    assert [take(c), take(c)] == [2, 3]
    assert offer(c, [4]) is True
    assert take(c) == 4


@pytest.mark.timeout(10)
def test_expanding_xform_blocking_put_waits_while_overfull() -> None:
    c = chan(1, xf.mapcat(lambda x: x))
    assert put(c, [1, 2, 3]) is True
    rec = Recorder()
    assert put_async(c, [4], rec) is True
    assert rec.values == []  # not admitted while count >= n
    assert [take(c), take(c)] == [1, 2]
    assert rec.values == []
    assert take(c) == 3  # buffer empty: the pending put is admitted now
    assert rec.wait(1) == [True]
    assert take(c) == 4


@pytest.mark.timeout(30)
@pytest.mark.parametrize("bufsize", range(1, 10))
def test_expanding_xform_delivers_to_multiple_pending(bufsize: int) -> None:
    # core.async's expanding-transducer-delivers-to-multiple-pending: for
    # every buffer size and taker count 1..9, (xerox 3) over 3 inputs serves
    # the pending takers, in FIFO order, with one put.
    expected = [1, 1, 1, 2, 2, 2, 3, 3, 3]
    for takers in range(1, 10):
        c = chan(bufsize, xf.mapcat(lambda x: [x] * 3))
        rec = Recorder()
        for i in range(takers):
            take_async(c, rec.tagged(i))
        puts = Recorder()
        for v in (1, 2, 3):
            assert put_async(c, v, puts) is True
        got = sorted(rec.wait(takers))
        assert got == list(enumerate(expected[:takers])), (bufsize, takers)
        rest = []
        while len(rest) < 9 - takers:
            rest.append(take(c))
        assert rest == expected[takers:], (bufsize, takers)
        assert puts.wait(3) == [True, True, True]
        assert poll(c) is None


@pytest.mark.timeout(10)
def test_one_expanding_put_serves_every_pending_taker() -> None:
    c = chan(1, xf.mapcat(lambda x: x))
    rec = Recorder()
    for i in range(4):
        take_async(c, rec.tagged(i))
    assert put(c, ["a", "b", "c", "d", "e"]) is True
    assert sorted(rec.wait(4)) == [(0, "a"), (1, "b"), (2, "c"), (3, "d")]
    assert take(c) == "e"


# ---------------------------------------------------------------------------
# one xform value, many channels


@pytest.mark.timeout(10)
def test_one_xform_value_on_two_channels() -> None:
    x = xf.comp(xf.take(2), xf.partition_all(2))
    a, b = chan(4, x), chan(4, x)
    assert put(a, 1) is True and put(b, 10) is True
    assert put(a, 2) is True  # a is done (take 2) and closed; b has seen one value
    assert a.closed and not b.closed
    assert put(b, 20) is True
    assert b.closed
    assert [take(a), take(a)] == [[1, 2], None]
    assert [take(b), take(b)] == [[10, 20], None]


@pytest.mark.timeout(20)
def test_stateful_xform_under_concurrent_producers() -> None:
    # The xform runs under the channel lock: with threads and go blocks
    # putting at once, partition_all still sees every value exactly once and
    # each producer's values stay in its own order.
    c = chan(4, xf.partition_all(3))
    consumer = go(_take_all, c)
    producers = [thread(_put_all, c, [(p, i) for i in range(300)]) for p in range(3)]
    producers += [go(_put_all, c, [(p, i) for i in range(300)]) for p in range(3, 6)]
    for prod in producers:
        assert take(prod) == [True] * 300
    close(c)
    groups = take(consumer)
    assert all(len(g) == 3 for g in groups)  # 1800 values: no partial group
    flat = [v for g in groups for v in g]
    assert sorted(flat) == sorted((p, i) for p in range(6) for i in range(300))
    for p in range(6):
        assert [i for q, i in flat if q == p] == list(range(300))


# ---------------------------------------------------------------------------
# property: a channel delivers exactly what xf.into_list gives


def _stage_strategies() -> st.SearchStrategy[tuple[str, xf.Transducer]]:
    def num(x: Any) -> int:
        return sum(num(y) for y in x) + len(x) if isinstance(x, list) else int(x)

    return st.one_of(
        st.integers(-2, 3).map(lambda a: (f"map*{a}", xf.map(lambda x: num(x) * a + 1))),
        st.integers(2, 3).map(lambda m: (f"filter%{m}", xf.filter(lambda x: num(x) % m))),
        st.integers(2, 3).map(lambda m: (f"keep%{m}", xf.keep(lambda x: num(x) % m or None))),
        st.integers(0, 8).map(lambda n: (f"take{n}", xf.take(n))),
        st.integers(0, 4).map(lambda n: (f"drop{n}", xf.drop(n))),
        st.integers(-5, 5).map(lambda t: (f"take_while<{t}", xf.take_while(lambda x: num(x) < t))),
        st.integers(-5, 5).map(lambda t: (f"drop_while<{t}", xf.drop_while(lambda x: num(x) < t))),
        st.integers(1, 4).map(lambda n: (f"partition_all{n}", xf.partition_all(n))),
        st.integers(2, 3).map(
            lambda m: (f"partition_by%{m}", xf.partition_by(lambda x: num(x) % m))
        ),
        st.integers(1, 4).map(
            lambda k: (f"mapcat{k}", xf.mapcat(lambda x: [num(x) + i for i in range(num(x) % k)]))
        ),
        st.just(("dedupe", xf.dedupe())),
        st.just(("distinct", xf.distinct())),
        st.integers(-3, 3).map(lambda s: (f"interpose{s}", xf.interpose(s))),
    )


def _put_all(c: Any, values: list[int]) -> list[bool]:
    return [put(c, v) for v in values]


def _take_all(c: Any) -> list[Any]:
    out = []
    while True:
        v = take(c)
        if v is None:
            return out
        out.append(v)


@pytest.mark.timeout(60)
@settings(deadline=None, max_examples=100)
@given(
    pipeline=st.lists(_stage_strategies(), min_size=1, max_size=3),
    slices=st.lists(st.lists(st.integers(-6, 6), max_size=6), min_size=1, max_size=4),
    bufsize=st.integers(1, 4),
)
def test_channel_delivers_what_into_list_gives(
    pipeline: list[tuple[str, xf.Transducer]], slices: list[list[int]], bufsize: int
) -> None:
    xform = xf.comp(*[s[1] for s in pipeline])
    c = chan(bufsize, xform)
    consumer = go(_take_all, c)
    for part in slices:
        # one producer go block at a time; the next starts after it returned
        results = take(go(_put_all, c, part))
        assert results is not None and len(results) == len(part)
    close(c)
    expected = xf.into_list(xform, [v for part in slices for v in part])
    assert take(consumer) == expected
