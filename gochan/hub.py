"""Hubs: the worker threads that run go blocks, one greenlet loop per thread.

The hub's small API is all the rest of gochan uses to suspend and resume go
blocks (trio's `_core` shape: the run loop knows nothing about channels):
`current_go()`; `GoTask.park(op, waiting)`, which records the park reason;
`GoTask.wake(value)` / `wake_error(exc)` from any thread; `Hub.schedule`,
`Hub.post`, `Hub.call` to queue work from any thread; `Hub.add_hook(fn)`,
through which timers, the reaper (and next the I/O poller) plug in.

Why this shape: a greenlet can only be resumed on its own thread, so each
hub has a lock-free run queue for its own thread and a locked inbox, with
one coalesced wake-up, for the others. A parking go block switches straight
to the next runnable one (half the switches), and returns to the loop every
BUDGET switches; new go blocks start only from the loop, so their C stacks
never nest. Go blocks woken by timeouts take turns in a lane of their own.
An idle hub sleeps on a lock until the earliest hook deadline, or, once a
go block on it has waited for I/O, in the poller's selector (`set_idle_wait`). DESIGN.md
has the measurements and the rejected alternatives.
"""
from __future__ import annotations

import contextvars
import gc
import threading
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from greenlet import GreenletExit, getcurrent, greenlet

from . import procs
from .errors import Cancelled, report_exception
from .procs import DONE, EXTERNAL, NEW, RUNNING, Proc, cancelled_error, consume

__all__ = ["GoTask", "Hub", "Spawn", "HubCall", "RAISE", "raise_in", "current_go", "current_hub", "go_frames",
           "park_compiled", "IDLE"]

#: Direct go-to-go switches before a parking go block yields to its hub loop.
BUDGET = 64
#: While go blocks woken by timeouts wait, they get this many turns for each turn of the run
#: queue: finishing started work first lets a timer backlog drain under a flood of spawns.
TIMER_SHARE = 2
#: Idle greenlets a hub keeps for reuse.
MAX_FREE = 1024
#: The park reason of a recycled greenlet waiting in its hub's free list.
IDLE = "idle"

_get_ident = threading.get_ident

Hook = Callable[[], Optional[float]]


class Spawn(Proc):
    """A go block's record (`procs.Proc`): what it runs until it starts, then its `task` until done.

    `chan` is its result channel (anything with `deliver_result(value)`), or
    None; `hub` the hub it was scheduled on. The go block starts as a `GoTask`
    on that hub's thread, which then drops `fn`, `args`, `kwargs` and `ctx`
    (the result channel keeps this record for `cancel(ch)`). `pinned`: placed
    on its hub explicitly (`go_on`); else placement may move it to another hub
    while it has not started (runtime.py, `Runtime.mark_stalled`).
    """

    __slots__ = ("fn", "args", "kwargs", "ctx", "chan", "hub", "task", "pinned")

    def __init__(self, fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any],
                 ctx: contextvars.Context, chan: Any, scope: Any = None, pinned: bool = False) -> None:
        self.state = NEW
        self.tag: Any = None
        self.scope = scope
        self.fn: Any = fn  # these four are dropped (None) once it starts
        self.args: Any = args
        self.kwargs: Any = kwargs
        self.ctx: Any = ctx
        self.chan = chan
        self.hub: Optional["Hub"] = None
        self.task: Optional["GoTask"] = None
        self.pinned = pinned

    def cancel(self, tag: Any = EXTERNAL) -> bool:
        """Cancel this go block (see `gochan.cancel`): False if it had finished. From any thread."""
        if not procs.request(self, tag):
            return False
        hub = self.hub
        if hub is not None:
            call = _CancelCall(self)
            if hub.ident == _get_ident():
                hub.runq.append((call, None))
            else:
                hub.post(call, None)
        return True


