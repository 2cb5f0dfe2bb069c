"""pipeline, pipeline_blocking and pipeline_async with `ordered=False`: every value exactly
once, as items finish (a slow item holds back only itself), with the ordered pipelines'
rules for errors, the ex_handler, cancel, a closed output, per-item xform state and
arguments.

Items are made slow by gates (channels the test opens), never by sleeps: the
test proves the other items went through while the gate was still shut.
"""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Callable, Dict, List

import pytest
from combinator_support import (  # noqa: F401 (the fixtures are used by name)
    live_loops,
    no_loop_left_behind,
    reported_fixture,
    wait_for,
)
from conftest import pending_of, wait_until
from hypothesis import given, settings
from hypothesis import strategies as st

import gochan
from gochan import (
    cancel,
    chan,
    close,
    dump,
    go,
    into,
    offer,
    pipeline,
    pipeline_async,
    pipeline_blocking,
    put,
    stats,
    take,
    thread,
    to_chan,
    xf,
)

KINDS = ["pipeline", "pipeline_blocking", "pipeline_async"]


def xform_af(kind: str, xform: Any) -> Any:
    """`xform` as the kind wants it: the xform itself, or an af that delivers what it gives."""
    if kind != "pipeline_async":
        return xform

    def af(v: Any, res: Any) -> None:
        def work() -> None:
            for y in xf.into_list(xform, [v]):
                put(res, y)
            close(res)
        go(work)
    return af


def start(kind: str, n: int, to: Any, f: Any, frm: Any, *rest: Any, **kw: Any) -> Any:
    pf = {"pipeline": pipeline, "pipeline_blocking": pipeline_blocking, "pipeline_async": pipeline_async}[kind]
    return pf(n, to, f, frm, *rest, ordered=False, **kw)


def run(kind: str, n: int, xform: Any, inputs: Any) -> List[Any]:
    out = chan(8)
    done = start(kind, n, out, xform_af(kind, xform), to_chan(inputs))
    got = take(into([], out))
    assert take(done) is None
    return got  # type: ignore[no-any-return]


inc = xf.map(lambda x: x + 1)


# ------------------------------------------------------------ every value exactly once

@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n,size", [(1, 0), (1, 10), (3, 100), (8, 1000), (20, 10)])
def test_every_value_exactly_once(kind: str, n: int, size: int) -> None:
    got = run(kind, n, inc, range(size))
    assert Counter(got) == Counter(range(1, size + 1))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", KINDS)
def test_an_items_own_values_keep_their_order(kind: str) -> None:
    got = run(kind, 4, xf.mapcat(lambda i: [(i, k) for k in range(i % 4)]), range(200))
    assert Counter(got) == Counter((i, k) for i in range(200) for k in range(i % 4))
    for i in range(200):
        assert [k for j, k in got if j == i] == list(range(i % 4))


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", ["pipeline", "pipeline_blocking"])
def test_every_item_gets_fresh_transducer_state(kind: str) -> None:
    first_of_each = xf.comp(xf.mapcat(lambda x: [x, x]), xf.take(1))
    assert sorted(run(kind, 3, first_of_each, [1, 2, 3])) == [1, 2, 3]
    groups = xf.comp(xf.mapcat(lambda x: [x] * 3), xf.partition_all(2))
    assert sorted(run(kind, 3, groups, [1, 2])) == [[1], [1, 1], [2], [2, 2]]


# ------------------------------------------------------------ a slow item holds back only itself

def gated(kind: str, gate: Any, started: Any) -> Any:
    """Item 0 waits for `gate` (after telling `started`); every other item goes through at once."""
    if kind == "pipeline_async":
        def af(v: int, res: Any) -> None:
            def work() -> None:
                if v == 0:
                    put(started, True)
                    take(gate)
                put(res, v)
                close(res)
            go(work)
        return af

    def f(v: int) -> int:
        if v == 0:
            put(started, True)
            take(gate)  # parks the go block (pipeline) or blocks the thread (pipeline_blocking)
        return v
    return xf.map(f)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [2, 4])
