"""The runtime: one object owning the hubs, the thread pool and the services that plug into them.

Everything gochan starts (hub threads, `thread` workers, the timer thread,
the watchdog) belongs to the current `Runtime`, created on first use. So
`shutdown()` can stop all of it and a later use starts a fresh one, and a
child process after `os.fork()` starts its own instead of waiting on threads
that did not survive the fork.

Modules that plug in (timers, reaper, watchdog, and next the I/O poller)
register an `on_start` function, run for each new runtime, or a lazily made
`service`; the runtime imports none of them, so the import graph has no
circle.

Placement (`Runtime.place`; issue #15). A greenlet cannot change threads once
started, so where a go block starts is where it lives:
- spawned from a go block: on its spawner's hub; `go_on(i, ...)`: on hub i
  (pinned: never moved);
- spawned from a thread (the main thread, a `thread` body): on the home hub,
  hub 0, so the go blocks a program starts from its main thread (a ping and
  its pong, a producer and its consumer, the stages of a pipeline) wake each
  other with a deque append on one thread instead of a cross-thread wake and
  a GIL hand-off each;
- unless the home hub is stalled: awake and not back to its loop for
  STALL_MS (20 ms), i.e. inside one go block that does not park (a CPU loop,
  `time.sleep`, blocking I/O) or waiting that long for the GIL. The
  watchdog's thread samples every hub's pass counter every STALL_MS / 2
  while a hub is awake (it rests while all sleep) and marks a stalled hub
  here; go blocks spawned from threads then go to the first hub that is not
  stalled, and the stalled hub's unpinned go blocks still waiting to start
  in its inbox move there. A hub is home again as soon as its pass counter
  moves. So a go block spawned from a thread starts within about 30 ms
  (STALL_MS + STALL_MS / 2, plus scheduling) even while the home hub is stuck.
  Not moved: go blocks already in the stalled hub's run queue (queued before
  the stall began: the run queue belongs to the hub's thread) and started ones.
The spawner reads the marks without a lock (hints; a stale one misplaces one
go block, never loses it); nothing is added to park, wake or the hub loop.

Measured (`python -m bench.placement`: fresh processes, policies
interleaved, 2 cores, CPython 3.11; DESIGN.md has the table): home runs the
naive ping-pong of two go blocks spawned from the main thread as fast as W1,
and a go block spawned while hub 0 sleeps in a go block starts in 30.7 ms
(worst of 5). Rejected: round-robin over the hubs (before #15;
`GOCHAN_PLACEMENT=spread`): naive ping-pong at 0.10-0.26x, and every other
go block spawned while a hub is stuck waits out the stall; one hub on GIL
builds (`GOCHAN_POOL_SIZE=1`): as fast as home, but a stuck go block holds
back every go block spawned meanwhile for the whole stall; idle hubs
stealing from a stalled one: as fast, the same bound, but an idle hub must
poll to learn that another stalled (14-24 ms of CPU per idle second, against
0.05) and go blocks spawned during the stall wait a poll period each.
`GOCHAN_POOL_SIZE` (default `min(2, cpu_count)`) thus buys isolation, not
speed, on GIL builds. `GOCHAN_PLACEMENT=spread` sends go blocks spawned from
threads to the hubs in turn, for free-threaded builds running CPU-bound go
blocks (not measured: no such build on this machine).

A hub the OS does not schedule for STALL_MS (a heavily loaded machine)
looks stalled too; that costs locality, not correctness: the go blocks
spawned or moved meanwhile run on another hub.
"""
from __future__ import annotations

import atexit
import contextvars
import gc
import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Protocol, Set, Tuple, TypeVar

from greenlet import getcurrent

from .channel import Chan
from .errors import Cancelled
from .hub import GoTask, Hub, Spawn, current_hub
from .threadpool import ThreadPool
from .waiters import AltWaiter, ThreadWaiter, blocked_threads, thread_waiters_exist

__all__ = ["Runtime", "current_runtime", "peek_runtime", "on_start", "shutdown", "hubs", "pool_size"]

_NO_KWARGS: Dict[str, Any] = {}
S = TypeVar("S", bound="Service")

#: A hub awake and not back to its loop for this long is stalled: go blocks spawned from
#: threads go elsewhere, and its unstarted ones move (see the module docstring).
STALL_MS = 20.0


class Service(Protocol):
    """A runtime-wide helper started on demand (the timer thread, the watchdog)."""

    def stop(self, deadline: float) -> None: ...


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


