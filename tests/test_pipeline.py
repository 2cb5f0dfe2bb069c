"""pipeline, pipeline_blocking and pipeline_async: core.async's pipeline_test.clj
(semantics reference §3.2, §1.6), plus ordering under random per-item delays,
fresh transducer state per item, the closed-output behaviour we chose, and
that no pipeline go block or worker thread is left running afterwards.

Waiting is always on channels (a take is the synchronisation); the only
polling is the bounded wait for loops to finish and for reported
exceptions. Delays inside transforms only scramble completion order; no
assertion depends on their length.
"""
from __future__ import annotations

import random
import time
from itertools import cycle, islice
from typing import Any, Callable, List

import pytest
from combinator_support import (  # noqa: F401 (the fixtures are used by name)
    live_loops,
    no_loop_left_behind,
    reported_fixture,
    wait_for,
)

import gochan
from gochan import chan, close, go, into, pipeline, pipeline_async, pipeline_blocking, put, take, thread, to_chan, xf

# ------------------------------------------------------------ helpers

def pipeline_tester(pf: Callable[..., Any], n: int, inputs: Any, xform: Any) -> List[Any]:
    cin = to_chan(inputs)
    cout = chan(1)
    pf(n, cout, xform, cin)
    return take(into([], cout))


identity_mapping = xf.map(lambda v: v)


def identity_async(v: Any, ch: Any) -> None:
    thread(lambda: (put(ch, v), close(ch)))


def multiplier_async(v: Any, ch: Any) -> None:
    def work() -> None:
        for i in range(v):
            put(ch, i)
        close(ch)
    thread(work)


# ------------------------------------------------------------ pipeline_test.clj

@pytest.mark.timeout(20)
@pytest.mark.parametrize("n,size", [(1, 0), (1, 10), (10, 10), (20, 10), (5, 1000)])
def test_sizes(n: int, size: int) -> None:
    r = list(range(size))
    assert pipeline_tester(pipeline, n, r, identity_mapping) == r
    assert pipeline_tester(pipeline_blocking, n, r, identity_mapping) == r
    assert pipeline_tester(pipeline_async, n, r, identity_async) == r


@pytest.mark.timeout(10)
@pytest.mark.parametrize("pf", [pipeline, pipeline_blocking], ids=["pipeline", "blocking"])
def test_close(pf: Callable[..., Any]) -> None:
    cout = chan(1)
    pf(5, cout, identity_mapping, to_chan([1]), True)
    assert take(cout) == 1
    assert take(cout) is None

    for flag in (False, None):
        cout = chan(1)
        done = pf(5, cout, identity_mapping, to_chan([1]), flag)
        assert take(cout) == 1
        assert take(done) is None  # the pipeline has finished, and left cout open
        assert put(cout, "more") is True
        assert take(cout) == "more"
        assert not cout.closed


class Err(Exception):
    def __init__(self, data: Any) -> None:
        super().__init__("err")
        self.data = data


@pytest.mark.timeout(10)
@pytest.mark.parametrize("pf", [pipeline, pipeline_blocking], ids=["pipeline", "blocking"])
def test_ex_handler(pf: Callable[..., Any]) -> None:
    cout = chan(1)
    chex = chan(1)

    def boom(x: int) -> int:
        if x == 3:
            raise Err({"data": x})
        return x

    def ex_handler(e: BaseException) -> str:
        put(chex, e)
        return "err"

    pf(5, cout, xf.map(boom), to_chan([1, 2, 3, 4]), True, ex_handler)
    assert [take(cout) for _ in range(4)] == [1, 2, "err", 4]
    e = take(chex)
    assert isinstance(e, Err) and e.data == {"data": 3}


@pytest.mark.timeout(10)
def test_af_multiplier() -> None:
    got = pipeline_tester(pipeline_async, 2, range(1, 5), multiplier_async)
    assert got == [0, 0, 1, 0, 1, 2, 0, 1, 2, 3]


@pytest.mark.timeout(10)
def test_blocking() -> None:
    # core.async sleeps [2000 50 1000 100] ms; the order must be the input order.
    times = [0.2, 0.005, 0.1, 0.01]
    sleeping = xf.map(lambda t: (time.sleep(t), t)[1])
    assert pipeline_tester(pipeline_blocking, 2, times, sleeping) == times


def slow_fib(n: int) -> int:
    return n if n < 2 else slow_fib(n - 1) + slow_fib(n - 2)


@pytest.mark.timeout(20)
def test_compute() -> None:
    inputs = list(islice(cycle(range(10, 20)), 50))  # core.async: 15..37; scaled for CPython
    out = pipeline_tester(pipeline, 8, inputs, xf.map(slow_fib))
    assert out == [slow_fib(i) for i in inputs]
    assert out[-1] == slow_fib(inputs[-1])


