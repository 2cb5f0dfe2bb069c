"""Hubs: the worker threads that run go blocks, one hub (and one greenlet loop) per thread.

What the rest of gochan needs from this module is small: `current_go()` (the
running go block, or None in an ordinary thread), `GoTask.park()` (switch away
until woken), `GoTask.wake(value)` (make a parked go block runnable) and
`spawn()`. Channels never switch greenlets themselves.

Design:
- A go block is a `GoTask` greenlet created by its hub when the hub first
  runs it (greenlets may only be switched to from the thread that created
  them); until then it is a `Spawn` record that could run on any hub.
- Each hub owns a run queue (a deque only its own thread touches) and an
  inbox (a deque under a lock) for wakes and spawns posted from other
  threads. A wake from the hub's own thread appends to the run queue and
  costs no lock; a wake from elsewhere posts to the inbox and signals the hub
  only if it is asleep, so a burst of posts costs one signal.
- A parking go block switches straight to the next runnable go block instead
  of bouncing through the hub loop (half the switches); every `BUDGET`
  direct switches it yields to the hub loop so the inbox and timers are
  served. New go blocks start only from the hub loop: a greenlet's C stack
  begins where it is first switched to, and go blocks started from inside
  one another nested deeper each time (measured: run-to-first-park went from
  13 us at 1,000 go blocks to 44 us at 100,000; flat once fixed).
- Go blocks woken by timeouts queue in a second lane (`timerq`) that takes
  turns with the run queue, so a burst of expiries cannot bury runnable go
  blocks, and a flood of spawns cannot hold sleepers back (timers.py).
- An idle hub blocks on a lock with the next timer deadline as its timeout:
  no polling, no CPU while nothing is due.
- Hubs are daemon threads, so a program exits when its main thread ends.

Rejected: one global run queue shared by all threads (every wake would pay a
lock and a cross-thread signal); `threading.Event`/`Condition` for the wake
signal (a bare lock is cheaper and enough, given the `sleeping` flag).
"""
from __future__ import annotations

import atexit
import contextvars
import os
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, List, Optional, Tuple

from greenlet import GreenletExit, getcurrent, greenlet

from .errors import report_exception

__all__ = ["GoTask", "Hub", "current_go", "spawn", "hubs", "pool_size"]

#: Direct go-to-go switches before a parking go block yields to its hub loop.
BUDGET = 64
#: While go blocks woken by timeouts wait, they get this many turns for each turn of the run
#: queue: finishing started work first lets a timer backlog drain under a flood of spawns.
TIMER_SHARE = 2
#: Idle greenlets a hub keeps for reuse.
MAX_FREE = 1024

_get_ident = threading.get_ident
_NO_KWARGS: dict = {}  # shared by every go block spawned without keyword arguments


class Spawn:
    """A go block that has not started yet: it becomes a `GoTask` on its hub's thread."""

    __slots__ = ("fn", "args", "kwargs", "ctx", "chan")

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, ctx: contextvars.Context, chan: Any) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.ctx = ctx
        self.chan = chan


class GoTask(greenlet):
    """A greenlet that runs go blocks: bound to one hub for life, recycled between go blocks.

    It is also the waiter of its go block's plain takes and puts (`flag`
    None, `wake`), so parking on a channel allocates nothing. When a go block
    ends, its greenlet waits in its hub's free list for the next one:
    creating and destroying a greenlet costs ~15 us on CPython 3.11 (each
    new greenlet maps a fresh interpreter data stack), reusing one ~1 us.
    """

    __slots__ = ("hub", "parked_on", "reap_mark")
    flag = None

    def __init__(self, hub: "Hub") -> None:
        # `run` is one shared function, not a method: greenlet keeps its first
        # switch's callable and arguments for the greenlet's life, so a bound
        # method or a Spawn passed there would outlive the go block.
        greenlet.__init__(self, _go_loop, hub.glet)
        self.hub = hub
        self.parked_on: Any = None  # the channel of a parked plain take or put (for the reaper)
        self.reap_mark: Any = None  # the channel the reaper last saw it parked on

    def wake(self, value: Any) -> None:
        """Make this parked go block runnable; `park()` will return `value`."""
        hub = self.hub
        if hub.ident == _get_ident():
            hub.runq.append((self, value))
        else:
            hub.post(self, value)

    def park(self) -> Any:
        """Switch away until `wake(value)`; returns that value. Call only from this go block."""
        hub = self.hub
        runq = hub.runq
        if runq and hub.budget and runq[0][0].__class__ is GoTask:
            hub.budget -= 1
            target, value = runq.popleft()
            return target.switch(value)
        # Go blocks that have not started yet start from the hub loop (see
        # Hub._run_spawn): a greenlet's stack begins where it is first
        # switched to, so starting one from here would stack it on this one.
        return hub.glet.switch()  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return f"<GoTask hub={self.hub.index} {'dead' if self.dead else 'alive'}>"


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
    sp: Any = hub.starting
    hub.starting = None
    while True:
        result = None
        ch = sp.chan
        fn, args, kwargs = sp.fn, sp.args, sp.kwargs
        # The go block's contextvars: set on the greenlet rather than
        # entered with ctx.run, which would add a C stack level to save
        # and restore on every switch.
        self.gr_context = sp.ctx  # type: ignore[misc]  # greenlet's own attribute
        sp = None
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
        except GreenletExit:  # reaped: parked on channels nobody else can reach
            if ch is not None:
                ch._deliver_result(None)
            return
        except BaseException as exc:
            report_exception(exc)
        fn = args = kwargs = None  # drop references while parked
        if ch is not None:
            ch._deliver_result(result)
        result = ch = None
        self.gr_context = None
        if len(free) >= MAX_FREE:
            return
        free.append(self)
        sp = self.park()  # resumed with the next go block's Spawn


