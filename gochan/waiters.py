"""Pending operations ("waiters") and the flag that lets an alts commit exactly once.

A channel keeps pending takers and putters as waiters. Every waiter has a
`flag` (None for a plain operation, a shared `Flag` for the operations of one
alts) and a `wake(result)` method that the channel calls, outside its lock,
once the operation has completed. Who is woken depends on the waiter:

- a go block parks with the go block itself as its waiter (see `hub.GoTask`),
  so a plain take or put allocates nothing;
- a thread blocks on a per-thread `ThreadWaiter` (a lock it waits on);
- `put_async`/`take_async` enqueue a `CallbackWaiter`;
- each port of an alts gets an `AltWaiter` that shares the alts' `Flag` and
  wraps its result as `(value, port)`.

Design, after core.async's handlers: an alts registers on its channels one at
a time, holding one channel lock at a time; exactly one registration can win
because completing an operation commits its flag under the flag's lock, and a
pairing of two alts commits both flags under both locks taken in a global
order (the flags' ids), so two threads pairing the same two alts cannot
deadlock. Stale registrations of an alts that completed elsewhere stay in
their channels' queues as inactive waiters and are skipped or purged lazily,
so completing an alts costs O(1), not O(ports).
"""
from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .errors import report_exception
from .procs import EXTERNAL, arm_thread_wait, cancelled_error, consume, current_thread_proc, disarm_thread_wait

__all__ = ["Flag", "AltWaiter", "ThreadWaiter", "CallbackWaiter", "NONBLOCKING", "commit_pair",
           "thread_waiter", "blocked_threads", "OK", "OTHER_DEAD", "SELF_DEAD", "SAME"]

# Outcomes of commit_pair.
OK, OTHER_DEAD, SELF_DEAD, SAME = 0, 1, 2, 3


class Flag:
    """The shared commit flag of one alts: active until one of its operations completes.

    It is also what a parked alts waits on (its park reason, see
    `protocols.Withdrawable`): `ports` lists the alts' `(index, port, value)`
    registrations, so `dump()` and the reaper see every port.
    """

    __slots__ = ("lock", "active", "registered")

    def __init__(self, registered: Sequence[Tuple[int, Any, Any]] = ()) -> None:
        self.lock = threading.Lock()
        self.active = True
        self.registered = registered

    def commit(self) -> bool:
        """Atomically deactivate; True if this call did it (the operation may complete)."""
        lock = self.lock
        lock.acquire()  # explicit acquire/release: `with lock` costs 2.5x as much on 3.11
        if self.active:
            self.active = False
            lock.release()
            return True
        lock.release()
        return False

    def withdraw(self, waiter: Any) -> bool:
        """Take the whole alts back: True if none of its operations completed (all are inert now)."""
        return self.commit()

    def ports(self) -> List[Any]:
        return [port for _, port, _ in self.registered]


def commit_pair(own: Optional[Flag], other: Optional[Flag]) -> int:
    """Commit both sides of a pairing atomically; both or neither.

    `own` is the flag of the operation being performed, `other` the flag of a
    queued waiter; at least one of them is not None. Returns OK, OTHER_DEAD
    (the queued waiter belongs to an alts that completed elsewhere), SELF_DEAD
    (our own alts completed elsewhere) or SAME (both belong to one alts, which
    must not complete its own put with its own take).
    """
    if own is None:
        return OK if other.commit() else OTHER_DEAD  # type: ignore[union-attr]
    if other is None:
        return OK if own.commit() else SELF_DEAD
    if own is other:
        return SAME
    first, second = (own.lock, other.lock) if id(own) < id(other) else (other.lock, own.lock)
    first.acquire()
    second.acquire()
    if not own.active:
        r = SELF_DEAD
    elif not other.active:
        r = OTHER_DEAD
    else:
        own.active = False
        other.active = False
        r = OK
    second.release()
    first.release()
    return r


class AltWaiter:
    """One port's registration of an alts: completes the alts with `(value, port, index)`."""

    __slots__ = ("flag", "resumer", "port", "index")

    def __init__(self, flag: Flag, resumer: Any, port: Any, index: int) -> None:
        self.flag = flag
        self.resumer = resumer
        self.port = port
        self.index = index

    def wake(self, value: Any) -> None:
        self.resumer.wake((value, self.port, self.index))

    def __repr__(self) -> str:
        return f"<AltWaiter port={self.port!r} active={self.flag.active}>"


