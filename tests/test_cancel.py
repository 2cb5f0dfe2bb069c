"""cancel(ch): Cancelled raised where a process is parked or blocked, or at its next operation;
the pending operation withdrawn atomically; never-started go blocks never run.

Events are ordered explicitly: a go block is known to be parked once the
channel's stats count its pending operation (`pending`), never by sleeping.
"""
from __future__ import annotations

import os
import random
import threading
from typing import Any, Callable, Iterator, List, Set, Tuple

import pytest
from conftest import WAIT, pending_of, wait_until

import gochan
from gochan import (
    Cancelled,
    alts,
    cancel,
    chan,
    close,
    go,
    go_fn,
    offer,
    poll,
    put,
    sleep,
    take,
    thread,
)
from gochan.process import go_on
from gochan.runtime import hubs


def parked(c: Any, takes: int = 0, puts: int = 0) -> None:
    wait_until(lambda: pending_of(c)[1] >= takes and pending_of(c)[0] >= puts, what=f"parked on {c!r}")


# --------------------------------------------------------------------- go blocks, where they park
@pytest.mark.timeout(20)
@pytest.mark.parametrize("where", ["take", "put", "alts", "sleep"])
def test_cancel_a_go_block_parked_in_each_operation(where: str, reported: Any) -> None:
    c = chan()
    seen: List[str] = []

    def body() -> str:
        try:
            if where == "take":
                take(c)
            elif where == "put":
                put(c, 1)
            elif where == "alts":
                alts([c, (chan(), 2)])
            else:
                sleep(60_000)
        except Cancelled as exc:
            seen.append(f"cancelled scope={exc.scope}")
            raise
        finally:
            seen.append("finally")
        return "not reached"

    ch = go(body)
    if where == "sleep":
        wait_until(lambda: any(i.op == "sleep" for i in gochan.dump()), what="sleeping")
    else:
        parked(c, takes=int(where in ("take", "alts")), puts=int(where == "put"))
    assert cancel(ch) is True
    assert take(ch) is None  # closes without a value
    assert seen == ["cancelled scope=None", "finally"]
    assert pending_of(c) == (0, 0)  # the operation was withdrawn
    assert offer(c, 5) is None and poll(c) is None  # nothing consumed, nothing delivered
    assert reported.excs == []  # not reported
    assert cancel(ch) is False  # finished


@pytest.mark.timeout(20)
def test_cancel_at_any_call_depth_and_catch_and_return() -> None:
    c = chan()

    def deep(n: int) -> Any:
        return take(c) if n == 0 else deep(n - 1)

    def body() -> str:
        try:
            deep(50)
        except Cancelled:
            close(c)  # cleanup may use channel operations: delivery is once per request
            return "cleaned up"
        return "not reached"

    ch = go(body)
    parked(c, takes=1)
    assert cancel(ch) is True
    assert take(ch) == "cleaned up"
    assert gochan.stats(c).closed


@pytest.mark.timeout(20)
def test_cancelled_put_delivers_nothing_and_take_consumes_nothing() -> None:
    c = chan(1)
    put(c, "kept")  # the buffer is full: the go block's put parks
    ch = go(put, c, "never")
    parked(c, puts=1)
    cancel(ch)
    assert take(ch) is None
    assert poll(c) == "kept" and poll(c) is None  # "never" was not delivered
    d = chan()
    taker = go(take, d)
    parked(d, takes=1)
    cancel(taker)
    assert take(taker) is None
    assert offer(d, 1) is None  # no taker left behind


@pytest.mark.timeout(20)
def test_cancel_from_another_hub_and_from_a_thread() -> None:
    if len(hubs()) < 2:
        pytest.skip("needs two hubs")
    c = chan()
    victim = go_on(0, take, c)
    parked(c, takes=1)
    assert take(go_on(1, cancel, victim)) is True  # cancelled from a go block on hub 1
    assert take(victim) is None
    victim2 = go_on(1, take, c)
    parked(c, takes=1)
    assert take(thread(cancel, victim2)) is True  # from a pooled thread
    assert take(victim2) is None
    assert pending_of(c) == (0, 0)


