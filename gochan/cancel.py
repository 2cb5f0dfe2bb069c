"""`cancel(ch)`: stop a process (go block, `go_fn` call, `thread` body, `aio.spawn`) by its channel.

`Cancelled` is raised inside it at the gochan operation it is parked or
blocked in, or at its next one; the pending operation is withdrawn
atomically (a cancelled take consumes nothing, a cancelled put delivers
nothing, a cancelled alts completes none of its ops). The mechanics live
with the records (`hub.Spawn.cancel`, `procs.ThreadProc.cancel`); this
module holds the public call and `check()`, which every blocking operation
runs while any cancel request is pending (`procs.pending`).

Delivery is once per request, as asyncio's `Task.cancel`: a process that
catches `Cancelled` may go on using channels to clean up (put a last value,
close what it owns) and return.
"""
from __future__ import annotations

from typing import Any

from .channel import Chan
from .suspend import check

__all__ = ["cancel", "check"]


def cancel(ch: Chan[Any]) -> bool:
    """Cancel the process whose result channel is `ch`; True if it was live, False if finished.

    Does not wait for it to end (take from `ch` for that: it closes without
    a value). Harmless to repeat; thread-safe from any hub or thread. Code
    outside gochan's operations (a CPU loop, a blocking library call) is not
    interrupted: the next operation raises.
    """
    if not isinstance(ch, Chan):
        raise TypeError(f"cancel: ch must be a channel returned by go, go_fn, thread or aio.spawn, got {ch!r}")
    proc = ch.proc
    if proc is None:
        raise ValueError(f"cancel: ch must be a channel returned by go, go_fn, thread or aio.spawn, got {ch!r}")
    return bool(proc.cancel())
