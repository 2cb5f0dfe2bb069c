"""gochan.net: TCP (v4, v6), Unix sockets, timeouts that lose nothing, close, chans, resolution.

Loopback only. Events are ordered by state (a go block is parked once its
hub's poller counts its registration), never by sleeps.
"""
from __future__ import annotations

import gc
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, List

import pytest

import gochan
from gochan import chan, close, go, net, put, take, timeout
from gochan.errors import Cancelled
from gochan.hub import current_go
from gochan.poller import Poller
from gochan.process import go_on
from gochan.readiness import Readiness
from gochan.runtime import hubs

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module", autouse=True)
def fresh_runtime_after() -> Any:
    """Later test modules get hubs without pollers, as they would have without this one."""
    yield
    gochan.shutdown()
ROOT = os.path.dirname(HERE)


def wait_until(pred: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def waits() -> int:
    """Registrations in all hubs' pollers (live ones, and dead ones of alts not swept yet)."""
    return sum(p.count() for p in (h.services.get(Poller) for h in hubs()) if p is not None)


def parked_on_io() -> int:
    """Go blocks parked on a readiness port (directly or in an alts), from `dump()`."""
    return sum(1 for info in gochan.dump()
               if info.kind == "go" and any(isinstance(p, Readiness) for p in info.ports))


def fd_count() -> int:
    """Open fds now, after a collection (older runtimes' pollers close theirs when collected)."""
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


def echo(conn: net.Conn) -> None:
    with conn:
        while True:
            data = conn.recv()
            if not data:
                return
            conn.send_all(data)


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.timeout(20)
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_tcp_echo_go_blocks_and_thread(host: str) -> None:
    if host == "::1" and not has_ipv6():
        pytest.skip("no IPv6 loopback here")
    srv = net.serve((host, 0), echo)

    def client(i: int) -> bytes:
        with net.connect(srv.address[:2]) as c:
            c.send_all(b"ping %d\n" % i)
            return c.readline()

    results = [go(client, i) for i in range(20)]
    assert [take(r) for r in results] == [b"ping %d\n" % i for i in range(20)]
    with net.connect(srv.address[:2]) as c:  # the same calls block a thread
        c.send_all(b"from a thread\n")
        assert c.readline() == b"from a thread\n"
        assert c.peer[:2] == srv.address[:2]
    srv.close()
    srv.wait()


@pytest.mark.timeout(20)
def test_unix_socket_echo() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.sock")
        srv = net.serve(path, echo)
        assert srv.address == path

        def client() -> bytes:
            with net.connect(path) as c:
                c.send_all(b"unix\n")
                return c.readline()

        assert take(go(client)) == b"unix\n"
        srv.close()
        srv.wait()
        assert not os.path.exists(path)


@pytest.mark.timeout(60)
def test_50mb_each_way_checksummed() -> None:
    size = 50 * 1024 * 1024
    srv = net.serve(("127.0.0.1", 0), echo)

    def sender(c: net.Conn) -> str:
        h = hashlib.sha256()
        block = os.urandom(1 << 16)
        left = size
        while left:
            chunk = block[: min(left, len(block))]
            h.update(chunk)
            c.send_all(chunk)
            left -= len(chunk)
        c.shutdown_write()
        return h.hexdigest()

    def receiver(c: net.Conn) -> Any:
        h = hashlib.sha256()
        n = 0
        while True:
            data = c.recv(1 << 17)
            if not data:
                return n, h.hexdigest()
            n += len(data)
            h.update(data)

    def main() -> Any:
        c = net.connect(srv.address)
        got = go(receiver, c)
        sent = take(go(sender, c))
        n, digest = take(got)
        c.close()
        return sent, n, digest

    sent, n, digest = take(go(main))
    assert n == size and digest == sent
    srv.close()


def partial_server() -> Any:
    """A server whose handler sends what the test puts on `script` (bytes), closing at None."""
    script: Any = chan(16)

    def handler(conn: net.Conn) -> None:
        with conn:
            for item in script:
                if item == b"":
                    conn.shutdown_write()
                else:
                    conn.send_all(item)
            conn.recv()  # until the client closes

    return net.serve(("127.0.0.1", 0), handler), script


@pytest.mark.timeout(20)
@pytest.mark.parametrize("where", ["go", "thread"])
def test_timeouts_lose_nothing(where: str) -> None:
    srv, script = partial_server()

    def body() -> List[Any]:
        out: List[Any] = []
        c = net.connect(srv.address)
        with pytest.raises(TimeoutError):
            c.recv(timeout_ms=0)
        put(script, b"hel")
        with pytest.raises(TimeoutError):
            c.readline(timeout_ms=50)  # the partial line stays in the buffer
        put(script, b"lo\nab")
        out.append(c.readline(timeout_ms=5000))
        with pytest.raises(TimeoutError):
            c.recv_exactly(4, timeout_ms=50)  # b"ab" gathered, kept
        put(script, b"cdef")
        out.append(c.recv_exactly(4, timeout_ms=5000))
        out.append(c.recv(100, timeout_ms=5000))
        put(script, b"tail")
        put(script, b"")
        out.append(c.readline())  # the partial last line at end of stream
        out.append(c.readline())
        with pytest.raises(EOFError):
            c.recv_exactly(1)
        c.close()
        return out

    out = take(go(body)) if where == "go" else body()
    assert out == [b"hello\n", b"abcd", b"ef", b"tail", b""]
    close(script)
    srv.close()


@pytest.mark.timeout(20)
def test_accept_and_connect_timeouts() -> None:
    lst = net.listen(("127.0.0.1", 0), backlog=0)

    def body() -> str:
        with pytest.raises(TimeoutError):
            lst.accept(timeout_ms=30)
        return "ok"

    assert take(go(body)) == "ok"
    with pytest.raises(TimeoutError):
        lst.accept(timeout_ms=0)
    # A full backlog (0, one connection not accepted) leaves a SYN unanswered: connect times out.
    first = socket.create_connection(lst.address)
    fds = fd_count()

    def connect_late() -> str:
        with pytest.raises(TimeoutError):
            net.connect(lst.address, timeout_ms=100)
        return "timed out"

    assert take(go(connect_late)) == "timed out"
    with pytest.raises(TimeoutError):
        net.connect(lst.address, timeout_ms=100)
    assert fd_count() <= fds  # the sockets of the timed-out connects are closed
    # Nothing was lost: the queued connection is still there to accept.
    c = lst.accept(timeout_ms=5000)
    c.close()
    first.close()
    lst.close()


@pytest.mark.timeout(20)
@pytest.mark.parametrize("closer", ["go", "thread"])
def test_close_wakes_parked_recv_and_accept(closer: str) -> None:
    lst = net.listen(("127.0.0.1", 0))
    peer = socket.create_connection(lst.address)
    conn = lst.accept()

    def waiter(fn: Callable[[], Any]) -> Any:
        try:
            fn()
        except OSError:
            return ("OSError", time.monotonic())
        return "returned"

    recvs = [go(waiter, conn.recv) for _ in range(3)]
    readlines = [go(waiter, lambda: conn.readline(timeout_ms=60_000))]
    accepts = [go(waiter, lst.accept) for _ in range(2)]
    wait_until(lambda: parked_on_io() == 6, what="six parked waiters")

    def do_close() -> float:
        t = time.monotonic()
        conn.close()
        lst.close()
        return t

    t0 = take(go(do_close)) if closer == "go" else do_close()
    results = [take(r) for r in recvs + readlines + accepts]
    assert all(r[0] == "OSError" for r in results), results
    assert max(r[1] for r in results) - t0 < 1.0  # at once, not at a timeout
    with pytest.raises(OSError):
        conn.recv()
    with pytest.raises(OSError):
        conn.send_all(b"x")
    with pytest.raises(OSError):
        lst.accept()
    assert list(lst) == []  # iteration ends quietly once closed
    assert parked_on_io() == 0
    peer.close()


@pytest.mark.timeout(20)
def test_close_from_thread_wakes_thread_recv(bg: Any) -> None:
    lst = net.listen(("127.0.0.1", 0))
    peer = socket.create_connection(lst.address)
    conn = lst.accept()
    t = bg(conn.recv)
    assert t.blocked()
    t0 = time.monotonic()
    conn.close()
    with pytest.raises(OSError):
        t.join()
    assert time.monotonic() - t0 < 1.0
    peer.close()
    lst.close()


@pytest.mark.timeout(20)
def test_cancelled_read_leaves_conn_usable() -> None:
    """The cancellation contract, driven by hand: withdraw the park reason, raise Cancelled there."""
    lst = net.listen(("127.0.0.1", 0))
    peer = socket.create_connection(lst.address)
    conn = lst.accept()
    seen = chan(1)

    def reader(timeout_ms: Any) -> str:
        put(seen, current_go())
        try:
            conn.readline(timeout_ms=timeout_ms)
        except Cancelled:
            return "cancelled"
        return "read"

    for timeout_ms in (None, 60_000):  # a plain park and an alts with a timeout
        r = go_on(0, reader, timeout_ms)
        task = take(seen)
        wait_until(lambda: parked_on_io() == 1, what="the reader to park")
        if timeout_ms is None:
            peer.send(b"part")  # half a line: read into the buffer, the reader parks again
            wait_until(lambda: len(conn._buf) == 4 and parked_on_io() == 1, what="the partial line")
        done = chan(1)

        def cancel(task: Any = task, done: Any = done) -> None:
            ok = task.waiting.withdraw(task)
            if ok:
                task.wake_error(Cancelled())
            put(done, ok)

        task.hub.call(cancel)
        assert take(done) is True
        assert take(r) == "cancelled"
    peer.send(b"ial\n")
    assert take(go(conn.readline)) == b"partial\n"  # nothing lost
    conn.close()
    peer.close()
    lst.close()


@pytest.mark.timeout(20)
def test_chans_both_ways_with_close() -> None:
    def handler(conn: net.Conn) -> None:
        incoming, outgoing = net.chans(conn, buf=4)
        for data in incoming:
            put(outgoing, data.upper())
        close(outgoing)  # sends what was queued, shuts the write side, then closes conn

    srv = net.serve(("127.0.0.1", 0), handler)

    def client() -> Any:
        conn = net.connect(srv.address)
        incoming, outgoing = net.chans(conn)
        for part in (b"abc", b"def", b"ghi"):
            put(outgoing, part)
        close(outgoing)  # -> the server sees end of stream, echoes, closes its side
        return conn, b"".join(incoming)  # incoming closes at end of stream

    conn, got = take(go(client))
    assert got == b"ABCDEFGHI"
    wait_until(lambda: conn.closed, what="chans to close the conn")
    srv.close()


@pytest.mark.timeout(20)
def test_resolution_runs_off_the_hub(monkeypatch: Any) -> None:
    """Resolving "localhost" parks only the go block: a heartbeat on the same hub keeps ticking."""
    srv = net.serve(("127.0.0.1", 0), echo)
    real = socket.getaddrinfo
    entered = threading.Event()

    def slow_getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        if args and args[0] == "localhost":
            entered.set()
            time.sleep(0.3)  # a slow resolver
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    ticks: List[float] = []
    stop = chan()

    def heartbeat() -> None:
        while gochan.alts([stop, timeout(5)])[1] is not stop:
            ticks.append(time.monotonic())

    def client() -> Any:
        with net.connect(("localhost", srv.address[1]), timeout_ms=5000) as c:
            c.send_all(b"hi\n")
            return c.readline()

    hb = go_on(0, heartbeat)
    r = go_on(0, client)
    try:
        assert take(r) == b"hi\n"
        assert entered.is_set()
    finally:  # a failure must not leave the server's go blocks parked for the next tests to count
        close(stop)
        take(hb)
        srv.close()
    gaps = sorted(round(b - a, 3) for a, b in zip(ticks, ticks[1:], strict=False))[-3:]
    assert len(ticks) >= 10, (len(ticks), gaps)  # ~60 in 0.3 s; ~0 if resolution blocked the hub


@pytest.mark.timeout(20)
def test_readline_limit_and_eof() -> None:
    srv, script = partial_server()
    c = net.connect(srv.address)
    put(script, b"x" * 100)
    with pytest.raises(ValueError, match="limit"):
        c.readline(limit=10)  # at once, without waiting for a newline
    assert c.recv_exactly(100) == b"x" * 100  # nothing consumed by the failed readline
    put(script, b"ab")
    put(script, b"")
    with pytest.raises(EOFError):
        c.recv_exactly(3)
    assert c.recv() == b"ab"
    assert c.recv() == b""
    c.close()
    close(script)
    srv.close()


def test_bad_arguments_name_themselves() -> None:
    with pytest.raises(TypeError, match="connect: address"):
        net.connect(123)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="listen: address port"):
        net.listen(("127.0.0.1", "x"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="connect: timeout_ms"):
        net.connect(("127.0.0.1", 1), timeout_ms=-1)
    with pytest.raises(TypeError, match="connect: ssl"):
        net.connect(("127.0.0.1", 1), ssl="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="listen: backlog"):
        net.listen(("127.0.0.1", 0), backlog=-1)
    with pytest.raises(TypeError, match="serve: handler"):
        net.serve(("127.0.0.1", 0), 5)
    with pytest.raises(TypeError, match="chans: conn"):
        net.chans(5)  # type: ignore[arg-type]
    lst = net.listen(("127.0.0.1", 0))
    peer = socket.create_connection(lst.address)
    c = lst.accept()
    with pytest.raises(ValueError, match="Conn.recv: max_bytes"):
        c.recv(0)
    with pytest.raises(ValueError, match="Conn.readline: timeout_ms"):
        c.readline(timeout_ms="soon")
    with pytest.raises(TypeError, match="Conn.send_all: data"):
        c.send_all("text")
    with pytest.raises(ValueError, match="chans: buf"):
        net.chans(c, buf=0)
    c.close()
    peer.close()
    lst.close()


@pytest.mark.timeout(60)
def test_1000_connections_on_one_hub_no_thread_each() -> None:
    """1,000 concurrent connections served by go blocks with GOCHAN_POOL_SIZE=1 (own process)."""
    code = r"""
import resource, threading, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
from gochan import go, take, put, chan, close, net
N = 1000
def handler(conn):
    while True:
        line = conn.readline()
        if not line:
            return
        conn.send_all(line)
srv = net.serve(("127.0.0.1", 0), handler)
all_in = chan()
release = chan()
def client(i):
    c = net.connect(srv.address)
    c.send_all(b"%d\n" % i)
    assert c.readline() == b"%d\n" % i
    put(all_in, 1)
    take(release)  # every connection stays open until all are in
    c.send_all(b"again %d\n" % i)
    r = c.readline()
    c.close()
    return r
def main():
    rs = [go(client, i) for i in range(N)]
    for _ in range(N):
        take(all_in)
    threads = threading.active_count()
    close(release)
    ok = sum(take(r) == b"again %d\n" % i for i, r in enumerate(rs))
    return threads, ok
threads, ok = take(go(main))
print(threads, ok)
"""
    env = dict(os.environ, GOCHAN_POOL_SIZE="1", PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=50)
    assert out.returncode == 0, out.stderr
    threads, ok = map(int, out.stdout.split())
    assert ok == 1000
    assert threads <= 4, threads  # main + one hub (+ gochan's own helpers), not one per connection


@pytest.mark.timeout(20)
@pytest.mark.parametrize("timeout_ms", [None, 60_000])
def test_cancel_parked_recv_and_accept(timeout_ms: Any) -> None:
    """cancel(ch) of a go block parked in recv/accept: Cancelled there, nothing registered, nothing lost."""
    lst = net.listen(("127.0.0.1", 0))
    peer = socket.create_connection(lst.address)
    conn = lst.accept()

    def body(fn: Callable[[], Any]) -> str:
        try:
            fn()
        except Cancelled:
            return "cancelled"
        return "returned"

    r1 = go(body, lambda: conn.readline(timeout_ms=timeout_ms))
    r2 = go(body, lambda: lst.accept(timeout_ms=timeout_ms))
    peer.send(b"par")  # half a line, into the Conn's buffer
    wait_until(lambda: parked_on_io() == 2 and len(conn._buf) == 3, what="both parked")
    assert gochan.cancel(r1) and gochan.cancel(r2)
    assert take(r1) == "cancelled" and take(r2) == "cancelled"
    assert parked_on_io() == 0
    peer.send(b"tial\n")
    assert take(go(conn.readline)) == b"partial\n"  # the Conn is open, the partial line kept
    peer2 = socket.create_connection(lst.address)
    take(go(lst.accept)).close()  # the listener is still usable
    for s in (conn, lst, peer, peer2):
        s.close()


@pytest.mark.timeout(20)
def test_cancel_running_go_block_raises_at_its_next_io_wait() -> None:
    lst = net.listen(("127.0.0.1", 0))
    peer = socket.create_connection(lst.address)
    conn = lst.accept()
    gate = chan()
    started = chan()

    def body() -> str:
        put(started, True)
        take(gate)  # cancelled while parked here? no: the gate opens first, see below
        x = 0
        for i in range(10_000):
            x += i  # running (not parked) when cancelled
        try:
            conn.recv()
        except Cancelled:
            return "cancelled at recv"
        return "returned"

    r = go(body)
    take(started)
    put(gate, 1)
    gochan.cancel(r)
    assert take(r) in ("cancelled at recv",)
    for s in (conn, lst, peer):
        s.close()


@pytest.mark.timeout(20)
def test_cancel_connect_closes_its_socket() -> None:
    lst = net.listen(("127.0.0.1", 0), backlog=0)
    first = socket.create_connection(lst.address)  # the backlog is full: connects hang
    fds = fd_count()

    def body() -> str:
        try:
            net.connect(lst.address)
        except Cancelled:
            return "cancelled"
        return "connected"

    r = go(body)
    wait_until(lambda: parked_on_io() == 1, what="the connect to park")
    gochan.cancel(r)
    assert take(r) == "cancelled"
    assert fd_count() <= fds
    first.close()
    lst.close()


@pytest.mark.timeout(20)
def test_cancel_thread_blocked_in_recv() -> None:
    lst = net.listen(("127.0.0.1", 0))
    peer = socket.create_connection(lst.address)
    conn = lst.accept()
    blocked = threading.Event()

    def body() -> str:
        blocked.set()
        try:
            conn.recv()
        except Cancelled:
            return "cancelled"
        return "returned"

    r = gochan.thread(body)
    assert blocked.wait(10)
    time.sleep(0.02)  # let it block in its poll (a cancel before that is delivered the same way)
    t0 = time.monotonic()
    gochan.cancel(r)
    assert take(r) == "cancelled"
    assert time.monotonic() - t0 < 1.0  # within a poll slice (50 ms), loosely
    peer.send(b"still open")
    assert conn.recv() == b"still open"
    for s in (conn, lst, peer):
        s.close()


@pytest.mark.timeout(20)
def test_shutdown_ends_go_blocks_parked_on_io() -> None:
    lst = net.listen(("127.0.0.1", 0))
    peer = socket.create_connection(lst.address)
    conn = lst.accept()
    log: List[str] = []

    def body(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Cancelled:
            log.append("cancelled")
        finally:
            log.append("finally")

    go(body, conn.recv)
    go(body, lst.accept)
    wait_until(lambda: parked_on_io() == 2, what="both parked")
    assert gochan.shutdown(5000) is True
    assert sorted(log) == ["cancelled", "cancelled", "finally", "finally"]
    peer.send(b"after")
    assert conn.recv(timeout_ms=5000) == b"after"  # a fresh runtime; the Conn was left open
    for s in (conn, lst, peer):
        s.close()
