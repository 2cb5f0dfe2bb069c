"""The compiled channel core's own parts (gochan/_cchan.c), against the pure-Python reference.

- `Ring`, the plain buffers' storage in the compiled build, behaves as the
  deque it replaces (a model is run beside it on random operations);
- the buffers behave alike on both storages;
- a channel driven through the compiled `put_with`/`take_with` and one
  driven through the Python reference on deque-backed buffers give the
  same results, callbacks and stats on random operation sequences (in this
  process), and so do the two builds end to end (a compiled and a
  `GOCHAN_PURE=1` subprocess running the same seeded sequences);
- under threads every value put is taken exactly once, the lock excludes;
- the C paths defer to Python where the Python side changed (a replaced
  `GoTask.wake`, a waiter class whose `flag` changed).

Tests that need the compiled core skip on the pure build.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import threading
from collections import deque
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gochan
from gochan import buffers as _buffers
from gochan import chan, close, go, poll, put, take
from gochan import channel as _channel
from gochan.protocols import NOT_READY, PENDING
from gochan.waiters import NONBLOCKING, CallbackWaiter, Flag

ROOT = Path(__file__).resolve().parent.parent

compiled_only = pytest.mark.skipif(not gochan.compiled, reason="needs the compiled core (gochan/_cchan.c)")


def _cchan() -> Any:
    from gochan import _cchan

    return _cchan


# ------------------------------------------------------------------ the Ring


class DequeModel:
    """What a Ring of (n, overflow) must do, on a deque."""

    def __init__(self, n: Optional[int], overflow: str) -> None:
        self.q: deque = deque()  # type: ignore[type-arg]
        self.n = n
        self.overflow = overflow

    def append(self, v: Any) -> None:
        if self.n is not None and len(self.q) >= self.n and self.overflow != "park":
            if self.overflow == "drop":
                return
            self.q.popleft()
        self.q.append(v)

    def popleft(self) -> Any:
        return self.q.popleft()


RING_KINDS = [(None, "park"), (0, "park"), (1, "park"), (5, "park"), (1, "slide"), (3, "slide"), (70, "slide"),
              (1, "drop"), (4, "drop"), (100, "drop")]


@compiled_only
@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(RING_KINDS),
       ops=st.lists(st.one_of(st.integers(0, 10**6), st.just("pop"), st.just("clear"), st.just("burst")), max_size=120))
def test_ring_behaves_as_its_deque_model(kind: Tuple[Optional[int], str], ops: List[Any]) -> None:
    n, overflow = kind
    ring = _cchan().Ring(n, overflow)
    model = DequeModel(n, overflow)
    for op in ops:
        if op == "pop":
            if model.q:
                assert ring.popleft() == model.popleft()
            else:
                with pytest.raises(IndexError):
                    ring.popleft()
        elif op == "clear":
            ring.clear()
            model.q.clear()
        elif op == "burst":  # grow past the initial capacity, then shrink back
            for i in range(300):
                ring.append(-i)
                model.append(-i)
            for _ in range(290):
                if model.q:
                    assert ring.popleft() == model.popleft()
        else:
            ring.append(op)
            model.append(op)
        assert len(ring) == len(model.q)
        assert list(ring) == list(model.q)
        assert bool(ring) == bool(model.q)


@compiled_only
def test_ring_interface() -> None:
    Ring = _cchan().Ring
    r = Ring(2, "slide")
    assert (r.n, r.overflow) == (2, "slide")
    assert (Ring().n, Ring().overflow) == (None, "park")
    r.append("a")
    r.append(["b"])
    r.append("c")
    assert repr(r) == "Ring([['b'], 'c'], n=2, overflow='slide')"
    assert repr(Ring()) == "Ring([])"
    it = iter(r)
    r.popleft()  # iteration is over a snapshot
    assert list(it) == [["b"], "c"]
    with pytest.raises(ValueError, match="overflow"):
        Ring(2, "sideways")
    with pytest.raises(ValueError, match=">= 1"):
        Ring(0, "slide")
    with pytest.raises(ValueError, match=">= 0"):
        Ring(-1)
    with pytest.raises(TypeError):
        Ring("3")


@compiled_only
def test_a_ring_in_a_reference_cycle_is_collected() -> None:
    import gc
    import weakref

    class Box:
        pass

    r = _cchan().Ring()
    b = Box()
    b.ring = r  # type: ignore[attr-defined]
    r.append(b)
    ref = weakref.ref(b)
    del r, b
    gc.collect()
    assert ref() is None


@compiled_only
def test_a_value_the_ring_drops_is_released() -> None:
    import weakref

    class V:
        pass

    r = _cchan().Ring(1, "slide")
    v = V()
    ref = weakref.ref(v)
    r.append(v)
    del v
    r.append("next")  # drops v
    assert ref() is None


# --------------------------------------------------------------- the buffers


def _pure_buffers() -> Dict[str, Callable[[int], Any]]:
    """Buffer constructors with the pure build's storage (a deque), whichever build runs."""
    saved = _buffers._Ring
    _buffers._Ring = None

    def make(fn: Callable[[int], Any]) -> Callable[[int], Any]:
        def build(n: int) -> Any:
            _buffers._Ring = None
            try:
                return fn(n)
            finally:
                _buffers._Ring = saved
        return build

    try:
        return {"fixed": make(gochan.buffer), "sliding": make(gochan.sliding_buffer),
                "dropping": make(gochan.dropping_buffer)}
    finally:
        _buffers._Ring = saved


