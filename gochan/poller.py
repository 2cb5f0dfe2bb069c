"""The I/O poller: each hub's OS selector, which go blocks waiting for an fd to be ready park on.

A hub gets its poller the first time one of its go blocks waits for an fd;
from then on the hub sleeps in the selector instead of on its lock, so fd
readiness, timers and cross-thread posts all end one wait. A hub that never
does I/O has no poller and pays nothing.
"""
# Why this shape (after Go's netpoller and gevent's per-hub libev loop):
# - One selector per hub, owned by the hub's thread: go blocks register on
#   their own hub with no lock, and a readiness wake is a run-queue append,
#   like any same-hub wake. Plugged in with `Hub.set_idle_wait` (the wait) and
#   `Hub.add_hook` (a poll with no timeout every POLL_EVERY passes, so a hub
#   that never runs dry still hears its fds).
# - Cross-thread wakes of a sleeping hub write an eventfd (a self-pipe where
#   there is none), only when the hub sleeps: the hub's `sleeping` flag
#   coalesces them, as it did for the lock.
# - Raw fds (readiness ports): epoll with EPOLLONESHOT, a registration costs
#   one epoll_ctl (MOD, or ADD the first time an fd is seen), a fired fd
#   disarms itself, so nothing is unregistered after a wake and a withdrawn
#   wait needs no syscall (the armed fd fires at most once more, for nobody). An fd closed while armed leaves
#   the epoll set by itself; its number, reused, gets ENOENT on MOD and is
#   added again. Rejected: level-triggered registrations removed on every
#   wake (two syscalls per wait), and `selectors`' per-registration
#   SelectorKey objects on Linux (used where epoll is missing).
# - Sockets gochan owns (net.Conn, net.Listener) are armed level-triggered
#   and left armed between waits, as libev (gevent) does: a go block that
#   waits on its connection again for the same direction costs no epoll_ctl
#   (W9: one syscall fewer per round trip). The registration is narrowed
#   lazily, when an event comes that nobody waits for (MOD to what is
#   wanted, DEL if nothing is), and the owner, identified by a generation
#   number (`gen`, never reused, unlike an fd or an id), takes it out of the
#   epoll set before it closes the socket (`forget`, safe from any thread:
#   epoll_ctl is). Raw fds (readiness ports) stay oneshot: their owner never
#   tells us it closed them.
# - Several waiters may wait on one fd, in either direction; a ready fd wakes
#   every waiter of that direction (HUP and ERR wake both).
# - Waits of an alts whose other op won stay registered, inert, until their
#   fd fires or a sweep (amortized over registrations) drops them, as
#   channels drop stale alts waiters lazily.
from __future__ import annotations

import os
import select
import selectors
import threading
from typing import Any, Dict, List, Optional, Tuple

from .hub import GoTask, Hub

__all__ = ["Poller", "IoReg", "hub_poller", "READ", "WRITE", "POLL_EVERY"]

#: The two directions a wait can be for (equal to POLLIN/EPOLLIN and POLLOUT/EPOLLOUT).
READ = 1
WRITE = 4
_ERR = 8 | 16  # EPOLLERR | EPOLLHUP (POLLERR | POLLHUP)
_ONESHOT = getattr(select, "EPOLLONESHOT", 0)
#: A hub that keeps finding work polls its fds (without waiting) every this many loop passes.
POLL_EVERY = 32
#: Most events taken per poll.
MAX_EVENTS = 1024

_PENDING, _FIRED, _WITHDRAWN = 0, 1, 2


class IoReg:
    """One waiter's wait for `events` on `fd`, in one poller (owned by the poller's thread).

    `waiter` is woken with True (an alts' waiter only if its flag commits).
    """

    __slots__ = ("fd", "events", "waiter", "state")

    def __init__(self, fd: int, events: int, waiter: Any) -> None:
        self.fd = fd
        self.events = events
        self.waiter = waiter
        self.state = _PENDING

    def dead(self) -> bool:
        if self.state:
            return True
        flag = self.waiter.flag
        return flag is not None and not flag.active

    def fire(self) -> None:
        if self.state:
            return
        self.state = _FIRED
        w = self.waiter
        flag = w.flag
        if flag is None or flag.commit():
            w.wake(True)

    def __repr__(self) -> str:
        kind = {READ: "read", WRITE: "write"}.get(self.events, str(self.events))
        return f"<IoReg fd={self.fd} {kind} state={self.state}>"


