"""Timers: timeout(ms) and sleep(ms): never early, ordered, in alts, at scale, fair, idle when idle.

Ordering is asserted from explicitly recorded events (close callbacks run on
the hub thread in close order), never from sleeps. Lateness is asserted
loosely: the machine may be loaded; the benchmark measures it tightly.
The wheel's own logic is also tested on a hub-less `TimerWheel` driven with
made-up clock values, which is exact and instant.
"""
from __future__ import annotations

import gc
import math
import random
import sys
import threading
import time
from fractions import Fraction
from typing import Any, Callable, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gochan
from gochan import alts, chan, go, put, take, take_async, timers
from gochan.process import go_on
from gochan.runtime import hubs
from gochan.timers import BATCH, FAR, NEVER, SPAN, TICK, TimerWheel, sleep, timeout, wheels

LOOSE = 2.0  # seconds: "closed, and not absurdly late" on a loaded 2-core machine


def wait_for(pred: Callable[[], bool], limit: float = 20.0, what: str = "condition") -> None:
    end = time.monotonic() + limit
    while not pred():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.002)


class NoGC:
    """Collections over 100,000 parked go blocks take ~0.3 s each: keep them out of big tests."""

    def __enter__(self) -> None:
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: Any) -> None:
        if self.was:
            gc.enable()


# ------------------------------------------------------------ the public API

def test_exported() -> None:
    assert gochan.timeout is timeout and gochan.sleep is sleep
    assert "timeout" in gochan.__all__ and "sleep" in gochan.__all__


@pytest.mark.timeout(30)
def test_never_early_from_go_blocks() -> None:
    rnd = random.Random(7)
    n = 3000
    delays = [rnd.choice([0, -1, 0.25, 1, 1.5]) if i % 10 == 0 else rnd.uniform(0, 150)
              for i in range(n)]
    early: List[Any] = []
    late: List[float] = []
    lock = threading.Lock()
    done = chan(n)

    def sleeper(ms: float) -> None:
        t0 = time.monotonic()
        take(timeout(ms))
        t1 = time.monotonic()
        with lock:
            if t1 < t0 + max(ms, 0) / 1000:
                early.append((ms, t1 - t0))
            late.append(t1 - t0 - max(ms, 0) / 1000)
        put(done, True)

    for ms in delays:
        go(sleeper, ms)
    for _ in range(n):
        assert take(done) is True
    assert early == []
    assert max(late) < LOOSE


@pytest.mark.timeout(30)
def test_never_early_from_threads() -> None:
    errors: List[Any] = []

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(40):
            ms = rnd.uniform(0, 20) if rnd.random() < 0.8 else rnd.choice([0, 0.5, 3])
            t0 = time.monotonic()
            c = timeout(ms)
            assert take(c) is None
            t1 = time.monotonic()
            if t1 < t0 + ms / 1000 or t1 - t0 - ms / 1000 > LOOSE:
                errors.append((ms, t1 - t0))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(25)
        assert not t.is_alive()
    assert errors == []


@pytest.mark.timeout(10)
def test_float_and_other_real_ms() -> None:
    for ms in (1.5, 2.25, Fraction(5, 2), 3):
        t0 = time.monotonic()
        take(timeout(ms))
        assert time.monotonic() - t0 >= float(ms) / 1000


@pytest.mark.timeout(10)
def test_zero_and_negative_close_at_once() -> None:
    for ms in (0, 0.0, -0.0, -1, -5.5, -10**30):
        t0 = time.monotonic()
        assert take(timeout(ms)) is None
        assert time.monotonic() - t0 < LOOSE
    assert take(go(lambda: [take(timeout(ms)) for ms in (0, -1, -2.5)])) == [None, None, None]


def test_each_timeout_is_its_own_channel() -> None:
    cs = [timeout(60_000) for _ in range(100)]
    assert len({id(c) for c in cs}) == 100
    assert all(isinstance(c, gochan.Chan) and not c.closed for c in cs)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e20, 10 * 366 * 24 * 3600 * 1000,
                                 10**400, Fraction(10**400, 3)])
def test_absurd_values_raise_value_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="ms"):
        timeout(bad)
    with pytest.raises(ValueError, match="ms"):
        sleep(bad)


