"""asyncio interop, both directions: channel operations from coroutines, and awaitables from go blocks.

- `await take(c)`, `await put(c, v)`, `await alts(ops)`, `async for v in c`:
  from a coroutine on any asyncio loop in any thread, never blocking the loop.
- `await_(awaitable)`: from a go block (parks) or a thread (blocks), run an
  awaitable on an asyncio loop and return its result; `spawn(awaitable)`:
  the same as a process with a result channel.
"""
# Where things run. A coroutine's pending operation is resolved on its own
# loop's thread (see aiowait.py, which also explains what a cancelled task
# does when its operation completed in the same instant). An awaitable given
# to `await_`/`spawn` runs as a task on the target loop (gochan's own: one
# daemon thread per runtime, started on first use, a runtime service so
# `shutdown()` stops it and a fork child starts its own). A coroutine runs
# inside `_drive`, which hands its outcome over from inside the task (a done
# callback would cost one more loop iteration); on gochan's own loop, on
# 3.12+, the task starts eagerly, so a coroutine that never suspends is done
# within the callback that started it. The outcome wakes the go block through
# its hub's inbox, or the thread through its waiter. Measured in
# BENCHMARKS.md (W10): each call crosses between two OS threads twice, which bounds
# one go block's `await_` rate; many go blocks share the crossings.
#
# A go block in `await_` parks with op AWAIT and a waiting object (`_AwaitOp`)
# whose `withdraw` takes the wait back atomically with the completion
# callback (one lock, one state) and cancels the asyncio task: so
# cancellation (`cancel(ch)`, shutdown) works on it as on a channel op.
#
# A loop that closes with the awaitable pending never calls back: while an
# operation is pending on a loop that is not gochan's own, a watcher thread
# looks every WATCH_INTERVAL seconds whether the loop closed, and ends the
# operation with a RuntimeError that says so. Rejected: a timeout on every
# wait (a slow awaitable is legitimate), and wrapping `loop.close` (it is the
# user's object).
from __future__ import annotations

import asyncio
import inspect
import sys
import threading
import time
import types
from typing import Any, Awaitable, Coroutine, List, Optional, Sequence, Set, Tuple, TypeVar

from . import aiowait
from .aiowait import TAKE_OP, ChanIterator
from .channel import Chan, result_chan
from .errors import Cancelled, none_put_error, report_exception
from .ops import DEFAULT, NOTHING
from .ops import alts as _sync_alts
from .protocols import AWAIT, PENDING
from .runtime import current_runtime
from .suspend import suspend

__all__ = ["take", "put", "alts", "iterate", "await_", "spawn", "DEFAULT", "NOTHING", "WATCH_INTERVAL"]

T = TypeVar("T")

#: How often (seconds) a pending `await_`/`spawn` on a loop other than gochan's checks that its loop is open.
WATCH_INTERVAL = 0.05
#: At shutdown, how long gochan's own loop lets its cancelled tasks finish (seconds).
DRAIN_TIMEOUT = 1.0

_MISS: Any = object()
_get_ident = threading.get_ident
_CoroutineType = types.CoroutineType


def _bad_chan(fname: str, c: Any) -> TypeError:
    return TypeError(f"aio.{fname}: c must be a Chan, got {c!r}")


# ------------------------------------------------------------ channel ops
def take(c: "Chan[T]") -> Coroutine[Any, Any, Optional[T]]:
    """`await aio.take(c)`: a value from `c`, or None once it is closed and drained.

    Never blocks the loop. Cancelling the awaiting task withdraws the take
    (nothing is consumed), unless it completed in that instant: then the
    value is returned and the cancellation lands at the task's next await.
    """
    if not isinstance(c, Chan):
        raise _bad_chan("take", c)
    return aiowait.take(c)


def put(c: "Chan[T]", v: T) -> Coroutine[Any, Any, bool]:
    """`await aio.put(c, v)`: True once accepted, False if `c` is closed. Cancelling withdraws it."""
    if v is None:
        raise none_put_error("aio.put")
    if not isinstance(c, Chan):
        raise _bad_chan("put", c)
    return aiowait.put(c, v)