class _EpollBackend:
    """Oneshot epoll (Linux)."""

    __slots__ = ("ep",)

    def __init__(self) -> None:
        self.ep = select.epoll()

    def watch(self, fd: int) -> None:
        self.ep.register(fd, READ)  # level-triggered, for the wake-up fd

    def arm(self, fd: int, mask: int) -> None:
        try:
            self.ep.modify(fd, mask | _ONESHOT)
        except FileNotFoundError:
            self.ep.register(fd, mask | _ONESHOT)

    def poll(self, timeout: Optional[float]) -> List[Tuple[int, int]]:
        return self.ep.poll(-1 if timeout is None else timeout, MAX_EVENTS)

    def close(self) -> None:
        self.ep.close()


class _SelectorBackend:
    """`selectors.DefaultSelector` with oneshot emulated (where there is no epoll)."""

    __slots__ = ("sel", "keep")

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.keep = -1

    def watch(self, fd: int) -> None:
        self.keep = fd
        self.sel.register(fd, selectors.EVENT_READ)

    def arm(self, fd: int, mask: int) -> None:
        ev = (selectors.EVENT_READ if mask & READ else 0) | (selectors.EVENT_WRITE if mask & WRITE else 0)
        try:
            self.sel.modify(fd, ev)
        except KeyError:
            self.sel.register(fd, ev)

    def poll(self, timeout: Optional[float]) -> List[Tuple[int, int]]:
        out = []
        for key, ev in self.sel.select(timeout):
            fd = key.fd
            if fd != self.keep:
                self.sel.unregister(fd)
            out.append((fd, (READ if ev & selectors.EVENT_READ else 0) | (WRITE if ev & selectors.EVENT_WRITE else 0)))
        return out

    def close(self) -> None:
        self.sel.close()


