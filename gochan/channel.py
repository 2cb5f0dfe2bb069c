"""The channel: a buffer (or none), FIFO queues of pending takers and putters, and one lock.

Operations are written against waiters (`protocols.Waiter`): `put_with` and
`take_with` either complete at once and return the result, or enqueue the
waiter and return `PENDING`; the waiter is woken later with the result. The
channel never switches greenlets or blocks: waiting is suspend.py's job. All channel
state changes under the channel's lock; waiters are woken after it is
released, so a woken go block, thread or callback never runs under it. Only
one channel lock is ever held at a time.

The semantics are core.async's (its channels.clj): close lets takers drain the buffer and the values of puts that
were already pending; an xform runs under the lock on the putting side and a
`reduced` result closes the channel; takers and putters are served first
come, first served. Differences: stale alts registrations are skipped as they
are met instead of scanning every queue on every operation, an xform's
completion runs once (core.async may run it on every take after close), and
an alts never completes its own put with its own take.

This file is the whole channel in the pure-Python build and the reference in
the compiled one: gochan/_cchan.c then holds the state as C members and runs
the common cases of `put_with`/`take_with` (and ops.py's `take`/`put` for go
blocks) in C, calling the methods here for everything else. One behaviour,
two implementations: the suite runs on both (`make test`, `GOCHAN_PURE=1`).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Generic, Iterator, List, Optional, Tuple, TypeVar

from ._core import cchan as _cchan
from ._core import compiled
from .buffers import Buffer, FixedBuffer, PromiseBuffer, ResultBuffer
from .errors import MAX_PENDING, TooManyPendingError, apply_ex_handler, none_put_error
from .protocols import NOT_READY, PENDING, PUT, TAKE, Sentinel, Waiter
from .suspend import suspend
from .waiters import NONBLOCKING, OK, OTHER_DEAD, SELF_DEAD, commit_pair
from .xf import Reduced as _Reduced

__all__ = ["Chan", "ChanStats", "chan", "promise_chan", "result_chan", "stats", "compiled"]

# The optional C core (gochan/_cchan.c, chosen in _core.py): when it runs, `Chan` derives from
# its `ChanBase`, which holds the channel's state as C fields and runs the common cases of
# `put_with`/`take_with` in C, calling this file's methods (the reference) for the rest; plain
# buffers then keep their values in its `Ring` (buffers.py). Without it, this file is the whole
# channel. `compiled` says which is running.

_new_lock: Callable[[], Any] = _cchan.Lock if compiled else threading.Lock


class _PureBase:
    __slots__ = ()


_ChanBase: Any = _cchan.ChanBase if compiled else _PureBase
#: The channel's state: C members of `ChanBase` when compiled, else slots of `Chan`.
_STATE = ("_lock", "_buf", "_takes", "_puts", "_closed", "_rf")

T = TypeVar("T")

_EMPTY: Any = Sentinel("EMPTY")


def _base_rf(acc: Any = _EMPTY, x: Any = _EMPTY) -> Any:
    """The reducing function at the bottom of a channel's xform: add to the buffer."""
    if x is _EMPTY:
        return acc  # completion (and init, which channels never call)
    acc.add(x)
    return acc


def _pair_from(queue: List[Any], own: Any, puts: bool) -> Any:
    """Remove and return the first queued entry whose waiter pairs with flag `own` (under the lock).

    The slow path of a hand-off, when an alts is on either side: dead alts
    registrations met on the way are dropped, our own alts' entries skipped.
    Returns the entry (a waiter, or a `(waiter, value)` pair if `puts`), None
    if nothing can pair, or PENDING if our own alts completed elsewhere.
    """
    i = 0
    while i < len(queue):
        entry = queue[i]
        flag = entry[0].flag if puts else entry.flag
        r = OK if own is None and flag is None else commit_pair(own, flag)
        if r == OK:
            del queue[i]
            return entry
        if r == OTHER_DEAD:
            del queue[i]
        elif r == SELF_DEAD:
            return PENDING
        else:  # SAME: our own alts' other registration; look past it
            i += 1
    return None


