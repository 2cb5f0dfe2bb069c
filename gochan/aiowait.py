"""How a coroutine waits for a channel operation: the loop-side waiter of `gochan.aio`.

`aio.take`, `aio.put`, `aio.alts` and `async for v in c` complete at once
or queue a `LoopWaiter`, which resolves an asyncio future on the
coroutine's loop when a channel completes the operation (directly on the
loop's thread, else through `call_soon_threadsafe`). This module imports no
channel module, so `Chan.__aiter__` can import it lazily without a cycle.
"""
# Design: what cancelling an awaiting task does.
#
# A pending operation is withdrawn atomically when its task is cancelled:
# `Chan.withdraw(waiter)` for a take or put, the shared commit flag for an
# alts. If the withdrawal succeeds, nothing was consumed or delivered and the
# task sees its `CancelledError` as usual.
#
# The hard race: the channel completed the operation (a value was handed to
# the waiter, or a put's value to a taker) in the instant the task was
# cancelled. The value cannot be given back (a putter was already told True),
# so raising `CancelledError` would lose it. Chosen: the operation *returns
# its result*, and the cancellation is re-delivered at the task's next
# suspension: a callback (`loop.call_soon`) runs once the task has moved on
# and cancels it again where it then waits. It keeps the count of
# cancellation requests honest on 3.11+: it re-cancels only if the task still
# has requests pending (`Task.cancelling() > 0`), and pairs its own `cancel()`
# with `uncancel()`. So:
# - `task.cancel()` on a task that goes on awaiting: the value is received,
#   and `CancelledError` is raised at its next await;
# - `asyncio.timeout` / `wait_for` whose deadline races the completion: the
#   value is returned and the block ends normally (the timeout's `__aexit__`
#   uncancels, leaving nothing to re-deliver) or, if the block awaits again,
#   that await is cancelled and the block raises `TimeoutError`;
# - a task whose coroutine returns right after (`create_task(aio.take(c))`
#   then `cancel()`, or 3.10/3.11's `wait_for`, which wraps its argument in a
#   task): the task ends with the value, as a task that caught its
#   cancellation does; nothing is re-delivered to a finished task.
# Rejected: re-cancelling synchronously (`uncancel(); cancel()` before
# returning): a task ending right after then ends cancelled and drops the
# value, and on 3.11/3.12, where `uncancel()` does not clear a pending
# cancel, a timeout block ending right after leaks a CancelledError past its
# `async with`. Rejected too: swallowing the cancellation (a cancelled loop
# of `async for` would run on). Python 3.10 has no cancellation count: the
# re-delivery always happens if the task is still running (with the
# third-party `async_timeout` a late re-delivery can then land after its block).
#
# A closed loop never runs its callbacks: the waiter's commit flag reports
# itself inactive once `loop.is_closed()`, so channels skip and drop it and
# no value is handed to an operation whose loop is gone. In the instant of a
# close that races the hand-off (`call_soon_threadsafe` raising), a value
# taken is put back on its channel (at the end) or, if that fails, reported.
from __future__ import annotations

import asyncio
import sys
import threading
from random import shuffle
from typing import Any, List, Sequence, Tuple

from .errors import TooManyPendingError, report_exception
from .protocols import NOT_READY, PENDING
from .waiters import NONBLOCKING, AltWaiter, CallbackWaiter

__all__ = ["LoopFlag", "LoopWaiter", "take", "put", "alts_wait", "ChanIterator", "TAKE_OP"]

_get_ident = threading.get_ident
_CancelledError = asyncio.CancelledError

#: The value of a registration that is a take, in `LoopFlag.registered`.
TAKE_OP: Any = object()


class LoopFlag:
    """The commit flag of an operation awaited on an asyncio loop (`waiters.Flag`'s protocol).

    Active until the operation completes or is withdrawn, and never again
    once its loop is closed: a channel then skips and drops the waiter.
    `registered` lists an alts' `(index, port, value or TAKE_OP)`.
    """

    __slots__ = ("lock", "_active", "loop", "registered")

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 registered: Sequence[Tuple[int, Any, Any]] = ()) -> None:
        self.lock = threading.Lock()
        self._active = True
        self.loop = loop
        self.registered = registered

    @property
    def active(self) -> bool:
        return self._active and not self.loop.is_closed()

    @active.setter
    def active(self, value: bool) -> None:
        self._active = value

    def commit(self) -> bool:
        """Atomically deactivate; True if this call did it (and the loop is still open)."""
        lock = self.lock
        lock.acquire()
        if self._active and not self.loop.is_closed():
            self._active = False
            lock.release()
            return True
        lock.release()
        return False

    def withdraw(self, waiter: Any) -> bool:
        return self.commit()

    def ports(self) -> List[Any]:
        return [port for _, port, _ in self.registered]


