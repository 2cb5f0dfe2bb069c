"""Processes: go blocks on the hubs, and `thread` bodies on a pool of reusable OS threads.

Both return a channel that receives the body's return value once and then
closes (a None return just closes it); an exception is reported to the
exception handler and the channel closes.
"""
from __future__ import annotations

import contextvars
import functools
from typing import Any, Callable, Dict, ParamSpec, Tuple, TypeVar

from .channel import Chan, result_chan
from .errors import Cancelled, report_exception
from .hub import current_hub
from .procs import ThreadProc
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
    ch.proc = current_runtime().spawn(fn, args, kwargs, ch)
    return ch


def spawn_go(fn: Callable[..., T], args: Tuple[Any, ...], kwargs: Dict[str, Any], scope: Any) -> Chan[T]:
    """`go` for a scope: the go block's exit and uncaught error go to `scope.child_exited`."""
    _check_fn("go", fn)
    ch = result_chan()
    ch.proc = current_runtime().spawn(fn, args, kwargs, ch, None, scope)
    return ch


def go_on(hub_index: int, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Chan[T]:
    """Like `go`, pinned to hub number `hub_index` (for benchmarks and placement tests)."""
    _check_fn("go_on", fn)
    rt = current_runtime()
    pool = rt.hubs
    if isinstance(hub_index, bool) or not isinstance(hub_index, int) or not 0 <= hub_index < len(pool):
        raise ValueError(f"go_on: hub_index must be an int in range({len(pool)}), got {hub_index!r}")
    ch = result_chan()
    ch.proc = rt.spawn(fn, args, kwargs, ch, pool[hub_index])
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
    return spawn_thread(fn, args, kwargs, None)


def spawn_thread(fn: Callable[..., T], args: Tuple[Any, ...], kwargs: Dict[str, Any], scope: Any) -> Chan[T]:
    """`thread`, with the body's exit and uncaught error going to `scope.child_exited` if given."""
    _check_fn("thread", fn)
    rec = ThreadProc(scope)
    ch: Chan[T] = result_chan(rec)
    ctx = contextvars.copy_context()

    def job() -> None:
        result = error = None
        if rec.start():  # else cancelled before it started: it never runs
            try:
                result = ctx.run(fn, *args, **kwargs)
            except Cancelled:  # cancelled (or the runtime shut down): not an error
                pass
            except BaseException as exc:
                if scope is None:
                    report_exception(exc)
                else:
                    error = exc
            rec.finish()
        else:
            rec.finish()
        ch.deliver_result(result)
        if scope is not None:
            scope.child_exited(rec, error)

    current_runtime().pool.submit(job, may_block=current_hub() is None)
    return ch
