"""Sockets for go blocks: `connect`, `listen`, `serve` and `Conn`, over TCP (IPv4, IPv6), Unix sockets and TLS.

In a go block every call that would block parks it on its hub's poller; in a
plain thread the same call blocks the thread. No monkey-patching.
"""
# Design: every socket gochan owns is non-blocking. A call first tries the
# operation; on EAGAIN (or SSLWantRead/SSLWantWrite) it waits for the fd in
# the needed direction and tries again, so a spurious readiness costs one
# retry. A go block waits through a direct registration in its hub's poller
# (no timeout) or an `alts` of the readiness port and a `timeout` (with
# one); a thread polls the fd (readiness.thread_wait).
# - Nothing is lost to a timeout: bytes are read into the Conn's buffer
#   before a wait can raise, and readline/recv_exactly leave what they
#   gathered there.
# - Closing wakes every waiter at once: the Conn knows which go blocks wait
#   on it (`_waiting`) and posts each one's hub a withdraw-and-raise (the same
#   contract as cancellation: the park reason's `withdraw`); threads are
#   woken by `shutdown()` of the socket (poll reports HUP) and, failing that,
#   see the closed flag at their next slice.
# - Name resolution runs in the runtime's thread pool (`thread`), never on a hub.
from __future__ import annotations

import errno
import itertools
import os
import socket
import ssl as _ssl
import threading
from time import monotonic
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from greenlet import getcurrent

from .channel import Chan, chan
from .hub import GoTask
from .ops import alts, close, put, take
from .poller import READ, WRITE, IoReg, Poller, hub_poller
from .process import go, thread
from .procs import any_pending
from .protocols import IO
from .readiness import Readiness, thread_wait
from .suspend import check
from .timers import sleep, timeout

__all__ = ["connect", "listen", "serve", "chans", "Conn", "Listener", "Server", "Address"]

Address = Union[Tuple[Any, ...], str]

_WOULD_BLOCK = (BlockingIOError, InterruptedError)
_PLAIN = socket.socket  # the exact class of a socket without TLS (SSLSocket is a subclass)
#: A read shorter than asked and than this leaves the socket most likely empty (see `Conn.recv`).
#: A longer short read is a bulk stream, whose next bytes the kernel often queues at once (as the
#: read reopens the window): there trying first is faster (50 MB in 4 KB reads: 15% more MB/s).
_SMALL_READ = 4096
_WANT_READ = (BlockingIOError, InterruptedError, _ssl.SSLWantReadError)  # built once, not at every raise
_gens = itertools.count(1)
_gens_lock = threading.Lock()  # count's next is not atomic on free-threaded builds


def _closed_error() -> OSError:
    return OSError(errno.EBADF, "the connection is closed")


def _check_timeout(fname: str, timeout_ms: Any) -> Optional[float]:
    """The deadline (monotonic seconds) of a call with `timeout_ms`, or None."""
    if timeout_ms is None:
        return None
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, (int, float)) or timeout_ms < 0 \
            or timeout_ms != timeout_ms:
        raise ValueError(f"{fname}: timeout_ms must be a number >= 0 or None, got {timeout_ms!r}")
    return monotonic() + timeout_ms / 1000.0