@pytest.mark.timeout(10)
def test_async() -> None:
    def af(v: int, ch: Any) -> None:
        thread(lambda: (put(ch, v + 1), close(ch)))
    assert pipeline_tester(pipeline_async, 1, range(100), af) == list(range(1, 101))


# ------------------------------------------------------------ ordering under parallelism

@pytest.mark.timeout(20)
def test_blocking_keeps_input_order_under_random_delays() -> None:
    rnd = random.Random(5)
    delays = {i: rnd.random() * 0.004 for i in range(200)}
    xform = xf.map(lambda i: (time.sleep(delays[i]), i)[1])
    assert pipeline_tester(pipeline_blocking, 8, range(200), xform) == list(range(200))


@pytest.mark.timeout(20)
def test_async_keeps_input_order_under_random_delays() -> None:
    rnd = random.Random(7)
    delays = {i: rnd.random() * 0.004 for i in range(200)}

    def af(i: int, res: Any) -> None:
        def work() -> None:
            time.sleep(delays[i])
            for k in range(i % 3):  # 0, 1 or 2 values per input
                put(res, (i, k))
            close(res)
        thread(work)

    want = [(i, k) for i in range(200) for k in range(i % 3)]
    assert pipeline_tester(pipeline_async, 8, range(200), af) == want


@pytest.mark.timeout(20)
def test_compute_keeps_input_order_under_random_work() -> None:
    rnd = random.Random(11)
    work = {i: rnd.randrange(20_000) for i in range(200)}
    xform = xf.mapcat(lambda i: [i] * (sum(range(work[i])) % 3))  # uneven work, 0..2 outputs
    want = [i for i in range(200) for _ in range(sum(range(work[i])) % 3)]
    assert pipeline_tester(pipeline, 8, range(200), xform) == want


@pytest.mark.timeout(20)
def test_async_af_that_parks_keeps_order() -> None:
    # af runs in a go block, so it may park itself (gochan only).
    gates = [chan(1) for _ in range(20)]

    def af(i: int, res: Any) -> None:
        go(lambda: (take(gates[i]), put(res, i), close(res)))

    out = chan(20)
    done = pipeline_async(20, out, af, to_chan(range(20)))
    for i in reversed(range(20)):  # finish the items last to first
        put(gates[i], True)
    assert take(done) is None
    assert list(out) == list(range(20))


# ------------------------------------------------------------ per-item xform state

@pytest.mark.timeout(10)
@pytest.mark.parametrize("pf", [pipeline, pipeline_blocking], ids=["pipeline", "blocking"])
def test_every_item_gets_fresh_transducer_state(pf: Callable[..., Any]) -> None:
    # A `take(1)` shared across items would let only the first item through.
    first_of_each = xf.comp(xf.mapcat(lambda x: [x, x]), xf.take(1))
    assert pipeline_tester(pf, 3, [1, 2, 3], first_of_each) == [1, 2, 3]
    # Completion runs per item: partition_all flushes each item's last group.
    groups = xf.comp(xf.mapcat(lambda x: [x] * 3), xf.partition_all(2))
    assert pipeline_tester(pf, 3, [1, 2], groups) == [[1, 1], [1], [2, 2], [2]]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("pf", [pipeline, pipeline_blocking], ids=["pipeline", "blocking"])
def test_mapcat_yields_many_per_item(pf: Callable[..., Any]) -> None:
    assert pipeline_tester(pf, 2, [1, 2, 3], xf.mapcat(lambda x: [x] * x)) == [1, 2, 2, 3, 3, 3]


# ------------------------------------------------------------ exceptions

