"""Readiness ports: `readable(f)` and `writable(f)`, an fd's readiness as something `take` and `alts` wait on.

A go block's wait registers in its own hub's poller (poller.py); a plain
thread's `take` waits with `select.poll` on the fd itself, never on a hub.
"""
# Design: a readiness port is a `protocols.Port` like a channel, so alts needs
# no special case: `take_with` answers at once when the fd is ready (one
# poll(0)), else registers the waiter (the go block, or the alts' AltWaiter)
# in the hub's poller and returns PENDING. The only waiters that are not a go
# block's are a thread's: its plain take waits inline (the port is its only
# op), and its alts registers in `IoThread`, one process-wide thread with a
# poller of its own, since the thread itself blocks on its waiter's lock.
# An invalid or closed fd counts as ready (poll reports POLLNVAL), never as an
# error raised halfway through an alts' registrations: the call that follows
# the wait reports it.
from __future__ import annotations

import math
import select
import threading
from time import monotonic
from typing import Any, Callable, List, Optional

from .hub import GoTask
from .poller import READ, WRITE, IoReg, Poller, hub_poller
from .procs import any_pending
from .protocols import IO, NOT_READY, PENDING
from .runtime import Runtime, current_runtime
from .suspend import check
from .waiters import AltWaiter, ThreadWaiter

__all__ = ["Readiness", "readable", "writable", "fileno_of", "ready_now", "thread_wait", "IoThread",
           "THREAD_SLICE"]

#: A thread waiting for an fd polls in slices of at most this many seconds, checking between them
#: whether what it waits on was closed.
THREAD_SLICE = 0.05


def fileno_of(f: Any, fname: str, arg: str = "f") -> int:
    """The fd of a socket, of any object with `fileno()`, or an int fd; errors name `fname`."""
    if isinstance(f, bool):
        raise TypeError(f"{fname}: {arg} must be a socket, an object with fileno() or an int fd, got {f!r}")
    if isinstance(f, int):
        fd = f
    else:
        fileno = getattr(f, "fileno", None)
        if not callable(fileno):
            raise TypeError(f"{fname}: {arg} must be a socket, an object with fileno() or an int fd, got {f!r}")
        fd = fileno()
    if isinstance(fd, bool) or not isinstance(fd, int) or fd < 0:
        raise ValueError(f"{fname}: {arg} has no open fd (closed?): {f!r}")
    return fd


def ready_now(fd: int, events: int) -> bool:
    """True if `fd` is ready for `events` right now (or is invalid: the next call on it will say)."""
    p = select.poll()
    p.register(fd, events)
    return bool(p.poll(0))


def thread_wait(fd: int, events: int, deadline: Optional[float],
                stop: Optional[Callable[[], bool]] = None) -> bool:
    """Block this thread until `fd` is ready (True) or `deadline` (monotonic seconds) passes (False).

    Polls in slices of THREAD_SLICE, returning True early once `stop()` is
    true (what it waits on was closed). Between slices it raises `Cancelled`
    if the thread's process was cancelled (`cancel(ch)` of a `thread` body,
    or its scope): a thread blocked on I/O ends within a slice.
    """
    p = select.poll()
    p.register(fd, events)
    while True:
        if any_pending:  # some process has a cancel request: is it this thread's?
            check()
        if deadline is None:
            t = THREAD_SLICE
        else:
            t = min(THREAD_SLICE, deadline - monotonic())
            if t <= 0:
                return bool(p.poll(0))
        if p.poll(math.ceil(t * 1000)):
            return True
        if stop is not None and stop():
            return True