def placement() -> str:
    """`GOCHAN_PLACEMENT`: "home" (the default) or "spread" (round-robin); see the module docstring."""
    raw = os.environ.get("GOCHAN_PLACEMENT", "home")
    if raw not in ("home", "spread"):
        raise ValueError(f"GOCHAN_PLACEMENT must be 'home' or 'spread', got {raw!r}")
    return raw


class Runtime:
    """The hubs, the `thread` pool and the services of one process (see the module docstring)."""

    def __init__(self, size: Optional[int] = None) -> None:
        n = pool_size() if size is None else size
        self.hubs: List[Hub] = [Hub(i) for i in range(n)]
        self.pool = ThreadPool()
        self.services: Dict[Any, Service] = {}
        self.lock = threading.Lock()
        self.spread = placement() == "spread"
        #: By hub index: the loop pass (`Hub.passes`) the hub was found stalled in, awake and
        #: not back to its loop for STALL_MS, by the watchdog's thread; -1 if not. `place()`
        #: reads it without a lock: a hub whose `passes` moved on since is not stalled.
        self.stalled: List[int] = [-1] * n
        self._next_hub = 0

    def start(self) -> None:
        for h in self.hubs:
            h.start()
        for fn in list(_start_hooks):
            fn(self)

    def spawn(self, fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: Optional[Dict[str, Any]], chan: Any,
              hub: Optional[Hub] = None, scope: Any = None) -> Spawn:
        """Start `fn(*args, **kwargs)` as a go block on `hub` (pinned there), by default on the
        spawner's hub, or from a thread where `place()` says; returns its record (`cancel()`
        stops it). `scope` receives its exit (see scope.py)."""
        sp = Spawn(fn, args, kwargs or _NO_KWARGS, contextvars.copy_context(), chan, scope, hub is not None)
        if hub is None:
            g = getcurrent()
            if g.__class__ is GoTask and not g.hub.stopping:
                g.hub.schedule(sp)  # stays on its spawner's hub
                return sp
            hub = self.place()
        hub.schedule(sp)
        return sp

    def place(self) -> Hub:
        """The hub for a go block spawned from a thread: the home hub (hub 0) unless it is stalled,
        else the first hub that is not (see the module docstring). No lock: the flags are hints."""
        hubs = self.hubs
        if self.spread:
            i = self._next_hub  # a racy round-robin hint: a lost update only skews placement
            self._next_hub = (i + 1) % len(hubs)
            return hubs[i % len(hubs)]
        stalled = self.stalled
        if stalled[0] != hubs[0].passes:  # not stalled, or back to its loop since
            return hubs[0]
        for i in range(1, len(hubs)):
            if stalled[i] != hubs[i].passes:
                return hubs[i]
        return hubs[0]

    def mark_stalled(self, hub: Hub, passes: int) -> int:
        """Record that `hub` is stalled in its loop pass `passes`, or -1: not stalled (the
        watchdog's sampler calls this). While it is, move its go blocks that wait to start in
        its inbox, unless pinned, to `place()`'s hub. Returns how many moved."""
        self.stalled[hub.index] = passes
        if passes < 0:
            return 0
        dst = self.place()
        if dst is hub:
            return 0
        with hub.inbox_lock:
            inbox = hub.inbox
            moved = [t for t, _ in inbox if t.__class__ is Spawn and not t.pinned]
            if moved:
                keep = [item for item in inbox if item[0].__class__ is not Spawn or item[0].pinned]
                inbox.clear()
                inbox.extend(keep)
        for sp in moved:
            dst.schedule(sp)
        return len(moved)

    def service(self, key: Any, factory: Callable[["Runtime"], S]) -> S:
        """The runtime's service under `key`, made by `factory(runtime)` on first use."""
        svc = self.services.get(key)
        if svc is None:
            with self.lock:
                svc = self.services.get(key)
                if svc is None:
                    svc = self.services[key] = factory(self)
        return svc  # type: ignore[return-value]

    def shutdown(self, timeout: Optional[float]) -> bool:
        """Stop services, hubs (ending every go block) and the pool; True if all stopped in time."""
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        with self.lock:
            services = list(self.services.values())
        for svc in services:
            svc.stop(deadline)
        here = current_hub()
        for h in self.hubs:
            h.stop()
        ok = True
        for h in self.hubs:
            if h is here:
                continue  # called from a go block: its own hub stops once it returns
            ok = h.stopped.wait(max(0.0, deadline - time.monotonic())) and ok
        return self.pool.shutdown(deadline, _cancel_blocked) and ok


