"""Stress: OS threads and hundreds of go blocks racing puts, takes, alts and
close on shared channels (unbuffered and buffered).

Every worker records what it did in its own list and returns it, so the
bookkeeping needs no shared state. The invariants checked:

- every put that returned True is taken exactly once; a put that returned
  False is never seen (multiset equality, no duplicates);
- each alts completed exactly one operation: a value offered by an alts
  with several put ops is received once, on the port the alts reported;
- nothing accepted is lost when close races with the puts.
"""
from __future__ import annotations

import collections
import random
import sys
import threading
from typing import Any, Callable, List, Sequence

import pytest

from gochan import (
    DEFAULT,
    alts,
    chan,
    close,
    go,
    offer,
    poll,
    put,
    put_async,
    take,
    take_async,
    thread,
)

WAIT = 45.0
ROUNDS = 4  # fresh channels each round: more interleavings of the same scenario


@pytest.fixture(autouse=True)
def preempt_often() -> Any:
    """Switch threads every few microseconds, so races are not hidden by the GIL's 5 ms slices."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def results(chans: Sequence[Any], timeout: float = WAIT) -> List[Any]:
    """The return values of go blocks / threads, waiting at most `timeout` in all."""
    out: List[Any] = [None] * len(chans)
    left = [len(chans)]
    lock = threading.Lock()
    done = threading.Event()

    def setter(i: int) -> Callable[[Any], None]:
        def cb(v: Any) -> None:
            out[i] = v
            with lock:
                left[0] -= 1
                if left[0] == 0:
                    done.set()
        return cb

    if not chans:
        return out
    for i, ch in enumerate(chans):
        take_async(ch, setter(i))
    assert done.wait(timeout), f"{left[0]} of {len(chans)} workers never finished (deadlock?)"
    assert all(v is not None for v in out), "a worker died; see the reported exception"
    return out


def assert_exactly_once(received: List[Any], accepted: List[Any], rejected: List[Any] = ()) -> None:
    counts = collections.Counter(received)
    dups = [v for v, n in counts.items() if n > 1]
    assert not dups, f"taken more than once: {dups[:10]}"
    assert not set(rejected) & set(counts), "a value whose put returned False was taken"
    assert counts == collections.Counter(accepted), (
        f"lost: {list((collections.Counter(accepted) - counts).elements())[:10]}, "
        f"unexpected: {list((counts - collections.Counter(accepted)).elements())[:10]}")


def wait_for(pred: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Bounded wait for a condition (progress of other workers, not an ordering by time)."""
    ev = threading.Event()
    deadline = threading.Timer(timeout, ev.set)
    deadline.daemon = True
    deadline.start()
    try:
        while not pred() and not ev.is_set():
            ev.wait(0.002)
        assert pred(), f"timed out waiting for {what}"
    finally:
        deadline.cancel()


# ------------------------------------------------------- puts, takes, close


@pytest.mark.timeout(60)
@pytest.mark.parametrize("buf", [None, 1, 64])
def test_puts_and_takes_racing_close(buf: Any, reported) -> None:
    for _ in range(ROUNDS):
        _puts_and_takes_racing_close(buf)
    assert reported.excs == []


def _puts_and_takes_racing_close(buf: Any) -> None:
    c = chan(buf)
    never = chan()
    n_thread_producers, n_go_producers = 4, 200
    close_after = 1800  # values taken before the close; the producers are all still putting then
    cap = 100_000  # per producer, only a bound should close fail to refuse puts: never reached
    taken = [0]
    taken_lock = threading.Lock()

    def produce(name: Any) -> List[Any]:
        """Puts (name, 0), (name, 1), ... until a put returns False: every producer races the close."""
        ok = []
        for i in range(cap):
            v = (name, i)
            if not put(c, v):
                return [name, ok, [v]]
            ok.append(v)
        return [name, ok, []]

    def consume(use_alts: bool) -> List[Any]:
        got = []
        while True:
            if use_alts:
                v, port = alts([c, never])
                assert port is c
            else:
                v = take(c)
            if v is None:
                return got
            got.append(v)
            with taken_lock:
                taken[0] += 1

    producers = [thread(produce, ("t", p)) for p in range(n_thread_producers)]
    producers += [go(produce, ("g", p)) for p in range(n_go_producers)]
    consumers = [thread(consume, False), thread(consume, True)]
    consumers += [go(consume, i % 2 == 0) for i in range(60)]

    wait_for(lambda: taken[0] >= close_after, f"{close_after} values taken")
    close(c)  # while every producer is still putting

    produced = results(producers)
    received = [v for got in results(consumers) for v in got]
    for name, ok, no in produced:
        assert no, f"producer {name} made {cap} puts and none was refused: close did not race with it"
        assert ok + no == [(name, i) for i in range(len(ok) + 1)]  # accepted ones, then the refused one
    accepted = [v for _, ok, _ in produced for v in ok]
    refused = [v for _, _, no in produced for v in no]
    assert len(refused) == n_thread_producers + n_go_producers
    assert len(accepted) >= close_after
    assert_exactly_once(received, accepted, refused)


