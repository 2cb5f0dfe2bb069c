"""Mult: one source channel copied to every tap, core.async's broadcast.

A go block takes each value from the source and offers it to all current
taps at once (one `put_async` per tap), then waits until every tap has
accepted before taking the next value (ASYNC-127). So a slow tap holds back
every tap and the source; give taps buffers (or sliding/dropping buffers) to
decouple them. With no taps a value is dropped; a tap found closed is
removed. When the source closes, the taps added with `close=True` are
closed and the go block ends.

Rejected: putting to the taps one after another from the go block (a slow
first tap would delay the value for all the others, not only the next
value); a go block per tap (n times the parking, and the "all accepted
before the next value" rule would need a barrier anyway).
"""
from __future__ import annotations

import threading
from typing import Any, Dict, Generic, List, Tuple, TypeVar

from .channel import Chan, chan
from .errors import TooManyPendingError, report_exception
from .ops import put_async, take
from .process import go

__all__ = ["Mult", "mult", "tap", "untap", "untap_all"]

T = TypeVar("T")


class Mult(Generic[T]):
    """A mult(iple) of a source channel; create one with `mult(ch)`, add taps with `tap`."""

    __slots__ = ("_source", "_taps", "_lock", "_done")

    def __init__(self, source: Chan[T]) -> None:
        self._source = source
        self._taps: Dict[Chan[T], bool] = {}  # tap -> close it when the source closes?
        self._lock = threading.Lock()
        self._done = False

    @property
    def source(self) -> Chan[T]:
        """The channel this mult copies from."""
        return self._source

    def _tap(self, ch: Chan[T], close: bool) -> None:
        with self._lock:
            done = self._done
            if not done:
                self._taps[ch] = close
        if done and close:
            ch.close()  # the source already closed: the tap would never get anything

    def _untap(self, ch: Chan[T]) -> None:
        with self._lock:
            self._taps.pop(ch, None)

    def _untap_all(self) -> None:
        with self._lock:
            self._taps.clear()

    def _snapshot(self) -> List[Chan[T]]:
        with self._lock:
            return list(self._taps)

    def _finish(self) -> List[Tuple[Chan[T], bool]]:
        with self._lock:
            self._done = True
            return list(self._taps.items())

    def __repr__(self) -> str:
        with self._lock:
            n = len(self._taps)
        state = "done" if self._done else "running"
        return f"<Mult 0x{id(self):x} of {self._source!r} taps={n} {state}>"


class _Countdown:
    """Puts True on `done` when `arrive` has been called `n` times (from any threads)."""

    __slots__ = ("lock", "left", "done")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.left = 0
        self.done: Chan[Any] = chan(1)

    def arrive(self, _ok: Any = None) -> None:
        with self.lock:
            self.left -= 1
            last = self.left == 0
        if last:
            put_async(self.done, True)


def _mult_loop(m: Mult[Any]) -> None:
    src = m._source
    count = _Countdown()
    arrive = count.arrive
    try:
        while True:
            v = take(src)
            if v is None:
                return
            taps = m._snapshot()
            if not taps:
                continue  # no taps: the value is dropped (ASYNC-41)
            count.left = len(taps)
            for c in taps:
                try:
                    ok = put_async(c, v, arrive)  # a closed tap calls arrive(False) at once
                except TooManyPendingError as exc:
                    report_exception(exc)  # this tap misses the value; the others don't wait on it
                    arrive()
                    continue
                if not ok:
                    m._untap(c)
            take(count.done)  # every tap has accepted
    finally:
        for c, close in m._finish():
            if close:
                c.close()


def mult(ch: Chan[T]) -> Mult[T]:
    """A mult of `ch`: every value of `ch` goes to every current tap (see `tap`).

    Each value is offered to all taps at once, and the next is taken only
    when every tap has accepted: a slow tap holds back every tap (give taps
    buffers to decouple them). With no taps, values are dropped. A tap found
    closed is removed. When `ch` closes, taps added with `close=True` are
    closed.

    >>> m = mult(src)
    >>> a, b = tap(m, chan(4)), tap(m, chan(4))
    >>> put(src, 1); take(a), take(b)
    (1, 1)
    """
    if not isinstance(ch, Chan):
        raise TypeError(f"mult: ch must be a Chan, got {ch!r}")
    m: Mult[T] = Mult(ch)
    go(_mult_loop, m)
    return m


def _check_mult(fname: str, m: Any) -> None:
    if not isinstance(m, Mult):
        raise TypeError(f"{fname}: m must be a Mult (from mult()), got {m!r}")


def tap(m: Mult[T], ch: Chan[T], close: bool = True) -> Chan[T]:
    """Copy the values of mult `m` onto `ch` from the next value on; returns `ch`.

    `ch` is closed when the source closes, unless `close` is false (tapping
    a mult whose source has already closed closes `ch` at once).

    >>> a = tap(m, chan(10))
    """
    _check_mult("tap", m)
    if not isinstance(ch, Chan):
        raise TypeError(f"tap: ch must be a Chan, got {ch!r}")
    m._tap(ch, bool(close))
    return ch


def untap(m: Mult[T], ch: Chan[T]) -> None:
    """Disconnect `ch` from mult `m` (a value already offered to it is still delivered).

    >>> untap(m, a)
    """
    _check_mult("untap", m)
    if not isinstance(ch, Chan):
        raise TypeError(f"untap: ch must be a Chan, got {ch!r}")
    m._untap(ch)


def untap_all(m: Mult[Any]) -> None:
    """Disconnect every tap of mult `m`; its values are then dropped until a new tap.

    >>> untap_all(m)
    """
    _check_mult("untap_all", m)
    m._untap_all()
