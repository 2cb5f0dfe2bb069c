"""Property tests: pipeline, pipeline_blocking and pipeline_async against a sequential
reference, for random inputs, random transducer chains and random failing items.

The reference for one item is what a fresh `xf.into_list(xform, [v])` gives:
each item runs through its own application of the xform (fresh state, its
own completion), and the outputs are concatenated in input order.
"""
from __future__ import annotations

from typing import Any, Callable, List, Tuple

import pytest
from combinator_support import no_loop_left_behind  # noqa: F401 (an autouse fixture)
from hypothesis import given, settings
from hypothesis import strategies as st

from gochan import (
    chan,
    close,
    go,
    into,
    pipeline,
    pipeline_async,
    pipeline_blocking,
    put,
    set_exception_handler,
    take,
    to_chan,
    xf,
)

Stage = Tuple[str, xf.Transducer]


def _num(x: Any) -> int:
    return sum(_num(y) for y in x) + len(x) if isinstance(x, list) else int(x)


def _stages() -> st.SearchStrategy[Stage]:
    return st.one_of(
        st.integers(-2, 3).map(lambda a: (f"map*{a}", xf.map(lambda x: _num(x) * a + 1))),
        st.integers(2, 3).map(lambda m: (f"filter%{m}", xf.filter(lambda x: _num(x) % m))),
        st.integers(2, 3).map(lambda m: (f"keep%{m}", xf.keep(lambda x: _num(x) % m or None))),
        st.integers(0, 3).map(lambda n: (f"take{n}", xf.take(n))),
        st.integers(0, 2).map(lambda n: (f"drop{n}", xf.drop(n))),
        st.integers(1, 3).map(lambda n: (f"partition_all{n}", xf.partition_all(n))),
        st.integers(2, 3).map(lambda m: (f"partition_by%{m}", xf.partition_by(lambda x: _num(x) % m))),
        st.integers(1, 4).map(
            lambda k: (f"mapcat{k}", xf.mapcat(lambda x: [_num(x) + i for i in range(_num(x) % k)]))),
        st.just(("dup", xf.mapcat(lambda x: [x, x]))),
        st.just(("dedupe", xf.dedupe())),
        st.just(("distinct", xf.distinct())),
        st.integers(-3, 3).map(lambda s: (f"interpose{s}", xf.interpose(s))),
    )


chains = st.lists(_stages(), min_size=1, max_size=3)
inputs = st.lists(st.integers(-6, 6), max_size=25)
workers = st.integers(1, 5)


def reference(xform: xf.Transducer, xs: List[int]) -> List[Any]:
    return [y for v in xs for y in xf.into_list(xform, [v]) if y is not None]


def run(pf: Callable[..., Any], n: int, xform: Any, xs: List[int], *rest: Any) -> List[Any]:
    out = chan(4)
    done = pf(n, out, xform, to_chan(xs), True, *rest)
    got = take(into([], out))
    assert take(done) is None
    return got  # type: ignore[no-any-return]


def as_af(xform: xf.Transducer) -> Callable[[Any, Any], None]:
    """An af that delivers what the xform gives for one item, from a go block of its own."""
    def af(v: Any, res: Any) -> None:
        def work() -> None:
            for y in xf.into_list(xform, [v]):
                if y is not None:
                    put(res, y)
            close(res)
        go(work)
    return af


@pytest.mark.timeout(120)
@settings(deadline=None, max_examples=60)
@given(chain=chains, xs=inputs, n=workers)
def test_pipeline_matches_the_sequential_reference(chain: List[Stage], xs: List[int], n: int) -> None:
    xform = xf.comp(*[s[1] for s in chain])
    assert run(pipeline, n, xform, xs) == reference(xform, xs)


@pytest.mark.timeout(120)
@settings(deadline=None, max_examples=30)
@given(chain=chains, xs=inputs, n=workers)
def test_pipeline_blocking_matches_the_sequential_reference(chain: List[Stage], xs: List[int], n: int) -> None:
    xform = xf.comp(*[s[1] for s in chain])
    assert run(pipeline_blocking, n, xform, xs) == reference(xform, xs)


@pytest.mark.timeout(120)
@settings(deadline=None, max_examples=30)
@given(chain=chains, xs=inputs, n=workers)
def test_pipeline_async_matches_the_sequential_reference(chain: List[Stage], xs: List[int], n: int) -> None:
    xform = xf.comp(*[s[1] for s in chain])
    assert run(pipeline_async, n, as_af(xform), xs) == reference(xform, xs)


class Boom(Exception):
    pass


@pytest.mark.timeout(120)
@settings(deadline=None, max_examples=60)
@given(chain=chains, xs=inputs, n=workers, bad=st.sets(st.integers(-6, 6), max_size=4),
       handled=st.booleans(), kind=st.sampled_from(["pipeline", "pipeline_blocking"]))
def test_failing_items_follow_the_ex_handler_rule(chain: List[Stage], xs: List[int], n: int, bad: Any,
                                                  handled: bool, kind: str) -> None:
    # An item whose first step raises yields the handler's value (or nothing, reported), and
    # then what the rest of the xform's completion gives for no input (nothing, for these).
    def boom(x: int) -> int:
        if x in bad:
            raise Boom(x)
        return x

    xform = xf.comp(xf.map(boom), *[s[1] for s in chain])
    rest = xf.comp(*[s[1] for s in chain])
    seen: List[BaseException] = []
    set_exception_handler(seen.append)
    try:
        handler = (lambda e: ("err", e.args[0])) if handled else None
        got = run(pipeline if kind == "pipeline" else pipeline_blocking, n, xform, xs, handler)
    finally:
        set_exception_handler(None)
    want: List[Any] = []
    for v in xs:
        if v in bad:
            if handled:
                want.append(("err", v))
        else:
            want.extend(y for y in xf.into_list(rest, [v]) if y is not None)
    assert got == want
    if not handled:
        assert sorted(e.args[0] for e in seen) == sorted(v for v in xs if v in bad)


def counting(rf: Any) -> Any:
    """A user's stateful transducer (unknown to gochan.xf): numbers the values of one application."""
    seen = 0

    def step(*args: Any) -> Any:
        nonlocal seen
        if len(args) < 2:
            return rf(*args)
        seen += 1
        return rf(args[0], (args[1], seen))
    return step


@pytest.mark.timeout(20)
@pytest.mark.parametrize("pf", [pipeline, pipeline_blocking], ids=["pipeline", "blocking"])
@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "unordered"])
@pytest.mark.parametrize("n", [1, 3])
def test_a_users_stateful_transducer_starts_afresh_per_item(pf: Callable[..., Any], ordered: bool, n: int) -> None:
    # gochan.xf's stateless transducers share one application per pipeline; anything else
    # (here after a stateless map, so the comp is not stateless either) is applied per item.
    xform = xf.comp(xf.map(lambda x: x * 10), xf.mapcat(lambda x: [x, x]), counting)
    out = chan(100)
    done = pf(n, out, xform, to_chan(range(20)), True, None, ordered=ordered)
    assert take(done) is None
    got = list(out)
    assert sorted(got) == sorted((x * 10, k) for x in range(20) for k in (1, 2))
    if ordered:
        assert got == [(x * 10, k) for x in range(20) for k in (1, 2)]
