"""Processes: go blocks on the hubs, and `thread` bodies on a pool of reusable OS threads.

Both return a channel that receives the body's return value once and then
closes (a None return just closes it); an exception is reported to the
exception handler and the channel closes.
"""
from __future__ import annotations

import contextvars
import functools
import threading
from collections import deque
from typing import Any, Callable, Deque, TypeVar

from .channel import Chan, result_chan
from .errors import report_exception
from .hub import hubs, spawn

__all__ = ["go", "go_fn", "go_on", "thread"]

F = TypeVar("F", bound=Callable[..., Any])


def _check_fn(fname: str, fn: Any) -> None:
    if not callable(fn):
        raise TypeError(f"{fname}: fn must be callable, got {fn!r}")


def go(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Chan[Any]:
    """Run `fn(*args, **kwargs)` as a go block; returns a channel of its result.

    Inside the go block `take`, `put` and `alts` park it (at any call depth)
    instead of blocking its hub's thread. The go block starts later on a hub,
    never inline; it sees a copy of the caller's contextvars.

    >>> take(go(lambda: 42))
    42
    """
    _check_fn("go", fn)
    ch = result_chan()
    spawn(fn, args, kwargs, ch)
    return ch


def go_on(hub_index: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Chan[Any]:
    """Like `go`, pinned to hub number `hub_index` (for benchmarks and placement tests)."""
    _check_fn("go_on", fn)
    pool = hubs()
    if isinstance(hub_index, bool) or not isinstance(hub_index, int) or not 0 <= hub_index < len(pool):
        raise ValueError(f"go_on: hub_index must be an int in range({len(pool)}), got {hub_index!r}")
    ch = result_chan()
    spawn(fn, args, kwargs, ch, pool[hub_index])
    return ch


def go_fn(fn: F) -> Callable[..., Chan[Any]]:
    """Decorator: calling the decorated function spawns it as a go block and returns its channel.

    >>> @go_fn
    ... def add(a, b): return a + b
    >>> take(add(1, 2))
    3
    """
    _check_fn("go_fn", fn)

    @functools.wraps(fn)
    def spawner(*args: Any, **kwargs: Any) -> Chan[Any]:
        return go(fn, *args, **kwargs)

    return spawner


class _ThreadPool:
    """A growing pool of reusable daemon threads, like core.async's `thread` pool.

    A submitted job runs on an idle worker if there is one, else on a new
    thread; a worker idle for `idle_timeout` seconds exits.
    """

    def __init__(self, idle_timeout: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._jobs: Deque[Callable[[], None]] = deque()
        self._ready = threading.Condition(self._lock)
        self._idle = 0
        self._count = 0
        self._idle_timeout = idle_timeout

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._jobs.append(job)
            if self._idle > len(self._jobs) - 1:
                self._ready.notify()
                return
            self._count += 1
            name = f"gochan-thread-{self._count}"
        threading.Thread(target=self._work, name=name, daemon=True).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._jobs:
                    self._idle += 1
                    notified = self._ready.wait(self._idle_timeout)
                    self._idle -= 1
                    if not notified and not self._jobs:
                        return
                job = self._jobs.popleft()
            job()


_pool = _ThreadPool()


def thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Chan[Any]:
    """Run `fn(*args, **kwargs)` on a pooled OS thread; returns a channel of its result.

    Use it for blocking I/O and CPU-bound work, which would stall a hub. In
    the thread, `take`/`put`/`alts` block. The body sees a copy of the
    caller's contextvars.
    """
    _check_fn("thread", fn)
    ch = result_chan()
    ctx = contextvars.copy_context()

    def job() -> None:
        result = None
        try:
            result = ctx.run(fn, *args, **kwargs)
        except BaseException as exc:
            report_exception(exc)
        ch._deliver_result(result)

    _pool.submit(job)
    return ch
