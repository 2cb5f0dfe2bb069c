"""Shared by the combinator tests: bounded waits, and the check that no combinator loop is left alive."""
from __future__ import annotations

import gc
import os
import sys
import time
import traceback
from typing import Any, Callable, List

import pytest

from gochan import poll
from gochan.errors import set_exception_handler
from gochan.hub import GoTask

WAIT = 5.0

# ------------------------------------------------------------ leak checks

_LOOP_MODULES = {"pipes.py", "mult.py", "pubsub.py", "mix.py"}
LOOPS = frozenset({
    "_pipe_loop", "_pipeline_in", "_pipeline_out", "_pipeline_worker", "_pipeline_async_worker",
    "_pipeline_async_in", "_pipeline_unordered_worker", "_pipeline_unordered_async_worker", "_pipeline_wait",
    "_onto_loop", "_reduce_loop", "_transduce_loop", "_into_loop", "_merge_loop", "_split_loop",
    "_take_n_loop", "_map_loop", "_mult_loop", "_pub_loop", "_mix_loop",
})


def live_loops() -> List[str]:
    """Combinator loops still alive: parked go blocks, running go blocks, and threads.

    Parked go blocks are found by their suspended frames, running ones and
    thread loops by the threads' current frames (each go block is in exactly
    one of the two); `test_dump_lists_combinator_loops` checks `gochan.dump()`.
    """
    found: List[str] = []
    stacks = list(sys._current_frames().values())
    stacks += [g.gr_frame for g in gc.get_objects()
               if g.__class__ is GoTask and not g.dead and g.gr_frame is not None]
    for f in stacks:
        while f is not None:
            code = f.f_code
            if code.co_name in LOOPS and os.path.basename(code.co_filename) in _LOOP_MODULES:
                found.append(code.co_name)
            f = f.f_back
    return sorted(found)


def wait_no_loops(timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        left = live_loops()
        if not left:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"combinator loops still alive: {left}\n{runtime_state()}")
        time.sleep(0.005)


def runtime_state() -> str:
    """The hubs' queues and sleep flags, and every live go block's park reason: what a lost
    wake-up leaves behind (printed when a loop outlives its test)."""
    from gochan.runtime import peek_runtime
    rt = peek_runtime()
    if rt is None:
        return "no runtime"
    lines = []
    for h in rt.hubs:
        lines.append(f"{h!r} poked={h.poked} passes={h.passes} idle_wait={h.idle_wait is not None} "
                     f"alive={h.thread.is_alive()} locked={h.wake_lock.locked()} "
                     f"stalled={rt.stalled[h.index]} internal errors={h.errors}")
        for t in h.live_tasks():
            w = t.waiting
            lines.append(f"  {t!r} waiting={w!r}")
        frame = sys._current_frames().get(h.ident or -1)
        if frame is not None:
            lines.append("  its thread's stack, innermost last:")
            lines.extend("    " + ln for ln in "".join(traceback.format_stack(frame)).splitlines())
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def no_loop_left_behind():
    """Every test ends with its inputs closed and outputs drained: no loop may stay alive."""
    yield
    wait_no_loops()


@pytest.fixture(name="reported")
def reported_fixture():
    """Exceptions passed to the exception handler (a list); import `reported_fixture`, request `reported`."""
    got: List[BaseException] = []
    set_exception_handler(got.append)
    yield got
    set_exception_handler(None)


def wait_for(cond: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def drain(c: Any) -> List[Any]:
    """Everything buffered in c right now (poll until empty)."""
    got = []
    while True:
        v = poll(c)
        if v is None:
            return got
        got.append(v)