@pytest.mark.parametrize("bad", [True, False, None, "5", b"5", [5], 3 + 0j, object()])
def test_non_numbers_raise_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="ms"):
        timeout(bad)


def test_bad_argument_from_a_go_block_raises_there() -> None:
    def body() -> str:
        try:
            timeout(math.nan)
        except ValueError as exc:
            return str(exc)
        return "no error"

    assert "ms" in take(go(body))


# ------------------------------------------------------------------ ordering

@pytest.mark.timeout(15)
def test_shorter_timeouts_close_first() -> None:
    """Armed in shuffled order from one go block; closes recorded by callbacks in close order."""
    order: List[int] = []
    lock = threading.Lock()
    delays = list(range(5, 125, 4))  # 4 ms apart: each in its own tick
    random.Random(3).shuffle(delays)

    def record(ms: int) -> Callable[[Any], None]:
        def cb(_: Any) -> None:
            with lock:
                order.append(ms)
        return cb

    def arm() -> List[gochan.Chan]:
        cs = []
        for ms in delays:
            c = timeout(ms)
            take_async(c, record(ms))
            cs.append(c)
        return cs

    cs = take(go(arm))
    for c in cs:
        take(c)
    assert order == sorted(delays)


@pytest.mark.timeout(15)
def test_same_tick_timeouts_close_in_arming_order() -> None:
    order: List[int] = []

    def body() -> List[int]:
        take(timeout(0))  # this hub's wheel exists
        # The clock stands still while they are armed, so all 50 get one deadline (arming each
        # takes a few us, and a preemption between two clock reads pushed one into the next
        # tick under load).
        now = time.monotonic()
        timers.monotonic = lambda: now
        try:
            cs = []
            for i in range(50):
                c = timeout(50)
                take_async(c, lambda _, i=i: order.append(i))  # runs on this hub's thread only
                cs.append(c)
        finally:
            timers.monotonic = time.monotonic
        for c in cs:
            take(c)
        return list(order)

    assert take(go(body)) == list(range(50))


@pytest.mark.timeout(15)
def test_sleep_parks_only_its_go_block() -> None:
    events: List[str] = []
    lock = threading.Lock()

    def log(e: str) -> None:
        with lock:
            events.append(e)

    def sleeper() -> None:
        log("sleep")
        sleep(60)
        log("woke")

    def other() -> None:
        log("other ran")

    a = go_on(0, sleeper)
    wait_for(lambda: "sleep" in events, what="the sleeper to park")
    b = go_on(0, other)  # same hub: it can only run if the sleeper parked
    take(b)
    take(a)
    assert events == ["sleep", "other ran", "woke"]


@pytest.mark.timeout(10)
def test_sleep_blocks_a_thread() -> None:
    t0 = time.monotonic()
    assert sleep(30) is None
    assert time.monotonic() - t0 >= 0.030


@pytest.mark.timeout(10)
def test_dump_shows_a_sleeping_go_block() -> None:
    started = threading.Event()

    def napper() -> None:
        started.set()
        sleep(3000)

    go(napper)
    assert started.wait(5)
    wait_for(lambda: any(i.op == "sleep" for i in gochan.dump()), what="dump to show the sleeper")


# ---------------------------------------------------------------------- alts

@pytest.mark.timeout(10)
def test_alts_with_a_silent_channel_times_out_in_a_go_block() -> None:
    never = chan()

    def body() -> Any:
        t0 = time.monotonic()  # before arming: the deadline counts from the call
        t = timeout(40)
        v, port = alts([never, t])
        return v, port is t, time.monotonic() - t0

    v, is_timeout, waited = take(go(body))
    assert v is None and is_timeout and waited >= 0.040


@pytest.mark.timeout(10)
def test_alts_with_a_silent_channel_times_out_in_a_thread() -> None:
    never = chan()
    t0 = time.monotonic()  # before arming: the deadline counts from the call
    t = timeout(40)
    v, port = alts([never, t], priority=True)
    assert v is None and port is t
    assert time.monotonic() - t0 >= 0.040


