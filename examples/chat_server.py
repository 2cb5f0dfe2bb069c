"""A chat server with rooms: pub/sub over one bus channel, go blocks per connection, no threads.

    python examples/chat_server.py                  # serve on 127.0.0.1:7008 until Ctrl-C
    python examples/chat_server.py --port 0 --self-test 200
                                                    # drive it with 200 clients in 4 rooms, then exit

Protocol (lines): the first line is your name; `/join ROOM` moves you to a
room (you start in "lobby", and the server answers `joined ROOM`); any other
line is sent to everyone in your room as `name: line`. Try `nc 127.0.0.1 7008`.
"""
import argparse
import threading
import time

from gochan import chan, close, go, net, pub, put, sub, take, unsub

ROOMS = 4


class Chat:
    def __init__(self) -> None:
        self.bus = chan(1024)  # (room, line) from every connection
        self.rooms = pub(self.bus, lambda msg: msg[0])

    def handle(self, conn: net.Conn) -> None:
        """The reader go block of one connection; its writer is `_writer`."""
        inbox = chan(256)  # what this client is sent, fed by its room's subscription
        go(self._writer, conn, inbox)
        room = "lobby"
        try:
            name = conn.readline().strip().decode(errors="replace") or "anon"
            sub(self.rooms, room, inbox, close=False)
            while True:
                line = conn.readline()
                if not line:
                    return
                text = line.rstrip(b"\r\n").decode(errors="replace")
                if text.startswith("/join "):
                    unsub(self.rooms, room, inbox)
                    room = text[6:].strip() or "lobby"
                    sub(self.rooms, room, inbox, close=False)
                    put(inbox, f"joined {room}\n".encode())
                else:
                    put(self.bus, (room, f"{name}: {text}\n".encode()))
        except OSError:
            return
        finally:
            unsub(self.rooms, room, inbox)
            close(inbox)  # the writer sends what is queued, then closes the connection

    def _writer(self, conn: net.Conn, inbox) -> None:
        with conn:
            for msg in inbox:
                if isinstance(msg, tuple):
                    msg = msg[1]
                try:
                    conn.send_all(msg)
                except OSError:
                    return


def client(address, i: int, n_rooms: int, members: int, ready, go_ahead) -> int:
    """A test client: join room i % n_rooms, wait until everyone has, say one line, read the room's lines."""
    with net.connect(address, timeout_ms=10_000) as c:
        c.send_all(b"user%d\n/join room%d\n" % (i, i % n_rooms))
        assert c.readline(timeout_ms=10_000) == b"joined room%d\n" % (i % n_rooms)
        put(ready, i)
        take(go_ahead)  # closed once every client has joined
        c.send_all(b"hello from %d\n" % i)
        heard = set()
        while len(heard) < members:
            line = c.readline(timeout_ms=10_000)
            heard.add(line.split(b":")[0])
        return len(heard)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7008)
    parser.add_argument("--self-test", type=int, metavar="N", default=0,
                        help=f"N concurrent clients in {ROOMS} rooms (N a multiple of {ROOMS}); print a summary")
    args = parser.parse_args()
    chat = Chat()
    server = net.serve((args.host, args.port), chat.handle, backlog=1024)
    print(f"chat server on {server.address}", flush=True)
    if not args.self_test:
        try:
            server.wait()
        except KeyboardInterrupt:
            server.close()
        return
    n = args.self_test
    members = n // ROOMS
    ready, go_ahead = chan(), chan()
    begin = time.monotonic()
    results = [go(client, server.address, i, ROOMS, members, ready, go_ahead) for i in range(n)]
    for _ in range(n):
        take(ready)
    threads = threading.active_count()  # every client connected and joined
    close(go_ahead)
    heard = [take(r) for r in results]
    ms = (time.monotonic() - begin) * 1000
    server.close()
    print(f"{n} clients in {ROOMS} rooms: {sum(h == members for h in heard)} heard all {members} of their room "
          f"in {ms:.0f} ms, {threads} OS threads with all connected")


if __name__ == "__main__":
    main()
