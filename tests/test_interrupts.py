"""A thread interrupted (Ctrl-C) while blocked on a channel withdraws its operation.

The interrupted operation never happened: a value put later is not handed to
the gone taker, an interrupted put is never delivered, an interrupted alts
completes none of its operations, and the thread's next operation works.
The signal is a real SIGINT sent once the operation is visibly pending, so
no test depends on timing.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from typing import Callable

import pytest

from gochan import alts, chan, close, offer, poll, put, stats, take

pytestmark = pytest.mark.timeout(30)


def interrupt_when(pending: Callable[[], bool]) -> threading.Thread:
    """Send SIGINT to this process (the main thread gets KeyboardInterrupt) once `pending()` holds."""
    def run() -> None:
        end = time.monotonic() + 10
        while not pending() and time.monotonic() < end:
            time.sleep(0.001)
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.fixture(autouse=True)
def main_thread_only() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is handled by someone else here")


def test_interrupted_take_is_withdrawn() -> None:
    c = chan()
    t = interrupt_when(lambda: stats(c).pending_takes > 0)
    with pytest.raises(KeyboardInterrupt):
        take(c)
    t.join()
    assert stats(c).pending_takes == 0
    # Nobody takes any more: an unbuffered offer finds no taker (it used to vanish into the gone one).
    assert offer(c, 1) is None
    # The thread's own next operation works.
    threading.Thread(target=put, args=(c, 2), daemon=True).start()
    assert take(c) == 2


def test_interrupted_put_is_never_delivered() -> None:
    c = chan()
    t = interrupt_when(lambda: stats(c).pending_puts > 0)
    with pytest.raises(KeyboardInterrupt):
        put(c, "lost?")
    t.join()
    assert poll(c) is None
    close(c)
    assert take(c) is None


def test_interrupted_put_on_a_full_buffer_is_never_delivered() -> None:
    c = chan(1)
    put(c, 1)
    t = interrupt_when(lambda: stats(c).pending_puts > 0)
    with pytest.raises(KeyboardInterrupt):
        put(c, 2)
    t.join()
    assert take(c) == 1
    assert poll(c) is None


def test_interrupted_alts_completes_none_of_its_operations() -> None:
    a, b = chan(), chan()
    t = interrupt_when(lambda: stats(a).pending_takes > 0 and stats(b).pending_puts > 0)
    with pytest.raises(KeyboardInterrupt):
        alts([a, (b, "x")])
    t.join()
    assert offer(a, 1) is None  # the alts' take is inert
    assert poll(b) is None  # and so is its put
    threading.Thread(target=put, args=(a, 3), daemon=True).start()
    assert alts([a, b]) == (3, a)


def test_an_interrupt_between_registering_and_blocking_withdraws_too(monkeypatch) -> None:
    """The signal can land after the take is queued and before the thread blocks."""
    from gochan.waiters import ThreadWaiter

    def interrupted(self: ThreadWaiter, *reason: object) -> None:
        raise KeyboardInterrupt

    c, d = chan(), chan()
    monkeypatch.setattr(ThreadWaiter, "wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        take(c)
    assert stats(c).pending_takes == 0
    with pytest.raises(KeyboardInterrupt):
        alts([d, (c, "x")])  # its registrations stay queued, inert, until purged
    monkeypatch.undo()
    assert offer(c, 1) is None  # the take is gone
    assert offer(d, 1) is None  # and so is the alts' take
    assert poll(c) is None  # and the alts' put
    threading.Thread(target=put, args=(c, 4), daemon=True).start()
    assert take(c) == 4
