"""pipe, onto_chan/onto_chan_thread/to_chan, merge, split, map, take_n, into,
reduce and transduce: the combinator cases of core.async's async_test.clj
(semantics reference §3.1 ops-tests, test-transduce; §1.6), plus close
propagation, closed outputs (where gochan chose the safer behaviour, see
docs/combinators.md), user functions that raise, calls from go blocks and
threads, argument errors, and that no combinator loop is left alive.

Waiting is always on channels; the only polling is the bounded wait for
loops to finish and for reported exceptions.
"""
from __future__ import annotations

import operator
from collections import Counter, OrderedDict, deque
from typing import Any, Callable, List

import pytest
from combinator_support import (  # noqa: F401 (the fixtures are used by name)
    drain,
    live_loops,
    no_loop_left_behind,
    reported_fixture,
    wait_for,
    wait_no_loops,
)

import gochan
from gochan import (
    chan,
    close,
    go,
    into,
    merge,
    onto_chan,
    onto_chan_thread,
    pipe,
    poll,
    put,
    reduce,
    split,
    take,
    take_n,
    thread,
    to_chan,
    transduce,
    xf,
)

# ------------------------------------------------------------ to_chan / onto_chan

@pytest.mark.timeout(10)
def test_to_chan_round_trips() -> None:
    assert take(into([], to_chan(range(10)))) == list(range(10))
    assert take(into([], to_chan(iter(range(10))))) == list(range(10))
    assert take(into([], to_chan(x for x in range(250)))) == list(range(250))


@pytest.mark.timeout(10)
def test_to_chan_buffer_is_bounded_count() -> None:
    # core.async: (bounded-count 100 coll): 5 for 5 elements, 100 for 500.
    c5 = to_chan(range(5))
    wait_for(lambda: c5.closed, "to_chan to finish")
    assert "(5/5)" in repr(c5)
    c500 = to_chan(range(500))
    wait_for(lambda: "(100/100)" in repr(c500), "to_chan to fill its buffer")
    assert list(c5) == list(range(5))
    assert list(c500) == list(range(500))


@pytest.mark.timeout(10)
def test_to_chan_of_nothing_is_closed() -> None:
    for empty in ([], (), iter([]), (x for x in ())):
        c = to_chan(empty)
        assert c.closed and take(c) is None


@pytest.mark.timeout(10)
def test_onto_chan_and_onto_chan_thread() -> None:
    for fill in (onto_chan, onto_chan_thread):
        ch = chan(10)
        done = fill(ch, range(10))
        assert take(into([], ch)) == list(range(10))
        assert take(done) is None  # the returned channel closes when done


@pytest.mark.timeout(10)
def test_onto_chan_close_false_leaves_ch_open() -> None:
    for fill in (onto_chan, onto_chan_thread):
        ch = chan(10)
        assert take(fill(ch, [1, 2], False)) is None
        assert not ch.closed
        assert drain(ch) == [1, 2]
        close(ch)


@pytest.mark.timeout(10)
def test_onto_chan_stops_on_a_closed_channel_and_still_closes_it() -> None:
    consumed = []

    def gen():
        for i in range(5):
            consumed.append(i)
            yield i

    for fill in (onto_chan, onto_chan_thread):
        consumed.clear()
        ch = chan()
        close(ch)
        assert take(fill(ch, gen())) is None
        assert consumed == [0]  # the first put returned False: it stopped there


@pytest.mark.timeout(10)
def test_onto_chan_thread_iterates_a_blocking_iterable() -> None:
    src = chan()

    def blocking_iter():
        while True:
            v = take(src)  # blocks the thread that iterates
            if v is None:
                return
            yield v

    ch = chan(10)
    done = onto_chan_thread(ch, blocking_iter())
    for i in range(3):
        put(src, i)
    close(src)
    assert take(done) is None
    assert list(ch) == [0, 1, 2]


@pytest.mark.timeout(10)
def test_onto_chan_iterable_that_raises_is_reported_and_ch_closed(reported: List[Any]) -> None:
    def gen():
        yield 1
        raise KeyError("broken")

    for fill in (onto_chan, onto_chan_thread):
        reported.clear()
        ch = chan(10)
        assert take(fill(ch, gen())) is None
        assert list(ch) == [1]
        wait_for(lambda: len(reported) == 1, "the report")
        assert isinstance(reported[0], KeyError)


# ------------------------------------------------------------ pipe

@pytest.mark.timeout(10)
def test_pipe() -> None:
    out = chan()
    assert pipe(to_chan([1, 2, 3, 4, 5]), out) is out
    assert take(into([], out)) == [1, 2, 3, 4, 5]


