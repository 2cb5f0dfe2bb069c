"""stats(c): a frozen snapshot of a channel (core.async 1.9's datafy), and channel names.

Every kind of buffer, after puts, takes and close; threads and go blocks
blocked on a channel show in its pending counts; the registrations of an
alts count while it waits and stop counting once it has completed elsewhere.
"""
from __future__ import annotations

import dataclasses
import threading

import pytest

import gochan
from gochan import (
    alts,
    buffer,
    chan,
    close,
    dropping_buffer,
    go,
    offer,
    poll,
    promise_chan,
    put,
    sliding_buffer,
    take,
    xf,
)


def stats(c):
    return gochan.stats(c)


# ------------------------------------------------------------------ the type


def test_stats_and_chanstats_are_exported() -> None:
    assert callable(gochan.stats)
    assert "stats" in gochan.__all__ and "ChanStats" in gochan.__all__
    s = gochan.stats(chan())
    assert isinstance(s, gochan.ChanStats)
    assert dataclasses.is_dataclass(s)
    fields = {f.name for f in dataclasses.fields(s)}
    assert {"name", "buffer", "count", "capacity", "pending_puts", "pending_takes", "closed"} <= fields


def test_stats_is_a_frozen_snapshot() -> None:
    c = chan(2)
    s = stats(c)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.count = 5  # type: ignore[misc]
    put(c, 1)
    assert s.count == 0, "a snapshot must not follow later changes"
    assert stats(c).count == 1


def test_stats_of_a_non_channel_is_a_type_error_naming_c() -> None:
    with pytest.raises(TypeError, match=r"\bc\b"):
        gochan.stats(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"\bc\b"):
        gochan.stats(None)  # type: ignore[arg-type]


# ------------------------------------------------------------------ buffer kinds


def test_unbuffered() -> None:
    c = chan()
    assert stats(c) == gochan.ChanStats(name=None, buffer="unbuffered", count=0, capacity=0,
                                        pending_puts=0, pending_takes=0, closed=False)
    assert stats(chan(0)).buffer == "unbuffered"
    close(c)
    s = stats(c)
    assert s.closed is True and s.count == 0 and s.capacity == 0


def test_fixed_counts_puts_and_takes() -> None:
    c = chan(3)
    s = stats(c)
    assert (s.buffer, s.count, s.capacity, s.closed) == ("fixed", 0, 3, False)
    put(c, 1)
    put(c, 2)
    assert stats(c).count == 2
    assert take(c) == 1
    assert stats(c).count == 1
    put(c, 3)
    put(c, 4)
    s = stats(c)
    assert (s.count, s.capacity, s.pending_puts, s.pending_takes) == (3, 3, 0, 0)
    assert offer(c, 5) is None  # full: nothing changes
    assert stats(c).count == 3


def test_fixed_buffer_object_and_xform_channel_are_fixed() -> None:
    s = stats(chan(buffer(4)))
    assert (s.buffer, s.capacity) == ("fixed", 4)
    c = chan(2, xf.map(lambda x: x * 10))
    put(c, 1)
    s = stats(c)
    assert (s.buffer, s.count, s.capacity) == ("fixed", 1, 2)
    assert take(c) == 10


def test_closed_fixed_keeps_counting_what_is_left() -> None:
    c = chan(2)
    put(c, "a")
    put(c, "b")
    close(c)
    s = stats(c)
    assert (s.closed, s.count) == (True, 2)
    assert take(c) == "a"
    assert stats(c).count == 1
    assert take(c) == "b"
    assert take(c) is None
    s = stats(c)
    assert (s.closed, s.count, s.pending_puts, s.pending_takes) == (True, 0, 0, 0)


def test_dropping() -> None:
    c = chan(dropping_buffer(2))
    s = stats(c)
    assert (s.buffer, s.count, s.capacity) == ("dropping", 0, 2)
    for v in (1, 2, 3):
        assert put(c, v) is True  # never parks
    s = stats(c)
    assert (s.count, s.capacity, s.pending_puts) == (2, 2, 0)
    assert take(c) == 1
    assert stats(c).count == 1


def test_sliding() -> None:
    c = chan(sliding_buffer(2))
    s = stats(c)
    assert (s.buffer, s.count, s.capacity) == ("sliding", 0, 2)
    for v in (1, 2, 3):
        assert put(c, v) is True
    s = stats(c)
    assert (s.count, s.capacity, s.pending_puts) == (2, 2, 0)
    assert take(c) == 2  # the oldest was dropped
    assert stats(c).count == 1


def test_promise() -> None:
    p = promise_chan()
    s = stats(p)
    assert (s.buffer, s.count, s.capacity, s.closed) == ("promise", 0, 1, False)
    put(p, "v")
    put(p, "ignored")
    assert stats(p).count == 1
    assert take(p) == "v"
    assert stats(p).count == 1  # every later taker gets it too
    close(p)
    s = stats(p)
    assert (s.closed, s.count) == (True, 1)


def test_promise_closed_empty() -> None:
    p = promise_chan()
    close(p)
    s = stats(p)
    assert (s.buffer, s.count, s.capacity, s.closed) == ("promise", 0, 1, True)


# ------------------------------------------------------------------ pending ops


@pytest.mark.timeout(10)
def test_a_thread_blocked_in_put_counts_as_pending_put(bg, until) -> None:
    c = chan()
    b = bg(put, c, "x")
    until(lambda: stats(c).pending_puts == 1, what="the blocked put to count")
    assert stats(c).pending_takes == 0
    assert take(c) == "x"
    assert b.join() is True
    s = stats(c)
    assert (s.pending_puts, s.pending_takes) == (0, 0)


