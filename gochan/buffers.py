"""Channel buffers: fixed, dropping, sliding and promise.

A buffer only stores values; the channel decides when to call it and holds
the channel lock while it does, so buffers need no locking of their own.
"""
from __future__ import annotations

import sys
from collections import deque
from typing import TYPE_CHECKING, Any

__all__ = ["Buffer", "FixedBuffer", "DroppingBuffer", "SlidingBuffer", "PromiseBuffer",
           "buffer", "dropping_buffer", "sliding_buffer", "is_unblocking_buffer"]


def _check_size(n: object, fname: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{fname}: n must be an int >= 1, got {n!r}")
    if n < 1:
        raise ValueError(f"{fname}: n must be >= 1, got {n}")
    return n


class Buffer:
    """The base of gochan's buffers (`protocols.Buffer`): `add(v)`, `remove()`, `len()`, `limit`, `close_buf()`.

    The channel asks "full?" as `len(buf) >= buf.limit` (`limit` is n for a
    fixed buffer and unbounded for the others). The concrete buffers subclass
    `deque` or `list` so that the hot calls (`len`, `add`, `remove`) run in C:
    a Python-level `__len__` on every operation cost more than the rest of a
    buffered put. `unblocking` is True when puts never park.
    """

    __slots__ = ()
    unblocking = False
    kind = "fixed"  # what stats() reports
    label = "buffer"  # what repr shows
    limit: int = sys.maxsize
    n: int = 0

    if TYPE_CHECKING:  # provided by each concrete buffer, mostly as C methods of deque or list
        def add(self, value: Any) -> None: ...
        def remove(self) -> Any: ...
        def __len__(self) -> int: ...

    def is_full(self) -> bool:
        return len(self) >= self.limit

    def close_buf(self) -> None:
        """Called once when the channel closes."""

    def describe(self) -> str:
        return f"{self.label}({len(self)}/{self.n})"


class FixedBuffer(Buffer, deque[Any]):
    """FIFO of at most `n` values; puts park while it is full.

    An expanding transducer may add past `n` (as in core.async); the buffer
    then stays full until takes bring it below `n`.
    """

    __slots__ = ("n", "limit")
    add = deque.append  # type: ignore[assignment]
    remove = deque.popleft  # type: ignore[assignment]

    def __init__(self, n: int) -> None:
        deque.__init__(self)
        self.n = n
        self.limit = n


class ResultBuffer(Buffer, list[Any]):
    """A fixed buffer of one value, on a list (56 bytes, where a deque takes ~600).

    Every go block has a result channel, and tens of thousands may be alive.
    """

    __slots__ = ()
    n = 1
    limit = 1
    add = list.append  # type: ignore[assignment]
    remove = list.pop  # one element at most: last is first


class DroppingBuffer(Buffer, deque[Any]):
    """Holds at most `n` values; when full, the newest value is dropped (the put still succeeds)."""

    __slots__ = ("n",)
    unblocking = True
    kind = "dropping"
    label = "dropping_buffer"
    remove = deque.popleft  # type: ignore[assignment]

    def __init__(self, n: int) -> None:
        deque.__init__(self)
        self.n = n

    def add(self, value: Any) -> None:
        if len(self) < self.n:
            self.append(value)


class SlidingBuffer(Buffer, deque[Any]):
    """Holds at most `n` values; when full, the oldest value is dropped to make room."""

    __slots__ = ()
    unblocking = True
    kind = "sliding"
    label = "sliding_buffer"
    add = deque.append  # type: ignore[assignment]  # maxlen drops the oldest
    remove = deque.popleft  # type: ignore[assignment]

    def __init__(self, n: int) -> None:
        deque.__init__(self, (), n)

    @property
    def n(self) -> int:  # type: ignore[override]
        return self.maxlen  # type: ignore[return-value]


class PromiseBuffer(Buffer, list[Any]):
    """Keeps the first value forever: every take sees it, later adds are ignored."""

    __slots__ = ()
    unblocking = True
    kind = label = "promise"
    n = 1

    def add(self, value: Any) -> None:
        if not self:
            self.append(value)

    def remove(self) -> Any:  # type: ignore[override]
        return self[0]

    def describe(self) -> str:
        return "promise(delivered)" if self else "promise(empty)"


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
