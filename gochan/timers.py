"""Timers: `timeout(ms)`, a channel that closes once `ms` milliseconds have passed, and `sleep(ms)`.

Each hub keeps a timer wheel of 0.25 ms ticks, fired from its loop; nothing wakes while nothing is due.
"""
# Design (CPython 3.11, this project's loaded 2-core machine; `python -m bench.timers_bench`)
#
# Chosen: a two-level timer wheel per hub, fired by the hub loop (`Hub.timer_hook`).
# - Near level: 0.25 ms buckets (a dict keyed by tick, plus a heap of the
#   ticks that have a bucket, so the next expiry is the heap's top and an
#   empty tick costs nothing: no ticking, no wake-up while nothing is due). A
#   bucket closes when the clock reaches its *latest* deadline: never early,
#   at most one tick late, and a lone timeout closes at its exact deadline
#   (quiet p50 lateness 0.14 ms; asyncio, gevent and trio round up to their
#   clock and sit at 0.6-0.8 ms). With 1 ms ticks, timeouts sharing a bucket
#   with a later one made up the tail: quiet p99 0.92-1.13 ms, now 0.44-0.58
#   ms. A finer tick can wake an idle hub more often (at most once a tick,
#   only while timeouts are due that densely); near arming costs about the
#   same (more buckets, each smaller).
# - Far level: deadlines >= 2.048 s away go into 1.024 s buckets, moved into
#   the near level one span early, at most 2,048 per hub pass. Arming far is
#   an append to one of a few hot lists, so arm cost is flat: 1.15 / 1.16 /
#   1.17 us at 1k / 100k / 1M live (random 1..60 s). With one level it was
#   1.6 / 2.0 / 2.3 us (ratio 1.4-1.6, cache misses on 60,000 cold buckets).
# - Each timeout is its own channel (no sharing): a shared channel would hit
#   the 1,024 pending-takes limit, and channels cannot be exempted from here.
#   Cost: `Chan()` is 0.34 us of the 1.15 us, ~290 B per live timeout.
# - The hub's thread owns the wheel, so a go block arms with no lock.
#   Another thread appends to a locked `incoming` list and nudges the hub;
#   the first arm after each hub pass pays the nudge (thread arm: 2.2 us).
#   Locking every arm instead cost ~0.2-0.5 us more per arm.
# - The nudge posts a do-nothing go block rather than calling `Hub.poke()`:
#   a poke landing after the hook returned and before the hub set `sleeping`
#   was lost, and the hub then slept to its old deadline, or for ever
#   (reproduced: a thread looping on `take(timeout(0.05))` hung after 223
#   rounds with one hub; see tests/test_timers.py). `poke()` now records a
#   poke that lands while the hub is awake (`Hub.poked`); the post stays.
# - Bursts: one call of the hook closes at most BATCH (256) timeouts, so a
#   hub pass stays short (~0.4 ms). The go blocks they wake queue in the
#   hub's timer lane (`Hub.timerq`: the hook closes with the hub's `runq`
#   pointed at it), and while that lane has work the hub gives it two go
#   blocks for each one of the run queue (`hub.TIMER_SHARE`). So timeouts
#   close on time however long the run queue is, and a 100,000-timeout burst
#   costs a runnable go block a few turns: in the bench an unrelated
#   ping-pong pair paused at most ~2 ms and made ~27,000 round trips during
#   the burst (~2,500 before). With one turn each the pair made ~52,000, but
#   under a spawn flood a timer backlog then drained only as fast as new
#   timeouts came due (collector off: wake p50 12-24 ms against 3-4 ms).
#   The first design had one queue, and the hook closed only as many as the
#   hub had run since its last call, so that timeouts never grew it: under a
#   flood of 100,000 spawns closing then merely kept pace with arming, a
#   backlog (a GC pause, a GIL hand-off) never drained (fire p50 34 ms, p99
#   245 ms), and a woken sleeper queued behind every unstarted spawn (wake
#   p50 2.4 s). With the lane: fire p50 ~2 ms, wake p50 ~6 ms.
#   Also rejected: closing 1,000 per pass into the one queue (buried the
#   unrelated go block behind the whole burst, 1.3-3 s); a floor of 8
#   closes per pass (burst pause 240-440 ms).
#
# Rejected: one timer thread for all hubs (measured with the same wheel, in
# bench/timers_bench.py `tt_*`). Arming costs more (1.7 us against 1.0, a
# lock and an append) and quiet lateness is no better (p50 0.26 ms against
# 0.18), and the thread cannot see a hub's queues: every wake is a
# cross-thread post into the run queue, so a 100,000 burst paused the
# unrelated go block for most of the burst (830 ms against 1.8 ms), and under
# the spawn flood the woken sleepers waited behind the spawns (wake p50 2.6 s
# against 5.7 ms; fire p50 7.4 ms against 2.1). One more thread also competes
# for the GIL. (The 02:03 UTC run of BENCHMARKS.md.)
# Also rejected: a ticking hashed wheel (Netty: 1,000 wake-ups/s idle); a
# heap of (deadline, seq, chan) (an allocation and an O(log n) pop per
# timeout); core.async's shared 10 ms windows (late by up to 10 ms, and the
# pending-takes limit).
#
# Known limits (not the wheel's): every figure sits on the interpreter. A full
# garbage collection stops every thread, and with 100,000 live go blocks one
# takes 70-140 ms on CPython 3.11 (each go block is 7-9 tracked objects:
# greenlet, context, channels, locks); timeouts due meanwhile close when it
# ends. Under the bench's 100,000-spawn flood two or three land while the
# timeouts fire: fire p99 75-95 ms, against 4.4-5.0 ms with the collector off
# or tuned by the application (bench/timers_bench.py `load_nogc`,
# `load_gctuned`). A hub woken for a timeout must take the GIL, which another
# thread computing holds for up to the switch interval (5 ms). Timeouts on a
# hub that a go block holds (a CPU loop) close when it parks.
from __future__ import annotations