@pytest.mark.timeout(10)
def test_a_thread_blocked_in_take_counts_as_pending_take(bg, until) -> None:
    c = chan(1)
    b = bg(take, c)
    until(lambda: stats(c).pending_takes == 1, what="the blocked take to count")
    assert stats(c).pending_puts == 0
    put(c, 7)
    assert b.join() == 7
    s = stats(c)
    assert (s.count, s.pending_puts, s.pending_takes) == (0, 0, 0)


@pytest.mark.timeout(10)
def test_put_blocked_on_a_full_buffer_counts_beside_the_buffered_value(bg, until) -> None:
    c = chan(1)
    put(c, 1)
    b = bg(put, c, 2)
    until(lambda: stats(c).pending_puts == 1, what="the blocked put to count")
    assert stats(c).count == 1
    assert take(c) == 1
    assert b.join() is True
    s = stats(c)
    assert (s.count, s.pending_puts) == (1, 0)


@pytest.mark.timeout(10)
def test_go_blocks_parked_count_as_pending(until) -> None:
    c = chan()
    takers = [go(take, c) for _ in range(3)]
    until(lambda: stats(c).pending_takes == 3, what="three parked takes")
    for v in "abc":
        put(c, v)
    assert sorted(take(t) for t in takers) == ["a", "b", "c"]
    assert stats(c).pending_takes == 0
    d = chan()
    putters = [go(put, d, i) for i in range(1, 3)]
    until(lambda: stats(d).pending_puts == 2, what="two parked puts")
    assert sorted([take(d), take(d)]) == [1, 2]
    assert [take(p) for p in putters] == [True, True]
    assert stats(d).pending_puts == 0


@pytest.mark.timeout(10)
def test_close_releases_pending_takes(bg, until) -> None:
    c = chan()
    b = bg(take, c)
    until(lambda: stats(c).pending_takes == 1, what="the blocked take to count")
    close(c)
    assert b.join() is None
    s = stats(c)
    assert (s.closed, s.pending_takes) == (True, 0)


@pytest.mark.timeout(10)
def test_alts_registrations_count_until_the_alts_completes(bg, until) -> None:
    a, b, p = chan(), chan(), chan()
    waiter = bg(alts, [a, b, (p, "v")])
    until(lambda: stats(a).pending_takes == 1 and stats(b).pending_takes == 1
          and stats(p).pending_puts == 1, what="the alts' three registrations")
    put(a, 1)
    assert waiter.join() == (1, a)
    # b and p may still hold the completed alts' registrations internally: they are not pending
    for c in (a, b):
        s = stats(c)
        assert (s.pending_puts, s.pending_takes) == (0, 0), (c, s)
    s = stats(p)
    assert (s.pending_puts, s.pending_takes) == (0, 0)
    assert poll(p) is None and offer(b, 1) is None  # nothing left to pair with


@pytest.mark.timeout(10)
def test_go_block_alts_registrations_stop_counting(until) -> None:
    a, b = chan(), chan(1)
    done = go(alts, [a, b])
    until(lambda: stats(a).pending_takes == 1 and stats(b).pending_takes == 1,
          what="the go block's alts registrations")
    put(b, "x")
    assert take(done) == ("x", b)
    assert stats(a).pending_takes == 0
    assert stats(b).pending_takes == 0 and stats(b).count == 0


@pytest.mark.timeout(10)
def test_a_live_registration_counts_beside_a_dead_one(bg, until) -> None:
    a, b = chan(), chan()
    first = bg(alts, [a, b])
    until(lambda: stats(b).pending_takes == 1, what="the first alts' registration")
    second = bg(take, b)
    until(lambda: stats(b).pending_takes == 2, what="a plain take beside it")
    put(a, 1)
    assert first.join() == (1, a)
    assert stats(b).pending_takes == 1  # only the plain take is still pending
    put(b, 2)
    assert second.join() == 2
    assert stats(b).pending_takes == 0


# ------------------------------------------------------------------ names


def test_name_shows_in_stats_and_repr() -> None:
    c = chan(name="jobs")
    assert stats(c).name == "jobs"
    assert "jobs" in repr(c)
    d = chan(4, name="results")
    assert stats(d).name == "results" and stats(d).capacity == 4
    assert "results" in repr(d)
    p = promise_chan(name="answer")
    assert stats(p).name == "answer" and stats(p).buffer == "promise"
    assert "answer" in repr(p)


def test_unnamed_channels_have_name_none() -> None:
    assert stats(chan()).name is None
    assert stats(chan(2)).name is None
    assert stats(promise_chan()).name is None


def test_name_survives_close() -> None:
    c = chan(1, name="jobs")
    close(c)
    assert stats(c).name == "jobs" and stats(c).closed
    assert "jobs" in repr(c)


@pytest.mark.timeout(10)
def test_threads_see_consistent_counts_under_churn() -> None:
    """Snapshots taken while other threads put and take never report impossible values."""
    c = chan(4)
    stop = threading.Event()
    bad = []

    def churn() -> None:
        while not stop.is_set():
            if offer(c, 1) is None:
                poll(c)

    ts = [threading.Thread(target=churn, daemon=True) for _ in range(2)]
    for t in ts:
        t.start()
    try:
        for _ in range(2000):
            s = stats(c)
            if not 0 <= s.count <= 4 or s.pending_puts or s.pending_takes or s.capacity != 4:
                bad.append(s)
    finally:
        stop.set()
        for t in ts:
            t.join(5)
    assert bad == []