@pytest.mark.timeout(10)
def test_pipe_close_false_leaves_to_open() -> None:
    out = chan(10)
    frm = chan()
    pipe(frm, out, close=False)
    put(frm, 1)
    close(frm)
    wait_no_loops()
    assert not out.closed
    assert put(out, 2) is True
    assert drain(out) == [1, 2]


@pytest.mark.timeout(10)
def test_pipe_stops_consuming_when_to_is_closed() -> None:
    frm = chan(3)
    for v in (1, 2, 3):
        put(frm, v)
    to = chan()
    close(to)
    pipe(frm, to)
    wait_no_loops()
    assert drain(frm) == [1, 2, 3]  # nothing was taken for a closed output


@pytest.mark.timeout(10)
def test_pipe_trap_parked_put_survives_close() -> None:
    # core.async's trap, kept: a pipe parked on its put when `to` closes stays
    # parked until someone takes that value; then it stops.
    frm = chan(5)
    for v in range(5):
        put(frm, v)
    to = chan()
    pipe(frm, to)
    wait_for(lambda: gochan.stats(to).pending_puts == 1, "the pipe to park on its put")
    close(to)
    assert live_loops() == ["_pipe_loop"]
    assert take(to) == 0
    wait_no_loops()
    assert drain(frm) == [1, 2, 3, 4]


# ------------------------------------------------------------ split

@pytest.mark.timeout(10)
def test_split() -> None:
    even, odd = split(lambda x: x % 2 == 0, to_chan([1, 2, 3, 4, 5, 6]), 5, 5)
    assert take(into([], even)) == [2, 4, 6]
    assert take(into([], odd)) == [1, 3, 5]


@pytest.mark.timeout(10)
def test_split_unbuffered_and_close_propagation() -> None:
    src = chan()
    t, f = split(bool, src)
    ts, fs = into([], t), into([], f)  # both outputs read at once: they are unbuffered
    for v in (1, 0, 2, 0):
        put(src, v)
    close(src)
    assert (take(ts), take(fs)) == ([1, 2], [0, 0])
    assert t.closed and f.closed


@pytest.mark.timeout(10)
def test_split_serves_the_open_output_when_the_other_is_closed() -> None:
    # core.async stops the whole split and leaves the other output open
    # ([nil 2 false]); gochan drops the closed output's values and goes on.
    src = chan()
    evens, odds = split(lambda x: x % 2 == 0, src, None, 10)
    close(evens)
    for v in range(6):
        assert put(src, v) is True
    close(src)
    assert take(into([], odds)) == [1, 3, 5]


@pytest.mark.timeout(10)
def test_split_stops_consuming_when_both_outputs_are_closed() -> None:
    # Values arrive only after the outputs are closed: a put already parked
    # on an output when it closes would be the parked-put trap instead.
    src = chan(3)
    t, f = split(bool, src)
    close(t)
    close(f)
    for v in (1, 2, 3):
        put(src, v)
    wait_no_loops()
    assert len(drain(src)) >= 2  # at most the value in hand when it noticed