BUFFERS = {"fixed": gochan.buffer, "sliding": gochan.sliding_buffer, "dropping": gochan.dropping_buffer}


def test_the_build_picks_the_plain_buffers_storage() -> None:
    for kind, make in BUFFERS.items():
        b = make(3)
        if gochan.compiled:
            assert type(b.q).__name__ == "Ring" and b.plain
        else:
            assert type(b.q) is deque and b.plain == (kind != "dropping")
        assert type(_pure_buffers()[kind](3).q) is deque


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(sorted(BUFFERS)), n=st.integers(1, 6),
       ops=st.lists(st.one_of(st.integers(0, 1000), st.just("remove")), max_size=60))
def test_buffers_behave_alike_on_both_storages(kind: str, n: int, ops: List[Any]) -> None:
    a, b = BUFFERS[kind](n), _pure_buffers()[kind](n)
    for op in ops:
        if op == "remove":
            if len(b):
                assert a.remove() == b.remove()
            else:
                with pytest.raises(IndexError):
                    a.remove()
        else:
            a.add(op)
            b.add(op)
        assert (len(a), a.is_full(), a.describe(), list(a.q)) == (len(b), b.is_full(), b.describe(), list(b.q))
        assert (a.kind, a.n, a.limit, a.unblocking) == (b.kind, b.n, b.limit, b.unblocking)


# ------------------------------------------------ channels: C paths vs reference

OPS = st.lists(st.one_of(
    st.tuples(st.just("offer"), st.integers(1, 99)),
    st.tuples(st.just("put_async"), st.integers(100, 199)),
    st.just(("poll",)), st.just(("take_async",)), st.just(("close",)),
), max_size=40)
KINDS = [("none", 0), ("fixed", 1), ("fixed", 3), ("sliding", 2), ("dropping", 2)]


def _drive(c: Any, ops: List[Tuple[Any, ...]], put_with: Callable[..., Any],
           take_with: Callable[..., Any]) -> List[Any]:
    """Run `ops` on `c` as ops.py's offer/poll/put_async/take_async do, with the given put_with/take_with;
    returns every result, callback and stats snapshot in order."""
    trace: List[Any] = []

    def cb(tag: str, i: int) -> Callable[[Any], None]:
        return lambda v: trace.append(("cb", tag, i, v))

    for i, op in enumerate(ops):
        name = op[0]
        if name == "offer":
            r = put_with(c, NONBLOCKING, op[1], False)
            trace.append((name, None if r is NOT_READY else r))
        elif name == "poll":
            r = take_with(c, NONBLOCKING, False)
            trace.append((name, None if r is NOT_READY else r))
        elif name == "put_async":
            r = put_with(c, CallbackWaiter(cb("put", i)), op[1])
            if r is not PENDING:
                cb("put", i)(r)
            trace.append((name, r is PENDING))
        elif name == "take_async":
            r = take_with(c, CallbackWaiter(cb("take", i)))
            if r is not PENDING:
                cb("take", i)(r)
            trace.append((name, r is PENDING))
        else:
            c.close()
            trace.append((name,))
        s = gochan.stats(c)
        trace.append((s.count, s.pending_puts, s.pending_takes, s.closed))
    return trace


def _make(kind: str, n: int, pure: bool) -> Any:
    if kind == "none":
        return chan()
    return chan((_pure_buffers() if pure else BUFFERS)[kind](n))


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), ops=OPS)
def test_compiled_paths_match_the_reference(kind: Tuple[str, int], ops: List[Tuple[Any, ...]]) -> None:
    # Compiled: the C put_with/take_with on ring buffers. Reference: the Python methods on deque buffers.
    # (On the pure build both sides are the reference: the test then checks nothing new.)
    fast = _drive(_make(*kind, pure=False), ops, lambda c, *a: c.put_with(*a), lambda c, *a: c.take_with(*a))
    ref = _drive(_make(*kind, pure=True), ops, _channel._py_put_with, _channel._py_take_with)
    assert fast == ref