import contextvars
import math
import threading
from heapq import heappop, heappush
from numbers import Real
from time import monotonic
from typing import Any, Dict, List, Optional

from greenlet import getcurrent

from .channel import Chan
from .errors import report_exception
from .hub import GoTask, Hub, Spawn, hubs, this_hub
from .ops import take

__all__ = ["timeout", "sleep", "TimerWheel", "wheels", "TICK", "BATCH"]

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

    Ownership: everything but `lock` and `incoming` belongs to the hub's
    thread (go blocks and the hub loop arm with `add`/`add_far`, no lock).
    Other threads arm with `add_from`, which appends to `incoming` under
    `lock` and nudges the hub; the hub takes `incoming` in on its next pass.
    """

    __slots__ = ("hub", "buckets", "ticks", "next", "firing", "fpos",
                 "far", "far_keys", "far_next", "moving", "mpos", "lock", "incoming", "_nudge")

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
        # A do-nothing go block posted to the hub to make it run a pass (see `nudge`).
        self._nudge = Spawn(_noop, (), {}, contextvars.Context(), None)

    def add(self, deadline: float, ch: Chan) -> bool:
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

    def add_far(self, deadline: float, ch: Chan) -> bool:
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

    def add_from(self, deadline: float, ch: Chan) -> None:
        """Arm `ch` from a thread that does not own the wheel: the hub takes it on its next pass."""
        with self.lock:
            incoming = self.incoming
            incoming.append(deadline)
            incoming.append(ch)
            first = len(incoming) == 2
        if first:  # the first since the hub last looked: make sure it looks again
            self.nudge()

    def nudge(self) -> None:
        """Make the hub run a pass (and so call `hook`), even if it is about to sleep.

        `Hub.poke()` would be lost if it landed after `hook` returned and
        before the hub set its `sleeping` flag (the hub then sleeps to its old
        deadline, or for ever); a post is not lost, as the hub re-checks its
        inbox under the inbox lock before sleeping.
        """
        hub = self.hub
        if hub is not None:
            hub.post(self._nudge, None)

    def hook(self) -> Optional[float]:
        """`Hub.timer_hook`: close what is due; seconds until the next deadline, or None if none.

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
        runq = hub.runq
        hub.runq = hub.timerq
        try:
            self._close(out)
        finally:
            hub.runq = runq
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

    def __len__(self) -> int:
        """Armed timeouts not yet closed (for tests and debugging, on the owner's thread)."""
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


_wheels: List[TimerWheel] = []
_wheels_lock = threading.Lock()
_next_wheel = 0


def wheels() -> List[TimerWheel]:
    """One wheel per hub (index = hub index), installed as the hubs' timer hooks on first use."""
    if _wheels:
        return _wheels
    pool = hubs()
    with _wheels_lock:
        if not _wheels:
            made = [TimerWheel(h) for h in pool]
            for h, w in zip(pool, made):
                h.timer_hook = w.hook
            _wheels.extend(made)
    return _wheels


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
    ch: Chan[Any] = Chan()
    g = getcurrent()
    if g.__class__ is GoTask:
        try:
            wheel = _wheels[g.hub.index]
        except IndexError:
            wheel = wheels()[g.hub.index]
        # On the hub's own thread: its next pass sees the new deadline.
        if delay < FAR:
            wheel.add(deadline, ch)
        else:
            wheel.add_far(deadline, ch)
        return ch
    pool = _wheels or wheels()
    hub = this_hub()
    if hub is not None:
        # The hub loop itself (a callback of a timeout it is closing): the owner, but
        # outside a go block, so make sure the loop looks again before it sleeps.
        wheel = pool[hub.index]
        if (wheel.add if delay < FAR else wheel.add_far)(deadline, ch):
            wheel.nudge()
        return ch
    global _next_wheel
    i = _next_wheel  # a racy round-robin hint: a lost update only skews placement
    _next_wheel = (i + 1) % len(pool)
    pool[i % len(pool)].add_from(deadline, ch)
    return ch


def sleep(ms: float) -> None:
    """Wait `ms` milliseconds: parks a go block, blocks a thread. `take(timeout(ms))`."""
    c = timeout(ms)  # named `c`: dump() shows the channel a go block sleeps on
    take(c)
