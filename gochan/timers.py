"""Timers: `timeout(ms)`, a channel that closes once `ms` milliseconds have passed, and `sleep(ms)`.

Each hub keeps a timer wheel of 0.25 ms ticks, fired from its loop; nothing wakes while nothing is due.
"""
# Why this shape (the measurements are in DESIGN.md, "Timers"):
# - A two-level wheel per hub, fired by a hub hook: go blocks arm with no
#   lock, and a burst's wakes queue in the hub's timer lane, which takes
#   turns with its run queue, so neither a burst nor a spawn flood buries
#   the other. A lone timeout closes at its exact deadline, others at most a
#   0.25 ms tick late; an empty tick costs nothing (no ticking while idle).
# - Timeouts armed outside go blocks (plain threads) go to one timer thread
#   with the same wheel, so they fire on time whatever a hub is doing (a go
#   block hogging a hub held them back by seconds).
# - Each timeout is its own channel: a shared one would hit the 1,024
#   pending-takes limit.
# - Rejected: one timer thread for go blocks too (every wake a cross-thread
#   post; bursts stalled unrelated go blocks), a ticking hashed wheel, a heap
#   of (deadline, chan), core.async's shared 10 ms windows.
from __future__ import annotations

import math
import threading
from heapq import heappop, heappush
from numbers import Real
from time import monotonic
from typing import Any, Dict, List, Optional

from greenlet import getcurrent

from .channel import Chan
from .errors import report_exception
from .hub import GoTask, Hub, current_hub
from .protocols import SLEEP
from .runtime import Runtime, current_runtime, hubs
from .suspend import suspend

__all__ = ["timeout", "sleep", "TimerWheel", "TimerThread", "hub_wheel", "wheels", "TICK", "BATCH"]

#: Near buckets per second of the monotonic clock: a tick is 0.25 ms.
TICKS_PER_S = 4000.0
#: The tick, in seconds: a timeout closes at most this long after its deadline (plus scheduling).
TICK = 1.0 / TICKS_PER_S
#: The span of a far bucket (4,096 ticks), and how far a deadline must be to go into one.
SPAN = 1.024
FAR = 2 * SPAN
#: At most this many timeouts are closed per call of the timer hook (one hub pass), so a pass stays short.
BATCH = 256
#: At most this many far timeouts are moved to the near level per hook call.
MOVE_BATCH = 2048
#: The longest timeout accepted: 10 years, in ms. Anything longer is a bug, not a timeout.
MAX_MS = 10 * 365.25 * 24 * 3600 * 1000
NEVER = math.inf


def _noop() -> None:
    return None