def test_a_slow_item_does_not_hold_back_the_others(kind: str, n: int) -> None:
    gate, started = chan(), chan(1)
    out = chan()
    done = start(kind, n, out, gated(kind, gate, started), to_chan(range(50)))
    assert take(started) is True
    rest = [take(out) for _ in range(49)]  # all of them arrive while item 0 is still held
    assert sorted(rest) == list(range(1, 50))
    assert gate.closed is False and stats(gate).pending_takes == 1  # item 0 is still waiting
    put(gate, True)
    assert take(out) == 0
    assert take(out) is None
    assert take(done) is None


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", KINDS)
def test_the_ordered_default_still_waits_for_the_slow_item(kind: str) -> None:
    # The contrast: ordered, the first value out is item 0's, whatever finished first.
    gate, started = chan(), chan(1)
    out = chan(100)
    pf = {"pipeline": pipeline, "pipeline_blocking": pipeline_blocking, "pipeline_async": pipeline_async}[kind]
    done = pf(4, out, gated(kind, gate, started), to_chan(range(10)))
    assert take(started) is True
    put(gate, True)
    assert take(done) is None
    assert list(out) == list(range(10))


# ------------------------------------------------------------ errors and the ex_handler

class Err(Exception):
    def __init__(self, data: Any) -> None:
        super().__init__("err")
        self.data = data


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", ["pipeline", "pipeline_blocking"])
def test_ex_handler_result_takes_the_items_place(kind: str) -> None:
    chex = chan(10)

    def boom(x: int) -> int:
        if x == 3:
            raise Err({"data": x})
        return x

    def ex_handler(e: BaseException) -> str:
        put(chex, e)
        return "err"

    out = chan(10)
    done = start(kind, 3, out, xf.map(boom), to_chan([1, 2, 3, 4]), True, ex_handler)
    assert take(done) is None
    assert sorted(map(str, out)) == ["1", "2", "4", "err"]
    e = take(chex)
    assert isinstance(e, Err) and e.data == {"data": 3}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", ["pipeline", "pipeline_blocking"])