def _check_int(fname: str, arg: str, v: Any, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ValueError(f"{fname}: {arg} must be an int >= {low}, got {v!r}")
    return v


def _check_address(fname: str, address: Any) -> Address:
    if isinstance(address, str):
        if not address:
            raise ValueError(f"{fname}: address must be (host, port) or a Unix socket path, got ''")
        return address
    if isinstance(address, tuple) and len(address) in (2, 4):
        host, port = address[0], address[1]
        if host is not None and not isinstance(host, str):
            raise TypeError(f"{fname}: address host must be a str, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"{fname}: address port must be an int in 0..65535, got {port!r}")
        return address
    raise TypeError(f"{fname}: address must be (host, port) or a Unix socket path (str), got {address!r}")


def _check_ssl(fname: str, ctx: Any) -> Optional[_ssl.SSLContext]:
    if ctx is not None and not isinstance(ctx, _ssl.SSLContext):
        raise TypeError(f"{fname}: ssl must be an ssl.SSLContext or None, got {ctx!r}")
    return ctx


class _Waits:
    """What a socket's waiters need: its fd, its two readiness ports, who waits, whether it is closed."""

    __slots__ = ("fd", "rport", "wport", "waiting", "lock", "closed", "gen", "poller", "spare")

    def __init__(self, sock: socket.socket) -> None:
        self.fd = sock.fileno()
        with _gens_lock:
            self.gen = next(_gens)  # this socket's identity in a poller, never reused (Poller.add_owned)
        self.poller: Optional[Poller] = None  # the one poller that keeps it armed between waits
        self.spare: Optional[IoReg] = None  # the registration of the last wait on `poller`, reused
        self.rport = Readiness(self.fd, READ, sock)
        self.wport = Readiness(self.fd, WRITE, sock)
        self.waiting: Dict[Any, bool] = {}  # go blocks parked on this socket now
        self.lock = threading.Lock()
        self.closed = False

    def wait(self, events: int, deadline: Optional[float]) -> None:
        """Wait until the fd may be ready for `events`; TimeoutError past `deadline`, OSError once closed."""
        if self.closed:
            raise _closed_error()
        g = getcurrent()
        if g.__class__ is GoTask:
            if any_pending:  # a cancel request that came while this go block ran: raise it here
                check()
            if deadline is not None:
                ms = (deadline - monotonic()) * 1000.0
                if ms <= 0:
                    raise TimeoutError(errno.ETIMEDOUT, "timed out")
            lock = self.lock
            lock.acquire()  # explicit acquire/release: `with lock` costs 2.5x as much on 3.11
            if self.closed:
                lock.release()
                raise _closed_error()
            self.waiting[g] = True
            lock.release()
            try:
                if deadline is None:
                    poller = self.poller
                    if poller is not None and poller.hub is g.hub:  # the W9 hot path
                        reg = self.spare
                        if reg is not None and reg.waiter is None:  # the last wait's, over: reuse it
                            reg.events = events
                            reg.waiter = g
                            reg.state = 0
                        else:
                            reg = self.spare = IoReg(self.fd, events, g)
                        try:
                            if poller.add_owned(reg, self.gen):
                                g.park(IO, self.rport if events == READ else self.wport)
                        finally:
                            # Over (out of the poller): reusable, and pinning no go block (the reaper
                            # counts references). Not `state`: a fired wait is not over until its go
                            # block has run past here.
                            reg.waiter = None
                    else:
                        self._wait_first(g, events)
                else:
                    port = self.rport if events == READ else self.wport
                    _, p = alts([port, timeout(ms)], priority=True)
                    if p is not port:
                        raise TimeoutError(errno.ETIMEDOUT, "timed out")
            finally:
                lock.acquire()
                del self.waiting[g]
                lock.release()
        else:
            if not thread_wait(self.fd, events, deadline, self._is_closed):
                raise TimeoutError(errno.ETIMEDOUT, "timed out")
        if self.closed:
            raise _closed_error()

    def _wait_first(self, g: GoTask, events: int) -> None:
        """`wait` without a deadline, the first time on this hub (or on another hub than the first)."""
        hub = g.hub
        poller = hub.services.get(Poller) or hub_poller(hub)
        reg = IoReg(self.fd, events, g)
        if self.poller is None:
            self.poller = poller  # this one keeps the socket armed between waits
        if poller.add_owned(reg, self.gen) if self.poller is poller else poller.add(reg):
            g.park(IO, self.rport if events == READ else self.wport)

    def _is_closed(self) -> bool:
        return self.closed

    def close(self, sock: socket.socket) -> bool:
        """Mark closed and wake every waiter with OSError; False if it was already closed."""
        with self.lock:
            if self.closed:
                return False
            self.closed = True
            waiting = list(self.waiting)
            poller = self.poller
        if poller is not None:
            poller.forget(self.fd)  # before the fd closes and its number can be reused
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes threads polling the fd (HUP)
        except OSError:
            pass
        for task in waiting:
            task.hub.call(_Abort(self, task).run)
        return True


class _Abort:
    """On a waiter's hub: if it still waits on the closed socket, withdraw its wait and raise OSError there."""

    __slots__ = ("waits", "task")

    def __init__(self, waits: _Waits, task: GoTask) -> None:
        self.waits = waits
        self.task = task

    def run(self) -> None:
        task = self.task
        with self.waits.lock:
            still = task in self.waits.waiting
        waiting = task.waiting
        if still and waiting is not None and waiting.withdraw(task):
            task.wake_error(_closed_error())


# ----------------------------------------------------------------------- Conn
class _OwnedSocket:
    """What `Conn` and `Listener` share: a socket gochan owns, its waiters (`_w`), closing."""

    sock: socket.socket
    _w: "_Waits"

    @property
    def closed(self) -> bool:
        return self._w.closed

    def fileno(self) -> int:
        return self._w.fd if not self._w.closed else -1

    def close(self) -> None:
        raise NotImplementedError

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Conn(_OwnedSocket):
    """A connected stream socket owned by gochan (TCP, Unix or TLS). Use from go blocks or threads.

    Reads go through a buffer, so a timeout never loses bytes: what a
    `readline` or `recv_exactly` gathered before timing out is still there
    for the next call. `close()` wakes every waiter with OSError.
    """

    def __init__(self, sock: socket.socket, peer: Any = None) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.peer = peer
        self._buf = bytearray()
        self._w = _Waits(sock)
        self._drained = False  # the last recv read little, less than it asked: the socket is likely empty

    # -- reading
    def _fill(self, n: int, deadline: Optional[float], events: int = 0) -> bool:
        """Read up to `n` more bytes into the buffer; False at end of stream.

        `events`: the direction to wait for first (a try just found nothing), or 0 to try first.
        """
        w = self._w
        sock = self.sock
        if self._drained:  # see `recv`
            self._drained = False
            events = events or READ
        while True:
            if events:
                w.wait(events, deadline)
            elif w.closed:
                raise _closed_error()
            try:
                data = sock.recv(n)
                if len(data) < n and len(data) < _SMALL_READ and sock.__class__ is _PLAIN:
                    self._drained = True
            except _WANT_READ:
                events = READ
                continue
            except _ssl.SSLWantWriteError:
                events = WRITE
                continue
            except OSError:
                if w.closed:
                    raise _closed_error() from None
                raise
            if not data:
                return False
            self._buf += data
            return True

    def recv(self, max_bytes: int = 65536, *, timeout_ms: Optional[float] = None) -> bytes:
        """Up to `max_bytes` bytes, waiting for at least one; `b""` at end of stream."""
        if max_bytes.__class__ is not int or max_bytes < 1:
            _check_int("Conn.recv", "max_bytes", max_bytes, 1)
        deadline = None if timeout_ms is None else _check_timeout("Conn.recv", timeout_ms)
        buf = self._buf
        if buf:
            out = bytes(buf[:max_bytes])
            del buf[:max_bytes]
            return out
        w = self._w
        sock = self.sock
        if self._drained:
            # The last recv emptied the socket (it read little, less than it asked), so this one
            # would most likely fail: wait first and save the failing recv (its BlockingIOError
            # costs ~1.3 us; W9, server CPU per round trip: 5% less). Only on a plain socket: TLS
            # may hold decrypted bytes the fd does not show.
            self._drained = False
            w.wait(READ, deadline)
        while True:
            if w.closed:
                raise _closed_error()
            try:
                data = sock.recv(max_bytes)
                if len(data) < max_bytes and len(data) < _SMALL_READ and sock.__class__ is _PLAIN:
                    self._drained = True
                return data  # data, or b"" at end of stream
            except _WANT_READ:
                events = READ
            except _ssl.SSLWantWriteError:
                events = WRITE
            except OSError:
                if w.closed:
                    raise _closed_error() from None
                raise
            w.wait(events, deadline)

    def recv_exactly(self, n: int, *, timeout_ms: Optional[float] = None) -> bytes:
        """Exactly `n` bytes; EOFError if the stream ends first (the partial bytes stay readable)."""
        _check_int("Conn.recv_exactly", "n", n, 0)
        deadline = _check_timeout("Conn.recv_exactly", timeout_ms)
        buf = self._buf
        while len(buf) < n:
            if not self._fill(max(n - len(buf), 65536), deadline):
                raise EOFError(f"Conn.recv_exactly: the stream ended after {len(buf)} of {n} bytes")
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def readline(self, limit: int = 65536, *, timeout_ms: Optional[float] = None) -> bytes:
        """The next line, with its b"\\n"; at end of stream the partial last line, then b"".

        ValueError at once if the line would be longer than `limit` bytes
        (the bytes stay in the buffer).
        """
        _check_int("Conn.readline", "limit", limit, 1)
        deadline = _check_timeout("Conn.readline", timeout_ms)
        buf = self._buf
        start = 0
        while True:
            i = buf.find(b"\n", start)
            if i >= 0:
                if i + 1 > limit:
                    raise ValueError(f"Conn.readline: line longer than limit={limit}")
                out = bytes(buf[:i + 1])
                del buf[:i + 1]
                return out
            if len(buf) >= limit:
                raise ValueError(f"Conn.readline: line longer than limit={limit}")
            start = len(buf)
            if not self._fill(65536, deadline):
                out = bytes(buf)
                buf.clear()
                return out

    # -- writing
    def send_all(self, data: Any, *, timeout_ms: Optional[float] = None) -> None:
        """Send all of `data` (bytes-like). On a timeout, TimeoutError with `.sent` = bytes sent so far."""
        deadline = None if timeout_ms is None else _check_timeout("Conn.send_all", timeout_ms)
        w = self._w
        sock = self.sock
        sent = 0
        if data.__class__ is bytes and not w.closed:
            try:  # the common case: all of it fits in the socket's buffer
                sent = sock.send(data)
                if sent == len(data):
                    return
            except (BlockingIOError, InterruptedError, _ssl.SSLWantReadError, _ssl.SSLWantWriteError):
                pass
            except OSError:
                if w.closed:
                    raise _closed_error() from None
                raise
        try:
            view = memoryview(data).cast("B")
        except TypeError:
            raise TypeError(f"Conn.send_all: data must be bytes-like, got {type(data).__name__}") from None
        total = len(view)
        while sent < total:
            if w.closed:
                raise _closed_error()
            try:
                sent += sock.send(view[sent:])
                continue
            except _WOULD_BLOCK:
                events = WRITE
            except _ssl.SSLWantWriteError:
                events = WRITE
            except _ssl.SSLWantReadError:
                events = READ
            except OSError:
                if w.closed:
                    raise _closed_error() from None
                raise
            try:
                w.wait(events, deadline)
            except TimeoutError as exc:
                exc.sent = sent  # type: ignore[attr-defined]
                raise

    def shutdown_write(self) -> None:
        """Send end of stream to the peer (it reads b""); this side can still read."""
        if self._w.closed:
            raise _closed_error()
        sock = self.sock
        if isinstance(sock, _ssl.SSLSocket):
            # TLS has no half-close of its own: shut down the TCP write side under it.
            socket.socket.shutdown(sock, socket.SHUT_WR)
        else:
            sock.shutdown(socket.SHUT_WR)

    def _handshake(self, deadline: Optional[float]) -> None:
        sock = self.sock
        w = self._w
        while True:
            try:
                sock.do_handshake()  # type: ignore[attr-defined]
                return
            except _ssl.SSLWantReadError:
                w.wait(READ, deadline)
            except _ssl.SSLWantWriteError:
                w.wait(WRITE, deadline)

    # -- lifecycle
    def close(self) -> None:
        """Close (idempotent): every go block or thread waiting on this Conn gets OSError at once."""
        if self._w.close(self.sock):
            self.sock.close()

    def __enter__(self) -> "Conn":
        return self

    def __repr__(self) -> str:
        state = "closed" if self._w.closed else f"fd={self._w.fd}"
        return f"<Conn {state} peer={self.peer!r} buffered={len(self._buf)}>"


# ------------------------------------------------------------------- resolving
def _resolve_in_thread(host: Optional[str], port: int, family: int, flags: int) -> Any:
    try:
        return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0, flags)
    except BaseException as exc:  # handed back to the caller, not reported
        return exc


def _is_numeric(host: Optional[str]) -> bool:
    if host is None or host == "":
        return True
    for fam in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(fam, host.split("%", 1)[0])
            return True
        except (OSError, ValueError):
            pass
    return False


def _resolve(host: Optional[str], port: int, deadline: Optional[float], passive: bool) -> List[Any]:
    """getaddrinfo, off the hub: in a go block through the thread pool (it parks), in a thread directly."""
    flags = socket.AI_PASSIVE if passive else 0
    if _is_numeric(host) or getcurrent().__class__ is not GoTask:
        r: Any = _resolve_in_thread(host, port, socket.AF_UNSPEC, flags | (socket.AI_NUMERICHOST if host else 0))
    else:
        ch = thread(_resolve_in_thread, host, port, socket.AF_UNSPEC, flags)
        if deadline is None:
            r = take(ch)
        else:
            r, p = alts([ch, timeout(max(0.0, (deadline - monotonic()) * 1000.0))], priority=True)
            if p is not ch:
                raise TimeoutError(errno.ETIMEDOUT, f"resolving {host!r} timed out")
    if isinstance(r, BaseException):
        raise r
    if not r:
        raise OSError(f"no address found for {host!r}")
    return r  # type: ignore[no-any-return]


# -------------------------------------------------------------------- connect
def connect(address: Address, *, timeout_ms: Optional[float] = None, ssl: Optional[_ssl.SSLContext] = None,
            server_hostname: Optional[str] = None) -> Conn:
    """Connect to `(host, port)` (resolved off the hub) or a Unix socket path; with `ssl`, a TLS client.

    Parks a go block (blocks a thread) until connected and, with TLS,
    handshaken; TimeoutError past `timeout_ms`. A cancelled or failed
    connect closes its socket.
    """
    address = _check_address("connect", address)
    deadline = _check_timeout("connect", timeout_ms)
    ctx = _check_ssl("connect", ssl)
    if server_hostname is not None and not isinstance(server_hostname, str):
        raise TypeError(f"connect: server_hostname must be a str or None, got {server_hostname!r}")
    if isinstance(address, str):
        targets: List[Tuple[int, Any]] = [(socket.AF_UNIX, address)]
        host = None
    else:
        host = address[0]
        infos = _resolve(host, address[1], deadline, passive=False)
        targets = [(fam, sa) for fam, _, _, _, sa in infos]
    last: Optional[BaseException] = None
    for fam, sa in targets:
        conn: Optional[Conn] = None
        sock = socket.socket(fam, socket.SOCK_STREAM)
        try:
            conn = _connect_one(sock, fam, sa, deadline)
            if ctx is not None:
                conn.sock = ctx.wrap_socket(sock, server_hostname=server_hostname or host,
                                            do_handshake_on_connect=False)
                conn._w = _Waits(conn.sock)
                conn._handshake(deadline)
            return conn
        except BaseException as exc:  # failed, timed out or cancelled: no socket left behind
            if conn is not None:
                conn.sock.close()
            sock.close()
            if isinstance(exc, TimeoutError) or not isinstance(exc, OSError):
                raise
            last = exc
    assert last is not None
    raise last


def _connect_one(sock: socket.socket, fam: int, sa: Any, deadline: Optional[float]) -> Conn:
    sock.setblocking(False)
    if fam in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = Conn(sock, sa)
    err = sock.connect_ex(sa)
    if err in (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK, errno.EALREADY):
        conn._w.wait(WRITE, deadline)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, f"connect to {sa!r}: {os.strerror(err)}")
    try:
        conn.peer = sock.getpeername()
    except OSError:
        conn.peer = sa
    return conn


