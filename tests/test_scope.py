"""scope(): waits for its children, routes their errors to the `with`, cancels on the first
error, on s.cancel() and at its deadline, absorbs only its own cancellation, nests."""
from __future__ import annotations

import sys
import threading
import time
from typing import Any, List

import pytest
from conftest import WAIT, pending_of, wait_until

import gochan
from gochan import Cancelled, Scope, chan, close, go, put, scope, take, timeout

if sys.version_info >= (3, 11):
    from builtins import ExceptionGroup
else:  # pragma: no cover
    from exceptiongroup import ExceptionGroup


def parked(c: Any, takes: int = 0, puts: int = 0) -> None:
    wait_until(lambda: pending_of(c)[1] >= takes and pending_of(c)[0] >= puts, what=f"parked on {c!r}")


def in_go(fn: Any, *args: Any) -> Any:
    """Run fn in a go block; return its result or re-raise its exception here."""
    def wrapper() -> Any:
        try:
            return ("ok", fn(*args))
        except BaseException as exc:
            return ("err", exc)
    kind, value = take(go(wrapper))
    if kind == "err":
        raise value
    return value


RUNNERS = {"thread": lambda fn: fn(), "go": in_go}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("where", RUNNERS)
def test_leaving_waits_for_every_child_and_results_stay_on_their_channels(where: str) -> None:
    def body() -> List[Any]:
        gate = chan()
        with scope() as s:
            a = s.go(lambda: take(gate) + 1)
            b = s.thread(lambda: take(gate) * 10)
            put(gate, 1)
            put(gate, 2)
        # both children finished: their results are waiting on their channels
        return sorted([take(a), take(b)])

    assert RUNNERS[where](body) in ([2, 20], [3, 10])


@pytest.mark.timeout(20)
@pytest.mark.parametrize("where", RUNNERS)
def test_first_error_cancels_siblings_and_body_and_propagates(where: str, reported: Any) -> None:
    log: List[str] = []
    never = chan()

    def sibling() -> None:
        try:
            take(never)
        finally:
            log.append("sibling finally")

    def failing() -> None:
        while pending_of(never)[1] < 3:  # both siblings and the body are parked first
            gochan.sleep(1)
        raise KeyError("boom")

    def body() -> None:
        with scope() as s:
            s.go(sibling)
            s.thread(sibling)
            s.go(failing)
            try:
                take(never)
            finally:
                log.append("body finally")

    with pytest.raises(KeyError, match="boom"):
        RUNNERS[where](body)
    assert sorted(log) == ["body finally", "sibling finally", "sibling finally"]
    assert reported.excs == []  # the error went to the scope, not the handler
    assert pending_of(never) == (0, 0)


@pytest.mark.timeout(20)
def test_several_errors_make_an_exception_group() -> None:
    barrier = threading.Barrier(2, timeout=WAIT)

    def failing(n: int) -> None:
        barrier.wait()  # both are past every gochan operation before either raises
        raise ValueError(n)

    with pytest.raises(ExceptionGroup) as info:
        with scope() as s:
            s.thread(failing, 1)
            s.thread(failing, 2)
    assert sorted(e.args[0] for e in info.value.exceptions) == [1, 2]


@pytest.mark.timeout(20)
def test_body_error_cancels_children_and_propagates_as_is() -> None:
    c = chan()
    log: List[str] = []

    def child() -> None:
        try:
            take(c)
        except Cancelled:
            log.append("child cancelled")
            raise

    with pytest.raises(ZeroDivisionError):
        with scope() as s:
            s.go(child)
            parked(c, takes=1)
            raise ZeroDivisionError("the body failed")
    assert log == ["child cancelled"]


@pytest.mark.timeout(20)
@pytest.mark.parametrize("where", RUNNERS)
def test_cancel_cancels_children_and_body_and_exits_normally(where: str) -> None:
    c = chan()
    log: List[str] = []

    def child() -> None:
        try:
            take(c)
        finally:
            log.append("child")

    def cancel_when_parked(s: Scope) -> None:
        while pending_of(c)[1] < 3:
            gochan.sleep(1)
        s.cancel()

    def body() -> str:
        with scope() as s:
            s.go(child)
            s.thread(child)
            s.go(cancel_when_parked, s)
            try:
                take(c)
            finally:
                log.append("body")
            log.append("not reached")
        return "after with"

    assert RUNNERS[where](body) == "after with"
    assert sorted(log) == ["body", "child", "child"]
    assert pending_of(c) == (0, 0)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("where", RUNNERS)