@pytest.mark.timeout(10)
def test_alts_value_beats_timeout_and_put_times_out() -> None:
    c = chan(1)
    put(c, "x")
    assert alts([timeout(1000), c], priority=True) == ("x", c)
    c2 = chan()
    go(lambda: put(c2, "late"))
    v, port = alts([c2, timeout(5000)])
    assert (v, port) == ("late", c2)
    full = chan()  # nobody takes: the put loses to the timeout
    t = timeout(20)
    assert alts([(full, 1), t]) == (None, t)


# ---------------------------------------------------------------------- scale

@pytest.mark.timeout(120)
def test_100k_go_blocks_parked_on_timeouts_of_one_tick_all_wake() -> None:
    n = 100_000
    pool = hubs()
    per = [n // len(pool) + (1 if i < n % len(pool) else 0) for i in range(len(pool))]
    lock = threading.Lock()
    woke = [0]
    all_woke = threading.Event()
    deadline = time.monotonic() + 3.0  # all armed by then (if not, the rest are due at once)

    def sleeper() -> None:
        assert take(timeout((deadline - time.monotonic()) * 1000)) is None
        with lock:
            woke[0] += 1
            if woke[0] == n:
                all_woke.set()

    def driver(k: int) -> None:
        for _ in range(k):
            go(sleeper)

    with NoGC():
        for i, k in enumerate(per):
            go_on(i, driver, k)
        assert all_woke.wait(100), f"only {woke[0]} of {n} woke"
    assert time.monotonic() >= deadline


@pytest.mark.timeout(60)
def test_arming_cost_does_not_grow_with_live_timers() -> None:
    """timeout() in a go block costs the same with 50,000 live timers on its hub as with none.

    (It once was O(buckets): the wheel, which then had a length, was tested for truth.)
    """
    live, probe = 50_000, 2_000

    def body() -> float:
        def arm_cost() -> float:
            t = time.thread_time()
            for i in range(probe):
                timeout(200 + (i % 800) * TICK * 1000)
            return time.thread_time() - t

        empty = min(arm_cost() for _ in range(3))
        for i in range(live):
            timeout(200 + (i % 1600) * TICK * 1000)  # 1,600 distinct ticks, 200-600 ms away
        loaded = min(arm_cost() for _ in range(3))
        take(timeout(600))  # armed last, due last: none of the others outlives the test
        return loaded / empty

    with NoGC():
        ratio = take(go_on(0, body))
    assert ratio < 5, f"arming with {live} live timers cost {ratio:.1f}x arming with none"


@pytest.mark.timeout(60)
def test_burst_does_not_starve_a_runnable_go_block() -> None:
    """20,000 timeouts due in one tick on hub 0, each with a parked taker there, and a
    ping-pong pair on hub 0: the pair keeps making progress while the burst is closed."""
    n = 20_000
    counts = {"parked": 0, "woke": 0}  # hub 0 only
    seen: List[int] = []  # `woke` as the ping-pong pair saw it, each round trip
    stop: List[bool] = []
    done = chan(3)
    deadline = time.monotonic() + 3.0

    def sleeper() -> None:
        c = timeout((deadline - time.monotonic()) * 1000)
        counts["parked"] += 1
        take(c)
        counts["woke"] += 1
        if counts["woke"] == n:
            stop.append(True)

    def driver() -> None:
        for i in range(n):
            go(sleeper)
            if i % 1000 == 999:
                sleep(0)

    ping, pong = chan(), chan()

    def pinger() -> None:
        while not stop:
            put(ping, 1)
            take(pong)
            seen.append(counts["woke"])
        put(ping, 0)
        put(done, True)

    def ponger() -> None:
        while take(ping):
            put(pong, 1)

    with NoGC():
        go_on(0, ponger)
        go_on(0, pinger)
        go_on(0, driver)
        assert take(done) is True
    assert counts["parked"] == n and counts["woke"] == n
    during = {w for w in seen if 0 < w < n}
    # The woken sleepers queue in the timer lane, which takes turns with the run queue one
    # go block at a time: the pair makes a round trip every ~2 wakes (~n / 2 distinct
    # counts). Queued behind the burst it would see none; paced in run-queue-sized
    # batches, ~n / BATCH.
    assert len(during) >= n // 8, (len(during), sorted(during)[:20])


@pytest.mark.timeout(60)
def test_a_sleeper_does_not_wait_behind_a_flood_of_spawns() -> None:
    """A go block woken by its timeout runs before a queue of 20,000 unstarted go blocks
    (spawned after it parked) has drained: the timer lane takes turns with the run queue."""
    n = 20_000
    started = [0]  # hub 0 only
    seen = chan(1)

    def worker() -> None:
        started[0] += 1

    def sleeper() -> None:
        sleep(1)
        put(seen, started[0])

    def driver() -> None:
        go(sleeper)  # queued first, so it starts and parks on its timeout before any worker starts
        for _ in range(n):
            go(worker)

    with NoGC():
        go_on(0, driver)
        at_wake = take(seen)
    # Each start costs microseconds, so the 1 ms timeout is due while most of the queue waits.
    assert at_wake < n // 2, f"the sleeper woke after {at_wake} of {n} spawned go blocks started"


@pytest.mark.timeout(30)
def test_threads_arming_concurrently_all_close() -> None:
    closed = [0]
    lock = threading.Lock()
    n_threads, per = 8, 500
    all_closed = threading.Event()

    def cb(_: Any) -> None:
        with lock:
            closed[0] += 1
            if closed[0] == n_threads * per:
                all_closed.set()

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(per):
            take_async(timeout(rnd.uniform(-1, 30)), cb)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert all_closed.wait(20), closed[0]


@pytest.mark.timeout(60)
def test_alts_racing_timeouts_lose_and_duplicate_nothing() -> None:
    """Go blocks and threads put and take through `alts` with short timeouts on a few
    shared channels: every value a put reports delivered is taken exactly once, and no
    value a put reports timed out is ever taken (wakes through the timer lane included)."""
    chans = [chan() for _ in range(3)]
    lock = threading.Lock()
    delivered: List[int] = []
    taken: List[int] = []
    n_producers, per = 16, 150

    def producer(pid: int, rnd: random.Random) -> None:
        for k in range(per):
            v = pid * per + k
            c = chans[rnd.randrange(len(chans))]
            ok, port = alts([(c, v), timeout(rnd.uniform(0, 3))])
            if port is c:
                assert ok is True
                with lock:
                    delivered.append(v)

    def consumer(rnd: random.Random, stop: List[bool]) -> None:
        while not stop:
            v, port = alts([*chans, timeout(rnd.uniform(0, 3))])
            if v is not None:
                assert port in chans
                with lock:
                    taken.append(v)

    stop: List[bool] = []
    producers = [go(producer, i, random.Random(i)) for i in range(n_producers // 2)]
    threads = [threading.Thread(target=producer, args=(i, random.Random(i)))
               for i in range(n_producers // 2, n_producers)]
    consumers = [go(consumer, random.Random(100 + i), stop) for i in range(4)]
    side = [threading.Thread(target=consumer, args=(random.Random(200 + i), stop)) for i in range(2)]
    for t in threads + side:
        t.start()
    for p in producers:
        take(p)
    for t in threads:
        t.join(40)
        assert not t.is_alive()
    stop.append(True)
    for c in consumers:
        take(c)
    for t in side:
        t.join(10)
        assert not t.is_alive()
    assert len(taken) == len(set(taken)), "a value was taken twice"
    assert sorted(taken) == sorted(delivered), "a delivered value was lost or a timed-out one taken"
    assert delivered, "no put got through"


@pytest.mark.timeout(60)
def test_thread_arms_never_lost_when_racing_the_hub_to_sleep() -> None:
    """A thread arming while the hub is between its timer hook and going to sleep:
    a plain Hub.poke() is lost there (the hub slept for ever in ~200 rounds of this)."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # force thread switches at every opportunity
    try:
        rounds = [0]

        def worker() -> None:
            for _ in range(5000):
                take(timeout(0.05))
                rounds[0] += 1

        t = threading.Thread(target=worker, daemon=True)
        t.start()
        t.join(45)
        assert not t.is_alive(), f"stuck after {rounds[0]} rounds"
    finally:
        sys.setswitchinterval(old)


@pytest.mark.timeout(15)
def test_timeout_armed_by_a_callback_on_the_hub_loop() -> None:
    """A take_async callback runs on the hub loop while it closes timeouts; it may arm more."""
    got = threading.Event()

    def first(_: Any) -> None:
        take_async(timeout(10), lambda _: got.set())

    take_async(timeout(10), first)
    assert got.wait(LOOSE * 2)


@pytest.mark.timeout(20)
def test_far_timeouts_move_levels_and_close_on_time() -> None:
    """Timeouts >= FAR (2.048 s) live in the far level first; they still close on time."""
    delays = [FAR * 1000 + 1, FAR * 1000 + 300, FAR * 1000 + 700]
    results: List[Any] = []

    def body(ms: float) -> float:
        t0 = time.monotonic()
        take(timeout(ms))
        return time.monotonic() - t0 - ms / 1000

    chans = [go(body, ms) for ms in delays] + [go(lambda: body(FAR * 1000 + 500))]
    t0 = time.monotonic()
    c = timeout(FAR * 1000 + 100)  # and one from a thread
    take(c)
    results.append(time.monotonic() - t0 - (FAR + 0.1))
    results += [take(c) for c in chans]
    assert all(0 <= late < LOOSE for late in results), results


# ----------------------------------------------------------------------- idle

@pytest.mark.timeout(30)
def test_idle_hubs_sleep_with_far_future_timeouts_armed() -> None:
    def arm(k: int) -> List[gochan.Chan]:
        return [timeout(3_600_000 + i % 5000) for i in range(k)]

    keep = [take(go_on(i, arm, 5000)) for i in range(len(hubs()))] + [arm(5000)]
    assert sum(map(len, keep)) == 5000 * (len(hubs()) + 1)
    pool = hubs()

    def passes() -> int:
        return sum(h.passes for h in pool)

    # Other tests may have left timers a few seconds out: wait for a quiet half second.
    end = time.monotonic() + 15
    while True:
        p0 = passes()
        time.sleep(0.5)
        p1 = passes()
        if p1 - p0 <= 2 or time.monotonic() > end:
            break
    assert p1 - p0 <= 2, f"{p1 - p0} hub passes in 0.5 s with nothing due"
    assert all(h.sleeping for h in pool)


# ------------------------------------------------- the wheel, on a made-up clock

def _closed(cs: List[gochan.Chan]) -> List[bool]:
    return [c.closed for c in cs]


def test_wheel_never_early_and_at_most_one_tick_late() -> None:
    rnd = random.Random(11)
    w = TimerWheel(None)
    t0 = 1000.0
    deadlines = sorted(t0 + rnd.uniform(0, 5.0) for _ in range(1000))
    cs = []
    for d in deadlines:
        c = chan()
        (w.add_far if d - t0 >= FAR else w.add)(d, c)
        cs.append(c)
    now = t0
    while now < t0 + 6:
        now += rnd.uniform(0, 0.01)
        while w.fire(now) == 0.0:
            pass
        for d, c in zip(deadlines, cs, strict=True):
            if c.closed:
                assert d <= now  # never early
            else:
                assert d > now - TICK  # at most a tick late
    assert all(_closed(cs)) and w.count() == 0 and w.fire(now + 1) is None


# (kind, seconds, count, spread): `count` timeouts from `seconds` on, spread over `spread` seconds.
_ARM = st.tuples(st.just("arm"), st.floats(0.0, 6.0), st.integers(1, 400), st.floats(0.0, 0.003))
_ADVANCE = st.tuples(st.just("advance"), st.floats(0.0, 1.5), st.just(0), st.just(0.0))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_ARM, _ADVANCE), max_size=30))
def test_wheel_property_never_early_never_oversleeps(ops: List[Any]) -> None:
    """Arms (bursts in one tick, near and far) interleaved with clock advances, on a hub-less
    wheel: after each pass (drained of its batches) nothing closed early, nothing due a tick
    ago is open, and the delay the wheel asks the hub to sleep never passes the earliest
    open deadline by more than a tick (None exactly when nothing is armed)."""
    w = TimerWheel(None)
    now = 1000.0
    armed: List[Any] = []  # [deadline, chan, closed yet]
    for kind, x, k, spread in ops:
        if kind == "arm":
            for i in range(k):
                d = now + x + spread * i / k  # a burst, within one tick or across a few
                c = chan()
                (w.add_far if d - now >= FAR else w.add)(d, c)
                armed.append([d, c, False])
        else:
            now += x
        delay = w.fire(now)
        while delay == 0.0:
            delay = w.fire(now)
        for entry in armed:
            d, c, was = entry
            if c.closed and not was:
                assert d <= now, "closed early"
                entry[2] = True
            elif not c.closed:
                assert d > now - TICK, "open a tick after its deadline"
        open_ds = [d for d, c, _ in armed if not c.closed]
        if not open_ds:
            assert delay is None and w.count() == 0
        else:
            assert delay is not None and w.count() == len(open_ds)
            assert now + delay <= min(open_ds) + TICK + 1e-9, "the hub would sleep past a deadline"
    now += 10.0
    while w.fire(now) == 0.0:
        pass
    assert all(c.closed for _, c, _ in armed) and w.count() == 0


def test_wheel_reports_the_next_deadline_and_none_when_empty() -> None:
    w = TimerWheel(None)
    assert w.fire(1.0) is None and w.next == NEVER
    c = chan()
    assert w.add(10.0005, c) is True  # now the earliest
    assert w.fire(9.5) == pytest.approx(0.5005)
    assert not c.closed
    assert w.fire(10.0005) == 0.0 and c.closed
    assert w.fire(10.0006) is None


def test_wheel_a_lone_timeout_closes_at_its_exact_deadline() -> None:
    w = TimerWheel(None)
    c = chan()
    w.add(5.0003, c)
    w.fire(5.00029)
    assert not c.closed  # same tick, but before the deadline
    w.fire(5.0003)
    assert c.closed


def test_wheel_far_level_moves_one_span_early() -> None:
    w = TimerWheel(None)
    now = 100.0
    d = now + 10.0
    c = chan()
    assert w.add_far(d, c) is True
    key = int(d * 0.9765625)  # d / SPAN, as the wheel computes it
    move_at = (key - 1) * SPAN
    assert w.next == pytest.approx(move_at)
    assert w.fire(move_at - 0.01) == pytest.approx(0.01)
    assert len(w.far) == 1 and not w.buckets
    w.fire(move_at)  # moved into the near level, not closed
    assert not w.far and len(w.buckets) == 1 and not c.closed
    assert w.next == d
    w.fire(d)
    assert c.closed


def test_wheel_closes_a_burst_in_batches() -> None:
    w = TimerWheel(None)
    cs = [chan() for _ in range(5 * BATCH + 7)]
    for c in cs:
        w.add(50.0, c)
    calls = 0
    while w.fire(50.0) == 0.0:
        calls += 1
        assert sum(_closed(cs)) <= calls * BATCH
    assert all(_closed(cs)) and calls == 6


def test_wheel_batches_of_a_far_bucket_move_in_steps() -> None:
    from gochan.timers import MOVE_BATCH
    w = TimerWheel(None)
    d = 500.0
    cs = [chan() for _ in range(3 * MOVE_BATCH)]
    for c in cs:
        w.add_far(d, c)
    now = (int(d * 0.9765625) - 1) * SPAN
    assert w.fire(now) == 0.0 and w.moving is not None  # first step only
    while w.fire(now) == 0.0:
        pass
    assert w.moving is None and not w.far and w.count() == len(cs)
    while w.fire(d) == 0.0:
        pass
    assert all(_closed(cs))


def test_wheel_add_from_is_taken_in_on_the_next_pass() -> None:
    w = TimerWheel(None)
    near, far = chan(), chan()
    w.add_from(10.0, near)
    w.add_from(20.0, far)
    assert len(w.incoming) == 4 and not w.buckets
    assert w.fire(9.0) == pytest.approx(1.0)  # 20.0 is >= FAR away: far level
    assert not w.incoming and len(w.buckets) == 1 and len(w.far) == 1
    while w.fire(20.0) == 0.0:
        pass
    assert near.closed and far.closed


def test_wheels_are_per_hub_and_installed() -> None:
    ws = wheels()
    assert len(ws) == len(hubs())
    for h, w in zip(hubs(), ws, strict=True):
        assert w.hub is h and w.hook in h.hooks
    assert "TimerWheel" in repr(ws[0])