class ThreadWaiter:
    """How an ordinary thread waits: a lock held by default, released by `wake`.

    Each thread reuses one (see `thread_waiter`); a thread waits for at most
    one operation at a time. While it waits, `op` and `waiting` hold its park
    reason (`protocols.TAKE`/`PUT`/`ALTS` and the channel or alts flag), which
    `dump()` reads; `thread` is the thread's name.
    """

    __slots__ = ("lock", "value", "error", "op", "waiting", "thread", "ident", "__weakref__")
    flag = None

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.value: Any = None
        self.error: Optional[BaseException] = None
        self.op = ""
        self.waiting: Any = None
        self.thread = threading.current_thread().name
        self.ident = threading.get_ident()

    def wake(self, value: Any) -> None:
        self.value = value
        self.lock.release()

    def wake_error(self, exc: BaseException) -> None:
        """Wake the thread with `exc` raised where it waits (its operation must be withdrawn first)."""
        self.error = exc
        self.lock.release()

    def wait(self, op: str, waiting: Any) -> Any:
        """Block until `wake`; returns its value. See `withdraw` for what an interrupt leaves.

        In a `thread` body (or a scope body) with a cancel request pending, the
        operation is withdrawn instead and `Cancelled` raised; if it completed
        meanwhile, its value is returned and the request waits for the next one.
        """
        self.op = op
        self.waiting = waiting
        rec = current_thread_proc()
        try:
            if rec is not None and not arm_thread_wait(rec, self):  # type: ignore[arg-type]
                if waiting.withdraw(self):
                    raise cancelled_error(consume(rec) or EXTERNAL)
                rec = None  # completed meanwhile: its wake is coming
            self.lock.acquire()
        finally:
            if rec is not None:
                disarm_thread_wait(rec)  # type: ignore[arg-type]
            self.op = ""
            self.waiting = None
        value = self.value
        self.value = None
        error = self.error
        if error is not None:
            self.error = None
            raise error
        return value

    def withdraw(self, pending: Any) -> None:
        """After an exception (Ctrl-C) cut short the operation this waiter was for: take it back.

        `pending` is what the thread waited on: the channel of a take or put,
        or the `Flag` of an alts. `pending.withdraw(self)` removes a take or
        put still queued (or deactivates the alts): the operation never
        happened, so no value is handed to a thread that has moved on and
        none is delivered by a put that raised. If it cannot be withdrawn, it
        has completed (in the instant of the interrupt: a value taken then is
        lost, as with any interrupted hand-off) or was never queued; either
        way a wake may still come, so the thread retires this waiter and
        blocks on a fresh one from now on.
        """
        if not pending.withdraw(self):
            _tls.waiter = _new_thread_waiter()


_tls = threading.local()
#: Every thread's waiter, for `dump()` (a thread's entry goes with the thread).
_thread_waiters: "weakref.WeakSet[ThreadWaiter]" = weakref.WeakSet()
_registry_lock = threading.Lock()


def _new_thread_waiter() -> ThreadWaiter:
    w = ThreadWaiter()
    with _registry_lock:
        _thread_waiters.add(w)
    return w


def thread_waiter() -> ThreadWaiter:
    """The calling thread's reusable waiter."""
    try:
        return _tls.waiter  # type: ignore[no-any-return]
    except AttributeError:
        w = _tls.waiter = _new_thread_waiter()
        return w


def blocked_threads() -> List[ThreadWaiter]:
    """The waiters of threads blocked in a gochan operation right now (a snapshot, for `dump()`)."""
    with _registry_lock:
        waiters = list(_thread_waiters)
    return [w for w in waiters if w.op]


def thread_waiters_exist() -> bool:
    """True once any thread has waited on a channel (fork handling needs to know)."""
    return bool(_thread_waiters)


class CallbackWaiter:
    """A `put_async`/`take_async` waiting with a callback.

    When the operation completes later, the callback runs on the thread that
    completed it (after the channel lock is released), or, with
    `on_caller=False`, is dispatched to a hub. Its exceptions are reported.
    """

    __slots__ = ("fn", "dispatch")
    flag = None

    def __init__(self, fn: Optional[Callable[[Any], Any]], dispatch: Optional[Callable[..., Any]] = None) -> None:
        self.fn = fn
        self.dispatch = dispatch

    def wake(self, value: Any) -> None:
        fn = self.fn
        if fn is None:
            return
        if self.dispatch is not None:
            self.dispatch(fn, value)
            return
        try:
            fn(value)
        except BaseException as exc:
            report_exception(exc)


class _NonBlocking:
    """The waiter of `offer`/`poll`: never enqueued, so never woken."""

    __slots__ = ()
    flag = None

    def wake(self, value: Any) -> None:  # pragma: no cover - never enqueued
        raise AssertionError("a non-blocking operation was enqueued")


NONBLOCKING = _NonBlocking()


def _reset_after_fork() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()  # another thread of the parent may have held it


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
