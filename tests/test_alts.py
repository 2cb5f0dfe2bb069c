"""alts and alt: exactly one operation, priority and fair random choice,
default, put results, closed ports, registration limits, and the O(1)
first-ready path.

Ported from async_test.clj (`test-write-on-closed`, `test-alts-put-nil-invalid`)
and ioc_macros_test.clj (`alt-tests`), semantics reference §1.4, §2.6, §3.1, §3.6.
"""
from __future__ import annotations

import collections
import time
from typing import Any, List

import pytest

from gochan import (
    DEFAULT,
    TooManyPendingError,
    alt,
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
)


def ready(n: int, value: Any = "v") -> List[Any]:
    chans = [chan(1) for _ in range(n)]
    for c in chans:
        offer(c, value)
    return chans


# -------------------------------------------------------------- basic results


def test_take_returns_value_and_port() -> None:
    a, b = chan(1), chan(1)
    offer(b, 42)
    assert alts([a, b]) == (42, b)


def test_put_returns_true_and_port() -> None:
    a = chan()
    b = chan(1)
    assert alts([(a, 1), (b, 2)]) == (True, b)
    assert poll(b) == 2
    assert poll(a) is None


def test_put_as_list_pair() -> None:
    b = chan(1)
    assert alts([[b, 2]]) == (True, b)
    assert poll(b) == 2


def test_put_on_closed_returns_false() -> None:
    c = chan(1)
    close(c)
    assert alts([(c, 1)]) == (False, c)
    assert poll(c) is None


def test_take_on_closed_returns_none() -> None:
    c = chan()
    close(c)
    assert alts([c]) == (None, c)


@pytest.mark.timeout(10)
def test_alts_in_go_block() -> None:
    c = chan(1)
    offer(c, 42)
    assert take(go(alts, [c])) == (42, c)


@pytest.mark.timeout(10)
def test_alts_parks_until_one_op_completes(bg) -> None:
    a, b = chan(), chan()
    waiter = go(alts, [a, b])
    t = bg(alts, [a, b])
    assert t.blocked()
    assert put(b, "x") is True
    assert put(a, "y") is True
    results = {take(waiter), t.join()}
    assert results == {("x", b), ("y", a)}


def test_exactly_one_op_completes_when_all_are_ready() -> None:
    for _ in range(50):
        puts = [chan(1) for _ in range(3)]
        takes = ready(3, "t")
        v, port = alts([(c, "p") for c in puts] + takes)
        done_puts = [c for c in puts if poll(c) == "p"]
        done_takes = [c for c in takes if poll(c) is None]
        assert len(done_puts) + len(done_takes) == 1
        if done_puts:
            assert (v, port) == (True, done_puts[0])
        else:
            assert (v, port) == ("t", done_takes[0])


@pytest.mark.timeout(10)
def test_pending_alts_completes_exactly_one_op(bg) -> None:
    # three unbuffered puts registered; three takers arrive: exactly one gets a value
    chans = [chan() for _ in range(3)]
    t = bg(alts, [(c, "only") for c in chans])
    assert t.blocked()
    got: List[Any] = []
    for c in chans:
        take_async(c, got.append)
    v, port = t.join()
    assert v is True and port in chans
    assert got == ["only"]
    # the other two takers are still waiting: the losing registrations gave them nothing
    offers = [offer(c, "next") for c in chans]
    assert offers.count(True) == 2 and offers[chans.index(port)] is None
    assert got == ["only", "next", "next"]


# ---------------------------------------------------------- priority / random


def test_priority_picks_first_ready_in_list_order() -> None:
    a, b, c = chan(1), chan(1), chan(1)
    for _ in range(100):
        for ch in (a, b, c):
            offer(ch, ch is a and "a" or "x")  # refill (a no-op when still full)
        assert alts([a, b, c], priority=True) == ("a", a)
        assert alts([b, c], priority=True) == ("x", b)
        assert alts([(chan(), 1), c], priority=True) == ("x", c)  # first *ready*


def test_priority_put_before_take() -> None:
    a = chan(1)
    b = chan(1)
    offer(b, "in b")
    assert alts([(a, 1), b], priority=True) == (True, a)
    assert alts([b, (a, 2)], priority=True) == ("in b", b)