# --------------------------------------------------------------------- listen
class Listener(_OwnedSocket):
    """A listening socket: `accept()`, `for conn in listener:`, `address`, `close()`, context manager."""

    def __init__(self, sock: socket.socket, ssl: Optional[_ssl.SSLContext] = None) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.ssl = ssl
        self.address = sock.getsockname()
        self._w = _Waits(sock)

    def _accept_raw(self, deadline: Optional[float]) -> Conn:
        w = self._w
        sock = self.sock
        while True:
            if w.closed:
                raise _closed_error()
            try:
                s, peer = sock.accept()
            except _WOULD_BLOCK:
                w.wait(READ, deadline)
                continue
            except OSError:
                if w.closed:
                    raise _closed_error() from None
                raise
            s.setblocking(False)
            if s.family in (socket.AF_INET, socket.AF_INET6):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return Conn(s, peer)

    def _secure(self, conn: Conn, deadline: Optional[float]) -> Conn:
        ctx = self.ssl
        if ctx is None:
            return conn
        try:
            conn.sock = ctx.wrap_socket(conn.sock, server_side=True, do_handshake_on_connect=False)
            conn._w = _Waits(conn.sock)
            conn._handshake(deadline)
        except BaseException:
            conn.close()
            raise
        return conn

    def accept(self, timeout_ms: Optional[float] = None) -> Conn:
        """The next connection (TLS: handshaken); TimeoutError past `timeout_ms`, OSError once closed."""
        deadline = _check_timeout("Listener.accept", timeout_ms)
        return self._secure(self._accept_raw(deadline), deadline)

    def __iter__(self) -> Iterator[Conn]:
        """Accept until the listener is closed (then end quietly); with TLS, a client whose
        handshake fails is dropped, not raised."""
        while True:
            try:
                conn = self._accept_raw(None)
            except OSError:
                if self._w.closed:
                    return
                raise
            try:
                self._secure(conn, None)
            except OSError:
                continue
            yield conn

    def close(self) -> None:
        """Stop listening (idempotent): every go block or thread in `accept` gets OSError at once."""
        if self._w.close(self.sock):
            self.sock.close()
            if isinstance(self.address, str) and self.address:
                try:
                    os.unlink(self.address)
                except OSError:
                    pass

    def __enter__(self) -> "Listener":
        return self

    def __repr__(self) -> str:
        return f"<Listener {self.address!r}{' closed' if self._w.closed else ''}>"