@pytest.mark.timeout(20)
def test_a_running_go_block_raises_at_its_next_operation_even_one_that_would_not_park() -> None:
    running, go_on_ = threading.Event(), threading.Event()
    c = chan(10)
    log: List[str] = []

    def body() -> None:
        running.set()
        go_on_.wait(WAIT)  # outside gochan: not interrupted
        log.append("cpu part done")
        try:
            put(c, 1)  # the buffer has room, yet this is where Cancelled lands
        except Cancelled:
            log.append("cancelled at put")
            raise

    ch = go(body)
    assert running.wait(WAIT)
    assert cancel(ch) is True
    go_on_.set()
    assert take(ch) is None
    assert log == ["cpu part done", "cancelled at put"]
    assert poll(c) is None


@pytest.mark.timeout(20)
def test_a_go_block_cancelled_before_it_starts_never_runs() -> None:
    gate = threading.Event()
    blocker = go_on(0, gate.wait, WAIT)  # holds hub 0: what is queued behind it has not started
    ran: List[int] = []
    later = go_on(0, ran.append, 1)
    assert cancel(later) is True
    assert cancel(later) is True  # twice is harmless
    gate.set()
    assert take(blocker) is True
    assert take(later) is None
    assert ran == []
    assert cancel(later) is False


@pytest.mark.timeout(20)
def test_each_request_is_delivered_once_and_the_process_may_go_on() -> None:
    c, c2 = chan(), chan()
    count: List[int] = []

    def body() -> str:
        try:
            take(c)
        except Cancelled:
            count.append(1)
        return "survived" if take(c2) == "go on" else "not reached"  # a later operation: no second raise

    ch = go(body)
    parked(c, takes=1)
    assert cancel(ch) is True
    parked(c2, takes=1)  # it caught the Cancelled and parked again
    put(c2, "go on")
    assert take(ch) == "survived"
    assert count == [1]


@pytest.mark.timeout(20)
def test_cancel_twice_is_harmless(reported: Any) -> None:
    from gochan import procs
    c = chan()
    ch = go(take, c)
    parked(c, takes=1)
    assert cancel(ch) is True
    cancel(ch)  # before or after the first was delivered: either way it ends once, quietly
    assert take(ch) is None
    assert cancel(ch) is False
    assert reported.excs == []
    wait_until(lambda: procs.pending == 0, what="no request left pending")


@pytest.mark.timeout(20)
def test_cancel_a_go_fn_call_and_a_finished_one() -> None:
    c = chan()

    @go_fn
    def waiter() -> Any:
        return take(c)

    ch = waiter()
    parked(c, takes=1)
    assert cancel(ch) is True and take(ch) is None
    done = go(lambda: 7)
    assert take(done) == 7
    assert cancel(done) is False


@pytest.mark.timeout(20)
def test_alts_cancelled_completes_none_of_its_ops() -> None:
    a, b = chan(), chan()
    ch = go(alts, [a, (b, "x")])
    parked(a, takes=1)
    parked(b, puts=1)
    cancel(ch)
    assert take(ch) is None
    assert offer(a, 1) is None  # its take is inert
    assert poll(b) is None  # its put is inert


# --------------------------------------------------------------------- thread bodies
@pytest.mark.timeout(20)
def test_cancel_a_thread_body_blocked_in_take(reported: Any) -> None:
    c = chan()
    seen: List[str] = []

    def body() -> None:
        try:
            take(c)
        finally:
            seen.append("finally")

    ch = thread(body)
    parked(c, takes=1)
    assert cancel(ch) is True
    assert take(ch) is None
    assert seen == ["finally"]
    assert pending_of(c) == (0, 0)
    assert offer(c, 1) is None
    assert reported.excs == []


@pytest.mark.timeout(20)
def test_a_running_thread_body_raises_at_its_next_operation() -> None:
    running, proceed = threading.Event(), threading.Event()
    c = chan(1)
    log: List[str] = []

    def body() -> None:
        running.set()
        proceed.wait(WAIT)  # a blocking call gochan cannot interrupt
        try:
            put(c, 1)
        except Cancelled:
            log.append("cancelled")
            raise

    ch = thread(body)
    assert running.wait(WAIT)
    assert cancel(ch) is True
    proceed.set()
    assert take(ch) is None
    assert log == ["cancelled"]
    assert poll(c) is None


