"""Reaping go blocks parked on channels that nobody else can reach.

core.async lets the JVM collect a go block parked on an unreachable channel.
CPython cannot do that for a greenlet: greenlet does not show a suspended
greenlet's frames to the cycle collector, so the cycle "channel -> its
pending queue -> the parked go block -> the go block's frames -> channel"
is never freed, and a `finally` in the go block never runs.

So after full collections (a `gc.callbacks` hook on generation 2) each hub
sweeps its own go blocks, on its own thread, while they are suspended: for
every channel on which go blocks of this hub have stayed parked in a plain
`take` or `put` since the previous sweep, it counts the references to the
channel that those go blocks' frames hold. If they account for every
reference to the channel, no one else can ever complete those operations:
the hub removes the waiters and throws `GreenletExit` into each go block,
whose `finally` blocks run and whose result channel closes, as with a
greenlet freed by reference counting.

The test is conservative: a reference it cannot attribute (a closure cell,
an argument tuple such as `go(take, c)`'s, a value on a frame's evaluation
stack, a go block on another hub, another thread) keeps
the go blocks alive. Go blocks parked in `alts` are not reaped.
Cost: two slot stores per park; O(heap) per hub per full collection, spaced
to about 5% of a hub's time at most (SWEEP_DUTY).
"""
from __future__ import annotations

import gc
import sys
import time
from typing import Any, Dict, List, Optional

from greenlet import GreenletExit

from .channel import Chan
from .errors import report_exception
from .hub import GoTask, Hub
from .hub import _hubs as _hub_list_ref


def _hub_list() -> List[Hub]:
    return list(_hub_list_ref)  # never starts hubs: this may run inside an allocation

__all__ = ["install", "sweep", "request_sweep"]

_installed = False


def _on_gc(phase: str, info: Dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        request_sweep()


#: Sweeps run when the hub has nothing runnable, so reaping never delays
#: work; a hub that stays busy sweeps anyway once a request is MAX_DEFER
#: seconds old. Sweeps are also spaced so that a hub spends about
#: 1/SWEEP_DUTY of its time sweeping at most: after a sweep that took t
#: seconds the next waits min(SWEEP_DUTY * t, MAX_COOLDOWN) (a request
#: meanwhile is deferred to the hub's first pass after the cooldown, not
#: dropped, and never wakes a sleeping hub by itself, so an idle process stays
#: idle). With 10,000 parked go blocks a sweep
#: takes ~0.1 s, with 100,000 ~1 s; the walkthrough's n=10,000 demo, swept
#: mid-run, took 670 ms instead of 580.
SWEEP_DUTY = 20
MAX_COOLDOWN = 2.0
MAX_DEFER = 5.0


def request_sweep() -> None:
    """Ask every hub to sweep for unreachable parked go blocks (when idle, or after its cooldown).

    Runs inside the garbage collector's callback, that is inside whatever
    allocation triggered the collection, possibly while this thread holds a
    hub's inbox lock: it takes no lock that could already be held.
    """
    now = time.monotonic()
    for hub in _hub_list():
        if not hub.reap:
            hub.reap_requested = now
            hub.reap = True
        hub.poke(blocking=False)


def sweep_when_due(hub: Hub, idle: bool) -> Optional[float]:
    """Called by the hub loop while `hub.reap` is set: sweep if the hub is idle (or the
    request is old) and the cooldown is over.

    Returns None after sweeping or while waiting for the hub to go idle, else
    the seconds left before the cooldown ends.
    """
    now = time.monotonic()
    wait = hub.reap_after - now
    if wait > 0:
        return wait
    if not idle and now - hub.reap_requested < MAX_DEFER:
        return None
    hub.reap = False
    try:
        sweep(hub)
    finally:
        took = time.monotonic() - now
        hub.reap_after = now + took + min(SWEEP_DUTY * took, MAX_COOLDOWN)
    return None


def install() -> None:
    """Hook the sweep to full garbage collections (once)."""
    global _installed
    if not _installed:
        _installed = True
        gc.callbacks.append(_on_gc)


def _frames(g: GoTask) -> List[Any]:
    frames = []
    f = g.gr_frame
    while f is not None:
        frames.append(f)
        f = f.f_back
    return frames


def _parked_in(frames: List[Any], op_codes: tuple) -> Any:
    """The channel of the plain take or put these frames are parked in, or None."""
    for f in frames:
        if f.f_code in op_codes:
            c = f.f_locals.get("c")
            return c if isinstance(c, Chan) else None
    return None


def _frame_refs(frames: List[Any], c: Chan) -> int:
    """References to `c` held by these frames: each fast local, and its mirror in f_locals."""
    n = 0
    for f in frames:
        code = f.f_code
        cells = code.co_cellvars + code.co_freevars
        for name, v in f.f_locals.items():  # materializes the mirror dict: count it too
            if v is c:
                n += 1 if name in cells else 2
    return n


def sweep(hub: Hub) -> int:
    """Reap this hub's go blocks parked on channels only they reference. Runs on the hub's thread.

    A go block is examined only if the previous sweep already saw it parked
    on the same channel (`GoTask.reap_mark`, cleared when it is not parked): reading a suspended go block's
    frames materializes frame objects and local-variable dicts that then
    live as long as those frames (~1 kB per go block), a cost only
    long-parked go blocks should pay.
    """
    from . import ops
    op_codes = (ops.take.__code__, ops.put.__code__)
    by_chan: Dict[int, List[Any]] = {}
    # This hub's go blocks are the objects that refer to its greenlet (their
    # parent). get_referrers scans the heap without copying it, where
    # gc.get_objects() would list every object (~56 B per parked go block of
    # resident memory left behind at 100,000 parked).
    for obj in gc.get_referrers(hub.glet):
        if obj.__class__ is not GoTask:
            continue
        c = obj.parked_on
        if c is None:
            obj.reap_mark = None
        elif obj.reap_mark is not c:
            obj.reap_mark = c  # first sighting: look again at the next sweep
        else:
            by_chan.setdefault(id(c), [c]).append(obj)
    obj = c = None
    reaped = 0
    for entry in by_chan.values():
        c = entry[0]
        group = entry[1:]
        held = 0
        for g in group:
            frames = _frames(g)
            if _parked_in(frames, op_codes) is not c:
                break
            held += _frame_refs(frames, c)
        else:
            # getrefcount's argument, `c` here, `entry`, and each go block's
            # parked_on and reap_mark (a stale mark elsewhere keeps it alive
            # until the next sweep clears it):
            if sys.getrefcount(c) - 3 - 2 * len(group) != held:
                continue
            for g in group:
                if c._withdraw(g):  # still pending there: nobody completed it meanwhile
                    try:
                        g.throw(GreenletExit)
                        reaped += 1
                    except BaseException as exc:
                        report_exception(exc)
    return reaped