def _cancel_blocked(idents: Set[int]) -> None:
    """End the operations these threads are blocked in with `Cancelled` (shutdown of their pool)."""
    for w in blocked_threads():
        waiting = w.waiting
        if w.ident in idents and waiting is not None and waiting.withdraw(w):
            w.wake_error(Cancelled())


_runtime: Optional[Runtime] = None
_runtime_lock = threading.Lock()
_start_hooks: List[Callable[[Runtime], None]] = []
_atexit_registered = False


def on_start(fn: Callable[[Runtime], None]) -> None:
    """Run `fn(runtime)` for every runtime started from now on (and the current one, if any)."""
    _start_hooks.append(fn)
    rt = _runtime
    if rt is not None:
        fn(rt)


def peek_runtime() -> Optional[Runtime]:
    """The current runtime, or None if none is running (never starts one)."""
    return _runtime


def current_runtime() -> Runtime:
    """The current runtime, started on first use."""
    rt = _runtime
    if rt is not None:
        return rt
    return _start()


def _start() -> Runtime:
    global _runtime, _atexit_registered
    with _runtime_lock:
        if _runtime is None:
            rt = Runtime()
            rt.start()
            _runtime = rt
            if not _atexit_registered:
                _atexit_registered = True
                atexit.register(_halt_at_exit)
        return _runtime


def hubs() -> List[Hub]:
    """The current runtime's hubs (starting it if needed)."""
    return current_runtime().hubs


def shutdown(timeout_ms: Optional[float] = None) -> bool:
    """Stop the runtime: every live go block is cancelled (`Cancelled` raised where it is
    parked, so its `finally` blocks run, and its channel closes without a value), a `thread`
    body blocked in a gochan operation too, unstarted go blocks never run, and hubs, the
    thread pool, timers and the watchdog stop. Waits up to `timeout_ms` (None: until done).
    Returns True if everything stopped in time. Any later use starts a fresh runtime.

    A `thread` body or a go block that never parks cannot be interrupted; the
    call then returns False at the timeout and leaves it running.
    """
    if timeout_ms is not None and (isinstance(timeout_ms, bool) or not isinstance(timeout_ms, (int, float))
                                   or timeout_ms < 0):
        raise ValueError(f"shutdown: timeout_ms must be a number >= 0 or None, got {timeout_ms!r}")
    global _runtime
    with _runtime_lock:
        rt, _runtime = _runtime, None
    if rt is None:
        return True
    return rt.shutdown(None if timeout_ms is None else timeout_ms / 1000.0)


def _halt_at_exit(timeout: float = 1.0) -> None:
    """At exit: bring every hub back to its main greenlet and halt it there (see Hub._halt).

    Go blocks still runnable are abandoned, as daemon threads are. A go block
    that does not park within `timeout` cannot be stopped; the process then
    exits as CPython ends daemon threads.
    """
    rt = _runtime
    if rt is None:
        return
    for svc in list(rt.services.values()):
        svc.stop(time.monotonic())
    for hub in rt.hubs:
        hub.halting = True
        hub.poke()
    deadline = time.monotonic() + timeout
    for hub in rt.hubs:
        hub.halted.wait(max(0.0, deadline - time.monotonic()))


# ---------------------------------------------------------------- fork
def _forget_after_fork() -> None:
    """In a fork child: the parent's runtime threads do not exist here; start afresh on first use.

    Channels made before the fork stay usable: each gets a fresh lock (a
    thread of the parent may have held it at the fork) and loses the pending
    operations of the parent's go blocks and threads, which do not exist here
    (a put must not hand its value to a taker that will never run).
    Callbacks of `take_async`/`put_async` stay pending.
    """
    global _runtime, _runtime_lock
    had_runtime = _runtime is not None
    _runtime = None
    _runtime_lock = threading.Lock()
    if had_runtime or thread_waiters_exist():
        for obj in gc.get_objects():
            if isinstance(obj, Chan):
                obj.after_fork(_belongs_to_parent)


def _belongs_to_parent(waiter: Any) -> bool:
    cls = waiter.__class__
    if cls is AltWaiter:
        cls = waiter.resumer.__class__
    return cls is GoTask or cls is ThreadWaiter


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
