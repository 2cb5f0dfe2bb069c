"""The hub's I/O poller and the readiness ports `readable` / `writable`.

Events are ordered by state, never by sleeps: a go block is known to be
parked on an fd once its hub's poller counts its registration.
"""
from __future__ import annotations

import gc
import os
import socket
import tempfile
import tracemalloc
from typing import Any, Iterator, List, Tuple

import pytest

import gochan
from gochan import alts, chan, go, put, readable, take, timeout, writable
from gochan.errors import Cancelled
from gochan.hub import GoTask, current_go
from gochan.poller import Poller, hub_poller
from gochan.process import go_on
from gochan.runtime import hubs


@pytest.fixture(scope="module", autouse=True)
def fresh_runtime_after() -> Any:
    """Later test modules get hubs without pollers, as they would have without this one."""
    yield
    gochan.shutdown()


@pytest.fixture
def pair() -> Iterator[Tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def wait_until(pred: Any, timeout: float = 10.0, what: str = "condition") -> None:
    import time
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def waits(hub_index: int = 0) -> int:
    """Registrations in hub `hub_index`'s poller (0 if it has none yet)."""
    p = hubs()[hub_index].services.get(Poller)
    return 0 if p is None else p.count()


def fd_count() -> int:
    """Open fds now, after a collection (older runtimes' pollers close theirs when collected)."""
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


def on_hub(task: GoTask, fn: Any) -> Any:
    """Run `fn()` on `task`'s hub thread (as cancellation does) and return its result."""
    out = chan(1)
    task.hub.call(lambda: put(out, ("ok", fn())))
    return take(out)[1]


@pytest.mark.timeout(20)
def test_readable_parks_until_data(pair: Any) -> None:
    a, b = pair
    got = go_on(0, lambda: (take(readable(a)), a.recv(10)))
    wait_until(lambda: waits() == 1, what="the go block to register")
    assert gochan.poll(got) is None
    b.send(b"hi")
    assert take(got) == (True, b"hi")
    assert waits() == 0


@pytest.mark.timeout(20)
def test_ready_fd_returns_at_once_and_writable(pair: Any) -> None:
    a, b = pair
    b.send(b"x")
    assert take(go_on(0, lambda: take(readable(a)))) is True
    assert take(go_on(0, lambda: take(writable(a)))) is True
    assert take(readable(a)) is True  # from this thread
    assert waits() == 0


@pytest.mark.timeout(20)
def test_every_waiter_on_one_fd_wakes(pair: Any) -> None:
    a, b = pair
    results = [go_on(0, lambda: take(readable(a))) for _ in range(5)]
    results += [go_on(0, lambda: take(readable(a.fileno()))) for _ in range(3)]
    wait_until(lambda: waits() == 8, what="eight registrations")
    b.send(b"!")
    assert [take(r) for r in results] == [True] * 8
    assert waits() == 0


@pytest.mark.timeout(20)
def test_readers_and_writers_on_one_fd(pair: Any) -> None:
    a, b = pair
    # Fill a's send buffer so that a writer must wait, then have a reader wait too.
    try:
        while True:
            a.send(b"x" * 65536)
    except BlockingIOError:
        pass
    w = go_on(0, lambda: take(writable(a)))
    r = go_on(0, lambda: take(readable(a)))
    wait_until(lambda: waits() == 2, what="a reader and a writer")
    b.send(b"r")  # only the reader may wake
    assert take(r) is True
    assert gochan.poll(w) is None and waits() == 1
    while True:  # drain b so a becomes writable
        try:
            if not b.recv(1 << 20):
                break
        except BlockingIOError:
            break
    assert take(w) is True
    assert waits() == 0


@pytest.mark.timeout(30)
def test_alts_port_loses_10000_times_flat(pair: Any) -> None:
    a, b = pair

    def putter(q: Any) -> None:
        put(q, 1)

    def loop(n: int) -> Tuple[int, int]:
        q = chan()
        peak = 0
        poller = None
        for _ in range(n):
            go(putter, q)  # starts once this go block parks in the alts
            v, port = alts([readable(a), q])
            assert port is q and v == 1
            poller = poller or current_go().hub.services.get(Poller)  # type: ignore[union-attr]
            if poller is not None:
                peak = max(peak, poller.count())
        return peak, (poller.count() if poller else 0)

    take(go_on(0, loop, 1000))  # warm up: the poller exists, its lists have grown
    fds = fd_count()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        peak, left = take(go_on(0, loop, 10_000))
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert 1 <= peak <= 200, peak  # it registered; dead registrations are swept as they accumulate
    assert fd_count() <= fds  # nothing leaked (the GC may close older runtimes' fds meanwhile)
    assert grown < 1_000_000, grown  # flat: 10,000 alts' leftovers would be 2.5 MB or more


@pytest.mark.timeout(30)
def test_alts_port_wins_10000_times_flat(pair: Any) -> None:
    a, b = pair

    def writer() -> None:
        b.send(b"x")

    def loop(n: int) -> int:
        q = chan()
        wins = 0
        for _ in range(n):
            go(writer)  # runs once the alts has registered and parked
            v, port = alts([q, readable(a)])
            assert v is True and port.__class__.__name__ == "Readiness"
            assert a.recv(10) == b"x"
            wins += 1
        return wins

    take(go_on(0, loop, 1000))
    fds = fd_count()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert take(go_on(0, loop, 10_000)) == 10_000
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Flat: bounded by the stale alts waiters a channel keeps before purging them (up to its
    # 1,024 pending limit, ~250 B each), not by the 10,000 alts (2.5 MB or more).
    assert grown < 1_000_000, grown
    assert fd_count() <= fds  # nothing leaked (the GC may close older runtimes' fds meanwhile)
    assert waits() == 0


@pytest.mark.timeout(20)
def test_alts_with_timeout_and_default(pair: Any) -> None:
    a, b = pair

    def body() -> List[Any]:
        out = []
        _, port = alts([readable(a), timeout(20)])
        out.append("timeout" if port.__class__.__name__ == "Chan" else "ready")
        out.append(alts([readable(a)], default="nothing")[0])
        b.send(b"z")
        out.append(alts([readable(a)], default="nothing")[0])
        return out

    assert take(go_on(0, body)) == ["timeout", "nothing", True]


@pytest.mark.timeout(20)
def test_thread_take_and_alts(pair: Any, bg: Any) -> None:
    a, b = pair
    t = bg(lambda: take(readable(a)))
    assert t.blocked()
    b.send(b"1")
    assert t.join() is True
    a.recv(10)
    # a thread's alts: the channel wins, then the port wins
    q = chan()
    t = bg(lambda: alts([q, readable(a)]))
    assert t.blocked()
    put(q, "v")
    assert t.join() == ("v", q)
    t = bg(lambda: alts([q, readable(a)]))
    assert t.blocked()
    b.send(b"2")
    v, port = t.join()
    assert v is True and port.fd == a.fileno()


@pytest.mark.timeout(20)
def test_withdraw_leaves_no_registration(pair: Any) -> None:
    """The cancellation contract: the park reason's withdraw takes the wait back; nothing is left."""
    a, b = pair
    seen = chan(1)

    def body() -> str:
        put(seen, current_go())
        try:
            take(readable(a))
        except Cancelled:
            return "cancelled"
        return "woken"

    r = go_on(0, body)
    task = take(seen)
    wait_until(lambda: waits() == 1, what="the registration")

    def cancel() -> bool:
        ok = bool(task.waiting.withdraw(task))
        if ok:
            task.wake_error(Cancelled())
        return ok

    assert on_hub(task, cancel) is True
    assert take(r) == "cancelled"
    assert waits() == 0
    b.send(b"late")  # nothing is woken by it any more
    assert take(go_on(0, lambda: take(readable(a)))) is True


@pytest.mark.timeout(20)
def test_poller_hub_still_wakes_for_posts_and_timers(pair: Any, bg: Any) -> None:
    a, _ = pair
    take(go_on(0, lambda: alts([readable(a)], default=None)))  # hub 0 now has its poller... maybe
    take(go_on(0, lambda: hub_poller(current_go().hub) and None))  # type: ignore[union-attr]
    hub = hubs()[0]
    assert hub.idle_wait is not None and hub.waker is not None
    c = chan()
    r = go_on(0, lambda: take(c))
    wait_until(lambda: gochan.stats(c).pending_takes == 1, what="the taker")
    wait_until(lambda: hub.sleeping, what="hub 0 to sleep in its poller")
    put(c, "from a thread")  # a cross-thread wake through the eventfd
    assert take(r) == "from a thread"
    assert take(go_on(0, lambda: take(timeout(5)) or "timer")) == "timer"


@pytest.mark.timeout(20)
def test_hub_without_io_has_no_poller() -> None:
    gochan.shutdown()
    assert take(go(lambda: take(timeout(1)) or 1)) == 1
    assert all(h.idle_wait is None and Poller not in h.services for h in hubs())


@pytest.mark.timeout(20)
def test_regular_file_is_always_ready() -> None:
    with tempfile.TemporaryFile() as f:
        assert take(go(lambda: take(readable(f)))) is True
        assert take(go(lambda: alts([chan(), writable(f.fileno())])[0])) is True


def test_bad_arguments_name_themselves() -> None:
    with pytest.raises(TypeError, match="readable"):
        readable(None)
    with pytest.raises(TypeError, match="writable"):
        writable("x")
    with pytest.raises(TypeError, match="readable"):
        readable(True)
    with pytest.raises(ValueError, match="readable"):
        readable(-1)
    s = socket.socket()
    s.close()
    with pytest.raises(ValueError, match="closed"):
        readable(s)
    with pytest.raises(TypeError, match="take"):
        take(object())
    with pytest.raises(TypeError, match=r"alts: ops\[1\]"):
        alts([chan(), 5])


@pytest.mark.timeout(20)
def test_cancel_go_block_in_take_readable(pair: Any) -> None:
    a, b = pair

    def body() -> str:
        try:
            take(readable(a))
        except Cancelled:
            return "cancelled"
        return "woken"

    r = go_on(0, body)
    wait_until(lambda: waits() == 1, what="the registration")
    assert gochan.cancel(r) is True
    assert take(r) == "cancelled"
    assert waits() == 0


@pytest.mark.timeout(30)
def test_reaper_leaves_go_blocks_waiting_on_fds(pair: Any, nudge: Any) -> None:
    """A go block whose only other port is unreachable is still woken by its fd: never reaped."""
    import gc
    import time

    a, b = pair
    log: List[str] = []

    def in_alts() -> None:
        try:
            alts([chan(), readable(a)])
            log.append("alts woke")
        finally:
            log.append("alts finally")

    def direct() -> None:
        from gochan.net import Conn
        c = Conn(socket.fromfd(a.fileno(), socket.AF_UNIX, socket.SOCK_STREAM))
        try:
            c.recv(1)
            log.append("recv woke")
        finally:
            c.sock.close()  # the dup only (Conn.close would shut the shared socket down)
            log.append("recv finally")

    def plain_take() -> None:
        try:
            take(readable(a.fileno()))  # nothing but this frame holds the port
            log.append("take woke")
        finally:
            log.append("take finally")

    r1, r2, r3 = go_on(0, in_alts), go_on(0, direct), go_on(0, plain_take)
    wait_until(lambda: waits() == 3, what="all three parked")
    deadline = time.monotonic() + 2.5  # spans several sweeps (the first only marks)
    while time.monotonic() < deadline:
        gc.collect()
        nudge()
        time.sleep(0.02)
    assert log == []
    b.send(b"x")
    take(r1)
    take(r2)
    take(r3)
    assert sorted(log) == ["alts finally", "alts woke", "recv finally", "recv woke", "take finally", "take woke"]


@pytest.mark.timeout(60)
def test_selectors_fallback_without_epoll() -> None:
    """Where select.epoll is missing, the poller runs on selectors.DefaultSelector: the same behaviour."""
    import subprocess
    import sys
    code = r"""
import select
del select.epoll
import socket, threading
from gochan import alts, chan, go, put, readable, take, timeout
from gochan.poller import Poller, _SelectorBackend
from gochan.runtime import hubs
a, b = socket.socketpair()
a.setblocking(False)
r = go(lambda: (take(readable(a)), a.recv(10)))
def armed():
    return any(h.services.get(Poller) is not None and h.services[Poller].count() for h in hubs())
import time
while not armed():
    time.sleep(0.001)
assert all(isinstance(h.services[Poller].backend, _SelectorBackend) for h in hubs() if Poller in h.services)
b.send(b"hi")
assert take(r) == (True, b"hi")
def lose():
    q = chan()
    go(lambda: put(q, 1))
    return alts([readable(a), q])[1] is q
assert take(go(lose))
c = chan()
t = go(lambda: take(c))
while not __import__("gochan").stats(c).pending_takes:
    time.sleep(0.001)
while not all(h.sleeping for h in hubs() if Poller in h.services):
    time.sleep(0.001)
put(c, "x")  # a cross-thread wake of a hub asleep in the selector
assert take(t) == "x"
print("ok")
"""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=50,
                         env=dict(os.environ, PYTHONPATH=root))
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