def _parse(ops: Sequence[Any]) -> Tuple[List[Any], List[Tuple[int, Any, Any]]]:
    try:
        items = list(ops)
    except TypeError:
        raise TypeError(f"aio.alts: ops must be a list of operations, got {ops!r}") from None
    if not items:
        raise ValueError("aio.alts: ops must contain at least one operation")
    regs: List[Tuple[int, Any, Any]] = []
    for j, op in enumerate(items):
        if isinstance(op, Chan):
            regs.append((j, op, TAKE_OP))
        elif isinstance(op, (tuple, list)) and len(op) == 2 and isinstance(op[0], Chan):
            if op[1] is None:
                raise ValueError(f"aio.alts: ops[{j}] puts None, which is not allowed")
            regs.append((j, op[0], op[1]))
        else:
            raise TypeError(f"aio.alts: ops[{j}] must be a Chan (take) or a (Chan, value) pair (put), got {op!r}")
    return items, regs


def alts(ops: Sequence[Any], *, priority: bool = False,
         default: Any = NOTHING) -> Coroutine[Any, Any, Tuple[Any, Any]]:
    """`await aio.alts(ops)`: complete exactly one of several operations; `(value, port)`.

    As `gochan.alts`: `ops` items are a `Chan` (take) or a `(Chan, value)`
    pair (put); random choice among ready ops, or list order with
    `priority=True`; `(default, DEFAULT)` if `default` is given and nothing
    is ready. Cancelling the awaiting task completes none of the ops (or, if
    one completed in that instant, returns it; see `take`).
    """
    items, regs = _parse(ops)
    return _alts(items, regs, priority, default)


async def _alts(items: List[Any], regs: List[Tuple[int, Any, Any]], priority: bool,
                default: Any) -> Tuple[Any, Any]:
    v, port = _sync_alts(items, priority=priority, default=_MISS)  # with a default it never waits
    if port is not DEFAULT:
        return v, port
    if default is not NOTHING:
        return default, DEFAULT
    v, port, _ = await aiowait.alts_wait(regs, priority)
    return v, port


def iterate(c: "Chan[T]") -> ChanIterator:
    """`async for v in aio.iterate(c)` (the same as `async for v in c`): takes until closed and drained."""
    if not isinstance(c, Chan):
        raise _bad_chan("iterate", c)
    return ChanIterator(c)


# --------------------------------------------------------- awaitables
_PENDING_STATE, _DONE, _WITHDRAWN = 0, 1, 2