# --------------------------------------------------------- alts put side


@pytest.mark.timeout(60)
def test_alts_with_several_puts_completes_exactly_one(reported) -> None:
    for _ in range(ROUNDS):
        _alts_with_several_puts_completes_exactly_one()
    assert reported.excs == []


def _alts_with_several_puts_completes_exactly_one() -> None:
    chans = [chan(), chan(), chan(4)]
    n_threads, per_thread = 4, 300
    n_gos, per_go = 150, 12

    def alts_producer(name: Any, k: int) -> List[Any]:
        done = []
        for i in range(k):
            v = (name, i)
            ok, port = alts([(ch, v) for ch in chans])
            assert ok is True
            done.append((v, chans.index(port)))
        return done

    def plain_taker(idx: int) -> List[Any]:
        got = []
        while True:
            v = take(chans[idx])
            if v is None:
                return got
            got.append((v, idx))

    def alts_taker() -> List[Any]:
        got = []
        open_ = list(chans)
        while open_:
            v, port = alts(open_)
            if v is None:
                open_.remove(port)
                continue
            got.append((v, chans.index(port)))
        return got

    producers = [thread(alts_producer, ("t", p), per_thread) for p in range(n_threads)]
    producers += [go(alts_producer, ("g", p), per_go) for p in range(n_gos)]
    takers = [thread(plain_taker, i) for i in range(len(chans))]
    takers += [go(plain_taker, i % len(chans)) for i in range(30)]
    takers += [thread(alts_taker)] + [go(alts_taker) for _ in range(20)]

    sent = [x for done in results(producers) for x in done]
    for ch in chans:
        close(ch)
    got = [x for g in results(takers) for x in g]
    assert len(sent) == n_threads * per_thread + n_gos * per_go
    # each value once, on the very port its alts reported
    assert_exactly_once(got, sent)


@pytest.mark.timeout(60)
def test_alts_puts_meet_alts_takes(reported) -> None:
    for _ in range(ROUNDS):
        _alts_puts_meet_alts_takes()
    assert reported.excs == []


