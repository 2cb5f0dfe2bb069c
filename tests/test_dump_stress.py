"""dump() while go blocks and threads churn on every hub: it never raises, every entry is
consistent (a parked one names its ports; a running or runnable one names none), and a go
block parked for the whole run is listed every time."""
from __future__ import annotations

import threading
import time

import pytest

import gochan
from gochan import alts, chan, close, go, put, stats, take, thread, timeout

STATES = {"parked", "runnable", "running", "not started", "blocked"}


@pytest.mark.timeout(60)
def test_dump_is_consistent_while_go_blocks_churn() -> None:
    stop = threading.Event()
    anchor = chan(name="anchor")
    held = go(take, anchor)  # parked for the whole test
    deadline = time.monotonic() + 10
    while stats(anchor).pending_takes < 1:
        assert time.monotonic() < deadline, "the anchor go block never parked"
        time.sleep(0.001)

    def churn(i: int) -> int:
        n = 0
        a, b = chan(), chan(1)
        while not stop.is_set():
            go(put, a, i)
            v, port = alts([a, b, timeout(1)])
            put(b, n) if port is a else None
            take(b) if port is a else None
            n += 1
        return n

    workers = [go(churn, i) for i in range(8)] + [thread(churn, 100 + i) for i in range(2)]
    try:
        for _ in range(60):
            infos = gochan.dump()
            for info in infos:
                assert info.state in STATES, info
                assert info.kind in ("go", "thread"), info
                if info.state in ("parked", "blocked"):
                    assert info.op in ("take", "put", "alts", "sleep") and info.ports, info
                else:
                    assert info.op == "" and info.ports == (), info
            assert any(info.function == "take" and anchor in info.ports for info in infos), \
                "the go block parked on `anchor` was missing from a dump"
    finally:
        stop.set()
        close(anchor)
    assert all(take(w) > 0 for w in workers)
    assert take(held) is None
