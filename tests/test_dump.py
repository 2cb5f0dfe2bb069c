"""dump(): every live go block in every state, and every thread blocked in a gochan operation.

For each: kind ("go" or "thread"), hub, OS thread name, function, state
("parked", "runnable", "running", "not started"; "blocked" for a thread),
the operation and every port it waits on (all of an alts' ports), file:line
and stack. Each test releases what it started (stops spinners, puts, closes)
so that nothing outlives it.
"""
from __future__ import annotations

import dataclasses
import io
import threading
import time

import pytest

import gochan
from gochan import alts, chan, close, go, pipe, put, take
from gochan.process import go_on


def _wait_for(pred, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def _infos(function: str):
    return [i for i in gochan.dump() if i.function == function]


def _has(ports, c) -> bool:
    return any(p is c for p in ports)


def parked_reader(c):
    return take(c)


@pytest.mark.timeout(20)
def test_dump_lists_a_parked_go_block_with_its_location_and_op() -> None:
    c = chan()
    done = go(parked_reader, c)
    try:
        infos = _wait_for(lambda: [i for i in _infos("parked_reader") if i.state == "parked"])
        assert len(infos) == 1
        info = infos[0]
        assert info.kind == "go"
        assert info.state == "parked"
        assert isinstance(info.hub, int) and not isinstance(info.hub, bool)
        assert info.thread.startswith("gochan-hub-")
        assert info.op == "take"
        assert info.location.endswith("test_dump.py:" + str(parked_reader.__code__.co_firstlineno + 1))
        assert _has(info.ports, c) and len(info.ports) == 1
        assert any("parked_reader" in line for line in info.stack)
        out = io.StringIO()
        assert [i.function for i in gochan.dump(out)].count("parked_reader") == 1
        assert "parked_reader" in out.getvalue()
        put(c, "x")
        assert take(done) == "x"
    finally:
        close(c)
    _wait_for(lambda: not _infos("parked_reader"))


@pytest.mark.timeout(20)
def test_dump_lists_combinator_loops() -> None:
    src, dst = chan(), chan()
    pipe(src, dst)
    try:
        infos = _wait_for(lambda: [i for i in _infos("_pipe_loop") if i.state == "parked"])
        assert infos[0].op == "take" and infos[0].location.split(":")[0].endswith("pipes.py")
        assert infos[0].state == "parked" and _has(infos[0].ports, src)
    finally:
        close(src)
    assert take(dst) is None
    _wait_for(lambda: not _infos("_pipe_loop"))


def test_go_block_info_is_a_frozen_dataclass_with_the_documented_fields() -> None:
    assert dataclasses.is_dataclass(gochan.GoBlockInfo)
    fields = [f.name for f in dataclasses.fields(gochan.GoBlockInfo)]
    assert set(fields) >= {"kind", "hub", "thread", "function", "state", "op", "ports", "location", "stack"}
    info = gochan.GoBlockInfo(**{f: None for f in fields})
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.state = "x"  # type: ignore[misc]


# ------------------------------------------------------------------ all-gochan frames


@pytest.mark.timeout(20)
def test_a_go_block_running_gochans_own_take_is_listed() -> None:
    """go(take, c): every frame is gochan's, yet it is a live go block parked on c."""
    c = chan()
    done = go(take, c)
    try:
        infos = _wait_for(lambda: [i for i in gochan.dump() if _has(i.ports, c)])
        assert len(infos) == 1
        info = infos[0]
        assert (info.kind, info.state, info.op, info.function) == ("go", "parked", "take", "take")
        assert info.ports == (c,)
    finally:
        put(c, 5)
    assert take(done) == 5
    _wait_for(lambda: not [i for i in gochan.dump() if _has(i.ports, c)])


def parked_in_alts(a, b, c):
    return alts([a, b, (c, 1)])


@pytest.mark.timeout(20)
def test_a_go_block_parked_in_alts_lists_every_port() -> None:
    a, b, c = chan(), chan(), chan()
    done = go(parked_in_alts, a, b, c)
    try:
        infos = _wait_for(lambda: [i for i in _infos("parked_in_alts") if i.state == "parked"])
        info = infos[0]
        assert info.op == "alts"
        assert len(info.ports) == 3
        for ch in (a, b, c):
            assert _has(info.ports, ch), (ch, info.ports)
        assert info.location.endswith("test_dump.py:" + str(parked_in_alts.__code__.co_firstlineno + 1))
    finally:
        assert take(c) == 1
    assert take(done) == (True, c)
    _wait_for(lambda: not _infos("parked_in_alts"))


# ------------------------------------------------------------------ states


def _spin(started: threading.Event, stop: list) -> int:
    started.set()
    n = 0
    while not stop:  # a CPU loop that never parks (and calls nothing): its hub runs nothing else
        n += 1
    return n


def queued_behind_the_spinner() -> str:
    return "ran"


@pytest.mark.timeout(20)
def test_running_and_not_started_go_blocks_are_listed() -> None:
    started, stop = threading.Event(), []  # type: ignore[var-annotated]
    spinner = go_on(0, _spin, started, stop)
    later = None
    try:
        assert started.wait(5)
        later = go_on(0, queued_behind_the_spinner)

        def both():
            got = [i for i in gochan.dump() if i.function in ("_spin", "queued_behind_the_spinner")]
            return got if len(got) == 2 else None

        infos = _wait_for(both)
        by_fn = {i.function: i for i in infos}
        spin, queued = by_fn["_spin"], by_fn["queued_behind_the_spinner"]
        assert (spin.kind, spin.hub, spin.state, spin.op, spin.ports) == ("go", 0, "running", "", ())
        assert spin.location.split(":")[0].endswith("test_dump.py")
        assert (queued.kind, queued.hub, queued.state, queued.op, queued.ports) == ("go", 0, "not started", "", ())
    finally:
        stop.append(True)
    assert take(spinner) > 0
    assert take(later) == "ran"
    _wait_for(lambda: not [i for i in gochan.dump() if i.function in ("_spin", "queued_behind_the_spinner")])


def woken_reader(c):
    return take(c)


@pytest.mark.timeout(20)
def test_a_woken_go_block_waiting_for_its_hub_is_runnable() -> None:
    c = chan()
    reader = go_on(0, woken_reader, c)
    started, stop = threading.Event(), []  # type: ignore[var-annotated]
    spinner = None
    try:
        _wait_for(lambda: [i for i in _infos("woken_reader") if i.state == "parked"])
        spinner = go_on(0, _spin, started, stop)
        assert started.wait(5)
        assert gochan.offer(c, "v") is True  # hands the value over: the reader is woken, hub 0 is busy
        infos = _wait_for(lambda: [i for i in _infos("woken_reader") if i.state != "parked"])
        info = infos[0]
        assert (info.kind, info.hub, info.state, info.op, info.ports) == ("go", 0, "runnable", "", ())
    finally:
        stop.append(True)
        close(c)
    assert take(reader) == "v"
    assert take(spinner) > 0


# ------------------------------------------------------------------ threads


def blocked_reader(c, out):
    out.append(take(c))


@pytest.mark.timeout(20)
def test_a_thread_blocked_in_take_is_listed() -> None:
    c = chan()
    out: list = []
    t = threading.Thread(target=blocked_reader, args=(c, out), name="dump-test-reader", daemon=True)
    t.start()
    try:
        infos = _wait_for(lambda: [i for i in gochan.dump() if i.kind == "thread" and _has(i.ports, c)])
        assert len(infos) == 1
        info = infos[0]
        assert (info.kind, info.hub, info.state, info.op) == ("thread", None, "blocked", "take")
        assert info.ports == (c,)
        assert info.thread == "dump-test-reader"
        assert info.function == "blocked_reader"
        assert info.location.endswith("test_dump.py:" + str(blocked_reader.__code__.co_firstlineno + 1))
        out_text = io.StringIO()
        gochan.dump(out_text)
        assert "dump-test-reader" in out_text.getvalue()
    finally:
        put(c, "go")
        t.join(5)
    assert out == ["go"]
    assert not [i for i in gochan.dump() if i.kind == "thread" and _has(i.ports, c)]


@pytest.mark.timeout(20)
def test_threads_not_in_gochan_operations_are_not_listed() -> None:
    ev = threading.Event()
    t = threading.Thread(target=ev.wait, args=(5,), name="dump-test-idle", daemon=True)
    t.start()
    try:
        assert not [i for i in gochan.dump() if i.thread == "dump-test-idle"]
        # the main thread, calling dump, is not blocked in an operation either
        assert not [i for i in gochan.dump() if i.kind == "thread" and i.thread == threading.current_thread().name]
    finally:
        ev.set()
        t.join(5)


# ------------------------------------------------------------------ names


def waits_for_jobs(c):
    return take(c)


@pytest.mark.timeout(20)
def test_the_printed_dump_shows_the_channel_name() -> None:
    c = chan(name="jobs")
    done = go(waits_for_jobs, c)
    _wait_for(lambda: [i for i in _infos("waits_for_jobs") if i.state == "parked"])
    out = io.StringIO()
    infos = [i for i in gochan.dump(out) if i.function == "waits_for_jobs"]
    assert _has(infos[0].ports, c)
    text = out.getvalue()
    assert "waits_for_jobs" in text and "jobs" in text.replace("waits_for_jobs", "")
    put(c, 1)
    assert take(done) == 1


@pytest.mark.timeout(10)
def test_a_go_block_that_has_returned_is_not_listed_while_its_result_is_delivered() -> None:
    """Between its function returning and its greenlet going idle, a go block delivers its
    result (and tells its scope): whoever that wakes may dump at once, and must not see it."""
    from gochan.runtime import current_runtime

    seen: list = []
    done = threading.Event()

    class Result:
        def deliver_result(self, value: object) -> None:  # runs in the go block's `finish`
            seen.append([(i.function, i.state) for i in gochan.dump()])
            done.set()

    def body() -> str:
        return "returned"

    current_runtime().spawn(body, (), None, Result())
    assert done.wait(5)
    assert [f for f, s in seen[0] if s == "running" and f in ("body", "None", "")] == [], seen