def test_random_choice_is_fair() -> None:
    chans = ready(3)
    counts: collections.Counter = collections.Counter()
    n = 3000
    for _ in range(n):
        v, port = alts(chans)
        counts[chans.index(port)] += 1
        offer(port, "v")
    # expected 1000 each (sd ~26); loose bounds catch "always the first" or a skew
    assert set(counts) == {0, 1, 2}
    for i in range(3):
        assert 700 < counts[i] < 1300, counts


def test_random_choice_is_fair_between_puts_and_takes() -> None:
    tk = chan(1)
    pt = chan(1)
    counts: collections.Counter = collections.Counter()
    for _ in range(2000):
        offer(tk, "v")  # refill the take side (a no-op when still full)
        poll(pt)  # empty the put side
        v, port = alts([tk, (pt, "p")])
        counts["take" if port is tk else "put"] += 1
    assert 700 < counts["take"] < 1300, counts


def test_random_choice_only_picks_given_ports() -> None:
    chans = ready(5)
    given = chans[1:4]
    for _ in range(20):
        v, port = alts(given)
        assert port in given
        offer(port, "v")
    for c in (chans[0], chans[4]):
        assert poll(c) == "v"


# ------------------------------------------------------------------ default


def test_default_when_nothing_ready() -> None:
    c = chan()
    assert alts([c], default=42) == (42, DEFAULT)
    assert alts([c, (chan(), 1)], default=None) == (None, DEFAULT)
    assert alts([c], priority=True, default="d") == ("d", DEFAULT)


def test_ready_op_beats_default() -> None:
    c = chan(1)
    offer(c, 1)
    assert alts([chan(), c], default=42) == (1, c)
    assert alts([(c, 2)], default=42) == (True, c)
    d = chan()
    close(d)
    assert alts([(d, 1)], default=42) == (False, d)


@pytest.mark.timeout(10)
def test_default_in_go_block() -> None:
    c = chan()
    assert take(go(alts, [c], default=42)) == (42, DEFAULT)


@pytest.mark.timeout(20)
def test_many_defaulted_alts_leave_nothing_pending(pending) -> None:
    c = chan()
    for _ in range(1100):
        assert alts([c], default=42) == (42, DEFAULT)
        assert alts([c, (c, 1)], default=42) == (42, DEFAULT)
    assert pending(c) == (0, 0)
    # and ordinary async ops are not refused
    for i in range(1024):
        put_async(c, i)
    assert [take(c) for _ in range(1024)] == list(range(1024))
    got: List[Any] = []
    for _ in range(1024):
        take_async(c, got.append)
    for i in range(1024):
        put(c, i)
    assert got == list(range(1024))


# ------------------------------------------------------------ invalid ops


def test_empty_ops_is_value_error() -> None:
    with pytest.raises(ValueError, match="ops"):
        alts([])
    with pytest.raises(ValueError, match="ops"):
        alts([], default=1)


@pytest.mark.timeout(10)
def test_alts_put_none_is_invalid(pending) -> None:
    # test-alts-put-nil-invalid; nothing is registered on any channel
    c1, c2 = chan(), chan()
    for priority in (False, True):
        with pytest.raises(ValueError, match="None"):
            alts([c1, (c2, None)], priority=priority)
        with pytest.raises(ValueError, match="None"):
            alts([(c2, None), c1], priority=priority, default=0)
    assert pending(c1) == (0, 0) and pending(c2) == (0, 0)

    def in_go() -> Any:
        try:
            alts([c1, (c2, None)])
        except ValueError as exc:
            return exc
        return "no error"

    assert isinstance(take(go(in_go)), ValueError)  # raised inside the go block, not parked
    assert pending(c1) == (0, 0)


def test_alts_put_none_raises_even_when_an_earlier_op_is_ready(pending) -> None:
    c1, c2 = chan(1), chan()
    offer(c1, "kept")
    with pytest.raises(ValueError):
        alts([c1, (c2, None)], priority=True)
    assert poll(c1) == "kept"  # the channel was not touched