DIFF_SCRIPT = textwrap.dedent("""
    import json, random, sys
    import gochan
    from gochan import chan, offer, poll, put_async, take_async, close, stats, go, put, take
    from gochan import buffer, sliding_buffer, dropping_buffer
    KINDS = [None, (buffer, 1), (buffer, 3), (sliding_buffer, 2), (dropping_buffer, 2), (buffer, 1024)]
    out = []
    rnd = random.Random(int(sys.argv[1]))
    for seq in range(int(sys.argv[2])):
        kind = KINDS[seq % len(KINDS)]
        c = chan() if kind is None else chan(kind[0](kind[1]))
        trace = []
        for i in range(rnd.randrange(1, 60)):
            op = rnd.choice(["offer", "offer", "poll", "poll", "put_async", "take_async", "close"]
                            if rnd.random() < 0.95 else ["close"])
            if op == "offer":
                trace.append([op, offer(c, i)])
            elif op == "poll":
                trace.append([op, poll(c)])
            elif op == "put_async":
                trace.append([op, put_async(c, 1000 + i, lambda ok, i=i, t=trace: t.append(["put_cb", i, ok]))])
            elif op == "take_async":
                take_async(c, lambda v, i=i, t=trace: t.append(["take_cb", i, v]))
            else:
                close(c)
            s = stats(c)
            trace.append([s.count, s.pending_puts, s.pending_takes, s.closed])
        out.append(trace)
    # go blocks: a producer and a consumer per buffer kind, values in order
    def producer(c, n):
        for i in range(n):
            put(c, i)
        close(c)
    def consumer(c):
        return list(c)
    def driver():
        res = []
        for kind in [None, (buffer, 1), (buffer, 5), (buffer, 1024)]:
            c = chan() if kind is None else chan(kind[0](kind[1]))
            done = go(consumer, c)
            go(producer, c, 3000)
            res.append(take(done))
        return res
    out.append(take(go(driver)))
    print(json.dumps([gochan.compiled, out]))
""")


