"""Shared fixtures for gochan's tests.

- `reported`: captures what reaches `gochan.set_exception_handler` during one
  test, and restores the default handler (None) afterwards.
- `bg`: starts daemon threads that run one call each and keep its result or
  exception, so a test can check that an operation is still blocked
  (`t.join(0.2)` then `t.is_alive()`) and later collect what it returned.
- `until`: a bounded wait for a condition (never an unbounded sleep).
- `pending`: a channel's pending puts and takes, from `stats(c)`.
- `reports`: the blocking detector at 100 ms, recording what it reports.

Tests order events explicitly (a thread is known to be blocked once the
channel's stats count its pending op), never with sleeps.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Tuple

import pytest

import gochan

WAIT = 10.0  # upper bound for anything expected to happen; tests finish far sooner


class Recorder:
    """An exception handler that records what it receives, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.excs: List[BaseException] = []
        self.threads: List[str] = []

    def __call__(self, exc: BaseException) -> None:
        with self._cond:
            self.excs.append(exc)
            self.threads.append(threading.current_thread().name)
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = WAIT) -> List[BaseException]:
        """Wait until at least `n` exceptions were reported; return them all."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.excs) >= n, timeout)
            assert ok, f"expected {n} reported exceptions, got {self.excs!r}"
            return list(self.excs)


@pytest.fixture
def reported() -> Iterator[Recorder]:
    rec = Recorder()
    gochan.set_exception_handler(rec)
    try:
        yield rec
    finally:
        gochan.set_exception_handler(None)


class Bg:
    """One call running on a daemon thread; keeps its result or its exception."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.ident: Optional[int] = None
        self.started = threading.Event()

        def run() -> None:
            self.ident = threading.get_ident()
            self.started.set()
            try:
                self.result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the test through .error
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        self.started.wait(WAIT)

    def blocked(self, wait: float = 0.2) -> bool:
        """True if the call is still running after `wait` seconds (a bounded wait)."""
        self.thread.join(wait)
        return self.thread.is_alive()

    def join(self, timeout: float = WAIT) -> Any:
        """Wait for the call to finish; return its result, re-raise its exception."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "background call did not finish in time"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def bg() -> Iterator[Callable[..., Bg]]:
    started: List[Bg] = []

    def start(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Bg:
        b = Bg(fn, *args, **kwargs)
        started.append(b)
        return b

    yield start
    # a test that failed half-way may leave a thread blocked on a channel; it is
    # a daemon, so it cannot keep the run alive, but say so if one finished badly
    for b in started:
        b.thread.join(0.01)


def wait_until(pred: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.001)


@pytest.fixture
def until() -> Callable[..., None]:
    return wait_until


def pending_of(c: Any) -> Tuple[int, int]:
    """(pending puts, pending takes) of channel `c`, from `stats(c)`."""
    s = gochan.stats(c)
    return s.pending_puts, s.pending_takes


@pytest.fixture
def pending() -> Callable[[Any], Tuple[int, int]]:
    return pending_of


def nudge_hubs() -> None:
    """Make every hub thread run once (a greenlet dropped elsewhere is freed on its own thread)."""
    from gochan.process import go_on
    from gochan.runtime import hubs
    for i in range(len(hubs())):
        assert gochan.take(go_on(i, lambda: True)) is True


@pytest.fixture
def nudge() -> Callable[[], None]:
    return nudge_hubs


@pytest.fixture
def reports() -> Iterator[Tuple[List[Tuple[int, float, str]], threading.Event]]:
    """The blocking detector at 100 ms, its reports recorded: (reports, an event set at the first)."""
    got: List[Tuple[int, float, str]] = []
    event = threading.Event()

    def report(hub: int, seconds: float, stack: str) -> None:
        got.append((hub, seconds, stack))
        event.set()

    gochan.set_blocking_threshold(100, report)
    yield got, event
    gochan.set_blocking_threshold(None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    """On a failure (a timeout included), add the hubs' state to the report: a lost wake-up
    shows as a sleeping hub with work queued, or a go block parked on nothing that can wake it."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        from combinator_support import runtime_state
        try:
            rep.sections.append(("gochan runtime", runtime_state()))
        except Exception as exc:  # diagnostics must not hide the failure
            rep.sections.append(("gochan runtime", f"unavailable: {exc!r}"))