class _Wakeup:
    """An eventfd (or a pipe): written from any thread, read by the poller's owner."""

    __slots__ = ("rfd", "wfd")

    def __init__(self) -> None:
        if hasattr(os, "eventfd"):
            self.rfd = self.wfd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        else:  # pragma: no cover - not Linux
            self.rfd, self.wfd = os.pipe()
            os.set_blocking(self.rfd, False)
            os.set_blocking(self.wfd, False)

    def set(self) -> None:
        try:
            os.write(self.wfd, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except BlockingIOError:  # pragma: no cover - a full pipe wakes the reader anyway
            pass

    def drain(self) -> None:
        try:
            os.read(self.rfd, 4096)
        except BlockingIOError:
            pass

    def close(self) -> None:
        os.close(self.rfd)
        if self.wfd != self.rfd:
            os.close(self.wfd)


class Poller:
    """One hub's (or the I/O thread's) selector and the waits registered in it, by fd.

    Everything but `wake` runs on the owner's thread only.
    """

    __slots__ = ("backend", "arm", "fds", "level", "wakeup", "alt_regs", "sweep_at", "last_pass", "hub",
                 "__weakref__")

    def __init__(self, hub: Optional[Hub] = None) -> None:
        self.hub = hub
        self.backend: Any = _EpollBackend() if hasattr(select, "epoll") else _SelectorBackend()
        #: epoll's modify, called directly on the hot path (None: go through the backend).
        self.arm = self.backend.ep.modify if isinstance(self.backend, _EpollBackend) else None
        self.wakeup = _Wakeup()
        self.backend.watch(self.wakeup.rfd)
        self.fds: Dict[int, List[IoReg]] = {}
        #: fd -> gen << 3 | mask for the fds armed level-triggered for an owner (`add_owned`).
        self.level: Dict[int, int] = {}
        self.alt_regs: List[IoReg] = []  # waits of alts, swept for dead ones (see `add`)
        self.sweep_at = 64
        self.last_pass = 0

    # ----------------------------------------------------------- waits
    def add(self, reg: IoReg) -> bool:
        """Register `reg`; False if there is nothing to wait for (a regular file, a closed fd).
        """
        fd = reg.fd
        regs = self.fds.get(fd)
        if regs is None:
            regs = self.fds[fd] = [reg]
            mask = reg.events
        else:
            mask = reg.events
            live = []
            for r in regs:
                if not r.dead():
                    live.append(r)
                    mask |= r.events
            live.append(reg)
            regs = self.fds[fd] = live
        try:
            arm = self.arm
            if arm is None:
                self.backend.arm(fd, mask)
            else:  # epoll: MOD, or ADD for an fd not in the set
                if self.level and fd in self.level:
                    del self.level[fd]  # oneshot from now on, until its owner re-arms it
                try:
                    arm(fd, mask | _ONESHOT)
                except FileNotFoundError:
                    self.backend.ep.register(fd, mask | _ONESHOT)
        except OSError:
            # EPERM: a regular file, always ready; EBADF: not an open fd, which the
            # caller's next call on it reports. Either way there is nothing to wait for.
            regs.remove(reg)
            if not regs:
                del self.fds[fd]
            return False
        w = reg.waiter
        if w.__class__ is not GoTask and w.flag is not None:
            alt_regs = self.alt_regs
            alt_regs.append(reg)
            if len(alt_regs) > self.sweep_at:
                self.sweep()
        return True

    def add_owned(self, reg: IoReg, gen: int) -> bool:
        """`add` for a socket gochan owns (`gen`: its owner's generation): armed level-triggered
        and left armed after the wait, so the next wait for the same direction costs no syscall.
        """
        if self.arm is None:
            return self.add(reg)  # no epoll: the selector backend's emulated oneshot
        fd = reg.fd
        regs = self.fds.get(fd)
        mask = reg.events
        if regs is None:
            self.fds[fd] = [reg]
        else:
            live = []
            for r in regs:
                if not r.dead():
                    live.append(r)
                    mask |= r.events
            live.append(reg)
            self.fds[fd] = live
        level = self.level
        cur = level.get(fd)
        if cur is not None and cur >> 3 == gen and not mask & ~cur:
            return True  # still armed from this owner's last wait: the W9 hot path
        if cur is not None and cur >> 3 == gen:
            mask |= cur & 7  # widen, never narrow here (narrowed lazily in `poll`)
        try:
            try:
                self.arm(fd, mask)
            except FileNotFoundError:
                self.backend.ep.register(fd, mask)
        except OSError:
            regs = self.fds[fd]
            regs.remove(reg)
            if not regs:
                del self.fds[fd]
            level.pop(fd, None)
            return False
        level[fd] = gen << 3 | mask
        return True

    def forget(self, fd: int) -> None:
        """From any thread, before the owner closes `fd`: take it out of the epoll set (see `add_owned`)."""
        backend = self.backend
        if isinstance(backend, _EpollBackend):
            try:
                backend.ep.unregister(fd)
            except (OSError, ValueError):  # not in the set (oneshot, narrowed away), or the poller closed
                pass

    def _narrow(self, fd: int, want: int) -> None:
        """An armed fd reported events nobody waits for: arm it for `want` only (DEL if 0)."""
        cur = self.level.pop(fd)
        try:
            if want:
                self.arm(fd, want)  # type: ignore[misc]
                self.level[fd] = cur & ~7 | want
            else:
                self.backend.ep.unregister(fd)
        except OSError:
            pass  # gone already: the owner's next wait adds it again

    def remove(self, reg: IoReg) -> bool:
        """Withdraw a pending `reg`: True if it had not fired (it never will now)."""
        if reg.state:
            return False
        reg.state = _WITHDRAWN
        regs = self.fds.get(reg.fd)
        if regs is not None:
            try:
                regs.remove(reg)
            except ValueError:  # pragma: no cover - defensive
                pass
            if not regs:
                del self.fds[reg.fd]
        return True

    def find(self, fd: int, waiter: Any) -> Optional[IoReg]:
        """The pending registration of `waiter` on `fd`, if any."""
        for r in self.fds.get(fd, ()):
            if r.waiter is waiter and not r.state:
                return r
        return None

    def fire_fd(self, fd: int) -> None:
        """Wake every waiter on `fd` now, as if it were ready (a `Conn` closing)."""
        regs = self.fds.pop(fd, None)
        if regs:
            for r in regs:
                r.fire()

    def sweep(self) -> None:
        """Drop the waits of alts that completed elsewhere (amortized: called as they accumulate)."""
        live = []
        for r in self.alt_regs:
            if r.dead():
                if not r.state:
                    self.remove(r)
            else:
                live.append(r)
        self.alt_regs = live
        self.sweep_at = 2 * len(live) + 64

    def count(self) -> int:
        """How many waits are registered (live or not yet swept)."""
        return sum(len(v) for v in self.fds.values())

    # ----------------------------------------------------------- polling
    def poll(self, timeout: Optional[float]) -> None:
        """Wait up to `timeout` seconds (None: until something happens) and wake who is ready."""
        try:
            events = self.backend.poll(timeout)
        except InterruptedError:  # pragma: no cover - PEP 475 retries; defensive
            return
        if not events:
            return
        fds = self.fds
        level = self.level
        wake_fd = self.wakeup.rfd
        hub = self.hub
        runq = hub.runq if hub is not None else None
        for fd, ev in events:
            if fd == wake_fd:
                self.wakeup.drain()
                continue
            regs = fds.get(fd)
            if regs is None:
                if fd in level:
                    self._narrow(fd, 0)  # armed, nobody waits: ready again before its owner looked
                continue
            if ev & _ERR:
                ev |= READ | WRITE
            if len(regs) == 1 and runq is not None:
                r = regs[0]
                w = r.waiter
                if w.__class__ is GoTask and r.events & ev:  # one go block waits: wake it inline
                    del fds[fd]  # (an fd armed level-triggered stays armed for the next wait)
                    if not r.state:
                        r.state = _FIRED
                        runq.append((w, True))  # GoTask.wake, on the hub's own thread
                    continue
            keep = None
            mask = 0
            hit = False
            for r in regs:
                if r.events & ev:
                    if not r.state:
                        hit = True
                    r.fire()
                elif not r.dead():
                    if keep is None:
                        keep = [r]
                    else:
                        keep.append(r)
                    mask |= r.events
            if keep is None:
                del fds[fd]
                if not hit and fd in level:
                    self._narrow(fd, 0)
            else:
                fds[fd] = keep
                if fd in level:
                    if not hit:
                        self._narrow(fd, mask)  # events for no one (a stale direction): stop them
                    continue
                try:
                    self.backend.arm(fd, mask)  # oneshot fired: re-arm for who still waits
                except OSError:
                    del fds[fd]
                    for r in keep:
                        r.fire()  # the fd is gone: its waiters find out by trying

    def wake(self) -> None:
        """From any thread: make the owner's current or next `poll` return."""
        w = self.wakeup
        if w is not None:  # None once closed
            w.set()

    # ----------------------------------------------------------- as a hub's plug-in
    def idle_wait(self, delay: Optional[float]) -> None:
        self.poll(None if delay is None else max(delay, 0.0))

    def hook(self) -> Optional[float]:
        hub = self.hub
        if self.fds and hub is not None and hub.passes - self.last_pass >= POLL_EVERY:
            self.last_pass = hub.passes
            self.poll(0)
        return None

    def close(self) -> None:
        """Close the selector and the wake-up fd (idempotent); only once nobody polls or wakes it."""
        if self.wakeup is not None:
            self.backend.close()
            self.wakeup.close()
            self.wakeup = None  # type: ignore[assignment]

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"<Poller fds={len(self.fds)} waits={self.count()}>"


_lock = threading.Lock()


def hub_poller(hub: Hub) -> Poller:
    """`hub`'s poller, made and plugged into its loop on first use. Only on the hub's thread."""
    p: Optional[Poller] = hub.services.get(Poller)
    if p is None:
        with _lock:
            p = hub.services.get(Poller)
            if p is None:
                p = Poller(hub)
                hub.services[Poller] = p
                hub.set_idle_wait(p.idle_wait, p.wake)
                hub.add_hook(p.hook)
    return p