@pytest.mark.timeout(20)
def test_cancel_bad_arguments_name_themselves() -> None:
    with pytest.raises(TypeError, match="cancel: ch"):
        cancel("nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cancel: ch must be a channel returned by go"):
        cancel(chan())


# --------------------------------------------------------------------- stress: conservation
@pytest.fixture
def pool_of() -> Iterator[Callable[[int], None]]:
    """Restart the runtime with n hubs for one test (GOCHAN_POOL_SIZE), and restore it after."""
    old = os.environ.get("GOCHAN_POOL_SIZE")

    def use(n: int) -> None:
        assert gochan.shutdown(timeout_ms=5000)
        os.environ["GOCHAN_POOL_SIZE"] = str(n)

    yield use
    assert gochan.shutdown(timeout_ms=5000)
    if old is None:
        os.environ.pop("GOCHAN_POOL_SIZE", None)
    else:
        os.environ["GOCHAN_POOL_SIZE"] = old


def _conservation_round(n_pairs: int, per: int, seed: int) -> Tuple[Set[int], List[int]]:
    """Producers and consumers on shared channels, a third of each cancelled mid-flight.

    Returns (values whose put returned True, values taken, with repeats).
    """
    rng = random.Random(seed)
    chans = [chan() for _ in range(4)] + [chan(3)]
    accepted: List[int] = []
    taken: List[int] = []
    lock = threading.Lock()

    def producer(k: int) -> None:
        for i in range(per):
            v = k * per + i
            c = chans[(k + i) % len(chans)]
            if put(c, v):
                with lock:
                    accepted.append(v)

    def consumer(k: int) -> None:
        while True:
            r = alts(chans)[0] if k % 2 else take(chans[k % len(chans)])
            if r is None:
                return
            with lock:
                taken.append(r)

    prods = [go(producer, k) for k in range(n_pairs)]
    cons = [go(consumer, k) for k in range(n_pairs)] + [thread(consumer, 101), thread(consumer, 102)]
    victims = rng.sample(prods, n_pairs // 3) + rng.sample(cons[:n_pairs], n_pairs // 3)
    for v in victims:
        cancel(v)
    for p in prods:
        take(p)
    # every producer has ended: drain what is buffered with a fresh consumer per channel, then close
    for c in chans:
        close(c)
    survivors = [c for c in cons if c not in victims]
    for c in survivors:
        take(c)
    for c in chans:  # a consumer cancelled at the end may leave buffered values: collect them
        while True:
            r = poll(c)
            if r is None:
                break
            taken.append(r)
    return set(accepted), taken


@pytest.mark.timeout(60)
@pytest.mark.parametrize("n_hubs", [1, 4])
def test_values_are_conserved_while_processes_are_cancelled_mid_flight(n_hubs: int,
                                                                       pool_of: Callable[[int], None]) -> None:
    pool_of(n_hubs)
    for seed in range(6):
        accepted, taken = _conservation_round(n_pairs=12, per=200, seed=seed)
        assert len(taken) == len(set(taken)), "a value was taken twice"
        assert set(taken) == accepted, (f"lost {sorted(accepted - set(taken))[:5]}, "
                                        f"phantom {sorted(set(taken) - accepted)[:5]}")


@pytest.mark.timeout(60)
def test_cancel_races_with_completion_never_lose_or_duplicate_a_value() -> None:
    """A put and a cancel of its taker race, 2,000 times: the value is either taken (and the
    taker returns it) or not delivered (and the put is still pending, then withdrawn)."""
    for i in range(2000):
        c = chan()
        taker = go(take, c)
        parked(c, takes=1)
        producer = thread(put, c, i) if i % 2 else go(put, c, i)
        cancel(taker)
        got = take(taker)
        if got is None:  # the take was withdrawn: the put must still be pending, undelivered
            assert take(c) == i
            assert take(producer) is True
        else:
            assert got == i
            assert take(producer) is True