class _Xform:
    """A channel's transducer: the reducing function over its buffer, the ex_handler, done-ness."""

    __slots__ = ("rf", "ex_handler", "completed")

    def __init__(self, rf: Callable[..., Any], ex_handler: Optional[Callable[[BaseException], Any]]) -> None:
        self.rf = rf
        self.ex_handler = ex_handler
        self.completed = False


class Chan(_ChanBase, Generic[T]):  # type: ignore[misc]
    """A core.async channel. Create one with `chan()` or `promise_chan()`.

    Besides the module functions (`put`, `take`, `close`, ...) it offers
    `c.put(v)`, `c.take()`, `c.close()`, `c.closed`, iteration (takes until
    closed and drained) and `with chan(1) as c:` (closes on exit).
    """

    # No __weakref__: 8 bytes on every channel (every go block has one), and
    # channels, like deques, need no weak references.
    __slots__ = ("name", "proc") + (() if compiled else _STATE)

    def __init__(self, buf: Optional[Buffer] = None, xform: Optional[Callable[..., Any]] = None,
                 ex_handler: Optional[Callable[[BaseException], Any]] = None,
                 name: Optional[str] = None) -> None:
        self.name = name
        #: The process whose result channel this is (go, thread, aio.spawn), for `cancel(ch)`; else None.
        #: Any object with `cancel() -> bool` (True if the process was still live).
        self.proc: Any = None
        self._lock = _new_lock()
        self._buf = buf
        # FIFO queues of pending waiters, created on first enqueue. Lists, not
        # deques: an empty deque costs ~600 bytes and most channels hold one
        # waiter or none; at most 1024 entries keep pop(0) cheap.
        self._takes: Optional[List[Any]] = None
        self._puts: Optional[List[Tuple[Any, Any]]] = None
        self._closed = False
        # The xform's state, None without one (most channels: two slots fewer
        # on every channel, and every go block has one).
        self._rf: Optional[_Xform] = _Xform(xform(_base_rf), ex_handler) if xform is not None else None

    # ------------------------------------------------------------------ put
    def put_with(self, waiter: Waiter, val: Any, blockable: bool = True) -> Any:
        """Put `val` for `waiter`: True/False when done now, else PENDING (queued; or NOT_READY
        when not `blockable`). `waiter` is a `protocols.Waiter`, or `NONBLOCKING` for a try."""
        wakes = None
        match = None
        lock = self._lock
        lock.acquire()
        try:
            if self._closed:
                f = waiter.flag
                if f is not None and not f.commit():
                    return PENDING
                return False
            buf = self._buf
            if buf is not None:
                q = buf.q
                if len(q) >= buf.limit:
                    return self._enqueue_put(val, waiter, blockable)
                f = waiter.flag
                if f is not None and not f.commit():
                    return PENDING
                done = False
                if self._rf is not None:
                    done = self._add(buf, val)
                elif buf.plain:
                    q.append(val)  # the storage's own method: see buffers.Buffer.plain
                else:
                    buf.add(val)
                takes = self._takes
                if takes and len(q):
                    wakes = []
                    i = 0
                    n = len(takes)
                    while i < n and len(q):
                        t = takes[i]
                        i += 1
                        tf = t.flag
                        if tf is None or tf.commit():
                            wakes.append((t, buf.remove()))
                    del takes[:i]
                if done:
                    wakes = self._abort(wakes)
            else:
                takes = self._takes
                if not takes:
                    puts = self._puts
                    if blockable and waiter.flag is None and puts is not None and len(puts) < MAX_PENDING:
                        puts.append((waiter, val))  # the common park: inline for speed
                        return PENDING
                    return self._enqueue_put(val, waiter, blockable)
                own = waiter.flag
                t = takes[0]
                if own is None and t.flag is None:  # the common rendezvous: no alts involved
                    del takes[0]
                    match = t
                else:
                    match = _pair_from(takes, own, False)
                    if match is PENDING:
                        return PENDING
                    if match is None:
                        return self._enqueue_put(val, waiter, blockable)
        finally:
            lock.release()
        if match is not None:
            match.wake(val)
        elif wakes:
            for t, v in wakes:
                t.wake(v)
        return True

    def withdraw(self, waiter: Waiter) -> bool:
        """Remove `waiter`'s pending take or put if it is still queued: True if it was.

        For a thread interrupted while blocked (`ThreadWaiter.withdraw`), a go
        block being reaped or shut down: once removed, the operation can no
        longer complete. False means it has completed or is completing (its
        wake is on its way), or was never queued here.
        """
        lock = self._lock
        lock.acquire()
        try:
            takes = self._takes
            if takes:
                for i, t in enumerate(takes):
                    if t is waiter:
                        del takes[i]
                        return True
            puts = self._puts
            if puts:
                for i, p in enumerate(puts):
                    if p[0] is waiter:
                        del puts[i]
                        return True
            return False
        finally:
            lock.release()

    def _enqueue_put(self, val: Any, waiter: Waiter, blockable: bool) -> Any:
        # under the lock
        if not blockable:
            return NOT_READY
        f = waiter.flag
        if f is not None and not f.active:
            return PENDING  # our alts already completed elsewhere: do not register
        puts = self._puts
        if puts is None:
            puts = self._puts = []
        elif len(puts) >= MAX_PENDING:
            self._puts = puts = [p for p in puts if p[0].flag is None or p[0].flag.active]
            if len(puts) >= MAX_PENDING:
                raise TooManyPendingError(
                    f"No more than {MAX_PENDING} pending puts are allowed on a single channel. "
                    f"Consider using a windowed buffer. ({self!r})")
        puts.append((waiter, val))
        return PENDING

    # ----------------------------------------------------------------- take
    def take_with(self, waiter: Waiter, blockable: bool = True) -> Any:
        """Take for `waiter`: the value (None if closed) when done now, else PENDING (or NOT_READY)."""
        wakes = None
        match = None
        lock = self._lock
        lock.acquire()
        try:
            buf = self._buf
            if buf is not None:
                q = buf.q
                if not len(q):
                    if self._closed and self._rf is not None and not self._puts:
                        self._complete(buf)
                    if not len(q):
                        return self._take_empty(waiter, blockable)
                f = waiter.flag
                if f is not None and not f.commit():
                    return PENDING
                val = q.popleft() if buf.plain else buf.remove()
                puts = self._puts
                if puts and len(q) < buf.limit:
                    wakes = []
                    done = False
                    i = 0
                    n = len(puts)
                    while i < n and len(q) < buf.limit:
                        p, pv = puts[i]
                        i += 1
                        pf = p.flag
                        if pf is None or pf.commit():
                            wakes.append(p)
                            if (self._add(buf, pv, False) if self._rf is not None
                                    else buf.add(pv)):  # type: ignore[func-returns-value]
                                done = True
                                break
                    del puts[:i]
                    if done:
                        wakes = [(p, True) for p in wakes]
                        wakes = self._abort(wakes)
                        val_wakes = wakes
                    else:
                        val_wakes = None
                else:
                    return val
            else:
                puts = self._puts
                if not puts:
                    takes = self._takes
                    if (blockable and not self._closed and waiter.flag is None and takes is not None
                            and len(takes) < MAX_PENDING):
                        takes.append(waiter)  # the common park: inline for speed
                        return PENDING
                    return self._take_empty(waiter, blockable)
                own = waiter.flag
                p, pv = puts[0]
                if own is None and p.flag is None:  # the common rendezvous: no alts involved
                    del puts[0]
                    match = p
                else:
                    entry = _pair_from(puts, own, True)
                    if entry is PENDING:
                        return PENDING
                    if entry is None:
                        return self._take_empty(waiter, blockable)
                    match, pv = entry
        finally:
            lock.release()
        if match is not None:
            match.wake(True)
            return pv
        if val_wakes is not None:
            for w, v in val_wakes:
                w.wake(v)
        else:
            for p in wakes:
                p.wake(True)
        return val

    def _take_empty(self, waiter: Waiter, blockable: bool) -> Any:
        # under the lock; nothing to take right now
        if self._closed:
            f = waiter.flag
            if f is not None and not f.commit():
                return PENDING
            return None
        if not blockable:
            return NOT_READY
        f = waiter.flag
        if f is not None and not f.active:
            return PENDING
        takes = self._takes
        if takes is None:
            takes = self._takes = []
        elif len(takes) >= MAX_PENDING:
            self._takes = takes = [t for t in takes if t.flag is None or t.flag.active]
            if len(takes) >= MAX_PENDING:
                raise TooManyPendingError(
                    f"No more than {MAX_PENDING} pending takes are allowed on a single channel. ({self!r})")
        takes.append(waiter)
        return PENDING

    # ---------------------------------------------------------------- close
    def close(self) -> None:
        """Close the channel (idempotent). Buffered values and pending puts are still delivered."""
        lock = self._lock
        lock.acquire()
        try:
            if self._closed:
                return
            wakes = self._close_locked([])
        finally:
            lock.release()
        for w, v in wakes:
            w.wake(v)

    def _close_locked(self, wakes: List[Tuple[Any, Any]]) -> List[Tuple[Any, Any]]:
        self._closed = True
        buf = self._buf
        if buf is not None and self._rf is not None and not self._puts:
            self._complete(buf)
        takes = self._takes
        if takes:
            self._takes = None
            for t in takes:
                tf = t.flag
                if tf is None or tf.commit():
                    wakes.append((t, buf.remove() if buf is not None and len(buf.q) else None))
        if buf is not None:
            buf.close_buf()
        return wakes

    def _abort(self, wakes: Optional[List[Tuple[Any, Any]]]) -> List[Tuple[Any, Any]]:
        """An xform returned reduced: release pending putters with True (values dropped), then close."""
        wakes = wakes if wakes is not None else []
        puts = self._puts
        if puts:
            self._puts = None
            for p, _ in puts:
                pf = p.flag
                if pf is None or pf.commit():
                    wakes.append((p, True))
        if not self._closed:
            self._close_locked(wakes)
        return wakes

    # ---------------------------------------------------------------- xform
    def _add(self, buf: Buffer, val: Any, propagate: bool = True) -> bool:
        """Run the xform step under the lock; True if it returned reduced.

        `propagate`: an exception raised by the ex_handler itself reaches the
        caller (as in core.async, where the putter sees it). Only a put's own
        step propagates; a take admitting a pending put, or a close running
        completion, reports it instead, so that taker, putter and the values
        already moved are never abandoned half way.
        """
        try:
            r = self._rf.rf(buf, val)  # type: ignore[union-attr]
        except Exception as exc:
            self._handle(exc, buf, propagate)
            return False
        return r.__class__ is _Reduced

    def _complete(self, buf: Buffer) -> None:
        xf = self._rf
        if xf.completed:  # type: ignore[union-attr]
            return
        xf.completed = True  # type: ignore[union-attr]
        try:
            xf.rf(buf)  # type: ignore[union-attr]
        except Exception as exc:
            self._handle(exc, buf, False)

    def _handle(self, exc: Exception, buf: Buffer, propagate: bool) -> None:
        apply_ex_handler(exc, self._rf.ex_handler, buf.add, propagate)  # type: ignore[union-attr]

    # ------------------------------------------------------------- go result
    def deliver_result(self, result: Any) -> None:
        """A go block's or thread's end: offer its result, then close; one lock for both.

        The channel is the go block's own one-slot result channel: a waiting
        taker gets the result directly, else it waits in the buffer.
        """
        lock = self._lock
        lock.acquire()
        try:
            if self._closed:
                return
            wakes: List[Tuple[Any, Any]] = []
            if result is not None:
                takes = self._takes
                while takes:
                    t = takes.pop(0)
                    if t.flag is None or t.flag.commit():
                        wakes.append((t, result))
                        result = None
                        break
                buf = self._buf
                if result is not None and len(buf.q) < buf.limit:  # type: ignore[union-attr]
                    buf.add(result)  # type: ignore[union-attr]
            self._close_locked(wakes)
        finally:
            lock.release()
        for w, v in wakes:
            w.wake(v)

    # ----------------------------------------------------------- conveniences
    @property
    def closed(self) -> bool:
        """True once `close()` was called (values may still be waiting to be taken)."""
        return self._closed

    def after_fork(self, dead: Callable[[Any], bool]) -> None:
        """In a fork child (runtime.py): a fresh lock, and drop the pending ops whose waiter is `dead`."""
        self._lock = _new_lock()
        if self._takes:
            self._takes = [w for w in self._takes if not dead(w)]
        if self._puts:
            self._puts = [p for p in self._puts if not dead(p[0])]

    def ports(self) -> List[Any]:
        """What a go block parked on this channel waits on (`protocols.Withdrawable`)."""
        return [self]

    def takeable_hint(self) -> bool:
        """An unlocked look: False if nothing could be taken at the moment it looked.

        A hint only (it may be stale at once); alts uses it to skip locking
        channels that are plainly empty before it registers on every port.
        """
        buf = self._buf
        return self._closed or bool(self._puts) or (buf is not None and len(buf.q) > 0)

    def put(self, value: T) -> bool:
        """`put(self, value)`: park or block until accepted; False if closed."""
        if value is None:
            raise none_put_error("put")
        r = self.put_with(NONBLOCKING, value, False)
        return suspend(PUT, self, self.put_with, value) if r is NOT_READY else r  # type: ignore[no-any-return]

    def take(self) -> Optional[T]:
        """`take(self)`: park or block until a value, or None once closed and drained."""
        r = self.take_with(NONBLOCKING, False)
        return suspend(TAKE, self, self.take_with) if r is NOT_READY else r  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[T]:
        while True:
            v = self.take()
            if v is None:
                return
            yield v

    def __aiter__(self) -> "AsyncIterator[T]":
        """`async for v in c:` in a coroutine on any asyncio loop: takes until closed and drained."""
        from .aiowait import ChanIterator  # asyncio is imported only by code that uses it

        return ChanIterator(self)

    def stats(self) -> "ChanStats":
        """A consistent snapshot of this channel (see `stats`)."""
        lock = self._lock
        lock.acquire()
        try:
            buf = self._buf
            puts = sum(1 for w, _ in (self._puts or ()) if w.flag is None or w.flag.active)
            takes = sum(1 for w in (self._takes or ()) if w.flag is None or w.flag.active)
            if buf is None:
                kind, count, capacity = "unbuffered", 0, 0
            else:
                kind, count, capacity = buf.kind, len(buf.q), buf.n
            return ChanStats(self.name, kind, count, capacity, puts, takes, self._closed)
        finally:
            lock.release()

    def __enter__(self) -> "Chan[T]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        buf = self._buf
        kind = "unbuffered" if buf is None else buf.describe()
        if self._rf is not None:
            kind += "+xform"
        try:  # no lock (repr may be called under it); a concurrent change may disturb the count
            puts = sum(1 for w, _ in list(self._puts or ()) if w.flag is None or w.flag.active)
            takes = sum(1 for w in list(self._takes or ()) if w.flag is None or w.flag.active)
        except RuntimeError:
            puts, takes = len(self._puts or ()), len(self._takes or ())
        name = f" {self.name!r}" if self.name is not None else ""
        return f"<Chan{name} 0x{id(self):x} {kind} puts={puts} takes={takes} {'closed' if self._closed else 'open'}>"


