"""Process records: the state `cancel(ch)` and scopes act on, shared by go blocks and thread bodies.

A process is a go block (its record is the hub's `Spawn`) or a `thread`
body (a `ThreadProc`); `aio.spawn` has a record of its own. Each goes
NEW -> RUNNING -> DONE and may carry one undelivered cancel request, whose
*tag* says who asked: `EXTERNAL` for `cancel(ch)` and shutdown, or the
`Scope` that cancelled it (a scope absorbs the `Cancelled` it caused and
no other, see scope.py).

Why a module-wide counter: every blocking operation must notice a cancel
request made while its process was running, so take, put and alts would
each have to fetch their process record first. Instead they read
`pending`, the number of undelivered requests in the whole process, which
is 0 whenever nobody is cancelling: one global read on the hot path
(`any_pending`, a list that is non-empty exactly while `pending` > 0). Only
then does `suspend.check()` look up the current process.
"""
from __future__ import annotations

import threading
from typing import Any, List, Optional

from .errors import Cancelled

__all__ = ["Proc", "ThreadProc", "NEW", "RUNNING", "DONE", "EXTERNAL", "pending", "any_pending", "request", "consume",
           "lock", "cancelled_error", "current_thread_proc", "set_thread_proc", "arm_thread_wait",
           "disarm_thread_wait", "void"]

NEW, RUNNING, DONE = 0, 1, 2


class _External:
    """The tag of a cancel that came from outside every scope (`cancel(ch)`, `shutdown()`)."""

    __slots__ = ()
    parent = None

    def __repr__(self) -> str:
        return "EXTERNAL"


EXTERNAL: Any = _External()

#: Guards every cancel-request transition (set, upgrade, consume) and `pending`.
lock = threading.Lock()
#: Undelivered cancel requests in this process (see the module docstring).
pending = 0
#: Non-empty exactly while `pending` > 0: what the hot path reads, without the lock (one
#: LOAD_GLOBAL of an imported name: callgrind W2 +2.2%, where `procs.pending` cost +2.9%).
any_pending: List[bool] = []


def _count(delta: int) -> None:
    """Adjust `pending` by `delta` (call with `lock` held), keeping `any_pending` in step."""
    global pending
    pending += delta
    if pending:
        if not any_pending:
            any_pending.append(True)
    else:
        any_pending.clear()


class Proc:
    """The base of process records: `state`, the undelivered cancel `tag`, the owning `scope`."""

    __slots__ = ("state", "tag", "scope")

    def __init__(self, scope: Any = None) -> None:
        self.state = NEW
        self.tag: Any = None
        self.scope = scope


def _stronger(new: Any, old: Any) -> bool:
    """True if cancel tag `new` should replace a pending `old`: an outside cancel beats a scope's,
    an enclosing scope's beats a nested one's (the `Cancelled` must reach the outermost canceller)."""
    if new is EXTERNAL:
        return old is not EXTERNAL
    if old is EXTERNAL:
        return False
    s = old.parent
    while s is not None:
        if s is new:
            return True
        s = s.parent
    return False


def request(rec: Proc, tag: Any) -> bool:
    """Record a cancel request on `rec`: False if it has finished (nothing to cancel), else True.

    Does not deliver it: the caller wakes the process if it is parked.
    """
    with lock:
        if rec.state == DONE:
            return False
        if rec.tag is None:
            rec.tag = tag
            _count(1)
        elif _stronger(tag, rec.tag):
            rec.tag = tag
        return True


def consume(rec: Proc) -> Any:
    """Take `rec`'s undelivered cancel request: its tag, or None if there was none."""
    if rec.tag is None:  # the common case, read without the lock: only this process's own paths
        return None      # and cancellers set it, and a canceller then always delivers
    with lock:
        tag = rec.tag
        if tag is not None:
            rec.tag = None
            _count(-1)
        return tag


def cancelled_error(tag: Any) -> Cancelled:
    """The `Cancelled` raised in a process for a request tagged `tag`."""
    exc = Cancelled()
    if tag is not EXTERNAL:
        exc.scope = tag
    return exc


_tls = threading.local()


def current_thread_proc() -> Optional[Proc]:
    """The record of the `thread` body (or scope body) running on this OS thread, or None."""
    return getattr(_tls, "proc", None)


def set_thread_proc(rec: Optional[Proc]) -> None:
    _tls.proc = rec


class ThreadProc(Proc):
    """A `thread` body's record (or a scope body's on an ordinary thread): `waiter` is the
    `ThreadWaiter` it is blocked on while it waits in a gochan operation, so a cancel can
    withdraw that operation and wake it."""

    __slots__ = ("waiter", "chan")

    def __init__(self, scope: Any = None) -> None:
        Proc.__init__(self, scope)
        self.waiter: Any = None
        self.chan: Any = None

    def cancel(self, tag: Any = EXTERNAL) -> bool:
        """Cancel this body (see `gochan.cancel`): False if it had finished. From any thread.

        If it is blocked in an operation, whoever withdraws that operation
        (this call, or the body itself as it starts to wait: see
        `ThreadWaiter.wait`) delivers the request; else its next operation does.
        """
        with lock:
            if self.state == DONE:
                return False
            if self.tag is None:
                self.tag = tag
                _count(1)
            elif _stronger(tag, self.tag):
                self.tag = tag
            w = self.waiter
            waiting = w.waiting if w is not None else None
        if waiting is not None and waiting.withdraw(w):
            w.wake_error(cancelled_error(consume(self) or EXTERNAL))
        return True

    def start(self) -> bool:
        """On the body's thread, before it runs: False if it was cancelled before it started."""
        with lock:
            if self.tag is not None:
                return False
            self.state = RUNNING
        set_thread_proc(self)
        return True

    def finish(self) -> None:
        """On the body's thread, when it has ended: done, any undelivered request void."""
        set_thread_proc(None)
        with lock:
            self.state = DONE
            if self.tag is not None:
                self.tag = None
                _count(-1)


def arm_thread_wait(rec: ThreadProc, waiter: Any) -> bool:
    """A thread body is about to block on `waiter`: True if it may (no cancel request is
    pending; a later one will find it through `rec.waiter`), False if it must withdraw instead."""
    with lock:
        if rec.tag is not None:
            return False
        rec.waiter = waiter
        return True


def disarm_thread_wait(rec: ThreadProc) -> None:
    with lock:
        rec.waiter = None


def void(rec: Proc, owner: Any) -> None:
    """Drop `rec`'s undelivered request if scope `owner` (or a scope nested in it) made it:
    `owner` is closing, and its cancellation must not reach code after it."""
    with lock:
        tag = rec.tag
        s = tag if tag is not EXTERNAL else None
        while s is not None and s is not owner:
            s = s.parent
        if s is not None:
            rec.tag = None
            _count(-1)