@pytest.mark.timeout(10)
def test_split_pred_that_raises_closes_both_outputs(reported: List[Any]) -> None:
    t, f = split(lambda x: 1 // x, to_chan([1, 0, 2]), 10, 10)
    assert take(into([], t)) == [1]
    assert take(f) is None
    wait_for(lambda: len(reported) == 1, "the report")
    assert isinstance(reported[0], ZeroDivisionError)


# ------------------------------------------------------------ map

@pytest.mark.timeout(10)
def test_map() -> None:
    chs = [to_chan(range(4)) for _ in range(4)]
    assert take(into([], gochan.map(lambda *xs: sum(xs), chs))) == [0, 4, 8, 12]
    assert take(gochan.map(operator.add, [])) is None
    assert gochan.map(operator.add, []).closed


@pytest.mark.timeout(10)
def test_map_is_not_in_all_but_is_an_attribute() -> None:
    assert "map" not in gochan.__all__
    assert callable(gochan.map)
    ns: dict = {}
    exec("from gochan import *", ns)
    assert "map" not in ns


@pytest.mark.timeout(10)
def test_map_closes_when_any_source_closes() -> None:
    out = gochan.map(operator.add, [to_chan([1, 2, 3]), to_chan([10, 20])], 5)
    assert take(into([], out)) == [11, 22]


@pytest.mark.timeout(10)
def test_map_takes_from_all_sources_at_once() -> None:
    # A producer that feeds b before a: sequential takes (a then b) would
    # deadlock; core.async takes from every source in parallel, so does gochan.
    a, b = chan(), chan()

    def producer():
        for i in range(3):
            put(b, i * 10)
            put(a, i)
        close(b)
        close(a)

    thread(producer)
    assert take(into([], gochan.map(operator.add, [a, b]))) == [0, 11, 22]


@pytest.mark.timeout(10)
def test_map_stops_when_out_is_closed() -> None:
    src = chan(10)
    out = gochan.map(lambda x: x, [src])
    close(out)
    for i in range(10):  # after the close: see test_split_stops_consuming_...
        put(src, i)
    wait_no_loops()  # core.async would keep consuming src forever
    assert len(drain(src)) >= 9


@pytest.mark.timeout(10)
def test_map_f_that_raises_closes_out(reported: List[Any]) -> None:
    out = gochan.map(lambda x: 1 // x, [to_chan([1, 0, 2])], 10)
    assert take(into([], out)) == [1]
    wait_for(lambda: len(reported) == 1, "the report")
    assert isinstance(reported[0], ZeroDivisionError)


# ------------------------------------------------------------ merge

@pytest.mark.timeout(10)
def test_merge() -> None:
    chs = [to_chan(range(4)) for _ in range(4)]
    assert Counter(take(into([], merge(chs)))) == {0: 4, 1: 4, 2: 4, 3: 4}
    assert take(merge([])) is None


@pytest.mark.timeout(10)
def test_merge_closes_after_all_sources_close() -> None:
    a, b = chan(), chan()
    out = merge([a, b], 10)
    put(a, 1)
    close(a)
    put(b, 2)
    assert sorted([take(out), take(out)]) == [1, 2]
    assert poll(out) is None and not out.closed
    close(b)
    assert take(out) is None


@pytest.mark.timeout(10)
def test_merge_stops_when_out_is_closed() -> None:
    # core.async keeps draining the sources into a closed output; gochan stops.
    a = chan(10)
    out = merge([a])
    close(out)
    for i in range(10):  # after the close: see test_split_stops_consuming_...
        put(a, i)
    wait_no_loops()
    assert len(drain(a)) >= 9


# ------------------------------------------------------------ take_n

@pytest.mark.timeout(10)
def test_take_n() -> None:
    assert take(into([], take_n(3, to_chan(range(10))))) == [0, 1, 2]
    assert take(into([], take_n(5, to_chan([1, 2])))) == [1, 2]
    assert take(take_n(0, to_chan([1]))) is None


@pytest.mark.timeout(10)
def test_take_n_leaves_the_rest_in_ch() -> None:
    src = chan(10)
    for i in range(10):
        put(src, i)
    assert take(into([], take_n(4, src, 4))) == [0, 1, 2, 3]
    assert drain(src) == [4, 5, 6, 7, 8, 9]


@pytest.mark.timeout(10)
def test_take_n_stops_when_out_is_closed() -> None:
    # core.async still consumes up to n values into a closed output.
    src = chan(10)
    out = take_n(8, src)
    close(out)
    for i in range(10):  # after the close: see test_split_stops_consuming_...
        put(src, i)
    wait_no_loops()
    assert len(drain(src)) >= 9


# ------------------------------------------------------------ reduce / transduce / into

@pytest.mark.timeout(10)
def test_reduce() -> None:
    assert take(reduce(operator.add, 0, to_chan([]))) == 0
    assert take(reduce(operator.add, 0, to_chan(range(10)))) == 45
    stop_at_2 = lambda acc, x: xf.reduced("foo") if x == 2 else acc  # noqa: E731
    assert take(reduce(stop_at_2, 0, to_chan(range(10)))) == "foo"


@pytest.mark.timeout(10)
def test_reduce_reduced_does_not_drain_ch() -> None:
    src = chan(10)
    for i in range(10):
        put(src, i)
    close(src)
    stop = lambda acc, x: xf.reduced(acc) if x == 3 else acc + x  # noqa: E731
    assert take(reduce(stop, 0, src)) == 3
    assert list(src) == [4, 5, 6, 7, 8, 9]


@pytest.mark.timeout(10)
def test_reduce_f_not_called_on_empty_and_raising_f(reported: List[Any]) -> None:
    def never(acc, x):
        raise AssertionError("called")
    assert take(reduce(never, "init", to_chan([]))) == "init"
    assert take(reduce(never, "init", to_chan([1]))) is None
    wait_for(lambda: len(reported) == 1, "the report")


@pytest.mark.timeout(10)
def test_transduce() -> None:
    def conj(acc, x):
        return acc + [x]
    assert take(transduce(xf.map(lambda x: x + 1), conj, [], to_chan(range(5)))) == [1, 2, 3, 4, 5]
    assert take(transduce(xf.filter(lambda x: x % 2), operator.add, 0, to_chan(range(10)))) == 25


@pytest.mark.timeout(10)
def test_transduce_completes_after_early_reduced() -> None:
    rf = xf.completing(lambda acc, x: acc + [x], lambda acc: ("done", acc))
    got = take(transduce(xf.comp(xf.take(2), xf.partition_all(3)), rf, [], to_chan(range(10))))
    assert got == ("done", [[0, 1]])  # partition_all flushed by the completion


@pytest.mark.timeout(10)
def test_into_collection_types() -> None:
    src = [1, 2, 3]
    base = [0]
    assert take(into(base, to_chan(src))) == [0, 1, 2, 3]
    assert base == [0]  # a new collection
    assert take(into((0,), to_chan(src))) == (0, 1, 2, 3)
    assert take(into({0, 1}, to_chan(src))) == {0, 1, 2, 3}
    assert take(into(frozenset(), to_chan(src))) == frozenset(src)
    assert take(into(deque([0]), to_chan(src))) == deque([0, 1, 2, 3])
    d = {"a": 0}
    assert take(into(d, to_chan([("b", 1), ("a", 2)]))) == {"a": 2, "b": 1}
    assert d == {"a": 0}
    od = take(into(OrderedDict(), to_chan([("x", 1)])))
    assert type(od) is OrderedDict and od == {"x": 1}
    assert take(into([], to_chan([]))) == []


@pytest.mark.timeout(10)
def test_into_bad_item_for_dict_is_reported(reported: List[Any]) -> None:
    assert take(into({}, to_chan([1]))) is None
    wait_for(lambda: len(reported) == 1, "the report")


# ------------------------------------------------------------ from go blocks and threads

@pytest.mark.timeout(10)
@pytest.mark.parametrize("spawn", [go, thread], ids=["go", "thread"])
def test_combinators_called_from_go_and_thread(spawn: Callable[..., Any]) -> None:
    def body():
        out = chan()
        pipe(to_chan([1, 2]), out)
        evens, odds = split(lambda x: x % 2 == 0, to_chan(range(4)), 4, 4)
        return (
            take(into([], out)),
            take(into([], evens)), take(into([], odds)),
            sorted(take(into([], merge([to_chan([1]), to_chan([2])])))),
            take(into([], gochan.map(operator.mul, [to_chan([2, 3]), to_chan([5, 7])]))),
            take(into([], take_n(2, to_chan(range(5))))),
            take(reduce(operator.add, 0, to_chan(range(4)))),
            take(transduce(xf.map(str), operator.add, "", to_chan(range(3)))),
        )
    assert take(spawn(body)) == ([1, 2], [0, 2], [1, 3], [1, 2], [10, 21], [0, 1], 6, "012")


# ------------------------------------------------------------ arguments

@pytest.mark.timeout(10)
def test_bad_arguments_name_the_argument() -> None:
    c = chan()
    cases = [
        (TypeError, "frm", lambda: pipe(None, c)),
        (TypeError, "to", lambda: pipe(c, [])),
        (TypeError, "ch", lambda: onto_chan([], [1])),
        (TypeError, "coll", lambda: onto_chan(c, 5)),
        (TypeError, "ch", lambda: onto_chan_thread("c", [1])),
        (TypeError, "coll", lambda: to_chan(5)),
        (TypeError, r"chs\[1\]", lambda: merge([c, "x"])),
        (TypeError, "chs", lambda: merge(5)),
        (ValueError, "buf", lambda: merge([c], -1)),
        (TypeError, "buf", lambda: merge([c], "big")),
        (TypeError, "coll", lambda: into("abc", c)),
        (TypeError, "ch", lambda: into([], [])),
        (TypeError, r"\bf\b", lambda: reduce(None, 0, c)),
        (TypeError, "ch", lambda: reduce(operator.add, 0, None)),
        (TypeError, "xform", lambda: transduce(None, operator.add, 0, c)),
        (TypeError, r"\bf\b", lambda: transduce(xf.map(str), 1, 0, c)),
        (TypeError, "pred", lambda: split(1, c)),
        (TypeError, "ch", lambda: split(bool, 1)),
        (ValueError, "t_buf", lambda: split(bool, c, -1)),
        (ValueError, "f_buf", lambda: split(bool, c, None, -2)),
        (ValueError, r"\bn\b", lambda: take_n(-1, c)),
        (TypeError, r"\bn\b", lambda: take_n("3", c)),
        (TypeError, r"\bn\b", lambda: take_n(True, c)),
        (TypeError, "ch", lambda: take_n(1, None)),
        (TypeError, r"\bf\b", lambda: gochan.map(None, [c])),
        (TypeError, r"chs\[0\]", lambda: gochan.map(operator.add, [None])),
    ]
    for exc, name, call in cases:
        with pytest.raises(exc, match=name):
            call()
    assert live_loops() == []  # nothing was started