#: The reference put_with/take_with (the Python methods above), whichever build runs: the
#: compiled ones call them for every case they leave; tests compare the two.
_py_put_with, _py_take_with = Chan.put_with, Chan.take_with
if compiled:
    # The compiled put_with/take_with take the common cases and call these for the rest.
    _cchan.configure_channel(Chan.put_with, Chan.take_with, Chan, PENDING, NOT_READY, Buffer)
    Chan.put_with = _ChanBase.put_with  # type: ignore[method-assign]
    Chan.take_with = _ChanBase.take_with  # type: ignore[method-assign]


def chan(buf: Any = None, xform: Optional[Callable[..., Any]] = None,
         ex_handler: Optional[Callable[[BaseException], Any]] = None, name: Optional[str] = None) -> Chan[Any]:
    """A new channel.

    `buf` is None or 0 (unbuffered: put and take rendezvous), an int n > 0 (a
    fixed buffer of n), or a buffer object (`buffer`, `dropping_buffer`,
    `sliding_buffer`). `xform` is a transducer from `gochan.xf` applied to
    every value put (it needs a buffer); `ex_handler(exc)` receives its
    exceptions and a non-None result is added to the buffer. `name` is shown
    by `repr`, `stats` and `dump`.

    >>> c = chan(2); put(c, 1); take(c)
    1
    """
    if buf is None or (buf.__class__ is int and buf == 0):
        b: Optional[Buffer] = None
    elif isinstance(buf, Buffer):
        b = buf
    elif isinstance(buf, int) and not isinstance(buf, bool):
        if buf < 0:
            raise ValueError(f"chan: buf must be None, 0, an int > 0 or a buffer, got {buf}")
        b = FixedBuffer(buf)
    else:
        raise TypeError(f"chan: buf must be None, an int or a buffer, got {buf!r}")
    if xform is not None:
        if not callable(xform):
            raise TypeError(f"chan: xform must be a transducer (callable), got {xform!r}")
        if b is None:
            raise ValueError("chan: a buffer must be supplied when xform is (buf is None or 0)")
    if ex_handler is not None and not callable(ex_handler):
        raise TypeError(f"chan: ex_handler must be callable, got {ex_handler!r}")
    _check_name("chan", name)
    return Chan(b, xform, ex_handler, name)