def test_alts_put_none_raises_whatever_the_random_order() -> None:
    c1, c2 = chan(1), chan()
    offer(c1, "kept")
    for _ in range(30):
        with pytest.raises(ValueError):
            alts([c1, (c2, None)])
        assert poll(c1) == "kept"
        offer(c1, "kept")


def test_alts_put_none_with_many_ops_is_validated_when_tried() -> None:
    # The documented trade-off (README, "Differences"): up to ops.EAGER_VALIDATION
    # ops are validated before any channel is touched; beyond that each op is
    # validated when tried, so a ready first try costs O(1). A None put that is
    # reached still raises, and leaves no registration behind.
    from gochan import ops as gochan_ops
    n = gochan_ops.EAGER_VALIDATION + 36
    ready_chan = chan(1)
    offer(ready_chan, "kept")
    others = [chan() for _ in range(n - 2)]
    bad = chan()
    with pytest.raises(ValueError, match=r"ops\[0\]"):
        alts([(bad, None)] + others + [ready_chan], priority=True)
    assert poll(ready_chan) == "kept"  # the ready op after it was not touched
    assert all(offer(c, 1) is None for c in others)  # nothing registered on the others
    ops = [ready_chan] + others + [(bad, None)]
    offer(ready_chan, "again")
    assert alts(ops, priority=True) == ("again", ready_chan)  # the bad op is never reached


# ----------------------------------------------------------- closed channels


@pytest.mark.timeout(60)
def test_write_on_closed_leaves_no_stale_puts() -> None:
    # ASYNC-204: each alts registers nothing on `open` (the closed put is ready first)
    # or its registration is dead; 10,000 of them must not hit the 1024 limit.
    open_ = chan()
    closed = chan()
    close(closed)
    for _ in range(10_000):
        assert alts([open_, (closed, 1)], priority=True) == (False, closed)
    put_async(open_, "still usable")
    assert take(open_) == "still usable"


@pytest.mark.timeout(60)
def test_write_on_closed_in_random_order() -> None:
    open_ = chan()
    closed = chan()
    close(closed)
    for _ in range(3000):
        assert alts([open_, (closed, 1)]) == (False, closed)
    for _i in range(1024):
        take_async(open_, lambda v: None)
    assert offer(open_, 1) is True


@pytest.mark.timeout(10)
def test_pending_alts_put_stays_pending_after_close(bg, pending, until) -> None:
    c = chan()
    t = bg(alts, [(c, "v"), chan()])
    until(lambda: pending(c) == (1, 0))
    close(c)
    assert t.blocked()  # as core.async: close does not release pending puts
    assert take(c) == "v"
    assert t.join() == (True, c)
    assert take(c) is None


# -------------------------------------------------------- self-rendezvous


@pytest.mark.timeout(10)
def test_alts_never_completes_its_own_put_with_its_own_take(bg, pending, until) -> None:
    c = chan()
    for _ in range(200):
        assert alts([(c, 1), c], default="none") == ("none", DEFAULT)
        assert alts([c, (c, 1)], default="none") == ("none", DEFAULT)
    t = bg(alts, [(c, "mine"), c])
    until(lambda: pending(c) == (1, 1))
    assert t.blocked()
    # another party completes exactly one of its two ops
    assert take(c) == "mine"
    assert t.join() == (True, c)
    assert offer(c, "x") is None  # its take registration is dead


@pytest.mark.timeout(10)
def test_self_rendezvous_in_go_block_parks(bg) -> None:
    c = chan()
    g = go(alts, [(c, "mine"), c])
    waiter = bg(take, g)
    assert waiter.blocked()
    assert put(c, "other") is True  # completes its take, not its own put
    assert waiter.join() == ("other", c)


# ---------------------------------------------------------------------- alt


def test_alt_calls_chosen_clause_fn_with_value_and_port() -> None:
    a, b = chan(), chan(1)
    offer(b, 5)
    called: List[Any] = []

    def on_a(v: Any, port: Any) -> Any:
        called.append("a")
        return "a"

    def on_b(v: Any, port: Any) -> Any:
        called.append(("b", v, port))
        return v * 2

    assert alt([(a, on_a), (b, on_b)]) == 10
    assert called == [("b", 5, b)]