def _alts_puts_meet_alts_takes() -> None:
    # both sides are alts on unbuffered channels: pairings commit two flags;
    # the takers list the channels in reverse order (lock-ordering deadlocks)
    chans = [chan() for _ in range(4)]
    n_producers, per_producer = 80, 25
    rng_seed = 1234

    def producer(p: int) -> List[Any]:
        rng = random.Random(rng_seed + p)
        done = []
        for i in range(per_producer):
            v = (p, i)
            order = chans[:]
            rng.shuffle(order)
            ops = [(ch, v) for ch in order]
            if rng.random() < 0.3:
                ok, port = alts(ops, default="busy")
                if port is DEFAULT:  # nobody was ready: now wait for real
                    ok, port = alts(ops, priority=True)
            else:
                ok, port = alts(ops, priority=rng.random() < 0.5)
            assert ok is True
            done.append((v, chans.index(port)))
        return done

    def taker() -> List[Any]:
        got = []
        open_ = list(reversed(chans))
        while open_:
            v, port = alts(open_)
            if v is None:
                open_.remove(port)
                continue
            got.append((v, chans.index(port)))
        return got

    producers = [go(producer, p) for p in range(n_producers // 2)]
    producers += [thread(producer, p) for p in range(n_producers // 2, n_producers // 2 + 4)]
    takers = [go(taker) for _ in range(40)] + [thread(taker) for _ in range(3)]
    sent = [x for d in results(producers) for x in d]
    for ch in chans:
        close(ch)
    got = [x for g in results(takers) for x in g]
    assert_exactly_once(got, sent)


@pytest.mark.timeout(60)
def test_alts_with_puts_and_takes_pair_with_each_other_across_threads(reported) -> None:
    for _ in range(ROUNDS):
        _alts_with_puts_and_takes_pair_with_each_other_across_threads()
    assert reported.excs == []


def _alts_with_puts_and_takes_pair_with_each_other_across_threads() -> None:
    # OS threads (truly preemptive) whose alts each offer a put on one channel
    # and a take on the other, in both roles, so two alts pair with each other
    # from both ends at once: the commit of two flags must be atomic and must
    # not deadlock. `stop` ends every loop when closed.
    c1, c2, stop = chan(), chan(), chan()
    target = 6000
    completed = [0]
    lock = threading.Lock()

    def worker(w: int) -> List[List[Any]]:
        sent, got = [], []
        i = 0
        while True:
            v = (w, i)
            i += 1
            ops = [(c1, v), c2, stop] if w % 2 == 0 else [c1, (c2, v), stop]
            r, port = alts(ops)
            if port is stop:
                return [sent, got]
            if r is True:
                sent.append(v)
            else:
                assert r is not None and r[0] % 2 != w % 2  # paired with the other role
                got.append(r)
            with lock:
                completed[0] += 1

    workers = [thread(worker, w) for w in range(6)] + [go(worker, w) for w in range(6, 10)]
    wait_for(lambda: completed[0] >= target, f"{target} alts completed")
    close(stop)
    done = results(workers)
    assert_exactly_once([v for _, g in done for v in g], [v for s, _ in done for v in s])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("buf", [None, 2])
def test_alts_puts_racing_close(buf: Any, reported) -> None:
    for _ in range(ROUNDS):
        _alts_puts_racing_close(buf)
    assert reported.excs == []


def _alts_puts_racing_close(buf: Any) -> None:
    chans = [chan(buf), chan(buf)]
    n_producers, per_producer = 100, 40
    taken = [0]
    lock = threading.Lock()

    def producer(p: int) -> List[Any]:
        out = []
        for i in range(per_producer):
            v = (p, i)
            ok, port = alts([(ch, v) for ch in chans])
            out.append((v, chans.index(port), ok))
        return out

    def taker(idx: int) -> List[Any]:
        got = []
        while True:
            v = take(chans[idx])
            if v is None:
                return got
            got.append((v, idx))
            with lock:
                taken[0] += 1

    producers = [go(producer, p) for p in range(n_producers)]
    producers += [thread(producer, n_producers + p) for p in range(2)]
    takers = [go(taker, i % 2) for i in range(20)] + [thread(taker, 0), thread(taker, 1)]
    total = (n_producers + 2) * per_producer
    wait_for(lambda: taken[0] >= total // 4, "a quarter of the values taken")
    close(chans[0])  # from here many alts find a closed port ready and return False
    seen = taken[0]
    wait_for(lambda: taken[0] >= seen + 20 or all(p.closed for p in producers), "progress")
    close(chans[1])
    out = [x for o in results(producers) for x in o]
    got = [x for g in results(takers) for x in g]
    accepted = [(v, idx) for v, idx, ok in out if ok]
    refused = [(v, idx) for v, idx, ok in out if not ok]
    assert refused
    assert_exactly_once(got, accepted)
    refused_values = {v for v, _ in refused}
    assert not refused_values & {v for v, _ in got}


# ----------------------------------------------------------- everything


@pytest.mark.timeout(60)
@pytest.mark.parametrize("buf", [None, 3])
def test_mixed_operations_fuzz(buf: Any, reported) -> None:
    for _ in range(ROUNDS):
        _mixed_operations_fuzz(buf)
    assert reported.excs == []


def _mixed_operations_fuzz(buf: Any) -> None:
    c = chan(buf)
    other = chan(buf)
    n_go, n_threads, ops_per_worker = 120, 4, 60
    async_lock = threading.Lock()
    async_received: List[Any] = []
    async_accepted: List[Any] = []
    async_puts = [0]
    async_put_results = [0]

    def on_take(v: Any) -> None:
        if v is not None:
            with async_lock:
                async_received.append(v)

    def on_put(v: Any) -> Callable[[bool], None]:
        def cb(ok: bool) -> None:
            with async_lock:
                async_put_results[0] += 1
                if ok:
                    async_accepted.append(v)
        return cb

    def worker(w: int) -> List[List[Any]]:
        rng = random.Random(w)
        accepted, received = [], []
        for i in range(ops_per_worker):
            v = (w, i)
            op = rng.randrange(9)
            if op == 0:
                if put(c, v):
                    accepted.append(v)
            elif op == 1:
                r = offer(c, v)
                if r:
                    accepted.append(v)
            elif op == 2:
                with async_lock:
                    async_puts[0] += 1
                put_async(c, v, on_put(v))
            elif op == 3:
                ok, port = alts([(c, v), (other, v)])
                if ok:
                    accepted.append(v)
            elif op == 4:
                r = poll(c)
                if r is not None:
                    received.append(r)
            elif op == 5:
                take_async(c, on_take)
            elif op == 6:
                r, port = alts([c, other], default=None)
                if port is not DEFAULT and r is not None:
                    received.append(r)
            elif op == 7:
                r, port = alts([c, (other, v)], default=None)
                if port is c and r is not None:
                    received.append(r)
                elif port is other and r:
                    accepted.append(v)
            else:
                r = poll(other)
                if r is not None:
                    received.append(r)
        return [accepted, received]

    def drainer(ch: Any) -> List[Any]:
        # a blocking taker on each channel, so blocking puts always finish
        return list(ch)

    drainers = [thread(drainer, c), thread(drainer, other), go(drainer, c), go(drainer, other)]
    workers = [go(worker, w) for w in range(n_go)]
    workers += [thread(worker, n_go + w) for w in range(n_threads)]
    done = results(workers)
    # close both; pending puts (parked or callback) are still delivered to the drainers
    close(c)
    close(other)
    drained = [v for d in results(drainers) for v in d]
    wait_for(lambda: async_put_results[0] == async_puts[0], "every put_async callback")
    accepted = [v for a, _ in done for v in a] + async_accepted
    received = [v for _, r in done for v in r] + async_received + drained
    assert_exactly_once(received, accepted)