def _check_name(fname: str, name: Any) -> None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"{fname}: name must be a str or None, got {name!r}")


def promise_chan(xform: Optional[Callable[..., Any]] = None,
                 ex_handler: Optional[Callable[[BaseException], Any]] = None,
                 name: Optional[str] = None) -> Chan[Any]:
    """A channel that delivers its first value to every taker, present and future.

    Later puts return True and are dropped; close before a value delivers None
    to all takers; puts after close return False.
    """
    if xform is not None and not callable(xform):
        raise TypeError(f"promise_chan: xform must be a transducer (callable), got {xform!r}")
    if ex_handler is not None and not callable(ex_handler):
        raise TypeError(f"promise_chan: ex_handler must be callable, got {ex_handler!r}")
    _check_name("promise_chan", name)
    return Chan(PromiseBuffer(), xform, ex_handler, name)


def result_chan(proc: Any = None) -> Chan[Any]:
    """The channel of a process (go block, thread, aio.spawn): one slot, receives the return value,
    then closes. `proc` (anything with `cancel() -> bool`) is what `cancel(ch)` calls."""
    ch: Chan[Any] = Chan(ResultBuffer())
    ch.proc = proc
    return ch


@dataclass(frozen=True)
class ChanStats:
    """A snapshot of a channel (core.async 1.9's `datafy`): read facts here, never `repr`.

    `buffer` is "unbuffered", "fixed", "dropping", "sliding" or "promise";
    `pending_puts`/`pending_takes` count live pending operations (not the
    registrations of an alts that completed elsewhere).
    """

    name: Optional[str]
    buffer: str
    count: int
    capacity: int
    pending_puts: int
    pending_takes: int
    closed: bool


def stats(c: Chan[Any]) -> ChanStats:
    """A frozen snapshot of channel `c`: name, buffer kind, count, capacity, pending ops, closed."""
    if not isinstance(c, Chan):
        raise TypeError(f"stats: c must be a Chan, got {c!r}")
    return c.stats()