class TimerWheel:
    """The timers of one hub, in two levels: near (0.25 ms buckets) and far (1.024 s buckets).

    Near: a bucket is a list `[latest deadline, chan, chan, ...]` (deadlines
    in seconds of `time.monotonic()`) under the key `int(deadline * TICKS_PER_S)`;
    `ticks` is a heap of the keys that have a bucket, so the next expiry is at
    `ticks[0]` and an empty tick costs nothing. A bucket closes, in arming
    order, once the clock reaches its latest deadline: none of its timeouts
    closes early, none more than a tick late, and a lone timeout closes at its
    exact deadline.

    Far: a timeout at least `FAR` (2.048 s) away goes into the far bucket of
    its 1.024 s span, a flat list `[deadline, chan, deadline, chan, ...]`,
    and `far_keys` is a heap of those spans. One span before a far bucket's
    span begins, its timeouts are moved into near buckets (at most
    `MOVE_BATCH` per hub pass). So the near level only ever holds the next
    ~3 s (a few thousand small buckets, hot in cache) and arming a far
    timeout is an append to one of a few hot lists, whether 1,000 or
    1,000,000 timeouts are live.

    Ownership: everything but `lock` and `incoming` belongs to the owner's
    thread (a hub's: go blocks and the hub loop arm with `add`/`add_far`, no
    lock; or the timer thread's). Other threads arm with `add_from`, which
    appends to `incoming` under `lock`; the owner takes it in on its next pass.
    """

    __slots__ = ("hub", "buckets", "ticks", "next", "firing", "fpos",
                 "far", "far_keys", "far_next", "moving", "mpos", "lock", "incoming")

    def __init__(self, hub: Optional[Hub]) -> None:
        self.hub = hub
        self.buckets: Dict[int, List[Any]] = {}
        self.ticks: List[int] = []
        #: When the hub must look next: the earlier of the earliest near bucket's latest deadline
        #: and `far_next`; 0.0 while a burst is being closed or far timeouts moved; NEVER (inf)
        #: when nothing is armed.
        self.next = NEVER
        self.firing: Optional[List[Any]] = None  # the rest of a near bucket too big for one batch
        self.fpos = 0
        self.far: Dict[int, List[Any]] = {}
        self.far_keys: List[int] = []
        self.far_next = NEVER  # when the earliest far bucket must be moved to the near level
        self.moving: Optional[List[Any]] = None  # the rest of a far bucket being moved
        self.mpos = 0
        self.lock = threading.Lock()
        self.incoming: List[Any] = []  # deadline, chan, deadline, chan, ... armed by other threads

    def add(self, deadline: float, ch: Chan[Any]) -> bool:
        """Arm `ch` to close at `deadline` (monotonic seconds), in the near level.

        Returns True if the hub must now wake earlier. Only on the owner's
        thread (the hub's, or whoever drives a hub-less wheel).
        """
        tick = int(deadline * TICKS_PER_S)
        b = self.buckets.get(tick)
        if b is None:
            self.buckets[tick] = [deadline, ch]
            heappush(self.ticks, tick)
            if deadline < self.next:  # never while a burst is being closed (next == 0.0)
                self.next = deadline
                return True
            return False
        b.append(ch)
        old = b[0]
        if deadline > old:
            b[0] = deadline
            if self.next == old:  # this bucket is when the hub wakes: let it sleep longer
                far = self.far_next
                self.next = deadline if deadline < far else far
        return False

    def add_far(self, deadline: float, ch: Chan[Any]) -> bool:
        """Arm `ch` for a `deadline` at least `FAR` from now, in the far level; as `add`."""
        key = int(deadline * 0.9765625)  # / SPAN, exactly
        lst = self.far.get(key)
        if lst is None:
            self.far[key] = [deadline, ch]
            heappush(self.far_keys, key)
            at = (key - 1) * SPAN  # move it one span early
            if at < self.far_next:
                self.far_next = at
                if at < self.next:
                    self.next = at
                    return True
            return False
        lst.append(deadline)
        lst.append(ch)
        return False

    def add_from(self, deadline: float, ch: Chan[Any]) -> bool:
        """Arm `ch` from a thread that does not own the wheel: the owner takes it in on its next pass.

        Returns True if it is the first since the owner last looked (the
        caller must then make sure it looks again; a hub's wheel does that
        itself).
        """
        with self.lock:
            incoming = self.incoming
            incoming.append(deadline)
            incoming.append(ch)
            first = len(incoming) == 2
        if first and self.hub is not None:
            self.hub.call(_noop)  # a post, never lost (a poke racing the hub's sleep once was)
        return first

    def hook(self) -> Optional[float]:
        """The hub hook: close what is due; seconds until the next deadline, or None if none.

        Called on the hub's thread once per hub pass. The common path is a
        clock read and two compares. `incoming` is read without the lock: a
        stale "empty" is harmless, because whoever appended to it first has
        nudged the hub, so it makes another pass.
        """
        nxt = self.next
        now = monotonic()
        if now < nxt and not self.incoming:
            if nxt == NEVER:
                return None
            return nxt - now
        return self.fire(now)

    def fire(self, now: float) -> Optional[float]:
        """Take `incoming` in, move due far buckets, close a batch of what is due; as `hook`."""
        if self.incoming:
            with self.lock:
                incoming = self.incoming
                self.incoming = []
            add, add_far, far_from = self.add, self.add_far, now + FAR
            for i in range(0, len(incoming), 2):
                d = incoming[i]
                (add_far if d >= far_from else add)(d, incoming[i + 1])
        if now >= self.far_next:
            self._move(now)
        out = self.collect(now, BATCH)
        hub = self.hub
        if hub is None or not out:
            self._close(out)
            return self._after(out, now)
        # The go blocks a batch wakes queue in the hub's timer lane, which
        # takes turns with its run queue (see Hub._loop): closing a burst
        # promptly never buries a runnable go block behind it.
        hub.in_timer_lane(self._close, out)
        return self._after(out, now)

    @staticmethod
    def _close(out: List[Any]) -> None:
        for ch in out:
            try:
                ch.close()
            except BaseException as exc:  # a taker's callback; the other timeouts must still close
                report_exception(exc)

    def _after(self, out: List[Any], now: float) -> Optional[float]:
        if out:
            return 0.0  # run what was woken; the next pass reads the clock again
        nxt = self.next
        if nxt == NEVER:
            return None
        return max(nxt - now, 0.0)

    def _move(self, now: float) -> None:
        """Move up to MOVE_BATCH timeouts from far buckets whose time has come to near ones."""
        add = self.add
        left = MOVE_BATCH
        lst = self.moving
        pos = self.mpos
        far_keys = self.far_keys
        while True:
            if lst is None:
                if not far_keys or now < (far_keys[0] - 1) * SPAN:
                    break
                lst = self.far.pop(heappop(far_keys))
                pos = 0
            end = pos + 2 * left
            if end > len(lst):
                end = len(lst)
            for i in range(pos, end, 2):
                add(lst[i], lst[i + 1])
            left -= (end - pos) // 2
            if end < len(lst):
                pos = end
                break
            lst = None
            if left == 0:
                break
        self.moving = lst
        self.mpos = pos
        self.far_next = 0.0 if lst is not None else (far_keys[0] - 1) * SPAN if far_keys else NEVER

    def collect(self, now: float, room: int) -> List[Any]:
        """Remove and return up to `room` near channels due at `now`, in deadline then arming order.

        Also sets `next`.
        """
        out: List[Any] = []
        firing = self.firing
        if firing is not None:
            pos = self.fpos
            out = firing[pos:pos + room]
            pos += len(out)
            if pos < len(firing):
                self.fpos = pos
                self.next = 0.0
                return out
            self.firing = None
            room -= len(out)
        ticks = self.ticks
        buckets = self.buckets
        nxt = NEVER
        while ticks:
            tick = ticks[0]
            b = buckets[tick]
            if b[0] > now:
                nxt = b[0]
                break
            if room <= 0:
                nxt = 0.0  # due, but no room this pass: look again at once
                break
            heappop(ticks)
            del buckets[tick]
            n = len(b) - 1
            if n > room:
                out += b[1:1 + room]
                self.firing = b
                self.fpos = 1 + room
                nxt = 0.0
                break
            out += b[1:]
            room -= n
        far = self.far_next
        self.next = nxt if nxt < far else far
        return out

    def count(self) -> int:
        """Armed timeouts not yet closed (for tests and debugging, on the owner's thread).

        A method, not `__len__`: it visits every bucket, and a length would make the wheel's
        truth cost that too (`services.get(TimerWheel) or ...` once did, at every `timeout`).
        """
        n = sum(len(b) - 1 for b in self.buckets.values()) + len(self.incoming) // 2
        n += sum(len(lst) // 2 for lst in self.far.values())
        if self.firing is not None:
            n += len(self.firing) - self.fpos
        if self.moving is not None:
            n += (len(self.moving) - self.mpos) // 2
        return n

    def __repr__(self) -> str:
        hub = self.hub.index if self.hub is not None else None
        nxt = self.next
        when = "never" if nxt == NEVER else f"in {(nxt - monotonic()) * 1e3:.3f} ms"
        return (f"<TimerWheel hub={hub} near_ticks={len(self.ticks)} "
                f"far_spans={len(self.far_keys)} next {when}>")


_wheels_lock = threading.Lock()


def hub_wheel(hub: Hub) -> TimerWheel:
    """`hub`'s timer wheel, made and hooked into its loop on first use."""
    w: Optional[TimerWheel] = hub.services.get(TimerWheel)
    if w is None:
        with _wheels_lock:
            w = hub.services.get(TimerWheel)
            if w is None:
                w = hub.services[TimerWheel] = TimerWheel(hub)
                hub.add_hook(w.hook)
    return w


def wheels() -> List[TimerWheel]:
    """The current runtime's hub wheels, index = hub index (for tests and benchmarks)."""
    return [hub_wheel(h) for h in hubs()]


class TimerThread:
    """Fires the timeouts armed outside go blocks (plain threads), on a thread of its own.

    A runtime service (made on the first such timeout): a hub may be held by
    a go block that does not park, and a thread's timeout must not wait for
    it. Its wheel is the hubs' `TimerWheel`, fed through `add_from`.
    """

    def __init__(self, rt: Optional[Runtime] = None) -> None:
        self.wheel = TimerWheel(None)
        self.cond = threading.Condition(threading.Lock())
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="gochan-timers", daemon=True)
        self.thread.start()

    def add(self, deadline: float, ch: Chan[Any]) -> None:
        if self.wheel.add_from(deadline, ch):
            with self.cond:
                self.cond.notify()

    def _run(self) -> None:
        wheel = self.wheel
        while not self.stopped:
            try:
                delay = wheel.hook()
            except BaseException as exc:  # a bug in gochan; keep the timers going
                report_exception(exc)
                delay = 0.001
            with self.cond:
                if self.stopped or wheel.incoming or delay == 0.0:
                    continue
                self.cond.wait(delay)

    def stop(self, deadline: float) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify()
        if self.thread is not threading.current_thread():
            self.thread.join(max(0.0, deadline - monotonic()))