def test_deadline_cancels_everything_and_raises_timeout_error(where: str) -> None:
    c = chan()
    log: List[str] = []

    def child() -> None:
        try:
            take(c)
        finally:
            log.append("child")

    def body() -> None:
        with scope(timeout_ms=50) as s:
            s.go(child)
            s.thread(child)
            take(c)

    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        RUNNERS[where](body)
    assert 0.045 <= time.monotonic() - t0 < WAIT
    assert log == ["child", "child"]


@pytest.mark.timeout(20)
def test_a_scope_that_finishes_before_its_deadline_does_not_time_out() -> None:
    with scope(timeout_ms=10_000) as s:
        r = s.go(lambda: 5)
    assert take(r) == 5 and not s.timed_out
    take(timeout(20))  # the disarmed deadline fires nothing later


@pytest.mark.timeout(20)
def test_nesting_three_deep_outer_cancel_reaches_the_innermost() -> None:
    c = chan()
    log: List[str] = []
    entered = chan(3)

    def level(n: int) -> None:
        try:
            with scope() as s:
                put(entered, n)
                if n < 3:
                    s.go(level, n + 1)
                take(c)
        except Cancelled as exc:
            log.append(f"level {n} cancelled by outer={exc.scope is outer_scope[0]}")
            raise

    outer_scope: List[Scope] = []
    with scope() as outer:
        outer_scope.append(outer)
        outer.go(level, 1)
        for _ in range(3):
            take(entered)
        parked(c, takes=3)
        outer.cancel()
    assert sorted(log) == [f"level {n} cancelled by outer=True" for n in (1, 2, 3)]
    assert pending_of(c) == (0, 0)


@pytest.mark.timeout(20)
def test_a_scope_absorbs_only_its_own_cancellation() -> None:
    c = chan()
    log: List[str] = []

    def inner_body() -> None:
        with scope():
            take(c)  # cancelled by the outer scope: passes through the inner one
        log.append("not reached")

    with scope() as outer:
        r = outer.go(inner_body)
        parked(c, takes=1)
        outer.cancel()
    assert take(r) is None and log == []

    # cancel(ch) from outside is not absorbed by the scope the process is in
    def body() -> str:
        try:
            with scope():
                take(c)
        except Cancelled as exc:
            return f"outside cancel passed through, scope={exc.scope}"
        return "absorbed"

    ch = go(body)
    parked(c, takes=1)
    gochan.cancel(ch)
    assert take(ch) == "outside cancel passed through, scope=None"


@pytest.mark.timeout(20)
def test_children_started_after_cancel_never_run_and_closed_scope_refuses() -> None:
    ran: List[int] = []
    with scope() as s:
        s.cancel()
        r = s.go(ran.append, 1)
    assert take(r) is None and ran == []
    with pytest.raises(RuntimeError, match="scope"):
        s.go(ran.append, 2)
    with pytest.raises(RuntimeError, match="entered only once"):
        with s:
            pass


@pytest.mark.timeout(20)
def test_children_may_start_siblings_while_the_scope_waits() -> None:
    out = chan(10)

    def spawner(s: Scope, n: int) -> None:
        if n:
            s.go(spawner, s, n - 1)
        put(out, n)

    with scope() as s:
        s.go(spawner, s, 5)
    got = []
    close(out)
    while (v := take(out)) is not None:
        got.append(v)
    assert sorted(got) == [0, 1, 2, 3, 4, 5]


@pytest.mark.timeout(20)
def test_scope_bad_arguments_name_themselves() -> None:
    for bad in (-1, "5", True, float("nan")):
        with pytest.raises(ValueError, match="scope: timeout_ms"):
            scope(timeout_ms=bad)  # type: ignore[arg-type]


@pytest.mark.timeout(30)
def test_shutdown_runs_every_parked_finally() -> None:
    c = chan()
    done: List[int] = []
    lock = threading.Lock()

    def body(i: int) -> None:
        try:
            take(c)
        finally:
            with lock:
                done.append(i)

    for i in range(200):
        go(body, i)
    parked(c, takes=200)
    assert gochan.shutdown(timeout_ms=5000) is True
    assert sorted(done) == list(range(200))