def listen(address: Address, *, backlog: int = 128, ssl: Optional[_ssl.SSLContext] = None) -> Listener:
    """Listen on `(host, port)` (port 0 picks a free port; see `Listener.address`) or a Unix socket path.

    With `ssl` (a server-side SSLContext) every accepted connection is TLS.
    """
    address = _check_address("listen", address)
    _check_int("listen", "backlog", backlog, 0)
    ctx = _check_ssl("listen", ssl)
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(address)
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        return Listener(sock, ctx)
    host = address[0]
    infos = _resolve(host or None, address[1], None, passive=True)
    last: Optional[BaseException] = None
    for fam, _, _, _, sa in infos:
        sock = socket.socket(fam, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6 and host not in (None, ""):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sa)
            sock.listen(backlog)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return Listener(sock, ctx)
    assert last is not None
    raise last


# ---------------------------------------------------------------------- serve
class Server:
    """What `serve` returns: `address`, `close()` (stop accepting), `wait()` (until closed)."""

    def __init__(self, listener: Listener, handler: Any) -> None:
        self.listener = listener
        self.address = listener.address
        self.handler = handler
        self._done: Chan[Any] = chan()
        go(self._accept_loop)

    def _accept_loop(self) -> None:
        lst = self.listener
        try:
            while True:
                try:
                    conn = lst._accept_raw(None)
                except OSError as exc:
                    if lst.closed:
                        return
                    if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                        sleep(50)  # out of fds: let connections end before accepting more
                        continue
                    raise
                go(_run_handler, lst, conn, self.handler)
        finally:
            close(self._done)

    def close(self) -> None:
        """Stop accepting (connections already accepted keep running)."""
        self.listener.close()

    def wait(self) -> None:
        """Park (go block) or block (thread) until the server is closed and its accept loop ended."""
        take(self._done)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Server {self.address!r}{' closed' if self.listener.closed else ''}>"


