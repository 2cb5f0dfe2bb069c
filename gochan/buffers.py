"""Channel buffers: fixed, dropping, sliding and promise.

A buffer only stores values; the channel decides when to call it and holds
the channel lock while it does, so buffers need no locking of their own.
"""
from __future__ import annotations

import sys
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, List

from ._core import cchan

# The storage of the plain buffers: a deque, or in the compiled build the C core's `Ring`
# (gochan/_cchan.c), which the C channel reads and writes without calling methods. Both offer
# `append`, `popleft` and `len`; `Ring(n, "slide")` drops the oldest like `deque(maxlen=n)`,
# `Ring(n, "drop")` drops the newest, `Ring(n, "park")` never drops (the channel parks puts).
_Ring: Any = cchan.Ring if cchan is not None else None

__all__ = ["Buffer", "FixedBuffer", "DroppingBuffer", "SlidingBuffer", "PromiseBuffer",
           "buffer", "dropping_buffer", "sliding_buffer", "is_unblocking_buffer"]


def _check_size(n: object, fname: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{fname}: n must be an int >= 1, got {n!r}")
    if n < 1:
        raise ValueError(f"{fname}: n must be >= 1, got {n}")
    return n


class Buffer:
    """The base of gochan's buffers (`protocols.Buffer`): `q`, `add(v)`, `remove()`, `limit`, `close_buf()`.

    `q` is the storage, a plain `deque` or `list` (never a subclass), or in
    the compiled build the C core's `Ring` for the plain buffers, and
    `len(buf.q)` is the count: the channel reads it so on every operation.
    The channel asks "full?" as `len(buf.q) >= buf.limit` (`limit` is n for a
    fixed buffer and unbounded for the others). `plain` buffers (fixed,
    sliding; dropping too in the compiled build, whose ring drops by itself)
    add and remove exactly as their storage appends and pops from the left,
    and the channel calls those directly: CPython 3.11+ specializes a call to
    a plain deque's method, where a method of a deque subclass (the first
    design) fails the fast path's exact-type check, and a bound method held
    in a slot costs a fifth more than the direct call (measured); the C
    channel reads and writes a ring without calling anything. `q` and `plain`
    never change once the buffer is made. `plain` is a slot, not a
    class attribute: 3.11 cannot specialize a class attribute read on an instance. A
    Python-level `__len__` on every operation cost more than the rest of a
    buffered put. `unblocking` is True when puts never park.
    """

    __slots__ = ("q", "plain")
    unblocking = False
    kind = "fixed"  # what stats() reports
    label = "buffer"  # what repr shows
    limit: int = sys.maxsize
    n: int = 0

    if TYPE_CHECKING:  # provided by each concrete buffer: methods, or its storage's bound C methods
        q: Any
        plain: bool
        add: Callable[[Any], None]
        remove: Callable[[], Any]

    def __len__(self) -> int:
        return len(self.q)

    def is_full(self) -> bool:
        return len(self.q) >= self.limit

    def close_buf(self) -> None:
        """Called once when the channel closes."""

    def describe(self) -> str:
        return f"{self.label}({len(self.q)}/{self.n})"


class FixedBuffer(Buffer):
    """FIFO of at most `n` values; puts park while it is full.

    An expanding transducer may add past `n` (as in core.async); the buffer
    then stays full until takes bring it below `n`.
    """

    __slots__ = ("n", "limit", "add", "remove")

    def __init__(self, n: int, q: Any = None) -> None:
        if q is None:
            q = deque() if _Ring is None else _Ring(n, "park")
        self.q = q
        self.plain = True
        self.add = q.append
        self.remove = q.popleft
        self.n = n
        self.limit = n


class ResultBuffer(Buffer):
    """A fixed buffer of one value, on a list (56 bytes, where a deque takes ~600).

    Every go block has a result channel, and tens of thousands may be alive:
    no bound methods in slots here (48 bytes each), it is not a hot path.
    """

    __slots__ = ()
    n = 1
    limit = 1

    def __init__(self) -> None:
        self.q: List[Any] = []
        self.plain = False

    def add(self, value: Any) -> None:
        self.q.append(value)

    def remove(self) -> Any:
        return self.q.pop()  # one element at most: last is first


class DroppingBuffer(Buffer):
    """Holds at most `n` values; when full, the newest value is dropped (the put still succeeds)."""

    __slots__ = ("n", "remove")
    unblocking = True
    kind = "dropping"
    label = "dropping_buffer"

    def __init__(self, n: int) -> None:
        # Compiled, the ring drops the newest by itself, so the buffer is plain.
        q: Any = deque() if _Ring is None else _Ring(n, "drop")
        self.q = q
        self.plain = _Ring is not None
        self.remove = q.popleft
        self.n = n

    def add(self, value: Any) -> None:
        q = self.q
        if len(q) < self.n:
            q.append(value)


class SlidingBuffer(Buffer):
    """Holds at most `n` values; when full, the oldest value is dropped to make room."""

    __slots__ = ("n", "add", "remove")
    unblocking = True
    kind = "sliding"
    label = "sliding_buffer"

    def __init__(self, n: int) -> None:
        q: Any = deque((), n) if _Ring is None else _Ring(n, "slide")
        self.q = q
        self.plain = True
        self.add = q.append  # maxlen drops the oldest
        self.remove = q.popleft
        self.n = n


class PromiseBuffer(Buffer):
    """Keeps the first value forever: every take sees it, later adds are ignored."""

    __slots__ = ()
    unblocking = True
    kind = label = "promise"
    n = 1

    def __init__(self) -> None:
        self.q: List[Any] = []
        self.plain = False

    def add(self, value: Any) -> None:
        if not self.q:
            self.q.append(value)

    def remove(self) -> Any:
        return self.q[0]

    def describe(self) -> str:
        return "promise(delivered)" if self.q else "promise(empty)"


def buffer(n: int) -> FixedBuffer:
    """A fixed buffer of `n` values: puts park (or block) while it is full."""
    return FixedBuffer(_check_size(n, "buffer"))


def dropping_buffer(n: int) -> DroppingBuffer:
    """A buffer of `n` values that drops the newest value when full; puts never park."""
    return DroppingBuffer(_check_size(n, "dropping_buffer"))


def sliding_buffer(n: int) -> SlidingBuffer:
    """A buffer of `n` values that drops the oldest value when full; puts never park."""
    return SlidingBuffer(_check_size(n, "sliding_buffer"))


def is_unblocking_buffer(buf: object) -> bool:
    """True for dropping, sliding and promise buffers, whose puts never park."""
    if not isinstance(buf, Buffer):
        raise TypeError(f"is_unblocking_buffer: buf must be a buffer, got {buf!r}")
    return buf.unblocking