class _AwaitOp:
    """One awaitable run on a loop for `await_` or `spawn`; what a go block parked in `await_` waits on.

    `resumer.wake((ok, value))` delivers the outcome exactly once, unless
    `withdraw` took the wait back first; one lock orders the two.
    """

    __slots__ = ("lock", "state", "loop", "aw", "task", "resumer", "service", "__weakref__")

    def __init__(self, aw: Any, loop: asyncio.AbstractEventLoop, service: "_AioService") -> None:
        self.lock = threading.Lock()
        self.state = _PENDING_STATE
        self.loop = loop
        self.aw = aw
        self.task: Optional["asyncio.Future[Any]"] = None
        self.resumer: Any = None
        self.service = service

    # --- from the caller's side
    def start(self, resumer: Any) -> Any:
        """The register function of `suspend`: schedule the awaitable on its loop; PENDING."""
        self.resumer = resumer
        self.service.track(self)
        try:
            self.loop.call_soon_threadsafe(self._run)
        except RuntimeError:  # closed since the argument check
            self.service.untrack(self)
            _close_unstarted(self.aw)
            if self.loop is self.service.loop:  # gochan's own: the runtime is shutting down (or exiting)
                raise Cancelled() from None
            raise RuntimeError(f"aio: the event loop {self.loop!r} is closed") from None
        return PENDING

    def withdraw(self, waiter: Any) -> bool:
        """Take the wait back (cancellation): True if the outcome was not delivered; cancels the task."""
        with self.lock:
            if self.state != _PENDING_STATE:
                return False
            self.state = _WITHDRAWN
        self.service.untrack(self)
        self._cancel_soon()
        return True

    def cancel_task(self) -> bool:
        """`spawn`'s cancel: cancel the asyncio task, keep waiting for its end; True if still pending."""
        with self.lock:
            if self.state != _PENDING_STATE:
                return False
        self._cancel_soon()
        return True

    def fail(self, exc: BaseException) -> None:
        """End the wait with `exc` (its loop closed, or shutdown) unless it already ended."""
        with self.lock:
            if self.state != _PENDING_STATE:
                return
            self.state = _DONE
        self.service.untrack(self)
        if not self._cancel_soon():  # the loop is closed: nothing will ever run the awaitable
            _close_unstarted(self.aw)
            task = self.task
            if isinstance(task, asyncio.Task):
                _close_unstarted(task.get_coro())
        self.resumer.wake((False, exc))

    def ports(self) -> List[Any]:
        return [self]

    # --- on the loop's thread
    def _cancel_soon(self) -> bool:
        try:
            self.loop.call_soon_threadsafe(self._cancel)
            return True
        except RuntimeError:  # the loop is closed: nothing runs there any more
            return False

    def _cancel(self) -> None:
        task = self.task
        if task is not None:
            task.cancel()

    def _run(self) -> None:
        with self.lock:
            pending = self.state == _PENDING_STATE
        if not pending:  # withdrawn or failed before it started
            _close_unstarted(self.aw)
            return
        aw = self.aw
        coro = _drive(self) if aw.__class__ is _CoroutineType else None
        try:
            if coro is None:  # a Future, Task or other awaitable: its outcome comes by callback
                task: "asyncio.Future[Any]" = asyncio.ensure_future(aw, loop=self.loop)
            else:  # a coroutine: `_drive` hands its outcome over from inside its task
                task = self._task(coro)
        except BaseException as exc:
            if coro is not None:
                coro.close()
            _close_unstarted(aw)
            self._finish(False, exc)
            return
        self.task = task
        # For a coroutine this only matters if the task was cancelled before its first step
        # (then `_drive` never ran); otherwise `_drive` has delivered and this finds it done.
        if task.done():  # an eager task that finished at once: no callback (a loop iteration) needed
            self._done(task)
        else:
            task.add_done_callback(self._done)

    def _task(self, coro: Coroutine[Any, Any, None]) -> "asyncio.Future[Any]":
        if sys.version_info >= (3, 12):
            if self.loop is self.service.loop:
                # gochan's own loop (no task factory to respect): the first step runs now, so a
                # coroutine that does not suspend is done without another loop iteration
                return asyncio.Task(coro, loop=self.loop, eager_start=True)
        fut: "asyncio.Future[Any]" = asyncio.ensure_future(coro, loop=self.loop)
        return fut

    def outcome(self, ok: bool, value: Any) -> None:
        """From inside the task (`_drive`): deliver the coroutine's result or exception."""
        if not ok and isinstance(value, asyncio.CancelledError) and self.service.stopping.is_set():
            value = Cancelled()  # cancelled by shutdown (or exit): as every gochan op then
        self._finish(ok, value)

    def _done(self, task: "asyncio.Future[Any]") -> None:
        if task.cancelled():
            _close_unstarted(self.aw)  # cancelled before `_drive`'s first step: it never ran
        if self.state != _PENDING_STATE:  # delivered (by `_drive`) or withdrawn: nothing to do
            return
        if task.cancelled():
            if self.service.stopping.is_set():  # cancelled by shutdown (or exit): as every gochan op then
                self._finish(False, Cancelled())
                return
            try:
                task.result()
            except BaseException as exc:  # the task's CancelledError
                self._finish(False, exc)
            return
        error = task.exception()  # its own traceback, without a re-raise frame of ours
        if error is not None:
            self._finish(False, error)
        else:
            self._finish(True, task.result())

    def _finish(self, ok: bool, value: Any) -> None:
        with self.lock:
            if self.state != _PENDING_STATE:
                return
            self.state = _DONE
        self.service.untrack(self)
        self.resumer.wake((ok, value))

    def __repr__(self) -> str:
        return f"<aio.await_ {self.aw!r} on {self.loop!r}>"