def _run_handler(lst: Listener, conn: Conn, handler: Any) -> Any:
    try:
        lst._secure(conn, None)  # closes conn if the TLS handshake fails
    except OSError:
        return None  # a client that failed its handshake is not the server's error
    return handler(conn)


def serve(address: Address, handler: Any, *, ssl: Optional[_ssl.SSLContext] = None, backlog: int = 128) -> Server:
    """Listen on `address` and run `go(handler, conn)` for each connection (TLS handshake included).

    The handler owns `conn`: close it when done (`with conn:`), or hand it
    on (for example to `chans`). `Server.close()` stops accepting;
    `Server.wait()` returns once it is closed.
    """
    if not callable(handler):
        raise TypeError(f"serve: handler must be callable, got {handler!r}")
    return Server(listen(address, backlog=backlog, ssl=ssl), handler)


# ---------------------------------------------------------------------- chans
def chans(conn: Conn, *, buf: int = 16, chunk: int = 65536) -> Tuple[Chan[bytes], Chan[bytes]]:
    """The connection as two channels `(incoming, outgoing)`, each with a buffer of `buf`.

    `incoming` carries the bytes read, in chunks of at most `chunk`, and
    closes at end of stream or on an error; values put on `outgoing`
    (bytes-like) are sent in order, and closing it sends what was queued,
    then shuts the write side (`shutdown_write`). Once both are done, the
    connection is closed: the channels own it.
    """
    if not isinstance(conn, Conn):
        raise TypeError(f"chans: conn must be a gochan.net.Conn, got {conn!r}")
    _check_int("chans", "buf", buf, 1)
    _check_int("chans", "chunk", chunk, 1)
    incoming: Chan[bytes] = chan(buf)
    outgoing: Chan[bytes] = chan(buf)
    both = _Both(conn)
    go(_pump_in, conn, incoming, chunk, both)
    go(_pump_out, conn, outgoing, both)
    return incoming, outgoing


class _Both:
    """Closes the Conn of `chans` once both of its pumps have ended."""

    __slots__ = ("conn", "left", "lock")

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.left = 2
        self.lock = threading.Lock()

    def done(self) -> None:
        with self.lock:
            self.left -= 1
            last = self.left == 0
        if last:
            self.conn.close()


def _pump_in(conn: Conn, incoming: Chan[bytes], chunk: int, both: _Both) -> None:
    try:
        while True:
            data = conn.recv(chunk)
            if not data or not put(incoming, data):
                return
    except OSError:
        return
    finally:
        close(incoming)
        both.done()


def _pump_out(conn: Conn, outgoing: Chan[bytes], both: _Both) -> None:
    try:
        for data in outgoing:
            conn.send_all(data)
        conn.shutdown_write()
    except OSError:
        close(outgoing)
    finally:
        both.done()
