"""An echo server: one go block per connection, no threads.

    python examples/echo_server.py                 # serve on 127.0.0.1:7007 until Ctrl-C
    python examples/echo_server.py --port 0 --self-test 200
                                                   # serve on a free port, drive it with 200 clients, exit

Try it with `nc 127.0.0.1 7007`.
"""
import argparse
import threading
import time

from gochan import go, net, take


def handle(conn: net.Conn) -> None:
    """One connection: echo every line back until the client closes."""
    with conn:
        while True:
            line = conn.readline()
            if not line:
                return
            conn.send_all(line)


def client(address, i: int, rounds: int) -> int:
    """A test client: `rounds` lines out and back; returns how many came back intact."""
    ok = 0
    with net.connect(address, timeout_ms=10_000) as c:
        for k in range(rounds):
            msg = b"client %d line %d\n" % (i, k)
            c.send_all(msg)
            ok += c.readline(timeout_ms=10_000) == msg
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7007)
    parser.add_argument("--self-test", type=int, metavar="N", default=0,
                        help="drive the server with N concurrent clients, print a summary and exit")
    args = parser.parse_args()
    server = net.serve((args.host, args.port), handle, backlog=1024)
    print(f"echo server on {server.address}", flush=True)
    if not args.self_test:
        try:
            server.wait()
        except KeyboardInterrupt:
            server.close()
        return
    rounds = 10
    begin = time.monotonic()
    results = [go(client, server.address, i, rounds) for i in range(args.self_test)]
    ok = sum(take(r) for r in results)
    ms = (time.monotonic() - begin) * 1000
    server.close()
    server.wait()
    print(f"{args.self_test} clients: {ok}/{args.self_test * rounds} lines echoed in {ms:.0f} ms, "
          f"{threading.active_count()} OS threads")


if __name__ == "__main__":
    main()