def current_go() -> Optional[GoTask]:
    """The go block running on this thread, or None (an ordinary thread or greenlet)."""
    g = getcurrent()
    return g if g.__class__ is GoTask else None


class Hub:
    """One worker thread running go blocks from its run queue."""

    __slots__ = ("index", "runq", "timerq", "timer_turns", "starting", "poked", "inbox", "inbox_lock", "wake_lock", "sleeping", "budget", "ident",
                 "glet", "timer_hook", "passes", "free", "reap", "reap_after", "reap_requested", "stopping", "halted", "_started", "thread", "__dict__")

    def __init__(self, index: int) -> None:
        self.index = index
        # (GoTask, value to resume with) for woken go blocks, (Spawn, None) for new ones
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
        #: Installed by the timers module: fires due timers, returns seconds to the next deadline or None.
        self.timer_hook: Optional[Callable[[], Optional[float]]] = None
        self.passes = 0
        self.stopping = False  # set at interpreter exit: the hub halts at its next pass
        self.halted = threading.Event()
        self.reap_after = 0.0  # monotonic time before which the reaper does not sweep again
        self.reap_requested = 0.0  # when the pending sweep was requested
        self.reap = False  # set after a full gc: sweep for go blocks nobody can wake (reaper.py)
        self.free: List[GoTask] = []  # finished go blocks' greenlets, ready for reuse
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._main, name=f"gochan-hub-{index}", daemon=True)

    def start(self) -> None:
        self.thread.start()
        self._started.wait()

    def post(self, target: Any, value: Any) -> None:
        """Queue `target` to run with `value`, from any thread; wakes the hub if it sleeps."""
        lock = self.inbox_lock
        lock.acquire()  # explicit acquire/release: `with lock` costs 2.5x as much on 3.11
        self.inbox.append((target, value))
        if not self.sleeping:
            lock.release()
            return
        self.sleeping = False
        lock.release()
        self.wake_lock.release()

    def poke(self, blocking: bool = True) -> None:
        """Make the hub run a pass soon, from any thread: it re-reads its timers and flags.

        If the hub is awake, `poked` makes its next `_sleep` return at once:
        a poke landing between the hub's timer check and its sleep is not lost.
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
        lock.release()
        self.wake_lock.release()

    def schedule(self, sp: "Spawn") -> None:
        """Queue a go block to start, from whichever thread we are on."""
        if self.ident == _get_ident():
            self.runq.append((sp, None))
        else:
            self.post(sp, None)

    def _main(self) -> None:
        self.ident = _get_ident()
        self.glet = getcurrent()
        _local.hub = self
        self._started.set()
        while True:
            try:
                self._loop()
            except BaseException as exc:  # a bug in gochan itself; keep the hub alive
                report_exception(exc)

    def _loop(self) -> None:
        runq = self.runq
        timerq = self.timerq
        while True:
            if self.stopping:
                self._halt()
            self.passes += 1
            if self.inbox:
                with self.inbox_lock:
                    batch = self.inbox
                    self.inbox = deque()
                runq.extend(batch)
                del batch  # this frame lives on: do not pin the posted go blocks' arguments
            if self.reap:  # a sweep is pending: it runs at a pass after its cooldown (never a wake of its own)
                from .reaper import sweep_when_due
                sweep_when_due(self, not runq and not timerq and not self.inbox)
            delay = None
            hook = self.timer_hook
            if hook is not None:
                delay = hook()
            # Two lanes, each first come first served: `runq` for go blocks
            # woken by channels and new ones, `timerq` for those woken by
            # timeouts closing (the timer hook closes with `runq` pointed at
            # `timerq`). While the timer lane has work the lanes take turns,
            # TIMER_SHARE go blocks to one, and parking go blocks return here
            # instead of switching straight on: a burst of 100,000 timeouts
            # then costs a runnable go block a few turns, and a sleeper does
            # not wait behind a flood of spawns. (With one turn each, timer
            # backlogs drained only as fast as new timeouts came due.)
            # Rejected: running every woken go block ahead of unstarted ones.
            # A go block that spawns n workers and then selects over them (the
            # walkthrough's demo) is then resumed before they have started,
            # finds few ready and re-registers on all n: quadratic (measured:
            # the n=3,000 demo went from ~0.1 s to over 2 minutes).
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
            if target.__class__ is GoTask:
                target.switch(value)
            else:
                self._run_spawn(target)

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
        free = self.free
        if free:
            free.pop().switch(sp)
        else:
            self.starting = sp  # not a switch argument: greenlet would keep that for good
            GoTask(self).switch()

    def _sleep(self, delay: Optional[float]) -> None:
        with self.inbox_lock:
            if self.inbox or self.poked:
                self.poked = False
                return
            self.sleeping = True
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
        watchdog = _watchdog
        if watchdog is not None and watchdog.resting:
            watchdog.activity.set()

    def __repr__(self) -> str:
        return f"<Hub {self.index} runq={len(self.runq)} timerq={len(self.timerq)} inbox={len(self.inbox)} sleeping={self.sleeping}>"


#: The blocking detector (watchdog.py), when enabled; it rests while every hub sleeps.
_watchdog: Any = None

_local = threading.local()
_hubs: List[Hub] = []
_hubs_lock = threading.Lock()
_next_hub = 0


def pool_size() -> int:
    """Number of hubs: `GOCHAN_POOL_SIZE` if set, else the measured default (see README)."""
    raw = os.environ.get("GOCHAN_POOL_SIZE")
    if raw is None:
        return min(2, os.cpu_count() or 1)
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"GOCHAN_POOL_SIZE must be a positive int, got {raw!r}") from None
    if n < 1:
        raise ValueError(f"GOCHAN_POOL_SIZE must be a positive int, got {raw!r}")
    return n


def hubs() -> List[Hub]:
    """The hub pool, started on first use."""
    if _hubs:
        return _hubs
    with _hubs_lock:
        if not _hubs:
            started = [Hub(i) for i in range(pool_size())]
            for h in started:
                h.start()
            _hubs.extend(started)
            from .reaper import install
            install()
            atexit.register(_halt_hubs)
            from .watchdog import start_default
            start_default()
    return _hubs


def _halt_hubs(timeout: float = 1.0) -> None:
    """At exit: bring every hub back to its main greenlet and halt it there (see Hub._halt).

    Go blocks still runnable are abandoned, as daemon threads are. A go block
    that does not park within `timeout` (a CPU loop, a blocking call) cannot
    be stopped; the process then exits as CPython ends daemon threads.
    """
    for hub in _hubs:
        hub.stopping = True
        hub.poke()
    deadline = time.monotonic() + timeout
    for hub in _hubs:
        hub.halted.wait(max(0.0, deadline - time.monotonic()))


def this_hub() -> Optional[Hub]:
    """The hub whose thread we are on, or None."""
    return getattr(_local, "hub", None)


def spawn(fn: Callable, args: tuple, kwargs: dict, chan: Any, hub: Optional[Hub] = None) -> None:
    """Start `fn(*args, **kwargs)` as a go block on `hub` (default: the spawner's, else round-robin)."""
    sp = Spawn(fn, args, kwargs or _NO_KWARGS, contextvars.copy_context(), chan)
    if hub is None:
        g = getcurrent()
        if g.__class__ is GoTask:
            g.hub.runq.append((sp, None))
            return
        pool = _hubs or hubs()
        global _next_hub
        i = _next_hub  # a racy round-robin hint: a lost update only skews placement
        _next_hub = (i + 1) % len(pool)
        hub = pool[i % len(pool)]
    hub.schedule(sp)