class _CancelCall:
    """Deliver a go block's cancel request, on its hub's thread, where it cannot be running.

    Parked: its operation is withdrawn and `Cancelled` thrown in where it
    parked. Runnable (its operation completed: its wake is queued) or
    running: the request stays, and its next operation raises. Not started:
    the hub drops it when it comes to start it. Done: the request is void.
    """

    __slots__ = ("rec",)

    def __init__(self, rec: Spawn) -> None:
        self.rec = rec

    def run(self) -> None:
        rec = self.rec
        self.rec = None  # type: ignore[assignment]
        if rec.tag is None or rec.state == NEW:
            return
        task = rec.task
        if rec.state == DONE or task is None:
            consume(rec)
            return
        waiting = task.waiting
        if waiting is None or task.op is IDLE or not waiting.withdraw(task):
            return
        raise_in(task, cancelled_error(consume(rec) or EXTERNAL))


class HubCall:
    """A function the hub loop runs on its thread, outside every go block (see `Hub.call`)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn

    def run(self) -> None:
        self.fn()


class _Throw(HubCall):
    """`GoTask.wake_error`: resume a parked go block by raising `exc` where it parked."""

    __slots__ = ("task", "exc")

    def __init__(self, task: "GoTask", exc: BaseException) -> None:
        self.task = task
        self.exc = exc

    def run(self) -> None:
        if not self.task.dead:
            raise_in(self.task, self.exc)


#: The resume value that makes `GoTask.park` raise the exception in its hub's `raising`.
RAISE: Any = object()


def raise_in(task: "GoTask", exc: BaseException) -> None:
    """Resume parked `task` (from its hub's loop) by raising `exc` where it parked.

    Why not `greenlet.throw`: greenlet unwinds a throw with a C++ exception,
    which callgrind counted at ~35k instructions (~10 us) per cancelled go
    block; an identity check of the resume value in `park` costs a few.
    """
    task.hub.raising = exc
    task.switch(RAISE)


class GoTask(greenlet):
    """A greenlet that runs go blocks: bound to one hub for life, recycled between go blocks.

    It is also the waiter of its go block's plain takes and puts (`flag`
    None, `wake`), so parking on a channel allocates nothing. While parked,
    `op` and `waiting` are its park reason; `fn` is the go block's function.
    When a go block ends, its greenlet waits in its hub's free list for the
    next one (creating a greenlet costs ~15 us, reusing one ~1 us).
    """

    # `flag` is a slot, not a class attribute: 3.11+ cannot specialize a class attribute read on
    # a greenlet subclass (304 instructions against 49, read on every channel operation).
    __slots__ = ("hub", "op", "waiting", "fn", "reap_mark", "proc", "flag")

    def __init__(self, hub: "Hub") -> None:
        # `run` is one shared function, not a method: greenlet keeps its first
        # switch's callable and arguments for the greenlet's life, so a bound
        # method or a Spawn passed there would outlive the go block.
        greenlet.__init__(self, _go_loop, hub.glet)
        self.hub = hub
        self.op: Optional[str] = None  # park reason: TAKE, PUT, ALTS (protocols.py), IDLE, or None running
        self.waiting: Any = None  # park reason: the channel or alts flag (a protocols.Withdrawable)
        self.fn: Any = None
        self.reap_mark: Any = None  # reaper.py's note of what it last saw this go block parked on
        self.proc: Optional[Spawn] = None  # the record of the go block it runs (for cancellation)
        self.flag: None = None  # a plain waiter: no alts commit flag (protocols.Waiter)

    def wake(self, value: Any) -> None:
        """Make this parked go block runnable; `park()` will return `value`. From any thread."""
        hub = self.hub
        if hub.ident == _get_ident():
            hub.runq.append((self, value))
        else:
            hub.post(self, value)

    def wake_error(self, exc: BaseException) -> None:
        """Make this parked go block runnable; `park()` will raise `exc`. From any thread.

        The caller must first have withdrawn the pending operation (so no
        value wake can also come).
        """
        hub = self.hub
        if hub.ident == _get_ident():
            hub.runq.append((_Throw(self, exc), None))
        else:
            hub.post(_Throw(self, exc), None)

    def park(self, op: Optional[str], waiting: Any) -> Any:
        """Switch away until `wake(value)`; returns that value. Call only from this go block.

        `op` and `waiting` are recorded as the park reason while parked.
        """
        self.op = op
        self.waiting = waiting
        hub = self.hub
        runq = hub.runq
        try:
            if runq and hub.budget and runq[0][0].__class__ is GoTask:
                hub.budget -= 1
                target, value = runq.popleft()
                r = target.switch(value)
                if r is not RAISE:
                    return r
            else:
                # Go blocks that have not started yet start from the hub loop (see
                # Hub._run_spawn): a greenlet's stack begins where it is first
                # switched to, so starting one from here would stack it on this one.
                r = hub.glet.switch()  # type: ignore[union-attr]
                if r is not RAISE:
                    return r
            exc, hub.raising = hub.raising, None  # raise_in() resumed us
            raise exc
        finally:
            self.op = None
            self.waiting = None

    def __repr__(self) -> str:
        state = "dead" if self.dead else f"{self.op or 'running'}"
        name = getattr(self.fn, "__qualname__", None) or ""
        return f"<GoTask hub={self.hub.index} {name} {state}>"


def _go_loop() -> None:
    """The body of every `GoTask`: run go blocks one after another, parking in the free list between them.

    The first go block comes from `Hub.starting` (see `Hub._run_spawn`), later
    ones as the value `park()` returns. Nothing of a finished go block (its
    function, arguments, result, result channel or contextvars) is left
    referenced while its greenlet waits for the next one.
    """
    self: GoTask = getcurrent()  # type: ignore[assignment]
    hub = self.hub
    free = hub.free
    rec: Any = hub.starting
    hub.starting = None
    while True:
        result = error = None
        rec.state = RUNNING
        rec.task = self
        self.proc = rec
        fn, args, kwargs = rec.fn, rec.args, rec.kwargs
        self.fn = fn
        # The go block's contextvars: set on the greenlet rather than
        # entered with ctx.run, which would add a C stack level to save
        # and restore on every switch.
        self.gr_context = rec.ctx
        rec.fn = rec.args = rec.kwargs = rec.ctx = None
        try:
            # Plain positional calls run in the same C eval frame on 3.11+;
            # fn(*args) would nest one, growing every switch's stack copy.
            if kwargs:
                result = fn(*args, **kwargs)
            elif not args:
                result = fn()
            elif len(args) == 1:
                result = fn(args[0])
            elif len(args) == 2:
                result = fn(args[0], args[1])
            elif len(args) == 3:
                result = fn(args[0], args[1], args[2])
            else:
                result = fn(*args)
        except GreenletExit:  # reaped
            self.fn = self.proc = None
            finish(rec, None, None)
            return
        except Cancelled:  # cancelled: the channel closes without a value, nothing is reported
            pass
        except BaseException as exc:
            if rec.scope is None:
                report_exception(exc)
            else:
                error = exc  # it goes to the scope, which propagates it
        fn = args = kwargs = None  # drop references while parked
        self.fn = self.proc = None
        finish(rec, result, error)
        rec = result = error = None
        self.gr_context = None
        if len(free) >= MAX_FREE or hub.stopping:
            return
        free.append(self)
        rec = self.park(IDLE, None)  # resumed with the next go block's Spawn
        while rec.__class__ is not Spawn:  # a stale wake: a gochan bug, which must not lose the next go block
            hub.internal_error(RuntimeError(f"an idle go block greenlet was resumed with {rec!r}"))
            rec = self.park(IDLE, None)


def finish(rec: Any, result: Any, error: Optional[BaseException]) -> None:
    """A go block has ended (or will never start): mark its record done, void any cancel request,
    deliver its result, then tell its scope (after the result, so a scope's exit sees it)."""
    rec.state = DONE
    rec.task = None
    consume(rec)
    ch = rec.chan
    if ch is not None:
        rec.chan = None  # the channel keeps the record (ch.proc), not the other way round
        ch.deliver_result(result)
    scope = rec.scope
    if scope is not None:
        scope.child_exited(rec, error)


def park_compiled(task: GoTask, op: str, waiting: Any, value: Any = None) -> Any:
    """How the compiled `take`/`put` (gochan/_cchan.c) park: `task.park(op, waiting)`, in a frame of its own.

    A C function has no frame, and its caller keeps the arguments it passed
    (the channel, a put's `value`) on its evaluation stack, where nothing can
    read them. This frame's arguments are those, and the reaper credits them
    to that stack whatever the Python version (reaper.py).
    """
    return task.park(op, waiting)


def go_frames(frame: Any) -> Optional[List[Any]]:
    """The frames of a go block, outermost first: those above the `GoTask` body in `frame`'s stack.

    None if `frame` is not in a go block (the hub loop itself, a thread); an
    empty list for a go block running a builtin (`go(time.sleep, 1)`).
    """
    run = _go_loop.__code__
    out: List[Any] = []
    while frame is not None:
        if frame.f_code is run:
            out.reverse()
            return out
        out.append(frame)
        frame = frame.f_back
    return None


def current_go() -> Optional[GoTask]:
    """The go block running on this thread, or None (an ordinary thread or greenlet)."""
    g = getcurrent()
    return g if g.__class__ is GoTask else None


_local = threading.local()


def current_hub() -> Optional["Hub"]:
    """The hub whose thread we are on (in a go block or the hub loop), or None."""
    return getattr(_local, "hub", None)


class Hub:
    """One worker thread running go blocks from its run queue; see the module docstring."""

    __slots__ = ("index", "runq", "timerq", "timer_turns", "starting", "poked", "inbox", "inbox_lock",
                 "wake_lock", "sleeping", "budget", "ident", "glet", "hooks", "hooks_lock", "passes",
                 "free", "stopping", "halting", "halted", "stopped", "started", "thread", "services",
                 "on_wake", "name", "raising", "idle_wait", "waker", "errors")

    def __init__(self, index: int, name: str = "gochan-hub") -> None:
        self.index = index
        self.name = f"{name}-{index}"
        # (GoTask, value to resume with) for woken go blocks, (Spawn, None) for new ones,
        # (HubCall, None) for functions to run on the loop
        self.runq: Deque[Tuple[Any, Any]] = deque()
        # Go blocks woken by timeouts closing (the timer lane, see `_loop`), and its turns left.
        self.timerq: Deque[Tuple[Any, Any]] = deque()
        self.timer_turns = TIMER_SHARE
        self.starting: Optional[Spawn] = None  # handed to a new GoTask's `_go_loop` as it starts
        self.inbox: Deque[Tuple[Any, Any]] = deque()
        self.inbox_lock = threading.Lock()
        self.wake_lock = threading.Lock()
        self.wake_lock.acquire()
        self.sleeping = False
        self.poked = False
        self.budget = BUDGET
        self.ident: Optional[int] = None
        self.glet: Optional[greenlet] = None
        self.hooks: Tuple[Hook, ...] = ()
        self.hooks_lock = threading.Lock()
        #: Hub-local state of the modules that plug in (a timer wheel, the reaper's marks), by key.
        self.services: Dict[Any, Any] = {}
        #: Called (on the hub's thread) each time the hub wakes from sleep; the watchdog's signal.
        self.on_wake: Optional[Callable[[], None]] = None
        #: The pluggable idle wait (see `set_idle_wait`): None sleeps on `wake_lock`.
        self.idle_wait: Optional[Callable[[Optional[float]], None]] = None
        self.waker: Optional[Callable[[], None]] = None
        self.passes = 0
        self.stopping = False  # `stop()`: end every go block, then end the thread
        self.halting = False  # interpreter exit: park the thread for good (see `_halt`)
        self.halted = threading.Event()
        self.stopped = threading.Event()
        self.started = threading.Event()
        self.free: List[GoTask] = []  # finished go blocks' greenlets, ready for reuse
        self.raising: Any = None  # the exception `raise_in` hands to the go block it resumes
        #: The last few errors of gochan's own (bugs: an exception in the hub loop, a stale wake),
        #: as "ExcType: message" strings, for diagnostics; each is also reported.
        self.errors: List[str] = []
        self.thread = threading.Thread(target=self._main, name=self.name, daemon=True)

    # ------------------------------------------------------------ the API
    def start(self) -> None:
        self.thread.start()
        self.started.wait()

    def add_hook(self, hook: Hook) -> None:
        """Call `hook()` on every pass of this hub's loop, from now on.

        It returns the seconds until it next needs a pass (the hub sleeps no
        longer), or None. It runs on the hub's thread, outside every go block.
        """
        with self.hooks_lock:
            self.hooks = self.hooks + (hook,)
        self.poke()

    def set_idle_wait(self, wait: Callable[[Optional[float]], None], wake: Callable[[], None]) -> None:
        """Replace how this hub sleeps when it has nothing to run (the I/O poller does, see poller.py).

        `wait(delay)` blocks at most `delay` seconds (None: until woken) and
        may return early for any reason (it runs on the hub's thread, outside
        every go block, and may queue wakes); `wake()`, from any thread, makes
        a `wait` in progress, or the next one, return soon. It is called at
        most once per sleep (the `sleeping` flag coalesces posts). Only on the
        hub's own thread, which is then not asleep: no sleep straddles the change.
        """
        with self.inbox_lock:
            self.idle_wait = wait
            self.waker = wake

    def post(self, target: Any, value: Any) -> None:
        """Queue `target` to run with `value`, from any thread; wakes the hub if it sleeps."""
        lock = self.inbox_lock
        lock.acquire()  # explicit acquire/release: `with lock` costs 2.5x as much on 3.11
        self.inbox.append((target, value))
        if not self.sleeping:
            lock.release()
            return
        self.sleeping = False
        waker = self.waker  # read under the lock: the sleep it ends used this one
        lock.release()
        if waker is None:
            self.wake_lock.release()
        else:
            waker()

    def call(self, fn: Callable[[], Any]) -> None:
        """Run `fn()` on this hub's loop, outside every go block, soon; from any thread."""
        if self.ident == _get_ident():
            self.runq.append((HubCall(fn), None))
        else:
            self.post(HubCall(fn), None)

    def poke(self, blocking: bool = True) -> None:
        """Make the hub run a pass soon, from any thread: it calls its hooks again.

        If the hub is awake, `poked` makes its next `_sleep` return at once:
        a poke landing between the hub's hook calls and its sleep is not lost.
        `blocking=False` is for code that may run inside an allocation, such
        as a garbage-collector callback: the thread may already hold
        `inbox_lock` (in `post`), and taking it again would deadlock; if the
        lock is busy the poke is skipped (the holder is waking the hub, or the
        hub is about to sleep and notices at its next pass).
        """
        lock = self.inbox_lock
        if not lock.acquire(blocking):
            return
        if not self.sleeping:
            self.poked = True
            lock.release()
            return
        self.sleeping = False
        waker = self.waker
        lock.release()
        if waker is None:
            self.wake_lock.release()
        else:
            waker()

    def schedule(self, sp: Spawn) -> None:
        """Queue a go block to start, from whichever thread we are on."""
        sp.hub = self
        if self.ident == _get_ident():
            self.runq.append((sp, None))
        else:
            self.post(sp, None)

    def in_timer_lane(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        """Run `fn(arg)` (on this hub's thread) with the go blocks it wakes queued in the timer lane."""
        runq = self.runq
        self.runq = self.timerq
        try:
            return fn(arg)
        finally:
            self.runq = runq

    def idle(self) -> bool:
        """True if nothing is runnable on this hub (a hook may use the time for background work)."""
        return not self.runq and not self.timerq and not self.inbox

    def live_tasks(self) -> List[GoTask]:
        """This hub's started, unfinished go blocks (not the idle greenlets of its free list).

        Found as the greenlets whose parent is this hub's loop: O(heap), for
        diagnostics, the reaper and shutdown, never for the hot path.
        """
        glet = self.glet
        if glet is None:  # not started, or its thread has ended
            return []
        free = set(map(id, self.free))
        return [g for g in gc.get_referrers(glet)
                if g.__class__ is GoTask and g and g.hub is self and id(g) not in free]

    def queued(self) -> List[Any]:
        """A snapshot of what waits to run here: woken GoTasks, Spawns, HubCalls (for `dump()`)."""
        for _ in range(10):
            try:
                with self.inbox_lock:
                    items = list(self.inbox)
                items += list(self.runq) + list(self.timerq)
                starting = self.starting
                out = [t for t, _ in items]
                if starting is not None:
                    out.append(starting)
                return out
            except RuntimeError:  # mutated while copied (another thread): try again
                continue
        return []

    def internal_error(self, exc: BaseException) -> None:
        """Record and report an error of gochan's own on this hub (see `errors`)."""
        errors = self.errors
        errors.append(f"{type(exc).__name__}: {exc}")
        del errors[:-10]
        report_exception(exc)

    def stop(self) -> None:
        """Ask the hub to end every go block (GreenletExit where each is parked) and its thread."""
        self.stopping = True
        self.poke()

    # ----------------------------------------------------------- the loop
    def _main(self) -> None:
        self.ident = _get_ident()
        self.glet = getcurrent()
        _local.hub = self
        self.started.set()
        try:
            while not self.stopping:
                try:
                    self._loop()
                except BaseException as exc:  # a bug in gochan itself; keep the hub alive
                    self.internal_error(exc)
            self._end_all()
        finally:
            _local.hub = None
            # Drop the thread's main greenlet while the thread lives. Once it has ended,
            # greenlet frees a main greenlet that `gc.get_referrers` cannot see referenced,
            # from a pending call that may run inside a garbage collection, when a Hub in
            # the garbage being examined is invisible to it: that Hub's `glet` then pointed
            # at freed memory, and the collector crashed on it (measured: 3 segfaults in 70
            # runs of the aio tests, which shut runtimes down with pollers and asyncio loops
            # in the garbage).
            self.glet = None
            # And let what plugged in (the poller, timers, the reaper, which refer back to
            # the hub) be freed by reference counting, not in a collection of a cycle with
            # the poller's finalizer in it.
            self.hooks = ()
            with self.inbox_lock:
                self.idle_wait = self.waker = None
            self.services = {}
            self.stopped.set()

    def _loop(self) -> None:
        runq = self.runq
        timerq = self.timerq
        while True:
            if self.halting:
                self._halt()
            if self.stopping:
                return
            self.passes += 1
            if self.inbox:
                with self.inbox_lock:
                    batch = self.inbox
                    self.inbox = deque()
                runq.extend(batch)
                del batch  # this frame lives on: do not pin the posted go blocks' arguments
            delay = None
            for hook in self.hooks:
                d = hook()
                if d is not None and (delay is None or d < delay):
                    delay = d
            # Two lanes, each first come first served: `runq` for go blocks
            # woken by channels and new ones, `timerq` for those woken while a
            # hook ran `in_timer_lane` (timeouts closing). While the timer lane
            # has work the lanes take turns, TIMER_SHARE go blocks to one, and
            # parking go blocks return here instead of switching straight on
            # (DESIGN.md: timers under a spawn flood). Rejected: running every
            # woken go block ahead of unstarted ones, which made the
            # walkthrough's spawn-then-select demo quadratic.
            if timerq:
                self.budget = 0
                if self.timer_turns or not runq:
                    if self.timer_turns:
                        self.timer_turns -= 1
                    target, value = timerq.popleft()
                else:
                    self.timer_turns = TIMER_SHARE
                    target, value = runq.popleft()
            elif runq:
                self.budget = BUDGET
                target, value = runq.popleft()
            else:
                target = value = None  # do not pin the last go block's Spawn or value while asleep
                self._sleep(delay)
                continue
            cls = target.__class__
            if cls is GoTask:
                target.switch(value)
            elif cls is Spawn:
                self._run_spawn(target)
            else:
                target.run()
            target = value = None  # this frame lives on: do not pin what ran (the reaper counts refs)

    def _end_all(self) -> None:
        """`stop()`: unstarted go blocks never run, parked and runnable ones are cancelled where they
        wait (`Cancelled`, so their `finally` blocks run), idle greenlets end."""
        with self.inbox_lock:
            items = list(self.inbox)
            self.inbox.clear()
        items += list(self.runq) + list(self.timerq)
        self.runq.clear()
        self.timerq.clear()
        for target, _ in items:
            if target.__class__ is Spawn:
                finish(target, None, None)
        for task in self.live_tasks():
            waiting = task.waiting
            if waiting is not None:
                waiting.withdraw(task)  # if it completed meanwhile, its wake went with the queues above
            try:
                raise_in(task, Cancelled())
            except BaseException as exc:
                report_exception(exc)
        free, self.free = self.free, []
        for task in free:
            try:
                task.throw(GreenletExit)
            except BaseException:
                pass

    def _halt(self) -> None:
        """Park this thread for good, in its main greenlet: the interpreter is exiting.

        CPython 3.11 ends a daemon thread that wakes during finalization with
        pthread_exit, whose forced unwind runs greenlet's C++ destructors
        without the GIL: if a go block's greenlet is on the thread's stack at
        that moment, the process crashes (measured: segfaults at exit in ~1
        run in 2). A thread blocked here, outside every go block, is never
        unwound.
        """
        self.halted.set()
        forever = threading.Lock()
        forever.acquire()
        forever.acquire()

    def _run_spawn(self, sp: Spawn) -> None:
        if sp.tag is not None:  # cancelled before it started: it never runs
            sp.fn = sp.args = sp.kwargs = sp.ctx = None
            finish(sp, None, None)
            return
        free = self.free
        while free:
            task = free.pop()
            if not task.dead:  # (one that died idle, by a gochan bug, would drop the go block)
                task.switch(sp)
                return
            self.internal_error(RuntimeError(f"an idle go block greenlet had died: {task!r}"))
        self.starting = sp  # not a switch argument: greenlet would keep that for good
        GoTask(self).switch()

    def _sleep(self, delay: Optional[float]) -> None:
        with self.inbox_lock:
            if self.inbox or self.poked:
                self.poked = False
                return
            self.sleeping = True
            idle_wait = self.idle_wait
        if idle_wait is not None:
            # The plugged-in wait (the I/O poller): a waker's signal that lands
            # after it returned only makes a later wait return early.
            idle_wait(delay)
            with self.inbox_lock:
                self.sleeping = False
        else:
            if delay is None:
                got = self.wake_lock.acquire()
            else:
                got = self.wake_lock.acquire(timeout=max(delay, 0.0))
            if not got:
                with self.inbox_lock:
                    woken = not self.sleeping  # a poster cleared the flag and will release the lock
                    self.sleeping = False
                if woken:
                    self.wake_lock.acquire()
        on_wake = self.on_wake
        if on_wake is not None:
            on_wake()

    def __repr__(self) -> str:
        return (f"<Hub {self.index} runq={len(self.runq)} timerq={len(self.timerq)} "
                f"inbox={len(self.inbox)} sleeping={self.sleeping}>")
