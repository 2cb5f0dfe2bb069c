"""Placement (runtime.py): go blocks spawned from threads share the home hub unless it is stalled."""
from __future__ import annotations

import threading
import time
from typing import Any, Iterator, List, Optional

import pytest

import gochan
from gochan import chan, go, put, take
from gochan.hub import current_hub
from gochan.process import go_on
from gochan.runtime import STALL_MS, Runtime, current_runtime, hubs, placement

#: The documented bound (runtime.py): a go block spawned from a thread while the home hub is
#: stalled starts within about STALL_MS + the watchdog's period (STALL_MS / 2), plus scheduling.
BOUND = 2.5 * STALL_MS / 1000.0


def where() -> int:
    hub = current_hub()
    assert hub is not None
    return hub.index


@pytest.fixture(autouse=True)
def home_placement(request: Any) -> None:
    if current_runtime().spread and "monkeypatch" not in request.fixturenames:
        pytest.skip("GOCHAN_PLACEMENT=spread: round-robin, as asked")


def two_hubs() -> None:
    if len(hubs()) < 2:
        pytest.skip("one hub: nowhere else to place a go block (GOCHAN_POOL_SIZE=1)")


@pytest.mark.timeout(20)
def test_go_blocks_spawned_from_threads_share_the_home_hub() -> None:
    assert [take(go(where)) for _ in range(4)] == [0, 0, 0, 0]
    # also while both are alive, and from another OS thread
    gate = chan()
    first = go(lambda: (take(gate), where())[1])
    from_thread: List[Any] = []
    t = threading.Thread(target=lambda: from_thread.append(take(go(where))))
    t.start()
    t.join(10)
    put(gate, "go")
    assert (take(first), from_thread) == (0, [0])


@pytest.mark.timeout(20)
def test_a_naive_ping_pong_runs_on_one_hub() -> None:
    a, b = chan(), chan()
    n = 1000

    def ping() -> int:
        for i in range(n):
            put(a, i)
            assert take(b) == i
        return where()

    def pong() -> int:
        for _ in range(n):
            put(b, take(a))
        return where()

    p, q = go(ping), go(pong)
    assert take(p) == take(q) == 0


class Blocker:
    """A go block that holds its hub with `time.sleep` (it never parks) until `release()`."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.released = False
        self.hub: Optional[int] = None
        self.done = go(self._run)
        assert self.started.wait(10)

    def _run(self) -> int:
        self.hub = where()
        self.started.set()
        end = time.monotonic() + 10  # never longer than this, whatever the test does
        while not self.released and time.monotonic() < end:
            time.sleep(0.002)
        return where()

    def release(self) -> None:
        self.released = True
        take(self.done)


@pytest.fixture(params=["detector on", "detector off"])
def blocker(request: Any, reports: Any) -> Iterator[Blocker]:
    """The home hub blocked by `time.sleep`, with the blocking detector reporting (100 ms) or off:
    placement's samples do not depend on it."""
    two_hubs()
    if request.param == "detector off":
        gochan.set_blocking_threshold(None)
    b = Blocker()
    try:
        yield b
    finally:
        b.released = True
        take(b.done)


def run_and_time(spawn: Any) -> Any:
    t0 = time.monotonic()
    got = take(spawn(lambda: (where(), time.monotonic())))
    assert got is not None
    return got[0], got[1] - t0


@pytest.mark.timeout(30)
def test_a_stalled_home_hub_does_not_hold_back_new_go_blocks(blocker: Blocker) -> None:
    assert blocker.hub == 0
    # The first one, spawned at once, goes to the home hub's inbox and is moved once the stall
    # is seen; later ones go straight to another hub.
    runs = [run_and_time(go) for _ in range(5)]
    assert all(hub != 0 for hub, _ in runs), runs
    assert max(dt for _, dt in runs) < 4 * BOUND, (runs, BOUND)
    # Several spawned at once while stalled: placed together, so they talk on one hub.
    cs = [go(where) for _ in range(3)]
    assert len({take(c) for c in cs}) == 1
    blocker.release()
    # The home hub is back to its loop: new go blocks go home again, at once.
    assert take(go(where)) == 0


@pytest.mark.timeout(30)
def test_a_pinned_go_block_waits_for_its_stalled_hub(blocker: Blocker) -> None:
    order: List[str] = []
    def pinned_body() -> int:
        order.append("pinned")
        return where()

    pinned = go_on(0, pinned_body)
    assert run_and_time(go)[0] != 0  # the stall was seen, and the pinned one was not moved
    assert order == []
    order.append("released")
    blocker.release()
    assert take(pinned) == 0
    assert order == ["released", "pinned"]


@pytest.mark.timeout(20)
def test_a_go_block_spawned_from_a_go_block_stays_on_its_hub() -> None:
    two_hubs()

    def parent() -> Any:
        return where(), take(go(where))

    assert take(go_on(1, parent)) == (1, 1)


def test_the_placement_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOCHAN_PLACEMENT", raising=False)
    assert placement() == "home"
    monkeypatch.setenv("GOCHAN_PLACEMENT", "spread")
    assert placement() == "spread"
    rt = Runtime(3)
    assert [rt.place().index for _ in range(4)] == [0, 1, 2, 0]
    monkeypatch.setenv("GOCHAN_PLACEMENT", "nearest")
    with pytest.raises(ValueError, match="GOCHAN_PLACEMENT"):
        placement()


def test_place_skips_stalled_hubs_until_they_are_back_to_their_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOCHAN_PLACEMENT", raising=False)
    rt = Runtime(3)  # not started: the hubs' pass counters stay still
    assert rt.place().index == 0
    rt.mark_stalled(rt.hubs[0], rt.hubs[0].passes)
    assert rt.place().index == 1
    rt.mark_stalled(rt.hubs[1], rt.hubs[1].passes)
    assert rt.place().index == 2
    rt.hubs[0].passes += 1  # hub 0 ran a pass of its loop since
    assert rt.place().index == 0
    rt.mark_stalled(rt.hubs[0], -1)
    assert rt.stalled[0] == -1


def test_a_stalled_hub_hands_its_unstarted_unpinned_go_blocks_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOCHAN_PLACEMENT", raising=False)
    rt = Runtime(2)  # not started: what is scheduled waits in the hubs' inboxes
    h0, h1 = rt.hubs
    rt.spawn(where, (), None, None)
    rt.spawn(where, (), None, None, hub=h0)  # pinned (go_on)
    h0.post("a wake for a parked go block", None)
    rt.spawn(where, (), None, None)
    assert [t.__class__.__name__ for t, _ in h0.inbox] == ["Spawn", "Spawn", "str", "Spawn"]
    assert rt.mark_stalled(h0, h0.passes) == 2
    assert [(t.__class__.__name__, getattr(t, "pinned", None)) for t, _ in h0.inbox] == [
        ("Spawn", True), ("str", None)]
    assert [(t.__class__.__name__, t.pinned) for t, _ in h1.inbox] == [("Spawn", False), ("Spawn", False)]
    rt.spawn(where, (), None, None)  # placed on hub 1 at once
    assert (len(h0.inbox), len(h1.inbox)) == (2, 3)