def test_default_ex_handler_reports_and_skips_the_item(kind: str, reported: List[Any]) -> None:
    assert sorted(run(kind, 2, xf.map(lambda x: 10 // x), [1, 0, 2])) == [5, 10]
    wait_for(lambda: len(reported) == 1, "the report")
    assert isinstance(reported[0], ZeroDivisionError)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", ["pipeline", "pipeline_blocking"])
def test_ex_handler_that_raises_is_reported_and_the_pipeline_goes_on(kind: str, reported: List[Any]) -> None:
    def handler(e: BaseException) -> Any:
        raise RuntimeError("handler failed")
    out = chan(10)
    done = start(kind, 2, out, xf.map(lambda x: 10 // x), to_chan([1, 0, 2]), True, handler)
    assert take(done) is None
    assert sorted(out) == [5, 10]
    wait_for(lambda: len(reported) == 1, "the report")
    assert str(reported[0]) == "handler failed"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", ["pipeline", "pipeline_blocking"])
def test_completion_error_goes_to_the_ex_handler(kind: str) -> None:
    # partition_all flushes on completion; a failing downstream map raises there.
    def picky(group: List[int]) -> int:
        if len(group) < 2:
            raise Err(group)
        return sum(group)
    xform = xf.comp(xf.mapcat(lambda x: [x] * 3), xf.partition_all(2), xf.map(picky))
    out = chan(10)
    done = start(kind, 2, out, xform, to_chan([1, 2]), True, lambda e: ("flush", e.data))
    assert take(done) is None
    assert Counter(map(repr, out)) == Counter(map(repr, [2, ("flush", [1]), 4, ("flush", [2])]))


@pytest.mark.timeout(10)
def test_af_that_raises_is_reported_and_the_pipeline_goes_on(reported: List[Any]) -> None:
    def af(v: int, res: Any) -> None:
        if v == 2:
            put(res, "before")
            raise ValueError("no 2")
        thread(lambda: (put(res, v), close(res)))
    out = chan(10)
    done = pipeline_async(2, out, af, to_chan([1, 2, 3]), ordered=False)
    assert take(done) is None
    assert sorted(map(str, out)) == ["1", "3", "before"]
    wait_for(lambda: len(reported) == 1, "the report")
    assert str(reported[0]) == "no 2"


# ------------------------------------------------------------ close, closed output

@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", KINDS)
def test_close_false_leaves_to_open_and_done_closes_after_delivery(kind: str) -> None:
    out = chan(10)
    done = start(kind, 3, out, xform_af(kind, inc), to_chan([1, 2, 3]), False)
    assert take(done) is None  # everything has been delivered by now
    assert sorted(take(out) for _ in range(3)) == [2, 3, 4]
    assert put(out, "more") is True
    assert take(out) == "more"
    assert not out.closed


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", KINDS)
def test_closed_output_stops_consuming_frm(kind: str) -> None:
    frm = chan(1000)
    for i in range(1000):
        put(frm, i)
    to = chan()
    close(to)
    done = start(kind, 3, to, xform_af(kind, inc), frm)
    assert take(done) is None  # finished without frm being closed
    left = 0
    while gochan.poll(frm) is not None:
        left += 1
    assert left == 1000  # every worker checks `to` before it takes


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", KINDS)
def test_output_closed_midway_stops_consuming_frm(kind: str) -> None:
    frm = chan(100)
    for i in range(100):
        put(frm, i)
    to = chan()
    done = start(kind, 3, to, xform_af(kind, inc), frm)
    got = [take(to) for _ in range(5)]
    assert len(set(got)) == 5
    close(to)  # the workers parked on their puts deliver those values, then stop
    while take(to) is not None:
        pass
    assert take(done) is None
    left = 0
    while gochan.poll(frm) is not None:
        left += 1
    assert left >= 100 - 5 - 3 - 3  # taken: the 5 delivered, one per worker parked, one each after


@pytest.mark.timeout(10)
def test_closed_output_is_noticed_even_when_items_yield_nothing() -> None:
    frm = chan(1000)
    for i in range(1000):
        put(frm, i)
    to = chan()
    close(to)
    done = pipeline(2, to, xf.filter(lambda x: False), frm, ordered=False)
    assert take(done) is None
    assert stats(frm).count == 1000


# ------------------------------------------------------------ cancel

def live(prefix: str) -> List[Any]:
    return [i for i in dump() if i.kind != "thread" and prefix in (i.function or "")]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", KINDS)
def test_cancelling_stops_every_worker_and_closes_to(kind: str) -> None:
    frm, to = chan(), chan()
    p = start(kind, 3, to, xform_af(kind, xf.map(lambda x: x * 10)), frm)
    for i in range(3):
        put(frm, i)  # each worker takes one and parks on its put to `to`
    wait_until(lambda: pending_of(to)[0] == 3, what="the three workers parked on `to`")
    assert take(to) in {0, 10, 20}  # one delivers and goes back to take from frm
    wait_until(lambda: pending_of(frm)[1] == 1, what="that worker parked on `frm`")
    assert cancel(p) is True
    assert take(p) is None
    assert stats(to).closed
    assert take(to) is None  # every pending put was withdrawn: nothing delivered after the cancel
    wait_until(lambda: not live("_pipeline") and pending_of(frm) == (0, 0), what="every pipeline loop ended")
    assert offer(frm, 99) is None  # nobody consumes `frm` any more


@pytest.mark.timeout(30)
def test_cancelling_a_blocking_pipeline_with_a_thread_inside_its_xform() -> None:
    # A thread busy in the xform ends at its next operation: it delivers nothing more.
    entered, release = threading.Event(), threading.Event()

    def slow(x: int) -> int:
        entered.set()
        release.wait(10)
        return x

    frm, to = chan(), chan(10)
    p = pipeline_blocking(2, to, xf.map(slow), frm, ordered=False)
    put(frm, 1)
    assert entered.wait(10)
    assert cancel(p) is True
    assert take(p) is None
    assert stats(to).closed
    release.set()
    wait_for(lambda: not live_loops(), "the worker threads to end")
    assert take(to) is None


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "unordered"])
def test_cancel_right_after_the_call_still_stops_all_of_it(kind: str, ordered: bool) -> None:
    # Before any loop of it has started (a go block cancelled then never runs).
    frm, to = chan(), chan()
    pf = {"pipeline": pipeline, "pipeline_blocking": pipeline_blocking, "pipeline_async": pipeline_async}[kind]
    p = pf(3, to, xform_af(kind, inc), frm, ordered=ordered)
    assert cancel(p) is True
    assert take(p) is None
    assert stats(to).closed
    assert cancel(p) is False  # finished
    wait_until(lambda: not live("_pipeline") and pending_of(frm) == (0, 0), what="every pipeline loop ended")
    assert offer(frm, 1) is None


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", KINDS)
def test_cancel_with_close_false_leaves_to_open(kind: str) -> None:
    frm, to = chan(), chan()
    p = start(kind, 2, to, xform_af(kind, inc), frm, False)
    put(frm, 1)
    wait_until(lambda: pending_of(to)[0] == 1, what="a worker parked on `to`")
    assert cancel(p) is True
    assert take(p) is None
    assert not stats(to).closed
    assert gochan.poll(to) is None  # the parked put was withdrawn
    close(frm)


# ------------------------------------------------------------ from go blocks and threads

@pytest.mark.timeout(10)
@pytest.mark.parametrize("spawn", [go, thread], ids=["go", "thread"])
def test_started_from_go_and_thread(spawn: Callable[..., Any]) -> None:
    def body() -> List[Any]:
        return [sorted(run(kind, 3, inc, range(30))) for kind in KINDS]
    assert take(spawn(body)) == [list(range(1, 31))] * 3


# ------------------------------------------------------------ arguments

@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", KINDS)
def test_ordered_must_be_a_bool(kind: str) -> None:
    c = chan()
    f = xform_af(kind, inc)
    pf = {"pipeline": pipeline, "pipeline_blocking": pipeline_blocking, "pipeline_async": pipeline_async}[kind]
    for bad in ("yes", 1, 0, None, [True]):
        with pytest.raises(TypeError, match=r"\bordered\b"):
            pf(1, c, f, c, ordered=bad)
    with pytest.raises(TypeError):
        pf(1, c, f, c, True, None, False)  # keyword only (async: too many arguments)
    with pytest.raises(ValueError, match=r"\bn\b"):
        pf(0, c, f, c, ordered=False)  # the other checks come first, as before
    with pytest.raises(TypeError, match=r"\bfrm\b"):
        pf(1, c, f, None, ordered=False)
    assert live_loops() == []  # nothing was started


# ------------------------------------------------------------ property: the same multiset as ordered

def _num(x: Any) -> int:
    return sum(_num(y) for y in x) + len(x) if isinstance(x, list) else int(x)


stages = st.one_of(
    st.integers(-2, 3).map(lambda a: xf.map(lambda x: _num(x) * a + 1)),
    st.integers(2, 3).map(lambda m: xf.filter(lambda x: _num(x) % m)),
    st.integers(0, 3).map(xf.take),
    st.integers(1, 3).map(xf.partition_all),
    st.integers(1, 4).map(lambda k: xf.mapcat(lambda x: [_num(x) + i for i in range(_num(x) % k)])),
    st.just(xf.dedupe()),
    st.integers(-3, 3).map(xf.interpose),
)


@pytest.mark.timeout(120)
@settings(deadline=None, max_examples=40)
@given(chain=st.lists(stages, min_size=1, max_size=3), xs=st.lists(st.integers(-6, 6), max_size=25),
       n=st.integers(1, 5), kind=st.sampled_from(KINDS))
def test_unordered_gives_the_ordered_values_in_some_order(chain: List[Any], xs: List[int], n: int,
                                                          kind: str) -> None:
    xform = xf.comp(*chain)
    want: Dict[str, int] = Counter(repr(y) for v in xs for y in xf.into_list(xform, [v]))
    assert Counter(map(repr, run(kind, n, xform, xs))) == want
