"""The one suspension path: complete an operation now, or wait for it as a go block or a thread.

Every blocking operation is written as a *register* function that completes
at once (returning the result) or queues a waiter and returns `PENDING`
(curio's UniversalQueue shape: one core, thin waits on top). `suspend` runs
it with the right waiter: in a go block the go block itself, which then
parks on its hub with the park reason; in an ordinary thread (or a greenlet
that is not a go block) the thread's `ThreadWaiter`, which blocks on a lock.
A thread interrupted while registered or blocked (Ctrl-C) withdraws the
operation, so it never completes behind the thread's back.

`take` and `put` in ops.py inline the go-block half of this for speed (the
W1/W2 benchmarks: through `suspend` they cost 33% and 57% more
instructions); everything else calls `suspend`.
"""
from __future__ import annotations

from typing import Any, Callable

from greenlet import getcurrent

from .errors import Cancelled
from .hub import GoTask
from .procs import any_pending, cancelled_error, consume, current_thread_proc
from .protocols import PENDING
from .waiters import thread_waiter

__all__ = ["suspend", "block", "check"]


def check() -> None:
    """Raise `Cancelled` if the calling process has an undelivered cancel request (consuming it).

    Every blocking operation calls it first, but only while some request is
    pending anywhere (`procs.pending`), so it costs nothing otherwise.
    """
    g = getcurrent()
    rec = g.proc if g.__class__ is GoTask else current_thread_proc()
    if rec is not None and rec.tag is not None:
        tag = consume(rec)
        if tag is not None:
            raise cancelled_error(tag)


def suspend(op: str, waiting: Any, register: Callable[..., Any], *args: Any) -> Any:
    """`register(waiter, *args)`; if it returns PENDING, park or block until woken; the result.

    `op` and `waiting` (a `protocols.Withdrawable`: the channel, or an alts'
    flag) are the park reason.
    """
    if any_pending:
        check()
    g = getcurrent()
    if g.__class__ is GoTask:
        r = register(g, *args)
        if r is PENDING:
            r = g.park(op, waiting)
        return r
    return block(op, waiting, register, *args)


def block(op: str, waiting: Any, register: Callable[..., Any], *args: Any) -> Any:
    """The thread half of `suspend`: wait on this thread's reusable waiter."""
    w = thread_waiter()
    try:
        r = register(w, *args)
        if r is PENDING:
            r = w.wait(op, waiting)
    except Cancelled:  # withdrawn by whoever cancelled (or by the wait itself): no wake is coming
        raise
    except BaseException:  # interrupted (Ctrl-C) while registered or blocked
        w.withdraw(waiting)
        raise
    return r