def _diff_run(pure: bool, seed: int, n: int) -> Tuple[bool, Any]:
    env = dict(os.environ)
    env.pop("GOCHAN_PURE", None)
    if pure:
        env["GOCHAN_PURE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    p = subprocess.run([sys.executable, "-c", DIFF_SCRIPT, str(seed), str(n)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    built, out = json.loads(p.stdout)
    return built, out


@compiled_only
@pytest.mark.timeout(240)
def test_the_two_builds_give_the_same_results() -> None:
    seed = random.randrange(10**9)
    built_c, out_c = _diff_run(False, seed, 400)
    built_p, out_p = _diff_run(True, seed, 400)
    assert (built_c, built_p) == (True, False)
    assert len(out_c) == len(out_p)
    for i, (a, b) in enumerate(zip(out_c, out_p, strict=True)):
        assert a == b, f"seed {seed}, sequence {i}"


# ------------------------------------------------------------------- threads


@pytest.mark.timeout(120)
@pytest.mark.parametrize("buf", [None, 1, 7, 128])
def test_every_value_put_is_taken_exactly_once(buf: Optional[int]) -> None:
    """Threads and go blocks (on every hub) put and take on one channel at once."""
    producers, per = 6, 3000
    c = chan(buf)
    taken: List[List[int]] = []
    lock = threading.Lock()

    def produce(base: int) -> None:
        for i in range(per):
            put(c, base + i)

    def consume() -> List[int]:
        got = []
        while True:
            v = take(c)
            if v is None:
                return got
            got.append(v)

    def thread_consumer() -> None:
        got = consume()
        with lock:
            taken.append(got)

    threads = [threading.Thread(target=produce, args=(k * per,)) for k in range(3)]
    threads += [threading.Thread(target=thread_consumer) for _ in range(2)]
    for t in threads:
        t.start()
    go_producers = [go(produce, k * per) for k in range(3, producers)]
    go_consumers = [go(consume) for _ in range(2)]
    for t in threads[:3]:
        t.join()
    for d in go_producers:
        take(d)
    close(c)
    for t in threads[3:]:
        t.join()
    for d in go_consumers:
        taken.append(take(d))
    values = sorted(v for got in taken for v in got)
    assert values == list(range(producers * per))
    for got in taken:  # each producer's values arrive in its order
        for k in range(producers):
            mine = [v for v in got if k * per <= v < (k + 1) * per]
            assert mine == sorted(mine)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("make", [gochan.sliding_buffer, gochan.dropping_buffer])
def test_unblocking_buffers_under_threads_lose_values_but_never_duplicate_one(make: Callable[[int], Any]) -> None:
    c = chan(make(5))
    per = 5000
    got: List[int] = []

    def produce(base: int) -> None:
        for i in range(per):
            assert put(c, base + i) is True

    def consume() -> None:
        while True:
            v = take(c)
            if v is None:
                return
            got.append(v)

    ps = [threading.Thread(target=produce, args=(k * per,)) for k in range(3)]
    q = threading.Thread(target=consume)
    for t in ps + [q]:
        t.start()
    for t in ps:
        t.join()
    close(c)
    q.join()
    assert len(got) == len(set(got)) and set(got) <= set(range(3 * per))
    assert poll(c) is None


@compiled_only
@pytest.mark.timeout(60)
def test_the_channel_lock_excludes_and_wakes_every_waiter() -> None:
    lock = _cchan().Lock()
    inside = [0]
    total = [0]
    errors: List[str] = []

    def work() -> None:
        for i in range(3000):
            with lock:
                inside[0] += 1
                if inside[0] != 1:
                    errors.append("two holders")
                if i % 500 == 0:
                    threading.Event().wait(0.001)  # hold it while the others pile up and block
                total[0] += 1
                inside[0] -= 1

    ts = [threading.Thread(target=work) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors and total[0] == 6 * 3000 and not lock.locked()


@compiled_only
@pytest.mark.timeout(30)
def test_the_lock_keeps_threading_locks_interface() -> None:
    lock = _cchan().Lock()
    assert lock.acquire(blocking=False) is True and lock.locked()
    assert lock.acquire(False) is False
    assert lock.acquire(timeout=0.01) is False
    with pytest.raises(ValueError):
        lock.acquire(False, 1)
    lock.release()
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()
    assert lock.acquire(True, 0.5) is True
    released = threading.Timer(0.02, lock.release)
    released.start()
    assert lock.acquire(timeout=5) is True  # a timed wait sees the release
    lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()


# ------------------------------------------------- where C defers to Python


@compiled_only
@pytest.mark.timeout(30)
def test_a_replaced_gotask_wake_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    from gochan.hub import GoTask

    calls: List[Any] = []
    original = GoTask.wake

    def counting(self: GoTask, value: Any) -> None:
        calls.append(value)
        original(self, value)

    def ping_pong() -> List[Any]:
        a, b = chan(), chan()

        def pong() -> None:
            put(b, take(a))

        done = go(pong)  # on this go block's hub: same-thread wakes
        put(a, "x")
        r = take(b)
        take(done)
        return [r]

    assert take(go(ping_pong)) == ["x"] and not calls  # the C wake: the method is not called
    monkeypatch.setattr(GoTask, "wake", counting)
    assert take(go(ping_pong)) == ["x"]
    assert calls.count(True) == 2  # both hand-offs woke their parked putter through the method
    monkeypatch.undo()
    calls.clear()
    assert take(go(ping_pong)) == ["x"] and not calls


def test_a_changed_waiter_class_flag_is_seen() -> None:
    class Waiter:
        __slots__ = ()
        flag: Any = None

        def wake(self, value: Any) -> None:
            pass

    c = chan()
    assert c.put_with(Waiter(), 1) is PENDING
    assert len(c._puts) == 1  # a plain waiter: queued
    dead = Flag()
    dead.commit()
    Waiter.flag = dead  # an alts that completed elsewhere: registering must be skipped
    assert c.put_with(Waiter(), 2) is PENDING
    assert len(c._puts) == 1


def test_a_waiter_without_a_flag_raises_as_in_the_reference() -> None:
    class NoFlag:
        __slots__ = ("flag",)

    for c in (chan(), chan(2)):
        with pytest.raises(AttributeError):
            c.put_with(NoFlag(), 1)
        with pytest.raises(AttributeError):
            c.take_with(NoFlag())


@pytest.mark.timeout(30)
def test_a_closed_buffered_channel_answers_at_once() -> None:
    for make in BUFFERS.values():
        c = chan(make(2))
        put(c, 1)
        close(c)
        assert put(c, 2) is False
        assert take(c) == 1 and take(c) is None and poll(c) is None


@pytest.mark.timeout(30)
def test_a_full_fixed_buffer_admits_a_parked_put_when_taken_from() -> None:
    def run() -> List[Any]:
        c = chan(2)
        put(c, 1)
        put(c, 2)
        done = go(put, c, 3)  # parks: the buffer is full
        while gochan.stats(c).pending_puts == 0:
            take(go(lambda: None))  # let it run and park
        first = take(c)  # admits 3 and wakes its putter with True
        return [first, gochan.stats(c).count, take(done), take(c), take(c)]

    assert take(go(run)) == [1, 2, True, 2, 3]