_NOT_A_NUMBER = "timeout: ms must be an int or float number of milliseconds, got {!r}"
_TOO_LONG = "timeout: ms must be at most 10 years (" + f"{MAX_MS:.0f}" + " ms), got {!r}"


def _delay(ms: Any) -> float:
    """Validate `ms` (the slow path of `timeout`): the delay in seconds, 0.0 if ms <= 0."""
    if ms.__class__ is not int and ms.__class__ is not float and (
            isinstance(ms, bool) or not isinstance(ms, Real)):
        raise TypeError(_NOT_A_NUMBER.format(ms))
    try:
        f = float(ms)
    except OverflowError:  # an int or Fraction beyond any float
        raise ValueError(_TOO_LONG.format(ms)) from None
    except (TypeError, ValueError):
        raise TypeError(_NOT_A_NUMBER.format(ms)) from None
    if f != f or f == math.inf or f == -math.inf:
        raise ValueError(f"timeout: ms must be a finite number of milliseconds, got {ms!r}")
    if f <= 0.0:
        return 0.0
    if f > MAX_MS:
        raise ValueError(_TOO_LONG.format(ms))
    return ms / 1000.0 if ms.__class__ is int else f / 1000.0


def timeout(ms: float) -> Chan[Any]:
    """A channel that closes once `ms` milliseconds have passed (monotonic clock).

    Never early; late by at most one 0.25 ms tick plus scheduling. `ms` may be a
    float; 0 or less closes it at the next hub pass; NaN, infinities, more
    than 10 years, bools and non-numbers raise. Every call returns its own
    channel (none is shared), so any number of go blocks and threads can
    wait on timeouts. Use it in `alts` to bound a wait:

    >>> v, port = alts([replies, timeout(500)])   # port is the timeout: no reply in 500 ms
    """
    cls = ms.__class__
    if (cls is float or cls is int) and 0 < ms <= MAX_MS:
        delay = ms / 1000.0
        deadline = monotonic() + delay
    else:
        delay = _delay(ms)
        deadline = monotonic() + delay if delay else 0.0
    ch: Chan[Any] = Chan(None, None, None, "timeout")
    g = getcurrent()
    if g.__class__ is GoTask:
        hub = g.hub
        wheel = hub.services.get(TimerWheel)
        if wheel is None:
            wheel = hub_wheel(hub)
        # On the hub's own thread: its next pass sees the new deadline.
        if delay < FAR:
            wheel.add(deadline, ch)
        else:
            wheel.add_far(deadline, ch)
        return ch
    here = current_hub()
    if here is not None:
        # The hub loop itself (a callback of a timeout it is closing): the owner, but
        # outside a go block, so make sure the loop looks again before it sleeps.
        wheel = hub_wheel(here)
        if (wheel.add if delay < FAR else wheel.add_far)(deadline, ch):
            here.poke()
        return ch
    current_runtime().service(TimerThread, TimerThread).add(deadline, ch)
    return ch


def sleep(ms: float) -> None:
    """Wait `ms` milliseconds: parks a go block, blocks a thread. `take(timeout(ms))`."""
    c = timeout(ms)
    suspend(SLEEP, c, c.take_with)
