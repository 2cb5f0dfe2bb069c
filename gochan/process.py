"""Processes: go blocks on the hubs, and `thread` bodies on a pool of reusable OS threads.

Both return a channel that receives the body's return value once and then
closes (a None return just closes it); an exception is reported to the
exception handler and the channel closes.
"""
from __future__ import annotations

import contextvars
import functools
from typing import Any, Callable, ParamSpec, TypeVar

from .channel import Chan, result_chan
from .errors import Cancelled, report_exception
from .hub import current_hub
from .runtime import current_runtime

__all__ = ["go", "go_fn", "go_on", "thread"]

P = ParamSpec("P")
T = TypeVar("T")


def _check_fn(fname: str, fn: Any) -> None:
    if not callable(fn):
        raise TypeError(f"{fname}: fn must be callable, got {fn!r}")


def go(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Chan[T]:
    """Run `fn(*args, **kwargs)` as a go block; returns a channel of its result.

    Inside the go block `take`, `put` and `alts` park it (at any call depth)
    instead of blocking its hub's thread. The go block starts later on a hub,
    never inline; it sees a copy of the caller's contextvars.

    >>> take(go(lambda: 42))
    42
    """
    _check_fn("go", fn)
    ch = result_chan()
    current_runtime().spawn(fn, args, kwargs, ch)
    return ch


def go_on(hub_index: int, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Chan[T]:
    """Like `go`, pinned to hub number `hub_index` (for benchmarks and placement tests)."""
    _check_fn("go_on", fn)
    rt = current_runtime()
    pool = rt.hubs
    if isinstance(hub_index, bool) or not isinstance(hub_index, int) or not 0 <= hub_index < len(pool):
        raise ValueError(f"go_on: hub_index must be an int in range({len(pool)}), got {hub_index!r}")
    ch = result_chan()
    rt.spawn(fn, args, kwargs, ch, pool[hub_index])
    return ch


def go_fn(fn: Callable[P, T]) -> Callable[P, Chan[T]]:
    """Decorator: calling the decorated function spawns it as a go block and returns its channel.

    >>> @go_fn
    ... def add(a, b): return a + b
    >>> take(add(1, 2))
    3
    """
    _check_fn("go_fn", fn)

    @functools.wraps(fn)
    def spawner(*args: P.args, **kwargs: P.kwargs) -> Chan[T]:
        return go(fn, *args, **kwargs)

    return spawner


def thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Chan[T]:
    """Run `fn(*args, **kwargs)` on a pooled OS thread; returns a channel of its result.

    Use it for blocking I/O and CPU-bound work, which would stall a hub. In
    the thread, `take`/`put`/`alts` block. The body sees a copy of the
    caller's contextvars. Never blocks the caller to start an OS thread.
    """
    _check_fn("thread", fn)
    ch: Chan[T] = result_chan()
    ctx = contextvars.copy_context()

    def job() -> None:
        result = None
        try:
            result = ctx.run(fn, *args, **kwargs)
        except Cancelled:  # the runtime shut down while it waited: not an error
            pass
        except BaseException as exc:
            report_exception(exc)
        ch.deliver_result(result)

    current_runtime().pool.submit(job, may_block=current_hub() is None)
    return ch