class Readiness:
    """A port that is ready when its fd is readable (`events` READ) or writable (WRITE).

    `take` on it returns True once the fd is ready (at once if it is now);
    in `alts` it competes with channels and timeouts, and a lost race
    leaves nothing registered for long (see poller.py).
    """

    __slots__ = ("fd", "events", "obj")
    #: What `take` on this port records as its park reason: an I/O wait, which the reaper never
    #: reaps (the fd can wake it, however unreachable the port object is).
    park_op = IO

    def __init__(self, fd: int, events: int, obj: Any = None) -> None:
        self.fd = fd
        self.events = events
        self.obj = obj  # what the fd came from, for repr

    def take_with(self, waiter: Any, blockable: bool = True) -> Any:
        fd = self.fd
        flag = waiter.flag
        if ready_now(fd, self.events):
            if flag is not None and not flag.commit():
                return PENDING  # the alts completed elsewhere: that wake is on its way
            return True
        if not blockable:
            return NOT_READY
        cls = waiter.__class__
        resumer = waiter.resumer if cls is AltWaiter else waiter
        if resumer.__class__ is GoTask:  # we are on its hub's thread
            if hub_poller(resumer.hub).add(IoReg(fd, self.events, waiter)):
                return PENDING
            if flag is not None and not flag.commit():
                return PENDING
            return True  # an always-ready fd (a regular file)
        if cls is ThreadWaiter:  # a thread's plain take: this port is all it waits for
            thread_wait(fd, self.events, None)
            return True
        current_runtime().service(IoThread, IoThread).add(IoReg(fd, self.events, waiter))
        return PENDING

    def withdraw(self, waiter: Any) -> bool:
        """Take back `waiter`'s pending wait (on its hub's thread): True if it had not fired."""
        resumer = waiter.resumer if waiter.__class__ is AltWaiter else waiter
        if resumer.__class__ is not GoTask:
            return False  # a thread's alts is withdrawn through its flag
        p: Optional[Poller] = resumer.hub.services.get(Poller)
        if p is None:
            return False
        reg = p.find(self.fd, waiter)
        return reg is not None and p.remove(reg)

    def takeable_hint(self) -> bool:
        return True  # unknown without a syscall: let take_with look

    def ports(self) -> List[Any]:
        return [self]

    def __repr__(self) -> str:
        kind = "readable" if self.events == READ else "writable"
        return f"<{kind} fd={self.fd}>"


def readable(f: Any) -> Readiness:
    """A port ready when `f` (a socket, an object with `fileno()`, or an fd) is readable.

    `take(readable(sock))` parks a go block (blocks a thread) until then and
    returns True; `alts([quit, readable(sock), timeout(5000)])` waits for
    whichever comes first. Readiness may be spurious (as with any
    selector): read without blocking and wait again if nothing came.
    Closing the fd under a waiting go block does not wake it (the kernel
    drops a closed fd from the selector silently): `net.Conn.close` does
    wake its waiters; with a raw fd, cancel or otherwise wake them first.
    """
    return Readiness(fileno_of(f, "readable"), READ, f)


def writable(f: Any) -> Readiness:
    """A port ready when `f` (a socket, an object with `fileno()`, or an fd) is writable. See `readable`."""
    return Readiness(fileno_of(f, "writable"), WRITE, f)


class IoThread:
    """Waits for fds on behalf of threads blocked in an `alts` with readiness ports (a runtime service).

    Its poller belongs to its own thread; other threads hand it registrations
    through `add`. Registrations of alts that completed elsewhere are dropped
    by the poller's sweep, as on a hub.
    """

    def __init__(self, rt: Optional[Runtime] = None) -> None:
        self.poller = Poller(None)
        self.lock = threading.Lock()
        self.incoming: List[IoReg] = []
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="gochan-io", daemon=True)
        self.thread.start()

    def add(self, reg: IoReg) -> None:
        with self.lock:
            self.incoming.append(reg)
        self.poller.wake()

    def _run(self) -> None:
        poller = self.poller
        while not self.stopped:
            with self.lock:
                batch, self.incoming = self.incoming, []
            for reg in batch:
                try:
                    if not poller.add(reg):
                        reg.fire()
                except OSError:
                    reg.fire()  # a bad fd: the thread's next call on it reports the error
            poller.poll(None)

    def stop(self, deadline: float) -> None:
        self.stopped = True
        self.poller.wake()
        self.thread.join(max(0.0, deadline - monotonic()))
        if not self.thread.is_alive():
            self.poller.close()