async def _drive(op: _AwaitOp) -> None:
    """The task of a coroutine run by `await_`/`spawn`: awaits it and hands its outcome over at once
    (a done callback would cost one more loop iteration), so the task itself ends without an
    exception nobody retrieves."""
    try:
        value = await op.aw
    except (KeyboardInterrupt, SystemExit) as exc:
        op.outcome(False, exc)
        raise  # as asyncio does: out of the loop
    except BaseException as exc:
        op.outcome(False, exc)
        return
    op.outcome(True, value)


def _close_unstarted(aw: Any) -> None:
    """A coroutine that will never run (its loop is closed, or it was never scheduled): close it,
    unless it started (no 'never awaited' warning)."""
    if inspect.iscoroutine(aw) and inspect.getcoroutinestate(aw) == inspect.CORO_CREATED:
        aw.close()


class _AioService:
    """Per runtime: gochan's own asyncio loop (a daemon thread, started on first use), the pending
    `await_`/`spawn` operations, and the watcher of the other loops they run on."""

    def __init__(self, runtime: Any = None) -> None:
        self.lock = threading.Lock()
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.thread: Optional[threading.Thread] = None
        self.ident: Optional[int] = None  # the loop thread's
        self.ops: Set[_AwaitOp] = set()
        self.watcher: Optional[threading.Thread] = None
        self.stopping = threading.Event()

    def own_loop(self) -> asyncio.AbstractEventLoop:
        loop = self.loop
        if loop is not None:
            return loop
        with self.lock:
            if self.loop is None:
                if self.stopping.is_set():  # shutdown() under way: like every gochan op then, cancelled
                    raise Cancelled()
                loop = asyncio.new_event_loop()
                started = threading.Event()
                t = threading.Thread(target=self._main, args=(loop, started), name="gochan-aio", daemon=True)
                t.start()
                started.wait()
                self.thread = t
                self.ident = t.ident
                self.loop = loop
            return self.loop

    def _main(self, loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(started.set)
        try:
            loop.run_forever()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=DRAIN_TIMEOUT))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def track(self, op: _AwaitOp) -> None:
        with self.lock:
            self.ops.add(op)
            if op.loop is not self.loop and self.watcher is None and not self.stopping.is_set():
                self.watcher = threading.Thread(target=self._watch, name="gochan-aio-watch", daemon=True)
                self.watcher.start()

    def untrack(self, op: _AwaitOp) -> None:
        with self.lock:
            self.ops.discard(op)

    def _watch(self) -> None:
        """End operations whose (foreign) loop closed; exits when none is left."""
        while not self.stopping.wait(WATCH_INTERVAL):
            with self.lock:
                foreign = [op for op in self.ops if op.loop is not self.loop]
                if not foreign:
                    self.watcher = None
                    return
            for op in foreign:
                if op.loop.is_closed():
                    op.fail(RuntimeError(
                        f"aio: the event loop {op.loop!r} was closed while {op.aw!r} was pending on it"))

    def stop(self, deadline: float) -> None:
        """Shutdown: pending operations end with `Cancelled` (their tasks are cancelled), the loop stops."""
        with self.lock:
            self.stopping.set()
            ops = list(self.ops)
            loop, thread = self.loop, self.thread
        for op in ops:
            op.fail(Cancelled())
        if loop is not None and thread is not None:
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:
                pass
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))


def _service() -> _AioService:
    return current_runtime().service(_AioService, _AioService)