class LoopWaiter:
    """A coroutine's pending take, put or alts: `wake(result)` resolves its future on its loop.

    `wake` runs on whatever thread completed the operation; the result is
    recorded (`delivered`, `value`) and the future resolved on the loop's
    thread only. `chan` is the channel of a take (for the rare put-back, see
    the module comment), None for a put; for an alts, `flag.registered`.
    """

    __slots__ = ("loop", "ident", "flag", "fut", "delivered", "value", "chan")

    def __init__(self, loop: asyncio.AbstractEventLoop, flag: LoopFlag, chan: Any) -> None:
        self.loop = loop
        self.ident = _get_ident()
        self.flag = flag
        self.fut: asyncio.Future[Any] = loop.create_future()
        self.delivered = False
        self.value: Any = None
        self.chan = chan

    def wake(self, value: Any) -> None:
        if _get_ident() == self.ident:
            self.deliver(value)
            return
        try:
            self.loop.call_soon_threadsafe(self.deliver, value)
        except RuntimeError:  # the loop closed between the hand-off's commit and here
            self.put_back(value)

    def deliver(self, value: Any) -> None:
        """On the loop's thread: record the result and resolve the future (unless it was cancelled)."""
        self.delivered = True
        self.value = value
        fut = self.fut
        if not fut.done():
            fut.set_result(value)

    def put_back(self, value: Any) -> None:
        """The loop closed in the instant of the hand-off: return a taken value to its channel."""
        chan = self.chan
        if self.flag.registered:  # an alts: (value, port, index)
            v, port, index = value
            value = v
            chan = port if any(j == index and op is TAKE_OP for j, _, op in self.flag.registered) else None
        if chan is None or value is None:
            return  # a put (its value reached a taker) or a take of a closed channel: nothing to return
        try:
            r = chan.put_with(CallbackWaiter(None), value)
        except Exception as exc:  # too many pending puts
            r = exc
        if r is False or isinstance(r, Exception):
            report_exception(RuntimeError(
                f"gochan.aio: the event loop closed while {value!r} was handed to its take on {chan!r}; "
                "the channel would not take it back, so it is lost"))

    def __repr__(self) -> str:
        return f"<LoopWaiter loop=0x{id(self.loop):x} delivered={self.delivered}>"


def _recancel(task: "asyncio.Task[Any]", msg: Any) -> None:
    """Re-deliver a cancellation absorbed by an operation that completed in the same instant."""
    if task.done():
        return
    if sys.version_info >= (3, 11):  # 3.10 has no count of cancellation requests
        if task.cancelling() == 0:  # whoever cancelled has since withdrawn the request (a timeout ended)
            return
        task.cancel(msg)
        task.uncancel()  # the request was counted once already
    else:
        task.cancel(msg)


async def _rescue(w: LoopWaiter, exc: BaseException) -> Any:
    """The task was cancelled but its operation completed: wait for the result (it is on its way),
    return it, and re-deliver the cancellation at the task's next suspension."""
    loop = w.loop
    while not w.delivered:
        w.fut = loop.create_future()
        try:
            await w.fut
        except _CancelledError:
            continue  # counted by the task; re-delivered once, below
    task = asyncio.current_task()
    if task is not None:
        loop.call_soon(_recancel, task, exc.args[0] if exc.args else None)
    return w.value


async def _wait_chan(w: LoopWaiter, chan: Any) -> Any:
    try:
        return await w.fut
    except _CancelledError as exc:
        if not w.delivered and chan.withdraw(w):
            raise  # taken back: nothing consumed, nothing delivered
        return await _rescue(w, exc)


async def take(c: Any) -> Any:
    """A coroutine's take on `c` (validated by the caller)."""
    r = c.take_with(NONBLOCKING, False)
    if r is not NOT_READY:
        return r
    loop = asyncio.get_running_loop()
    w = LoopWaiter(loop, LoopFlag(loop), c)
    r = c.take_with(w)
    if r is not PENDING:
        return r
    return await _wait_chan(w, c)


async def put(c: Any, v: Any) -> Any:
    """A coroutine's put of `v` on `c` (validated by the caller)."""
    r = c.put_with(NONBLOCKING, v, False)
    if r is not NOT_READY:
        return r
    loop = asyncio.get_running_loop()
    w = LoopWaiter(loop, LoopFlag(loop), None)
    r = c.put_with(w, v)
    if r is not PENDING:
        return r
    return await _wait_chan(w, c)


async def alts_wait(registrations: List[Tuple[int, Any, Any]], priority: bool) -> Tuple[Any, Any, int]:
    """Phase 2 of a coroutine's alts (nothing was ready): register on every port, await one.

    `registrations` are `(index, port, value or TAKE_OP)`; returns `(value, port, index)`.
    """
    if not priority:
        shuffle(registrations)
    loop = asyncio.get_running_loop()
    flag = LoopFlag(loop, registrations)
    w = LoopWaiter(loop, flag, None)
    for j, c, v in registrations:
        a = AltWaiter(flag, w, c, j)  # type: ignore[arg-type]
        try:
            r = c.take_with(a) if v is TAKE_OP else c.put_with(a, v)
        except TooManyPendingError:
            if flag.commit():
                raise  # nothing completed: earlier registrations are inert now
            break  # a registration already completed: its result is on the way
        if r is PENDING:
            if not flag.active:
                break
            continue
        return r, c, j
    try:
        return await w.fut  # type: ignore[no-any-return]
    except _CancelledError as exc:
        if not w.delivered and flag.commit():
            raise  # none of its operations completed
        return await _rescue(w, exc)  # type: ignore[no-any-return]


class ChanIterator:
    """`async for v in c`: takes until `c` is closed and drained."""

    __slots__ = ("chan",)

    def __init__(self, chan: Any) -> None:
        self.chan = chan

    def __aiter__(self) -> "ChanIterator":
        return self

    async def __anext__(self) -> Any:
        v = await take(self.chan)
        if v is None:
            raise StopAsyncIteration
        return v

    def __repr__(self) -> str:
        return f"<ChanIterator {self.chan!r}>"

