"""Runtime bugs, each pinned by a test that failed before its fix.

- `alts(ops, default=x)` must not answer the default when a take was ready
  at every instant (its first pass used to peek at channels without the lock).
- A timeout armed by an ordinary thread closes on time even while go blocks
  hold every hub.
- The blocking detector reports go blocks that hold their hub, not go blocks
  that park often but are starved of the GIL by other threads.
- `thread(fn)` called from a go block does not block the hub while a new OS
  thread starts.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import deque
from typing import Any, List, Tuple

import pytest

from gochan import DEFAULT, alts, chan, close, go, put, take, timeout
from gochan.buffers import FixedBuffer
from gochan.process import go_on

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("GOCHAN_POOL_SIZE", None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _on_every_hub(fn: Any, *args: Any) -> List[Any]:
    """Start `fn(*args)` once on each hub (go_on raises ValueError past the last hub)."""
    chans = []
    for i in range(256):
        try:
            chans.append(go_on(i, fn, *args))
        except ValueError:
            break
    assert chans, "no hub accepted a go block"
    return chans


# ------------------------------------------------------------------ alts default


class PausingBuffer(FixedBuffer):
    """A fixed buffer whose first count (`len(buf.q)`) from the armed thread stops until the test lets it go.

    While the alts that counted waits, the test closes the channel and takes
    its value: at every instant a take on the channel was ready.
    """

    def __init__(self, n: int) -> None:
        super().__init__(n, _PausingDeque(self))
        self.armed_for: Any = None
        self.paused = threading.Event()
        self.resume = threading.Event()


class _PausingDeque(deque):  # type: ignore[type-arg]
    """The storage of a `PausingBuffer`: the channel counts values with `len(buf.q)`."""

    def __init__(self, owner: PausingBuffer) -> None:
        super().__init__()
        self.owner = owner

    def __len__(self) -> int:
        owner = self.owner
        if owner.armed_for is not None and owner.armed_for == threading.get_ident():
            owner.armed_for = None  # only the first call pauses
            owner.paused.set()
            # Bounded: if this runs under the channel lock, the test's close cannot
            # proceed; it then lets us go after a while and the alts still completes.
            owner.resume.wait(2.0)
        return super().__len__()


@pytest.mark.timeout(20)
def test_alts_default_is_not_chosen_while_a_take_is_ready_at_every_instant() -> None:
    buf = PausingBuffer(1)
    c = chan(buf)
    put(c, "v")
    result: List[Tuple[Any, Any]] = []
    alts_done = threading.Event()

    def run_alts() -> None:
        buf.armed_for = threading.get_ident()
        try:
            result.append(alts([c], default="dflt"))
        finally:
            alts_done.set()

    t = threading.Thread(target=run_alts, daemon=True)
    t.start()
    # Either the alts stops in len() (then we race it) or it never calls len() from its thread.
    deadline = time.monotonic() + 5
    while not buf.paused.is_set() and not alts_done.is_set():
        assert time.monotonic() < deadline, "alts neither paused nor finished"
        time.sleep(0.001)
    closer_done = threading.Event()
    taken: List[Any] = []

    def close_then_take() -> None:
        close(c)
        taken.append(take(c))  # the buffered value if the alts has not taken it; else None
        closer_done.set()

    if buf.paused.is_set():
        closer = threading.Thread(target=close_then_take, daemon=True)
        closer.start()
        closer_done.wait(0.5)  # does not finish if the paused len() holds the channel lock
        buf.resume.set()
        closer.join(5)
        assert not closer.is_alive()
    else:
        close_then_take()
    t.join(5)
    assert not t.is_alive()
    assert len(result) == 1
    value, port = result[0]
    assert port is not DEFAULT, "alts chose its default although a take on c was ready at every instant"
    assert port is c
    # exactly one of alts and the closer got the value; the other saw the channel closed
    assert sorted([value, taken[0]], key=lambda x: x is None) == ["v", None]


@pytest.mark.timeout(20)
def test_alts_default_on_an_empty_open_channel_is_still_the_default() -> None:
    buf = PausingBuffer(1)
    c = chan(buf)
    assert alts([c], default="dflt") == ("dflt", DEFAULT)
    assert alts([c, chan()], default=None) == (None, DEFAULT)
    close(c)
    assert alts([c], default="dflt") == (None, c)


# ------------------------------------------------------------------ thread timeouts


@pytest.mark.timeout(20)
def test_a_thread_timeout_closes_on_time_while_every_hub_is_held() -> None:
    release = threading.Event()
    started: List[threading.Event] = []
    lock = threading.Lock()

    def hog(ev: threading.Event) -> bool:
        ev.set()
        return release.wait(2.0)  # blocks its hub's thread, as time.sleep would

    hogs: List[Any] = []
    try:
        for i in range(256):
            ev = threading.Event()
            try:
                hogs.append(go_on(i, hog, ev))
            except ValueError:
                break
            with lock:
                started.append(ev)
        assert hogs
        for ev in started:
            assert ev.wait(5), "a hog did not start"
        t0 = time.monotonic()
        value, port = alts([chan(), timeout(100)])
        elapsed = time.monotonic() - t0
    finally:
        release.set()
    assert value is None and port is not None
    assert elapsed >= 0.099, "a timeout never closes early"
    assert elapsed < 1.0, f"the timeout closed after {elapsed:.2f} s while the hubs were held"
    assert [take(h) for h in hogs] == [True] * len(hogs)


@pytest.mark.timeout(20)
def test_a_thread_sleep_on_timeout_is_not_held_back_by_a_busy_hub() -> None:
    release = threading.Event()
    ready = threading.Event()

    def hog() -> bool:
        ready.set()
        return release.wait(2.0)

    hogs = []
    try:
        hogs = _on_every_hub(hog)
        assert ready.wait(5)
        t0 = time.monotonic()
        assert take(timeout(50)) is None
        elapsed = time.monotonic() - t0
    finally:
        release.set()
    assert 0.049 <= elapsed < 1.0, elapsed
    for h in hogs:
        take(h)


# ------------------------------------------------------------------ blocking detector


def _busy(ms: float) -> None:
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


def _ping(a: Any, b: Any, until: float, work_ms: float, started: Any = None) -> int:
    n = 0
    while time.monotonic() < until:
        _busy(work_ms)  # a little work, then park: the go block never holds its hub for long
        put(a, n)
        take(b)
        n += 1
        if n == 1 and started is not None:
            started.release()
    close(a)
    return n


def _pong(a: Any, b: Any) -> None:
    for v in a:
        put(b, v)


@pytest.mark.timeout(30)
def test_go_blocks_starved_of_the_gil_by_other_threads_are_not_reported(reports) -> None:
    got, _ = reports
    stop: List[bool] = []
    until = time.monotonic() + 1.2

    def spin() -> None:
        x = 0
        while not stop and time.monotonic() < until:  # pure Python: lets go of the GIL only when asked to
            x += 1

    spinners = [threading.Thread(target=spin, daemon=True, name=f"spinner-{i}") for i in range(32)]
    started = threading.Semaphore(0)
    pings = []
    for i in range(256):  # one ping-pong pair on every hub, running before the spinners start
        a, b = chan(), chan()
        try:
            go_on(i, _pong, a, b)
        except ValueError:
            break
        pings.append(go_on(i, _ping, a, b, until, 0.3, started))
    for _ in pings:
        assert started.acquire(timeout=10)
    for t in spinners:
        t.start()
    try:
        rounds = [take(p) for p in pings]
    finally:
        stop.append(True)
        for t in spinners:
            t.join(10)
    assert all(r > 0 for r in rounds), rounds
    assert [(hub, round(s, 3)) for hub, s, _ in got] == [], "go blocks that park every round were reported"


@pytest.mark.timeout(20)
def test_positive_control_a_go_block_in_time_sleep_is_reported(reports) -> None:
    got, event = reports
    done = go(time.sleep, 0.5)
    assert event.wait(5), "a go block blocking its hub for 0.5 s was not reported"
    take(done)
    hub, seconds, stack = got[0]
    assert seconds >= 0.1 and isinstance(hub, int)


def _cpu_for(seconds: float) -> int:
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


@pytest.mark.timeout(20)
def test_positive_control_a_go_block_in_a_cpu_loop_is_reported(reports) -> None:
    got, event = reports
    assert take(go(_cpu_for, 0.5)) > 0
    assert event.wait(5), "a go block computing for 0.5 s without parking was not reported"
    assert "_cpu_for" in got[0][2]


# ------------------------------------------------------------------ thread() from a go block


@pytest.mark.timeout(60)
def test_thread_called_from_a_go_block_does_not_wait_for_the_os_thread_to_start() -> None:
    """Each `thread()` call needs a new OS thread (the earlier ones stay blocked).

    In a fresh process (no idle pool threads left by other tests), with four
    other threads computing: a `thread()` that waits for its new OS thread to
    start waits for that thread to get the GIL from the computing ones (a
    switch interval, 5 ms, or more); one that hands the start off returns in
    microseconds. (Without the computing threads the wait is ~0.1 ms here,
    too close to a fast call to tell apart.)
    """
    r = run_python("""
        import statistics, sys, threading, time
        import gochan
        from gochan import go, take, thread

        def block(ev):
            ev.wait(20)

        def body(n):
            evs, times = [], []
            for _ in range(n):
                ev = threading.Event()
                evs.append(ev)
                t0 = time.perf_counter()
                thread(block, ev)
                times.append(time.perf_counter() - t0)
            return evs, times

        take(go(lambda: 1))  # hubs up
        stop = []
        def spin():
            x = 0
            while not stop:
                x += 1
        spinners = [threading.Thread(target=spin, daemon=True) for _ in range(4)]
        for s in spinners:
            s.start()
        evs, times = take(go(body, 30))
        stop.append(True)
        for ev in evs:
            ev.set()
        print("MEDIAN_MS %.4f MAX_MS %.4f" % (statistics.median(times) * 1e3, max(times) * 1e3))
    """)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("MEDIAN_MS")][0]
    median_ms = float(line.split()[1])
    assert median_ms < 0.5, f"thread() from a go block took {line} (it waits for the OS thread to start)"


@pytest.mark.timeout(20)
def test_a_go_block_in_time_sleep_is_not_blamed_while_the_process_is_being_preempted(reports, monkeypatch) -> None:
    """A machine oversubscribed by other processes starves hubs of the GIL with little CPU for
    anyone here: the detector then sees many involuntary context switches and blames nobody on
    wall time alone. (Simulated: the counter it reads climbs by 1,000 per read.)"""
    import itertools

    from gochan import watchdog
    counter = itertools.count(0, 1000)
    monkeypatch.setattr(watchdog, "_involuntary_switches", lambda: next(counter))
    got, event = reports
    take(go(time.sleep, 0.4))
    assert got == []
    monkeypatch.undo()  # the same stall, with the real counter of an otherwise idle process: blamed
    take(go(time.sleep, 0.4))
    assert event.wait(5) and got[0][1] >= 0.1


# ------------------------------------------------- the free list survives gochan's own bugs


def _idle_task_of(hub_index: int) -> Any:
    """A go block greenlet of hub `hub_index` that has finished its go block and waits idle."""
    from gochan.hub import IDLE, current_go
    task = take(go_on(hub_index, current_go))
    deadline = time.monotonic() + 5
    while task.op != IDLE:
        assert time.monotonic() < deadline, "the go block greenlet never went idle"
        time.sleep(0.001)
    return task


@pytest.mark.timeout(20)
def test_a_stale_wake_of_an_idle_go_block_greenlet_loses_no_later_go_block(reported) -> None:
    """A wake that reaches a greenlet after its go block has ended (a bug) is recorded and
    ignored: the greenlet stays idle and the next go blocks given to it run."""
    from gochan.runtime import hubs
    task = _idle_task_of(0)
    task.wake("stale")
    errors = hubs()[0].errors
    deadline = time.monotonic() + 5
    while not any("resumed with 'stale'" in e for e in errors):
        assert time.monotonic() < deadline, errors
        time.sleep(0.001)
    assert [take(go_on(0, lambda i=i: i)) for i in range(5)] == list(range(5))
    assert not task.dead


@pytest.mark.timeout(20)
def test_a_go_block_greenlet_that_died_idle_is_skipped(reported) -> None:
    """An exception raised into an idle greenlet (a bug) ends it; the hub then starts the next
    go block on another greenlet instead of switching to the dead one and dropping it."""
    from gochan.hub import raise_in
    from gochan.runtime import hubs
    hub = hubs()[0]
    task = _idle_task_of(0)
    hub.call(lambda: raise_in(task, ValueError("raised into an idle greenlet")))
    assert [take(go_on(0, lambda i=i: i)) for i in range(5)] == list(range(5))
    assert task.dead
    assert any("raised into an idle greenlet" in e for e in hub.errors), hub.errors
