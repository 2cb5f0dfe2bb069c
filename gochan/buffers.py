"""Channel buffers: fixed, dropping, sliding and promise.

A buffer only stores values; the channel decides when to call it and holds
the channel lock while it does, so buffers need no locking of their own.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Deque

__all__ = ["Buffer", "FixedBuffer", "DroppingBuffer", "SlidingBuffer", "PromiseBuffer",
           "buffer", "dropping_buffer", "sliding_buffer", "is_unblocking_buffer"]


def _check_size(n: object, fname: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{fname}: n must be an int >= 1, got {n!r}")
    if n < 1:
        raise ValueError(f"{fname}: n must be >= 1, got {n}")
    return n


class Buffer:
    """Base of every buffer: `add`, `remove`, `__len__`, `is_full`, `close_buf`.

    `unblocking` is True when puts never park (the buffer is never full).
    """

    __slots__ = ()
    unblocking = False
    kind = "buffer"

    def is_full(self) -> bool:
        raise NotImplementedError

    def add(self, value: Any) -> None:
        raise NotImplementedError

    def remove(self) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def close_buf(self) -> None:
        """Called once when the channel closes."""

    def describe(self) -> str:
        return f"{self.kind}({len(self)}/{getattr(self, 'n', '?')})"


class FixedBuffer(Buffer):
    """FIFO of at most `n` values; puts park while it is full.

    An expanding transducer may add past `n` (as in core.async); the buffer
    then stays full until takes bring it below `n`.
    """

    __slots__ = ("n", "_q")
    kind = "buffer"

    def __init__(self, n: int) -> None:
        self.n = n
        self._q: Deque[Any] = deque()

    def is_full(self) -> bool:
        return len(self._q) >= self.n

    def add(self, value: Any) -> None:
        self._q.append(value)

    def remove(self) -> Any:
        return self._q.popleft()

    def __len__(self) -> int:
        return len(self._q)


class ResultBuffer(Buffer):
    """A fixed buffer of one slot, without a deque: the buffer of every go block's channel.

    Tens of thousands of go blocks may be alive at once, so their result
    channels are kept small.
    """

    __slots__ = ("_v", "_has")
    kind = "buffer"
    n = 1

    def __init__(self) -> None:
        self._v: Any = None
        self._has = False

    def is_full(self) -> bool:
        return self._has

    def add(self, value: Any) -> None:
        if self._has:  # only an expanding transducer could do this; the result channel has none
            raise RuntimeError("result buffer overfilled")
        self._v = value
        self._has = True

    def remove(self) -> Any:
        v = self._v
        self._v = None
        self._has = False
        return v

    def __len__(self) -> int:
        return 1 if self._has else 0


class DroppingBuffer(Buffer):
    """Holds at most `n` values; when full, the newest value is dropped (the put still succeeds)."""

    __slots__ = ("n", "_q")
    unblocking = True
    kind = "dropping_buffer"

    def __init__(self, n: int) -> None:
        self.n = n
        self._q: Deque[Any] = deque()

    def is_full(self) -> bool:
        return False

    def add(self, value: Any) -> None:
        if len(self._q) < self.n:
            self._q.append(value)

    def remove(self) -> Any:
        return self._q.popleft()

    def __len__(self) -> int:
        return len(self._q)


class SlidingBuffer(Buffer):
    """Holds at most `n` values; when full, the oldest value is dropped to make room."""

    __slots__ = ("n", "_q")
    unblocking = True
    kind = "sliding_buffer"

    def __init__(self, n: int) -> None:
        self.n = n
        self._q: Deque[Any] = deque(maxlen=n)

    def is_full(self) -> bool:
        return False

    def add(self, value: Any) -> None:
        self._q.append(value)  # maxlen drops the oldest

    def remove(self) -> Any:
        return self._q.popleft()

    def __len__(self) -> int:
        return len(self._q)


_UNDELIVERED = object()


class PromiseBuffer(Buffer):
    """Keeps the first value forever: every take sees it, later adds are ignored."""

    __slots__ = ("_v",)
    unblocking = True
    kind = "promise"
    n = 1

    def __init__(self) -> None:
        self._v: Any = _UNDELIVERED

    def is_full(self) -> bool:
        return False

    def add(self, value: Any) -> None:
        if self._v is _UNDELIVERED:
            self._v = value

    def remove(self) -> Any:
        return self._v

    def __len__(self) -> int:
        return 0 if self._v is _UNDELIVERED else 1

    def describe(self) -> str:
        return "promise(delivered)" if len(self) else "promise(empty)"


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