def _running_loop() -> Optional[asyncio.AbstractEventLoop]:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _target(fname: str, aw: Any, loop: Any, blocking: bool) -> Tuple[asyncio.AbstractEventLoop, _AioService]:
    """Check the arguments of `await_`/`spawn`; the loop to run on and the service."""
    if loop is None and aw.__class__ is _CoroutineType:  # the common case, in short
        svc = _service()
        own = svc.own_loop()
        if not (blocking and _get_ident() == svc.ident):
            return own, svc
    if not inspect.isawaitable(aw):
        hint = f" (call it: {aw.__name__}(...))" if inspect.iscoroutinefunction(aw) else ""
        raise TypeError(f"aio.{fname}: awaitable must be a coroutine, Task, Future or other awaitable, "
                        f"got {aw!r}{hint}")
    try:
        if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
            raise TypeError(f"aio.{fname}: loop must be an asyncio event loop or None, got {loop!r}")
        if asyncio.isfuture(aw):
            own = aw.get_loop()
            if loop is None:
                loop = own
            elif loop is not own:
                raise ValueError(f"aio.{fname}: awaitable {aw!r} belongs to loop {own!r}, not to loop {loop!r}")
        running = _running_loop()
        svc = _service()
        if loop is None:
            loop = svc.own_loop()
            if blocking and _get_ident() == svc.ident:
                raise ValueError(f"aio.{fname}: called on gochan's own asyncio loop, which it would block: "
                                 "use `await` there")
            return loop, svc
        if loop.is_closed():
            raise RuntimeError(f"aio.{fname}: loop {loop!r} is closed")
        if running is loop:
            raise ValueError(f"aio.{fname}: loop is the caller's own running loop: use `await` there "
                             "(it must run in another thread)")
        if not loop.is_running():
            raise RuntimeError(f"aio.{fname}: loop {loop!r} is not running (it must run in another thread)")
        return loop, svc
    except BaseException:
        _close_unstarted(aw)
        raise


def await_(awaitable: Awaitable[T], *, loop: Optional[asyncio.AbstractEventLoop] = None) -> T:
    """Run `awaitable` (coroutine, Task, Future) on an asyncio loop and return its result.

    In a go block it parks (other go blocks on its hub keep running); in a
    thread it blocks. It runs on `loop` (running in another thread), else on
    gochan's own loop in a background daemon thread. An exception propagates
    with its type and traceback. Cancelling the go block cancels the
    asyncio task. A loop that closes before the awaitable completes ends the
    wait with RuntimeError.

    >>> async def fetch(): ...
    >>> take(go(lambda: aio.await_(fetch())))
    """
    target, svc = _target("await_", awaitable, loop, True)
    op = _AwaitOp(awaitable, target, svc)
    try:
        ok, value = suspend(AWAIT, op, op.start)
    except BaseException:
        if op.resumer is None:  # cancelled before it was scheduled (a pending cancel request)
            _close_unstarted(awaitable)
        raise
    if ok:
        return value  # type: ignore[no-any-return]
    try:
        raise value
    finally:
        value = None  # no cycle through this frame


class _SpawnProc:
    """What `cancel(ch)` calls for a channel returned by `spawn`."""

    __slots__ = ("op",)

    def __init__(self, op: _AwaitOp) -> None:
        self.op = op

    def cancel(self) -> bool:
        return self.op.cancel_task()


class _SpawnResult:
    """Receives a spawned awaitable's outcome on its loop's thread and delivers it to the result channel."""

    __slots__ = ("chan",)
    flag = None

    def __init__(self, chan: "Chan[Any]") -> None:
        self.chan = chan

    def wake(self, outcome: Tuple[bool, Any]) -> None:
        ok, value = outcome
        if not ok:
            if not isinstance(value, (asyncio.CancelledError, Cancelled)):
                report_exception(value)
            value = None
        self.chan.deliver_result(value)


def spawn(awaitable: Awaitable[T], *, loop: Optional[asyncio.AbstractEventLoop] = None) -> "Chan[T]":
    """Run `awaitable` on an asyncio loop (as `await_` chooses it); returns a channel of its result.

    Like `go` and `thread`: the channel receives the result once, then
    closes (a None result just closes it); an exception is reported to the
    exception handler and the channel closes without a value; so does a
    cancelled task, without a report. Never blocks or parks.
    """
    target, svc = _target("spawn", awaitable, loop, False)
    op = _AwaitOp(awaitable, target, svc)
    ch: Chan[T] = result_chan(_SpawnProc(op))
    op.start(_SpawnResult(ch))
    return ch
