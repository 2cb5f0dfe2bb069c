"""W9 echo: 1,000 connections x 50 round trips of 64 bytes against a server per contestant; W9 idle RSS.

Each contestant's server runs in a process of its own (``python -m bench.w9_echo server KIND``);
the load comes from one more process, the same for every contestant: one thread, plain
``selectors``, every connection with one 64-byte request in flight (send, wait for the
64-byte echo, send again). Round trips/s counts from the first request to the last
reply; p99 is over every round trip's latency. W9 idle: the server's RSS growth per
connection with 10,000 idle connections open (each has echoed one byte, so its
handler is running and parked), RLIMIT_NOFILE raised as far as the hard limit allows.

    python -m bench.w9_echo                       # every server, 3 interleaved repetitions
    python -m bench.w9_echo --kinds gochan gevent --reps 5 --conns 1000 --rounds 50

Servers: gochan.net (a go block per connection), gevent StreamServer, asyncio streams,
asyncio Protocol, trio serve_tcp (if installed), a thread per connection.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import time

from .common import Metric, Workload

SIZE = 64
KINDS = ["gochan", "gevent", "asyncio_streams", "asyncio_protocol", "trio", "threads"]
REQUIRES = {"gochan": "gochan", "gevent": "gevent", "asyncio_streams": "asyncio", "asyncio_protocol": "asyncio",
            "trio": "trio", "threads": "socket"}


def _raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


# --------------------------------------------------------------------- servers
# Every server echoes what it reads, as it reads it (no framing): the client waits for
# all 64 bytes of each reply.
def serve_gochan(port_out) -> None:
    from gochan import net

    def handle(conn):
        with conn:
            recv, send = conn.recv, conn.send_all
            while True:
                data = recv(65536)
                if not data:
                    return
                send(data)

    srv = net.serve(("127.0.0.1", 0), handle, backlog=4096)
    port_out(srv.address[1])
    srv.wait()


def serve_gevent(port_out) -> None:
    from gevent.server import StreamServer

    def handle(sock, addr):
        recv, send = sock.recv, sock.sendall
        while True:
            data = recv(65536)
            if not data:
                break
            send(data)
        sock.close()

    srv = StreamServer(("127.0.0.1", 0), handle, backlog=4096)
    srv.init_socket()
    port_out(srv.server_port)
    srv.serve_forever()


def serve_asyncio_streams(port_out) -> None:
    import asyncio

    async def handle(reader, writer):
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
        port_out(srv.sockets[0].getsockname()[1])
        await srv.serve_forever()

    asyncio.run(main())


def serve_asyncio_protocol(port_out) -> None:
    import asyncio

    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data)

    async def main():
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(Echo, "127.0.0.1", 0, backlog=4096)
        port_out(srv.sockets[0].getsockname()[1])
        await srv.serve_forever()

    asyncio.run(main())


def serve_trio(port_out) -> None:
    import trio

    async def handle(stream):
        try:
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                await stream.send_all(data)
        except trio.BrokenResourceError:
            return

    async def main():
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1", backlog=4096)
        port_out(listeners[0].socket.getsockname()[1])
        await trio.serve_listeners(handle, listeners)

    trio.run(main)


def serve_threads(port_out) -> None:
    import threading

    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", 0))
    lst.listen(4096)
    port_out(lst.getsockname()[1])
    threading.stack_size(256 * 1024)

    def handle(sock):
        recv, send = sock.recv, sock.sendall
        try:
            while True:
                data = recv(65536)
                if not data:
                    break
                send(data)
        finally:
            sock.close()

    while True:
        s, _ = lst.accept()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(s,), daemon=True).start()


SERVERS = {"gochan": serve_gochan, "gevent": serve_gevent, "asyncio_streams": serve_asyncio_streams,
           "asyncio_protocol": serve_asyncio_protocol, "trio": serve_trio, "threads": serve_threads}


def _server_main(kind: str) -> None:
    _raise_nofile()

    def port_out(port: int) -> None:
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()

    SERVERS[kind](port_out)


# ---------------------------------------------------------------------- client
def _connect_all(port: int, conns: int) -> list:
    socks = []
    for _ in range(conns):
        s = socket.socket()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        socks.append(s)
    return socks


def _ping_all(socks: list, rounds: int, size: int) -> dict:
    """Every socket: `rounds` request/reply round trips of `size` bytes, one in flight each."""
    sel = selectors.DefaultSelector()
    payload = b"x" * size
    left = {}
    got = {}
    sent_at = {}
    lat = []
    perf = time.perf_counter
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
        left[s] = rounds
        got[s] = 0
    t0 = perf()
    for s in socks:
        sent_at[s] = perf()
        s.send(payload)
    active = len(socks)
    while active:
        for key, _ in sel.select():
            s = key.fileobj
            data = s.recv(65536)
            if not data:
                raise RuntimeError("server closed a connection")
            got[s] += len(data)
            if got[s] < size:
                continue
            now = perf()
            lat.append(now - sent_at[s])
            got[s] = 0
            left[s] -= 1
            if left[s]:
                sent_at[s] = now
                s.send(payload)
            else:
                sel.unregister(s)
                active -= 1
    dt = perf() - t0
    lat.sort()
    return {"rate": len(lat) / dt, "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000, "seconds": dt}


def _client_main(port: int, conns: int, rounds: int) -> None:
    _raise_nofile()
    socks = _connect_all(port, conns)
    res = _ping_all(socks, rounds, SIZE)
    for s in socks:
        s.close()
    sys.stdout.write(json.dumps(res) + "\n")


def _idle_main(port: int, pid: int, conns: int) -> None:
    """Open `conns` connections, have each echo one byte, then report the server's RSS growth."""
    _raise_nofile()
    before = _rss_of(pid)
    socks = _connect_all(port, conns)
    _ping_all(socks, 1, 1)
    time.sleep(0.5)  # let the server settle (allocator, lazily made structures)
    after = _rss_of(pid)
    sys.stdout.write(json.dumps({"rss_per_conn": (after - before) / conns, "before": before, "after": after}) + "\n")
    for s in socks:
        s.close()


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_of(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------- orchestration
def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(kind: str, mode: str, conns: int, rounds: int) -> dict:
    """Start `kind`'s server, run the load (mode "echo") or the idle test (mode "idle") against it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = _root() + os.pathsep + env.get("PYTHONPATH", "")
    srv = subprocess.Popen([sys.executable, "-m", "bench.w9_echo", "server", kind], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, cwd=_root())
    try:
        line = srv.stdout.readline()
        if not line:
            raise RuntimeError(f"{kind} server did not start: {srv.stderr.read()}")
        port = int(line)
        args = [sys.executable, "-m", "bench.w9_echo"]
        if mode == "echo":
            args += ["client", str(port), str(conns), str(rounds)]
        else:
            args += ["idle", str(port), str(srv.pid), str(conns)]
        cpu0 = _cpu_of(srv.pid)
        out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=_root(), timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"{kind} {mode} client failed: {out.stderr}")
        res = json.loads(out.stdout)
        if mode == "echo":
            # The server's CPU time (user + system) per round trip, connecting included: far less
            # noisy than the rate on a shared machine, and what bounds the rate once CPU is short.
            res["cpu_us_per_rt"] = (_cpu_of(srv.pid) - cpu0) / (conns * rounds) * 1e6
        return res
    finally:
        srv.kill()
        srv.wait()


def _available(kind: str) -> bool:
    try:
        __import__(REQUIRES[kind])
        return True
    except ImportError:
        return False


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.w9_echo")
    ap.add_argument("--kinds", nargs="*", default=KINDS)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--idle", type=int, default=10_000, help="idle connections for W9 idle (0: skip)")
    ap.add_argument("--json", default=None, help="also write the medians here")
    args = ap.parse_args(argv)
    kinds = [k for k in args.kinds if _available(k)]
    skipped = [k for k in args.kinds if k not in kinds]
    runs: dict = {k: [] for k in kinds}
    for _rep in range(args.reps):  # interleaved: rep 1 of every server, then rep 2, ...
        for k in kinds:
            runs[k].append(run(k, "echo", args.conns, args.rounds))
    idle: dict = {}
    if args.idle:
        for k in kinds:
            idle[k] = run(k, "idle", args.idle, 0)["rss_per_conn"]
    result = {}
    print(f"W9 echo: {args.conns} connections x {args.rounds} round trips of {SIZE} B, "
          f"medians of {args.reps} interleaved repetitions")
    print(f"{'server':18} {'round trips/s':>14} {'p99 ms':>8} {'server CPU us/rt':>17} {'idle KiB/conn':>14}")
    for k in kinds:
        rate = statistics.median(r["rate"] for r in runs[k])
        p99 = statistics.median(r["p99_ms"] for r in runs[k])
        cpu = statistics.median(r["cpu_us_per_rt"] for r in runs[k])
        kib = idle.get(k, float("nan")) / 1024
        result[k] = {"rate": rate, "p99_ms": p99, "cpu_us_per_rt": cpu, "idle_kib": kib,
                     "rates": [r["rate"] for r in runs[k]], "cpus": [r["cpu_us_per_rt"] for r in runs[k]]}
        print(f"{k:18} {rate:14,.0f} {p99:8.1f} {cpu:17.1f} {kib:14.1f}")
    if "gochan" in result:
        g = result["gochan"]
        for peer, want in (("gevent", 1.0), ("asyncio_streams", 1.5)):
            if peer in result:
                r = g["rate"] / result[peer]["rate"]
                paired = statistics.median(a / b for a, b in zip(g["rates"], result[peer]["rates"], strict=True))
                cpu = result[peer]["cpu_us_per_rt"] / g["cpu_us_per_rt"]
                print(f"gochan / {peer}: {r:.2f}x, paired {paired:.2f}x (target >= {want}x); "
                      f"server CPU per round trip: {peer} uses {cpu:.2f}x gochan's")
        if "gevent" in result and args.idle:
            print(f"gochan idle / gevent idle: {g['idle_kib'] / result['gevent']['idle_kib']:.2f}x (target <= 1x)")
    if skipped:
        print("skipped (not installed): " + ", ".join(skipped))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


# ---------------------------------------------------- in the bench registry
def _contestant(kind: str, mode: str):
    def fn(n: int) -> dict:
        if mode == "echo":
            return run(kind, "echo", n, 50)
        return {"rss_per_conn": run(kind, "idle", n, 0)["rss_per_conn"]}
    fn.__name__ = f"w9_{mode}_{kind}"
    return fn


# The registry's columns are the channel contestants: gevent's column holds StreamServer,
# asyncio's the streams server; asyncio Protocol is printed by `python -m bench.w9_echo`.
_COLUMNS = {"gochan": "gochan", "gevent_queue": "gevent", "asyncio": "asyncio_streams", "trio": "trio",
            "threads": "threads"}
_NA = {"raw_greenlet": "no sockets", "gevent_channel": "see the gevent Queue column (StreamServer)"}

WORKLOADS = [
    Workload(
        wid="w9_echo",
        title="W9 echo, 1,000 connections x 50 round trips of 64 B",
        metrics=[Metric("rate", "W9 echo (round trips/s)", "/s", True)],
        contestants={col: _contestant(kind, "echo") for col, kind in _COLUMNS.items()},
        notes={"gevent_queue": "StreamServer", "asyncio": "streams"},
        not_applicable=_NA,
        n=1000,
        quick_n=200,
        timeout=300.0,
    ),
    Workload(
        wid="w9_idle",
        title="W9 idle RSS per connection, 10,000 idle connections",
        metrics=[Metric("rss_per_conn", "W9 idle RSS per connection (B)", "B", False)],
        contestants={col: _contestant(kind, "idle") for col, kind in _COLUMNS.items()},
        notes={"gevent_queue": "StreamServer", "asyncio": "streams"},
        not_applicable=_NA,
        n=10_000,
        quick_n=1000,
        timeout=300.0,
    ),
]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "server":
        _server_main(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "client":
        _client_main(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "idle":
        _idle_main(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