def test_alt_put_clause() -> None:
    c = chan(1)
    assert alt([((c, "x"), lambda ok, port: ("sent", ok, port is c))]) == ("sent", True, True)
    assert poll(c) == "x"


def test_alt_default_returns_default_and_calls_no_fn() -> None:
    called: List[Any] = []
    c = chan()
    assert alt([(c, lambda v, p: called.append(v))], default=42) == 42
    assert alt([(c, lambda v, p: called.append(v))], default=None) is None
    assert called == []


def test_alt_priority() -> None:
    a, b = ready(2)
    for _ in range(20):
        assert alt([(a, lambda v, p: "a"), (b, lambda v, p: "b")], priority=True) == "a"
        offer(a, "v")


@pytest.mark.timeout(10)
def test_alt_in_go_block_parks() -> None:
    a, b = chan(), chan()
    g = go(alt, [(a, lambda v, p: ("a", v)), (b, lambda v, p: ("b", v))])
    put(b, 7)
    assert take(g) == ("b", 7)


# ------------------------------------------------------------------- limits


@pytest.mark.timeout(20)
def test_alts_registration_hitting_the_limit_raises_and_leaves_nothing_live(bg, pending) -> None:
    full = chan()
    got: List[Any] = [None] * 1024
    for i in range(1024):
        take_async(full, lambda v, i=i: got.__setitem__(i, v))
    free = chan()
    with pytest.raises(TooManyPendingError):
        alts([free, full], priority=True)  # registers on `free` first, then hits the limit
    # the registration on `free` is dead: a put there finds no taker
    assert offer(free, 1) is None
    # and the full channel lost nothing: its 1024 takers are served in order
    for i in range(1024):
        put(full, i)
    assert got == list(range(1024))
    assert poll(full) is None


@pytest.mark.timeout(20)
def test_alts_put_registration_hitting_the_limit(pending) -> None:
    full = chan()
    for i in range(1024):
        put_async(full, i)
    free = chan()
    with pytest.raises(TooManyPendingError):
        alts([(free, "x"), (full, "y")], priority=True)
    assert poll(free) is None  # the put registered on `free` is dead
    assert [take(full) for _ in range(1024)] == list(range(1024))
    assert poll(full) is None


@pytest.mark.timeout(30)
def test_dead_registrations_do_not_count_toward_the_limit(pending, until) -> None:
    a, b = chan(), chan()
    n = 1100
    done = go(lambda: [alts([a, b], priority=True) for _ in range(n)])
    for i in range(n):
        until(lambda: pending(b)[1] == 1, what=f"alts {i} registered")
        assert offer(b, i) is True  # completes that alts through b; its take on a is dead
    assert take(done) == [(i, b) for i in range(n)]
    got: List[Any] = []
    for _ in range(1024):
        take_async(a, got.append)  # the dead registrations make room
    for i in range(1024):
        assert put(a, i) is True
    assert got == list(range(1024))


@pytest.mark.timeout(10)
def test_repr_counts_only_live_pending_ops(bg, pending, until) -> None:
    a, b = chan(), chan()
    t = bg(lambda: alts([a, b], priority=True))
    until(lambda: pending(a) == (0, 1) and pending(b) == (0, 1))
    assert offer(b, 1) is True  # completes the alts through b
    assert t.join() == (1, b)
    assert offer(a, 2) is None  # nobody takes from a any more...
    assert pending(a) == (0, 0)  # ...so its repr should not show a pending take


# --------------------------------------------------------------- fast path


@pytest.mark.timeout(30)
def test_first_ready_port_is_o1_over_10000_ready_channels() -> None:
    chans = ready(10_000)
    start = time.monotonic()
    for _ in range(10_000):
        v, port = alts(chans)
        offer(port, "v")
    assert time.monotonic() - start < 5.0


@pytest.mark.timeout(30)
def test_10000_go_blocks_read_by_10000_alts() -> None:
    # the walkthrough's demo at n=10,000: every value is read exactly once
    n = 10_000
    chans = [chan() for _ in range(n)]
    for i, c in enumerate(chans):
        go(put, c, i)
    start = time.monotonic()
    got = [alts(chans)[0] for _ in range(n)]
    assert sorted(got) == list(range(n))
    assert time.monotonic() - start < 10.0
