"""The few interfaces the runtime is written against, named once: waiter, buffer, park reason.

A channel completes an operation now or queues a *waiter* and returns
`PENDING`; the waiter is woken later with the result. A *buffer* stores the
values of a buffered channel. A go block or thread that waits records a
*park reason*: the operation and what it waits on, which `dump()`, the
reaper and shutdown read instead of a frame's locals. (After core.async's
`impl/protocols.clj`: Handler, Buffer; curio's `suspend(reason)`.)
"""
from __future__ import annotations

from typing import Any, Optional, Protocol, Sequence, runtime_checkable

__all__ = ["PENDING", "NOT_READY", "Sentinel", "TAKE", "PUT", "ALTS", "SLEEP", "IO", "AWAIT",
           "CommitFlag", "Waiter", "Port", "Buffer", "Withdrawable"]


class Sentinel:
    """A named marker value (compared by identity)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: A channel operation queued its waiter (or its alts completed elsewhere): the waiter will be woken.
PENDING: Any = Sentinel("PENDING")
#: A non-blocking operation (`offer`, `poll`, a first try) could not complete at once.
NOT_READY: Any = Sentinel("NOT_READY")

#: The operations a go block or thread parks in; recorded as the first half of its park reason.
TAKE = "take"
PUT = "put"
ALTS = "alts"
SLEEP = "sleep"  # a take on a timeout: never reaped, always woken
IO = "io"  # a wait for an fd to be ready (gochan.net's calls): never reaped
AWAIT = "await"  # aio.await_: an awaitable running on an asyncio loop; never reaped


class CommitFlag(Protocol):
    """The shared flag of an alts' registrations (waiters.Flag): exactly one commits."""

    active: bool

    def commit(self) -> bool: ...


class Waiter(Protocol):
    """A pending take or put: who is woken when a channel completes it.

    `flag` is None for a plain operation, or the alts' `CommitFlag`, which
    the channel commits (under its lock) before completing the operation.
    `wake(result)` runs after the channel lock is released, exactly once.
    """

    @property
    def flag(self) -> Optional[CommitFlag]: ...

    def wake(self, value: Any) -> None: ...


class Withdrawable(Protocol):
    """What a parked operation waits on, as recorded in its park reason.

    A channel (plain take or put) or an alts' flag: `withdraw(waiter)` takes
    the operation back if it has not completed (True), so an interrupted,
    reaped or shut-down process never receives or delivers a value after it
    has moved on. `ports()` lists every channel or port it waits on.
    """

    def withdraw(self, waiter: Any) -> bool: ...

    def ports(self) -> Sequence[Any]: ...


class Port(Protocol):
    """What `take` and `alts` can wait on: a channel (a timeout is a channel), or a readiness
    port of the I/O poller (readiness.py).

    `take_with(waiter)` completes now (the value) or queues `waiter` and
    returns PENDING; with `blockable=False` it returns NOT_READY instead of
    queueing. `withdraw` takes a queued waiter back. `takeable_hint()` is an
    unlocked, possibly stale "something to take" that alts uses to skip
    plainly empty ports. A port may have a `park_op` attribute: the
    operation `take` records while parked on it (default TAKE; readiness
    ports say IO, which the reaper leaves alone).
    """

    def take_with(self, waiter: Waiter, blockable: bool = True) -> Any: ...

    def withdraw(self, waiter: Waiter) -> bool: ...

    def takeable_hint(self) -> bool: ...


@runtime_checkable
class Buffer(Protocol):
    """A channel's storage, always used under the channel's lock.

    `q` is its storage (a deque or list: `len(buf.q)` is the count, read on
    every operation); full means `len(buf.q) >= buf.limit`; `kind` is what
    `stats()` reports ("fixed", "dropping", "sliding", "promise"), `n` the capacity.
    """

    q: Any
    kind: str
    limit: int
    n: int
    unblocking: bool

    def add(self, value: Any) -> None: ...

    def remove(self) -> Any: ...

    def close_buf(self) -> None: ...

    def __len__(self) -> int: ...

