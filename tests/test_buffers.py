"""Buffers, alone and behind a channel (core.async buffers_test.clj and
async_test.clj `buffers-tests`; semantics reference §1.1, §3.3).

Fixed buffers are FIFO and park puts when full; dropping buffers keep the
oldest values and sliding buffers the newest, and their puts always succeed
at once.
"""
from __future__ import annotations

import pytest

from gochan import (
    buffer,
    chan,
    close,
    dropping_buffer,
    is_unblocking_buffer,
    offer,
    poll,
    put,
    sliding_buffer,
    take,
)

# ------------------------------------------------------------ the buffer objects


def test_fixed_buffer_counts_and_is_fifo() -> None:
    b = buffer(2)
    assert len(b) == 0 and not b.is_full()
    b.add(":1")
    assert len(b) == 1 and not b.is_full()
    b.add(":2")
    assert len(b) == 2 and b.is_full()
    assert b.remove() == ":1"
    assert not b.is_full()
    assert len(b) == 1
    assert b.remove() == ":2"
    assert len(b) == 0


def test_fixed_buffer_remove_on_empty_raises() -> None:
    with pytest.raises(IndexError):
        buffer(1).remove()


def test_dropping_buffer_keeps_the_oldest() -> None:
    b = dropping_buffer(2)
    b.add(":1")
    b.add(":2")
    assert not b.is_full()  # never full: puts never park
    b.add(":3")  # dropped, no error
    assert len(b) == 2
    assert b.remove() == ":1"
    assert b.remove() == ":2"
    with pytest.raises(IndexError):
        b.remove()


def test_sliding_buffer_keeps_the_newest() -> None:
    b = sliding_buffer(2)
    b.add(":1")
    b.add(":2")
    assert not b.is_full()
    b.add(":3")  # drops :1
    assert len(b) == 2
    assert b.remove() == ":2"
    assert b.remove() == ":3"
    with pytest.raises(IndexError):
        b.remove()


def test_is_unblocking_buffer() -> None:
    assert is_unblocking_buffer(buffer(1)) is False
    assert is_unblocking_buffer(dropping_buffer(1)) is True
    assert is_unblocking_buffer(sliding_buffer(1)) is True


# ------------------------------------------------------------ behind a channel


def test_chan_int_is_a_fixed_buffer_of_that_size() -> None:
    c = chan(3)
    assert [offer(c, i) for i in range(4)] == [True, True, True, None]
    assert [poll(c) for _ in range(4)] == [0, 1, 2, None]


def test_chan_zero_and_none_are_unbuffered() -> None:
    for c in (chan(), chan(None), chan(0)):
        assert offer(c, 1) is None  # no taker, no buffer: a put would have to wait
        assert "unbuffered" in repr(c)


def test_chan_with_fixed_buffer_object() -> None:
    c = chan(buffer(2))
    assert offer(c, "a") is True
    assert offer(c, "b") is True
    assert offer(c, "c") is None
    assert take(c) == "a"
    assert take(c) == "b"


@pytest.mark.timeout(10)
def test_dropping_buffer_channel_drops_newest_and_put_still_returns_true() -> None:
    c = chan(dropping_buffer(2))
    # puts never park: these would block forever on a fixed buffer of 2
    assert [put(c, i) for i in range(5)] == [True] * 5
    assert offer(c, 5) is True
    close(c)
    assert list(c) == [0, 1]


@pytest.mark.timeout(10)
def test_sliding_buffer_channel_drops_oldest_and_put_still_returns_true() -> None:
    c = chan(sliding_buffer(2))
    assert [put(c, i) for i in range(5)] == [True] * 5
    assert offer(c, 5) is True
    close(c)
    assert list(c) == [4, 5]


def test_unblocking_buffer_puts_after_close_return_false() -> None:
    for make in (dropping_buffer, sliding_buffer):
        c = chan(make(1))
        close(c)
        assert offer(c, 1) is False
        assert put(c, 1) is False
        assert poll(c) is None


def test_repr_shows_buffer_kind_and_fill() -> None:
    c = chan(buffer(3))
    offer(c, 1)
    assert "buffer(1/3)" in repr(c)
    d = chan(dropping_buffer(2))
    assert "dropping_buffer(0/2)" in repr(d)
    s = chan(sliding_buffer(2))
    for i in range(3):
        offer(s, i)
    assert "sliding_buffer(2/2)" in repr(s)
