"""Sockets gochan owns stay armed in their hub's epoll set between waits (poller.py, `add_owned`).

What is proved: repeated waits on one connection cost no epoll_ctl each; an
armed fd that reports a direction nobody waits for is narrowed, so the hub
sleeps instead of spinning; a closed connection's fd number, reused by a new
one, is armed afresh (a stale "still armed" would hang its reader); closing
takes the fd out of the epoll set even while a dup of it stays open.
Events are ordered by state (a go block is parked once its hub's poller
counts its registration), never by sleeps.
"""
from __future__ import annotations

import os
import select
import socket
import time
from typing import Any, Callable, List

import pytest

import gochan
from gochan import chan, go, net, put, take
from gochan.hub import current_go
from gochan.poller import READ, Poller

pytestmark = pytest.mark.skipif(not hasattr(select, "epoll"), reason="level-triggered arming is epoll only")


@pytest.fixture(scope="module", autouse=True)
def fresh_runtime_after() -> Any:
    yield
    gochan.shutdown()


def wait_until(pred: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def conn_pair() -> Any:
    """A gochan Conn and the plain (blocking) socket at the other end."""
    a, b = socket.socketpair()
    return net.Conn(a), b


def parked(poller: Poller, fd: int) -> bool:
    return any(not r.state for r in poller.fds.get(fd, ()))


def poller_of_go() -> Poller:
    """The poller of the hub that go blocks spawned from this thread land on (made if missing)."""
    from gochan.poller import hub_poller
    return take(go(lambda: hub_poller(current_go().hub)))


class CountingArm:
    """Stands in for a poller's epoll modify, counting calls."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0

    def __call__(self, fd: int, mask: int) -> None:
        self.calls += 1
        self.real(fd, mask)


@pytest.mark.timeout(20)
def test_repeated_waits_on_one_conn_cost_no_syscall_each() -> None:
    poller = poller_of_go()
    counting = CountingArm(poller.arm)
    poller.arm = counting
    conn, peer = conn_pair()
    try:
        rounds = 200
        got: List[bytes] = []

        def reader() -> int:
            for _ in range(rounds):
                got.append(conn.recv(16))
                put(ack, 1)
            return 0

        ack = chan()
        done = go(reader)
        for i in range(rounds):
            wait_until(lambda: parked(poller, conn.fileno()), what=f"reader parked ({i})")
            peer.sendall(b"%04d" % i)
            take(ack)
        assert take(done) == 0
        assert got == [b"%04d" % i for i in range(rounds)]
        # Oneshot arming would cost one call per wait (200): armed once, it costs about none.
        assert counting.calls <= 5, counting.calls
    finally:
        poller.arm = counting.real
        conn.close()
        peer.close()


@pytest.mark.timeout(20)
def test_a_direction_nobody_waits_for_is_narrowed_and_the_hub_sleeps() -> None:
    poller = poller_of_go()
    conn, peer = conn_pair()
    try:
        peer.setblocking(False)
        big = b"x" * (8 << 20)
        sent = chan()
        fd = conn.fileno()
        go(lambda: (conn.send_all(big), put(sent, 1)))
        # The socket buffer fills long before 8 MB: the sender parks, armed for WRITE.
        wait_until(lambda: parked(poller, fd), what="sender parked")
        assert poller.level.get(fd, 0) & 7 & ~READ, "the send should have armed WRITE"
        total = 0
        while total < len(big):  # drain until the sender is done
            try:
                total += len(peer.recv(1 << 20))
            except BlockingIOError:
                time.sleep(0.001)
        take(sent)
        # From here the fd is writable and nobody waits to write: the hub may narrow it away
        # at once (to nothing) or when the reader arms READ (to READ); either way not WRITE.
        got = go(lambda: conn.recv(16))
        wait_until(lambda: parked(poller, fd), what="reader parked")
        hub = take(go(lambda: current_go().hub))
        # The fd is writable all along: armed for WRITE too, an epoll wait would return at once,
        # forever. Narrowed to READ, the hub sleeps until the data comes.
        wait_until(lambda: poller.level.get(fd, 0) & 7 == READ, what="narrowed to READ")
        before = hub.passes
        time.sleep(0.2)
        assert hub.passes - before < 50, hub.passes - before
        peer.setblocking(True)
        peer.sendall(b"ping")
        assert take(got) == b"ping"
    finally:
        conn.close()
        peer.close()


@pytest.mark.timeout(30)
def test_reused_fd_numbers_are_armed_afresh() -> None:
    poller = poller_of_go()
    fds = set()
    for i in range(100):
        conn, peer = conn_pair()
        fds.add(conn.fileno())
        got = go(conn.recv, 16)
        fd = conn.fileno()
        wait_until(lambda: parked(poller, fd), what=f"reader parked ({i})")  # noqa: B023 (used at once)
        peer.sendall(b"hello %d" % i)
        assert take(got) == b"hello %d" % i
        conn.close()
        peer.close()
    assert len(fds) < 100  # the fd numbers were reused, which is what this test is about


@pytest.mark.timeout(20)
def test_close_takes_the_fd_out_of_the_epoll_set_even_with_a_dup_open() -> None:
    poller = poller_of_go()
    conn, peer = conn_pair()
    fd = conn.fileno()
    got = go(lambda: conn.recv(16))
    wait_until(lambda: parked(poller, fd), what="reader parked")
    peer.sendall(b"one")
    assert take(got) == b"one"
    dup = os.dup(fd)  # the file stays open, so the kernel would keep the old registration
    try:
        conn.close()
        a, peer2 = socket.socketpair()
        if a.fileno() != fd:  # put the new connection on the old number, which is what this is about
            with pytest.raises(OSError):
                os.fstat(fd)  # free, so dup2 closes nothing
            moved = socket.socket(a.family, a.type, fileno=os.dup2(a.fileno(), fd))
            a.close()
            a = moved
        conn2 = net.Conn(a)
        try:
            fd2 = conn2.fileno()
            assert fd2 == fd
            got = go(lambda: conn2.recv(16))
            wait_until(lambda: parked(poller, fd2), what="second reader parked")
            hub = take(go(lambda: current_go().hub))
            # The old file, shut down by close and kept open by the dup, is readable (at EOF) for
            # good: level-triggered, it would be reported at every epoll wait.
            before = hub.passes
            time.sleep(0.2)
            # Had the old file stayed in the set under fd's number, a reader of fd2 == fd would
            # be woken for it again and again.
            assert hub.passes - before < 50, hub.passes - before
            peer2.sendall(b"two")
            assert take(got) == b"two"
        finally:
            conn2.close()
            peer2.close()
    finally:
        os.close(dup)
        peer.close()


@pytest.mark.timeout(20)
@pytest.mark.parametrize("where", ["go", "thread"])
def test_a_read_after_a_short_read_finds_what_came_meanwhile(where: str) -> None:
    """After a short read, `recv` waits before it tries (saving a failing recv): bytes and the end
    of stream that came in between are still found at once, by recv and readline alike."""
    conn, peer = conn_pair()
    try:
        def reads() -> List[bytes]:
            out = [conn.recv(16)]  # b"abc": short, so the next read waits first
            put(step, 1)
            take(step)  # the peer has sent b"def\n" by now, while nobody waited
            out.append(conn.recv(16))
            put(step, 1)
            take(step)
            out.append(conn.readline())
            put(step, 1)
            take(step)  # the peer has closed by now
            out.append(conn.recv(16))
            return out

        step = chan()
        peer.sendall(b"abc")
        if where == "go":
            res = go(reads)
        else:
            res = gochan.thread(reads)
        take(step)
        peer.sendall(b"def\n")
        put(step, 1)
        take(step)
        peer.sendall(b"line\n")
        put(step, 1)
        take(step)
        peer.close()
        put(step, 1)
        assert take(res) == [b"abc", b"def\n", b"line\n", b""]
    finally:
        conn.close()
        peer.close()