@pytest.mark.timeout(10)
@pytest.mark.parametrize("pf", [pipeline, pipeline_blocking], ids=["pipeline", "blocking"])
def test_default_ex_handler_reports_and_skips_the_item(pf: Callable[..., Any],
                                                       reported: List[Any]) -> None:
    assert pipeline_tester(pf, 2, [1, 0, 2], xf.map(lambda x: 10 // x)) == [10, 5]
    wait_for(lambda: len(reported) == 1, "the report")
    assert isinstance(reported[0], ZeroDivisionError)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("pf", [pipeline, pipeline_blocking], ids=["pipeline", "blocking"])
def test_ex_handler_that_raises_is_reported_and_the_pipeline_goes_on(pf: Callable[..., Any],
                                                                      reported: List[Any]) -> None:
    def handler(e: BaseException) -> Any:
        raise RuntimeError("handler failed")
    cout = chan(10)
    done = pf(2, cout, xf.map(lambda x: 10 // x), to_chan([1, 0, 2]), True, handler)
    assert take(done) is None
    assert list(cout) == [10, 5]
    wait_for(lambda: len(reported) == 1, "the report")
    assert str(reported[0]) == "handler failed"


@pytest.mark.timeout(10)
def test_af_that_raises_is_reported_and_the_pipeline_goes_on(reported: List[Any]) -> None:
    def af(v: int, res: Any) -> None:
        if v == 2:
            raise ValueError("no 2")
        identity_async(v, res)
    assert pipeline_tester(pipeline_async, 2, [1, 2, 3], af) == [1, 3]
    wait_for(lambda: len(reported) == 1, "the report")
    assert str(reported[0]) == "no 2"


# ------------------------------------------------------------ output closed

@pytest.mark.timeout(10)
@pytest.mark.parametrize("pf,xform", [(pipeline, identity_mapping),
                                      (pipeline_blocking, identity_mapping),
                                      (pipeline_async, identity_async)],
                         ids=["pipeline", "blocking", "async"])
def test_closed_output_stops_consuming_frm(pf: Callable[..., Any], xform: Any) -> None:
    # core.async drains all of frm and discards the results ([1000 nil]);
    # gochan stops taking from frm once it finds `to` closed.
    frm = chan(1000)
    for i in range(1000):
        put(frm, i)
    to = chan()
    close(to)
    done = pf(2, to, xform, frm)
    assert take(done) is None  # finished without frm being closed
    left = 0
    while gochan.poll(frm) is not None:
        left += 1
    assert left >= 1000 - 10  # at most ~n + 3 were in flight when the first put failed


@pytest.mark.timeout(10)
def test_closed_output_is_noticed_even_when_items_yield_nothing() -> None:
    # No put ever fails here; the output loop checks `to.closed` per item.
    frm = chan(1000)
    for i in range(1000):
        put(frm, i)
    to = chan()
    close(to)
    done = pipeline(2, to, xf.filter(lambda x: False), frm)
    assert take(done) is None
    left = 0
    while gochan.poll(frm) is not None:
        left += 1
    assert left >= 1000 - 10


@pytest.mark.timeout(10)
def test_trap_parked_put_survives_close_of_to() -> None:
    # As in core.async: the output loop parked on a put to `to` stays parked
    # after `to` closes; the value is still delivered to a taker, then the
    # pipeline winds down without consuming the rest of frm.
    frm = chan(10)
    for i in range(10):
        put(frm, i)
    to = chan()
    done = pipeline(2, to, identity_mapping, frm)
    wait_for(lambda: gochan.stats(to).pending_puts == 1, "the pipeline to park on its put")
    close(to)
    assert take(to) == 0  # the pending put is delivered after close
    assert take(done) is None
    assert take(to) is None
    left = 0
    while gochan.poll(frm) is not None:
        left += 1
    assert left >= 10 - 6


# ------------------------------------------------------------ from go blocks and threads

@pytest.mark.timeout(10)
@pytest.mark.parametrize("spawn", [go, thread], ids=["go", "thread"])
def test_pipelines_started_from_go_and_thread(spawn: Callable[..., Any]) -> None:
    def body() -> List[Any]:
        results = []
        for pf, f in [(pipeline, identity_mapping), (pipeline_blocking, identity_mapping),
                      (pipeline_async, identity_async)]:
            out = chan()
            pf(3, out, f, to_chan(range(30)))
            results.append(take(into([], out)))
        return results
    assert take(spawn(body)) == [list(range(30))] * 3


# ------------------------------------------------------------ arguments

@pytest.mark.timeout(10)
@pytest.mark.parametrize("pf", [pipeline, pipeline_blocking, pipeline_async])
def test_bad_arguments_name_the_argument(pf: Callable[..., Any]) -> None:
    c = chan()
    f = identity_async if pf is pipeline_async else identity_mapping
    fname = "af" if pf is pipeline_async else "xform"
    with pytest.raises(ValueError, match=r"\bn\b"):
        pf(0, c, f, c)
    with pytest.raises(TypeError, match=r"\bn\b"):
        pf(True, c, f, c)
    with pytest.raises(TypeError, match=r"\bn\b"):
        pf(1.5, c, f, c)
    with pytest.raises(TypeError, match=r"\bto\b"):
        pf(1, [], f, c)
    with pytest.raises(TypeError, match=fname):
        pf(1, c, 42, c)
    with pytest.raises(TypeError, match=r"\bfrm\b"):
        pf(1, c, f, None)
    if pf is not pipeline_async:
        with pytest.raises(TypeError, match="ex_handler"):
            pf(1, c, f, c, True, "nope")
    assert live_loops() == []  # nothing was started
