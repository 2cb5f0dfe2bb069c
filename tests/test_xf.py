"""Tests for gochan.xf: every transducer against a plain-Python equivalent,
on fixed inputs and on random ones (Hypothesis), alone and composed, with
early termination, completion, per-application state and bad arguments."""

from __future__ import annotations

import itertools
import operator
from typing import Any, Callable, Iterable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gochan import xf

PROPS = settings(deadline=None, max_examples=120)


# ---------------------------------------------------------------------------
# plain-Python references


def _num(x: Any) -> int:
    """Any value the random pipelines produce (ints, nested lists) -> an int."""
    if isinstance(x, list):
        return sum(_num(y) for y in x) + len(x)
    return int(x)


def ref_partition_all(n: int, xs: list[Any]) -> list[list[Any]]:
    return [xs[i:i + n] for i in range(0, len(xs), n)]


def ref_partition_by(f: Callable[[Any], Any], xs: list[Any]) -> list[list[Any]]:
    return [list(g) for _, g in itertools.groupby(xs, f)]


def ref_dedupe(xs: list[Any]) -> list[Any]:
    return [k for k, _ in itertools.groupby(xs)]


def ref_distinct(xs: list[Any]) -> list[Any]:
    out: list[Any] = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out


def ref_interpose(sep: Any, xs: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i, x in enumerate(xs):
        if i:
            out.append(sep)
        out.append(x)
    return out


class Counted:
    """An iterator that records how many items were pulled from it."""

    def __init__(self, items: Iterable[Any]) -> None:
        self._it = iter(items)
        self.pulled = 0

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        x = next(self._it)
        self.pulled += 1
        return x


def append_rf(acc: Any = None, *rest: Any) -> Any:
    """A three-arity reducing function that appends to a list."""
    if acc is None:
        return []
    if not rest:
        return acc
    acc.append(rest[0])
    return acc


def limit_rf(k: int) -> Callable[..., Any]:
    """Appends, and returns reduced once the list holds k items (k >= 1)."""

    def step(acc: list[Any], x: Any) -> Any:
        acc.append(x)
        return xf.reduced(acc) if len(acc) >= k else acc

    return xf.completing(step)


# ---------------------------------------------------------------------------
# fixed examples: each transducer vs. what Clojure gives


@pytest.mark.parametrize(
    "xform, data, expected",
    [
        (xf.map(lambda x: x + 1), [1, 2, 3], [2, 3, 4]),
        (xf.filter(lambda x: x % 2), range(7), [1, 3, 5]),
        (xf.remove(lambda x: x % 2), range(7), [0, 2, 4, 6]),
        (xf.keep(lambda x: x), [0, None, False, 1, ""], [0, False, 1, ""]),
        (xf.keep(lambda x: None if x > 1 else x * 10), [1, 2, 0, 3], [10, 0]),
        (xf.take(3), range(10), [0, 1, 2]),
        (xf.take(0), range(10), []),
        (xf.take(5), range(2), [0, 1]),
        (xf.drop(3), range(5), [3, 4]),
        (xf.drop(0), range(3), [0, 1, 2]),
        (xf.drop(9), range(3), []),
        (xf.take_while(lambda x: x < 3), [1, 2, 3, 1, 2], [1, 2]),
        (xf.drop_while(lambda x: x < 3), [1, 2, 3, 1, 2], [3, 1, 2]),
        (xf.partition_all(3), range(8), [[0, 1, 2], [3, 4, 5], [6, 7]]),
        (xf.partition_all(2), range(4), [[0, 1], [2, 3]]),
        (xf.partition_all(1), [], []),
        (xf.partition_by(lambda x: x % 2), [1, 3, 2, 4, 5, 7, 6], [[1, 3], [2, 4], [5, 7], [6]]),
        (xf.partition_by(lambda x: x), [], []),
        (xf.cat, [[1, 2], [], (3,), range(4, 6)], [1, 2, 3, 4, 5]),
        (xf.mapcat(lambda x: [x] * x), [1, 0, 2, 3], [1, 2, 2, 3, 3, 3]),
        (xf.dedupe(), [1, 1, 2, 2, 1, 3, 3, 3], [1, 2, 1, 3]),
        (xf.dedupe(), [None, None, 1], [None, 1]),
        (xf.distinct(), [1, 2, 1, 3, 2, 4], [1, 2, 3, 4]),
        (xf.distinct(), [[1], [1], {"a": 1}, [2], {"a": 1}], [[1], {"a": 1}, [2]]),
        (xf.interpose(0), [1, 2, 3], [1, 0, 2, 0, 3]),
        (xf.interpose(0), [], []),
        (xf.interpose(0), [7], [7]),
        (xf.comp(), [1, 2], [1, 2]),
        (xf.comp(xf.map(lambda x: x * 2), xf.filter(lambda x: x > 2)), [1, 2, 3], [4, 6]),
        # comp applies left to right on data: filter then map vs map then filter
        (xf.comp(xf.filter(lambda x: x > 2), xf.map(lambda x: x * 2)), [1, 2, 3], [6]),
        (xf.comp(xf.take(5), xf.partition_all(2)), range(10), [[0, 1], [2, 3], [4]]),
        (xf.comp(xf.partition_all(2), xf.take(2)), range(10), [[0, 1], [2, 3]]),
        (xf.comp(xf.cat, xf.take(3)), [[1, 2], [3, 4], [5]], [1, 2, 3]),
        (xf.comp(xf.interpose(0), xf.take(4)), [1, 2, 3], [1, 0, 2, 0]),
    ],
)
def test_fixed_examples(xform: xf.Transducer, data: Iterable[Any], expected: list[Any]) -> None:
    assert xf.into_list(xform, data) == expected
    assert xf.transduce(xform, append_rf, [], data) == expected


def test_none_values_pass_through() -> None:
    # None is an ordinary value for transducers (only channels refuse it).
    assert xf.into_list(xf.map(lambda x: x), [None, 1, None]) == [None, 1, None]
    assert xf.into_list(xf.partition_all(2), [None, None, None]) == [[None, None], [None]]
    assert xf.into_list(xf.interpose(None), [1, 2]) == [1, None, 2]


# ---------------------------------------------------------------------------
# reduced and friends


def test_reduced_helpers() -> None:
    r = xf.reduced(5)
    assert isinstance(r, xf.Reduced) and r.value == 5
    assert xf.is_reduced(r) and not xf.is_reduced(5) and not xf.is_reduced(None)
    assert xf.unreduced(r) == 5 and xf.unreduced(6) == 6
    assert xf.ensure_reduced(r) is r
    e = xf.ensure_reduced(7)
    assert xf.is_reduced(e) and e.value == 7
    nested = xf.reduced(xf.reduced(1))
    assert xf.unreduced(nested).value == 1  # unreduced unwraps one level only
    assert "5" in repr(r)


def test_reduced_none_is_still_reduced() -> None:
    r = xf.reduced(None)
    assert xf.is_reduced(r) and r.value is None


# ---------------------------------------------------------------------------
# completing and transduce


def test_completing_three_arities() -> None:
    calls: list[Any] = []
    rf = xf.completing(lambda *a: calls.append(a) or 0, lambda acc: ("done", acc))
    assert rf() == 0 and calls == [()]
    assert rf(1, 2) == 0 and calls[-1] == (1, 2)
    assert rf(9) == ("done", 9)


def test_completing_default_is_identity() -> None:
    rf = xf.completing(operator.add)
    assert rf(3, 4) == 7
    acc = object()
    assert rf(acc) is acc


def test_transduce_wraps_two_argument_functions() -> None:
    assert xf.transduce(xf.map(lambda x: x + 1), operator.add, 0, range(4)) == 10
    assert xf.transduce(xf.map(lambda x: x + 1), lambda a, x: a * x, 1, [1, 2, 3]) == 24


def test_transduce_uses_completion_arity_when_present() -> None:
    done: list[Any] = []

    def rf(acc: Any = None, x: Any = None) -> Any:
        if x is None:
            done.append(acc)
            return ("completed", acc)
        return acc + x

    assert xf.transduce(xf.filter(lambda x: x > 1), rf, 0, [1, 2, 3]) == ("completed", 5)
    assert done == [5]

    rf2 = xf.completing(operator.add, lambda acc: -acc)
    assert xf.transduce(xf.map(lambda x: x), rf2, 0, [1, 2]) == -3


def test_as_reducing_fn() -> None:
    wrapped = xf.as_reducing_fn(operator.add)
    assert wrapped is not operator.add
    assert wrapped(2, 3) == 5 and wrapped(7) == 7
    two_args = xf.as_reducing_fn(lambda acc, x: acc * x)
    assert two_args(3) == 3
    full = xf.completing(operator.add, lambda acc: acc + 100)
    assert xf.as_reducing_fn(full) is full
    assert xf.as_reducing_fn(append_rf) is append_rf
    with pytest.raises(TypeError, match=r"\bf\b"):
        xf.as_reducing_fn(3)  # type: ignore[arg-type]


def test_transduce_init_is_not_called_and_empty_input_completes() -> None:
    rf = xf.completing(lambda a, x: a + x, lambda a: a * 10)
    assert xf.transduce(xf.map(lambda x: x), rf, 4, []) == 40


def test_transduce_reduced_from_rf_stops_and_completes_once() -> None:
    completions: list[Any] = []

    def step(acc: int, x: int) -> Any:
        return xf.reduced(acc + x) if x >= 2 else acc + x

    rf = xf.completing(step, lambda acc: completions.append(acc) or acc)
    src = Counted(range(100))
    assert xf.transduce(xf.map(lambda x: x), rf, 0, src) == 3
    assert src.pulled == 3
    assert completions == [3]


@pytest.mark.parametrize("n", [1, 2, 5])
def test_take_stops_pulling_input(n: int) -> None:
    src = Counted(range(100))
    assert xf.into_list(xf.take(n), src) == list(range(n))
    assert src.pulled == n  # reduced on the nth value, not the (n+1)th


def test_take_zero_stops_on_first_value() -> None:
    src = Counted(range(100))
    assert xf.into_list(xf.take(0), src) == []
    assert src.pulled == 1
    rf = xf.take(0)(append_rf)
    assert xf.is_reduced(rf([], 1))


def test_take_while_stops_pulling_input() -> None:
    src = Counted([1, 2, 9, 3, 4])
    assert xf.into_list(xf.take_while(lambda x: x < 5), src) == [1, 2]
    assert src.pulled == 3


def test_take_step_returns_reduced_exactly_on_nth() -> None:
    rf = xf.take(2)(append_rf)
    acc = rf([], "a")
    assert not xf.is_reduced(acc) and acc == ["a"]
    r = rf(acc, "b")
    assert xf.is_reduced(r) and r.value == ["a", "b"]
    assert not xf.is_reduced(r.value)


def test_take_does_not_double_wrap_downstream_reduced() -> None:
    rf = xf.take(3)(limit_rf(1))
    r = rf([], "x")
    assert xf.is_reduced(r) and r.value == ["x"]


def test_cat_preserves_reduced_from_downstream() -> None:
    # Downstream says stop in the middle of an inner iterable: cat must stop
    # at once and hand back a single Reduced (Clojure's preserving-reduced).
    inner = Counted([1, 2, 3])
    step = xf.cat(limit_rf(2))
    r = step([], inner)
    assert xf.is_reduced(r) and r.value == [1, 2] and not xf.is_reduced(r.value)
    assert inner.pulled == 2

    outer = Counted([[1, 2, 3], [4], [5]])
    assert xf.into_list(xf.comp(xf.cat, xf.take(2)), outer) == [1, 2]
    assert outer.pulled == 1


def test_mapcat_preserves_reduced_from_downstream() -> None:
    outer = Counted([2, 3, 4])
    got = xf.transduce(xf.mapcat(lambda n: range(n)), limit_rf(3), [], outer)
    assert got == [0, 1, 0]
    assert outer.pulled == 2


def test_interpose_stops_when_separator_is_reduced() -> None:
    src = Counted([1, 2, 3])
    assert xf.transduce(xf.interpose(0), limit_rf(2), [], src) == [1, 0]
    assert src.pulled == 2


def test_partition_by_reduced_downstream_does_not_keep_value() -> None:
    # The group [1, 1] is emitted when 2 arrives; downstream stops there, so
    # completion must not flush a group containing 2.
    got = xf.transduce(xf.partition_by(lambda x: x), limit_rf(1), [], [1, 1, 2, 2, 3])
    assert got == [[1, 1]]


# ---------------------------------------------------------------------------
# completion: flush, forwarding, idempotence


def test_partition_all_flush_on_completion() -> None:
    rf = xf.partition_all(3)(append_rf)
    acc: Any = []
    for x in range(4):
        acc = rf(acc, x)
    assert acc == [[0, 1, 2]]
    assert rf(acc) == [[0, 1, 2], [3]]
    # idempotent: a second completion does not emit [3] again
    assert rf(acc) == [[0, 1, 2], [3]]


def test_partition_by_flush_on_completion() -> None:
    rf = xf.partition_by(lambda x: x > 0)(append_rf)
    acc: Any = []
    for x in [1, 2, -1, -2]:
        acc = rf(acc, x)
    assert acc == [[1, 2]]
    assert rf(acc) == [[1, 2], [-1, -2]]
    assert rf(acc) == [[1, 2], [-1, -2]]


def test_partition_flush_after_take_terminates_upstream() -> None:
    src = Counted(range(100))
    assert xf.into_list(xf.comp(xf.take(5), xf.partition_all(2)), src) == [[0, 1], [2, 3], [4]]
    assert src.pulled == 5
    src = Counted(range(100))
    got = xf.into_list(xf.comp(xf.take(5), xf.partition_by(lambda x: x // 3)), src)
    assert got == [[0, 1, 2], [3, 4]]


def test_partition_flush_unwraps_reduced_and_still_completes() -> None:
    done: list[Any] = []

    def step(acc: list[Any], x: Any) -> Any:
        acc.append(x)
        return xf.reduced(acc)

    rf = xf.partition_all(5)(xf.completing(step, lambda acc: done.append(acc) or acc))
    acc = rf([], 1)
    out = rf(acc)
    assert out == [[1]] and not xf.is_reduced(out)
    assert done == [[[1]]]


def test_emitted_groups_are_fresh_lists() -> None:
    def step(acc: list[Any], chunk: list[Any]) -> list[Any]:
        chunk.append("x")  # a consumer that mutates what it was given
        acc.append(chunk)
        return acc

    got = xf.transduce(xf.partition_all(2), step, [], range(5))
    assert got == [[0, 1, "x"], [2, 3, "x"], [4, "x"]]
    got = xf.transduce(xf.partition_by(lambda x: x // 2), step, [], range(5))
    assert got == [[0, 1, "x"], [2, 3, "x"], [4, "x"]]


ALL_FACTORIES: list[tuple[str, Callable[[], xf.Transducer]]] = [
    ("map", lambda: xf.map(lambda x: x)),
    ("filter", lambda: xf.filter(lambda x: True)),
    ("remove", lambda: xf.remove(lambda x: False)),
    ("keep", lambda: xf.keep(lambda x: x)),
    ("take", lambda: xf.take(10)),
    ("drop", lambda: xf.drop(0)),
    ("take_while", lambda: xf.take_while(lambda x: True)),
    ("drop_while", lambda: xf.drop_while(lambda x: False)),
    ("partition_all", lambda: xf.partition_all(2)),
    ("partition_by", lambda: xf.partition_by(lambda x: x)),
    ("cat", lambda: xf.cat),
    ("mapcat", lambda: xf.mapcat(lambda x: [x])),
    ("dedupe", lambda: xf.dedupe()),
    ("distinct", lambda: xf.distinct()),
    ("interpose", lambda: xf.interpose(0)),
    ("comp", lambda: xf.comp(xf.map(lambda x: x), xf.take(5))),
]


@pytest.mark.parametrize("name, factory", ALL_FACTORIES, ids=[n for n, _ in ALL_FACTORIES])
def test_init_and_completion_are_forwarded(name: str, factory: Callable[[], xf.Transducer]) -> None:
    calls: list[Any] = []

    def rf(acc: Any = "unset", x: Any = "unset") -> Any:
        if acc == "unset":
            calls.append("init")
            return "INIT"
        if x == "unset":
            calls.append(("complete", acc))
            return ("COMPLETED", acc)
        return acc

    step = factory()(rf)
    assert step() == "INIT"
    assert step("acc") == ("COMPLETED", "acc")
    assert calls == ["init", ("complete", "acc")]


# ---------------------------------------------------------------------------
# per-application state: one xform value, many independent uses

STATEFUL: list[tuple[str, xf.Transducer, list[Any], list[Any]]] = [
    ("take", xf.take(2), [1, 2, 3], [1, 2]),
    ("drop", xf.drop(1), [1, 2, 3], [2, 3]),
    ("drop_while", xf.drop_while(lambda x: x < 2), [1, 2, 1], [2, 1]),
    ("partition_all", xf.partition_all(2), [1, 2, 3], [[1, 2], [3]]),
    ("partition_by", xf.partition_by(lambda x: x > 1), [1, 2, 3], [[1], [2, 3]]),
    ("dedupe", xf.dedupe(), [1, 1, 2], [1, 2]),
    ("distinct", xf.distinct(), [1, 2, 1], [1, 2]),
    ("interpose", xf.interpose(0), [1, 2], [1, 0, 2]),
]


@pytest.mark.parametrize("name, xform, data, expected", STATEFUL, ids=[s[0] for s in STATEFUL])
def test_reuse_gives_independent_results(
    name: str, xform: xf.Transducer, data: list[Any], expected: list[Any]
) -> None:
    assert xf.into_list(xform, data) == expected
    assert xf.into_list(xform, data) == expected  # state did not leak from the first use

    # Two live applications stepped in lockstep do not share state.
    rf1, rf2 = xform(append_rf), xform(append_rf)
    a1: Any = []
    a2: Any = []
    for x in data:
        if not xf.is_reduced(a1):
            a1 = rf1(a1, x)
        if not xf.is_reduced(a2):
            a2 = rf2(a2, x)
    assert rf1(xf.unreduced(a1)) == expected
    assert rf2(xf.unreduced(a2)) == expected


# ---------------------------------------------------------------------------
# random pipelines vs. plain Python (Hypothesis)

Stage = tuple[str, xf.Transducer, Callable[[list[Any]], list[Any]]]

small = st.integers(min_value=-20, max_value=20)
modulus = st.integers(min_value=1, max_value=4)


def _map_stage(a: int, b: int) -> Stage:
    f = lambda x: _num(x) * a + b  # noqa: E731
    return (f"map(x*{a}+{b})", xf.map(f), lambda xs: [f(x) for x in xs])


def _filter_stage(m: int, r: int) -> Stage:
    p = lambda x: _num(x) % m == r % m  # noqa: E731
    return (f"filter(%{m}=={r % m})", xf.filter(p), lambda xs: [x for x in xs if p(x)])


def _remove_stage(m: int, r: int) -> Stage:
    p = lambda x: _num(x) % m == r % m  # noqa: E731
    return (f"remove(%{m}=={r % m})", xf.remove(p), lambda xs: [x for x in xs if not p(x)])


def _keep_stage(m: int) -> Stage:
    f = lambda x: None if _num(x) % m == 0 else _num(x) // m  # noqa: E731
    return (f"keep(%{m})", xf.keep(f), lambda xs: [f(x) for x in xs if f(x) is not None])


def _take_stage(n: int) -> Stage:
    return (f"take({n})", xf.take(n), lambda xs: xs[:n])


def _drop_stage(n: int) -> Stage:
    return (f"drop({n})", xf.drop(n), lambda xs: xs[n:])


def _take_while_stage(t: int) -> Stage:
    p = lambda x: _num(x) < t  # noqa: E731
    return (f"take_while(<{t})", xf.take_while(p), lambda xs: list(itertools.takewhile(p, xs)))


def _drop_while_stage(t: int) -> Stage:
    p = lambda x: _num(x) < t  # noqa: E731
    return (f"drop_while(<{t})", xf.drop_while(p), lambda xs: list(itertools.dropwhile(p, xs)))


def _partition_all_stage(n: int) -> Stage:
    return (f"partition_all({n})", xf.partition_all(n), lambda xs: ref_partition_all(n, xs))


def _partition_by_stage(m: int) -> Stage:
    f = lambda x: _num(x) % m  # noqa: E731
    return (f"partition_by(%{m})", xf.partition_by(f), lambda xs: ref_partition_by(f, xs))


def _mapcat_stage(m: int) -> Stage:
    f = lambda x: [_num(x) + i for i in range(_num(x) % m)]  # noqa: E731
    return (f"mapcat(%{m})", xf.mapcat(f), lambda xs: [y for x in xs for y in f(x)])


def _cat_stage() -> Stage:
    # cat needs iterable values: wrap scalars so it can sit anywhere.
    wrap = lambda x: x if isinstance(x, list) else [x, x]  # noqa: E731
    xform = xf.comp(xf.map(wrap), xf.cat)
    return ("map(wrap)+cat", xform, lambda xs: [y for x in xs for y in wrap(x)])


def _dedupe_stage() -> Stage:
    return ("dedupe", xf.dedupe(), ref_dedupe)


def _distinct_stage() -> Stage:
    return ("distinct", xf.distinct(), ref_distinct)


def _interpose_stage(sep: int) -> Stage:
    return (f"interpose({sep})", xf.interpose(sep), lambda xs: ref_interpose(sep, xs))


stages = st.one_of(
    st.builds(_map_stage, st.integers(-3, 3), small),
    st.builds(_filter_stage, modulus, small),
    st.builds(_remove_stage, modulus, small),
    st.builds(_keep_stage, modulus),
    st.builds(_take_stage, st.integers(0, 12)),
    st.builds(_drop_stage, st.integers(0, 12)),
    st.builds(_take_while_stage, small),
    st.builds(_drop_while_stage, small),
    st.builds(_partition_all_stage, st.integers(1, 4)),
    st.builds(_partition_by_stage, modulus),
    st.builds(_mapcat_stage, st.integers(1, 4)),
    st.builds(_cat_stage),
    st.builds(_dedupe_stage),
    st.builds(_distinct_stage),
    st.builds(_interpose_stage, small),
)

inputs = st.lists(st.integers(-10, 10), max_size=30)


def _run_ref(pipeline: list[Stage], xs: list[Any]) -> list[Any]:
    out = list(xs)
    for _, _, ref in pipeline:
        out = ref(out)
    return out


@PROPS
@given(stage=stages, xs=inputs)
def test_single_transducer_matches_plain_python(stage: Stage, xs: list[int]) -> None:
    _, xform, ref = stage
    assert xf.into_list(xform, xs) == ref(xs)


@PROPS
@given(pipeline=st.lists(stages, min_size=2, max_size=3), xs=inputs)
def test_composed_transducers_match_plain_python(pipeline: list[Stage], xs: list[int]) -> None:
    xform = xf.comp(*[s[1] for s in pipeline])
    expected = _run_ref(pipeline, xs)
    assert xf.into_list(xform, xs) == expected
    # the same composed value again, through transduce with a 2-arg function
    assert xf.transduce(xform, lambda acc, x: acc + [x], [], xs) == expected


@PROPS
@given(pipeline=st.lists(stages, min_size=1, max_size=3), xs=inputs, k=st.integers(1, 6))
def test_reducing_fn_returning_reduced(pipeline: list[Stage], xs: list[int], k: int) -> None:
    xform = xf.comp(*[s[1] for s in pipeline])
    completions: list[Any] = []

    def step(acc: list[Any], x: Any) -> Any:
        acc.append(x)
        return xf.reduced(acc) if len(acc) >= k else acc

    rf = xf.completing(step, lambda acc: completions.append(list(acc)) or acc)
    got = xf.transduce(xform, rf, [], xs)
    expected = _run_ref(pipeline, xs)[:k]
    assert got == expected
    assert completions == [expected]  # completion ran exactly once, on the final value


@PROPS
@given(pipeline=st.lists(stages, min_size=1, max_size=3), xs=inputs)
def test_pipeline_value_is_reusable(pipeline: list[Stage], xs: list[int]) -> None:
    xform = xf.comp(*[s[1] for s in pipeline])
    first = xf.into_list(xform, xs)
    second = xf.into_list(xform, xs)
    assert first == second == _run_ref(pipeline, xs)


@PROPS
@given(xss=st.lists(st.lists(small, max_size=5), max_size=8), n=st.integers(0, 10))
def test_cat_and_take(xss: list[list[int]], n: int) -> None:
    flat = [x for xs in xss for x in xs]
    assert xf.into_list(xf.cat, xss) == flat
    assert xf.into_list(xf.comp(xf.cat, xf.take(n)), xss) == flat[:n]


# ---------------------------------------------------------------------------
# bad arguments


@pytest.mark.parametrize("factory", [xf.take, xf.drop])
def test_negative_count_is_value_error(factory: Callable[[int], xf.Transducer]) -> None:
    with pytest.raises(ValueError, match=r"\bn\b"):
        factory(-1)


@pytest.mark.parametrize("n", [0, -3])
def test_partition_all_needs_positive_n(n: int) -> None:
    with pytest.raises(ValueError, match=r"\bn\b"):
        xf.partition_all(n)


@pytest.mark.parametrize("factory", [xf.take, xf.drop, xf.partition_all])
@pytest.mark.parametrize("bad", [1.5, "2", None, True])
def test_non_int_count_is_type_error(factory: Callable[[Any], xf.Transducer], bad: Any) -> None:
    with pytest.raises(TypeError, match=r"\bn\b"):
        factory(bad)


@pytest.mark.parametrize(
    "factory, argname",
    [
        (xf.map, "f"),
        (xf.filter, "pred"),
        (xf.remove, "pred"),
        (xf.keep, "f"),
        (xf.take_while, "pred"),
        (xf.drop_while, "pred"),
        (xf.partition_by, "f"),
        (xf.mapcat, "f"),
        (xf.completing, "f"),
    ],
)
def test_non_callable_is_type_error_naming_argument(
    factory: Callable[[Any], Any], argname: str
) -> None:
    with pytest.raises(TypeError, match=rf"\b{argname}\b"):
        factory(42)


def test_other_bad_arguments() -> None:
    with pytest.raises(TypeError, match="cf"):
        xf.completing(operator.add, 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="xforms"):
        xf.comp(xf.map(abs), "nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="xform"):
        xf.transduce(None, operator.add, 0, [])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"\bf\b"):
        xf.transduce(xf.map(abs), None, 0, [])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="xform"):
        xf.into_list(None, [])  # type: ignore[arg-type]


def test_large_counts_are_fine() -> None:
    assert xf.into_list(xf.take(10**30), range(3)) == [0, 1, 2]


# ---------------------------------------------------------------------------
# module surface


def test_public_names() -> None:
    for name in xf.__all__:
        assert hasattr(xf, name), name
    for name in ["map", "filter", "remove", "keep", "take", "drop", "take_while",
                 "drop_while", "partition_all", "partition_by", "mapcat", "dedupe",
                 "distinct", "interpose", "comp", "reduced", "is_reduced",
                 "completing", "transduce", "cat", "into_list"]:
        assert callable(getattr(xf, name)), name


def test_star_import_does_not_shadow_builtins() -> None:
    ns: dict[str, Any] = {}
    exec("from gochan.xf import *", ns)
    assert "map" not in ns and "filter" not in ns
    assert "take" in ns and "partition_all" in ns
    assert xf.map is not map and xf.filter is not filter


# ---------------------------------------------------------------------------
# the stateless marker (pipeline shares one application of these per pipeline)


def test_stateless_marker_names_exactly_the_stateless_transducers() -> None:
    def f(x: Any) -> Any:
        return x
    stateless = [xf.map(f), xf.filter(f), xf.remove(f), xf.keep(f), xf.take_while(f), xf.cat,
                 xf.mapcat(lambda x: [x]), xf.comp(xf.map(f), xf.cat, xf.filter(f))]
    stateful = [xf.take(1), xf.drop(1), xf.drop_while(f), xf.partition_all(2), xf.partition_by(f),
                xf.dedupe(), xf.distinct(), xf.interpose(0), xf.comp(xf.map(f), xf.take(1)),
                xf.comp(), lambda rf: rf]
    assert all(xf._is_stateless(x) for x in stateless)
    assert not any(xf._is_stateless(x) for x in stateful)


stateless_stages = st.one_of(
    st.builds(_map_stage, st.integers(-3, 3), small),
    st.builds(_filter_stage, modulus, small),
    st.builds(_remove_stage, modulus, small),
    st.builds(_keep_stage, modulus),
    st.builds(_take_while_stage, small),
    st.builds(_mapcat_stage, st.integers(1, 4)),
    st.builds(_cat_stage),
)


@PROPS
@given(pipeline=st.lists(stateless_stages, min_size=1, max_size=3), xs=inputs)
def test_a_stateless_application_serves_item_after_item(pipeline: list[Stage], xs: list[int]) -> None:
    # What pipeline relies on: one application, stepped once per item and never completed,
    # gives what a fresh application per item (stepped, then completed) gives.
    xform = xf.comp(*[s[1] for s in pipeline])
    assert xf._is_stateless(xform)
    rf = xform(xf.completing(lambda acc, x: acc + [x]))
    shared = []
    for v in xs:
        shared += xf.unreduced(rf([], v))
    assert shared == [y for v in xs for y in xf.into_list(xform, [v])]
