"""The blocking detector: reports a go block that holds its hub for too long, with its stack, once.

A go block that never parks (a CPU loop, `time.sleep`, blocking I/O) stalls
every go block on its hub. A watchdog thread checks each hub every half
threshold: a hub that is awake and has not been back to its loop
(`hub.passes` unchanged) for longer than the threshold is running one go
block the whole time (go-to-go switches return to the loop every 64 at most).
The stack of the hub's thread is then logged to the `gochan` logger as a
warning, once per stall.

While every hub sleeps the watchdog rests on an event that a waking hub sets,
so an idle process stays idle. Threshold: `GOCHAN_BLOCKING_MS` (default
1000; 0 disables) or `set_blocking_threshold(ms)`.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from typing import Any, Callable, Dict, Optional, Tuple

from . import hub as _hub
from .errors import logger

__all__ = ["set_blocking_threshold", "Watchdog"]

DEFAULT_MS = 1000.0


class Watchdog:
    """Samples the hubs; see the module docstring."""

    def __init__(self, threshold_ms: float, report: Optional[Callable[[int, float, str], None]] = None) -> None:
        self.threshold = threshold_ms / 1000.0
        self.report = report or _log
        self.activity = threading.Event()
        self.resting = False
        self.stopped = False
        self._thread = threading.Thread(target=self._run, name="gochan-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopped = True
        self.activity.set()

    def _run(self) -> None:
        last: Dict[int, Tuple[int, float]] = {}  # hub index -> (passes, when first seen)
        reported: Dict[int, int] = {}  # hub index -> the passes value already reported
        period = self.threshold / 2
        while not self.stopped:
            hubs = list(_hub._hubs)
            if hubs and all(h.sleeping for h in hubs):
                self.activity.clear()
                self.resting = True
                if all(h.sleeping for h in hubs):  # re-check: a hub may have woken meanwhile
                    self.activity.wait()
                self.resting = False
                self.activity.clear()
                last.clear()
                continue
            time.sleep(period)
            now = time.monotonic()
            for h in hubs:
                passes = h.passes
                seen = last.get(h.index)
                if h.sleeping or h.stopping or seen is None or seen[0] != passes:
                    last[h.index] = (passes, now)
                    continue
                held = now - seen[1]
                if held >= self.threshold and reported.get(h.index) != passes:
                    frame = sys._current_frames().get(h.ident or -1)
                    if not _in_go_block(frame):
                        continue  # the hub loop itself, e.g. woken but waiting for the GIL
                    reported[h.index] = passes
                    stack = "".join(traceback.format_stack(frame))
                    self.report(h.index, held, stack)


def _in_go_block(frame: Any) -> bool:
    run = _hub._go_loop.__code__
    while frame is not None:
        if frame.f_code is run:
            return True
        frame = frame.f_back
    return False


def _log(hub_index: int, seconds: float, stack: str) -> None:
    logger.warning("a go block has held hub %d for %.0f ms without parking (blocking call or CPU loop?);"
                   " use gochan.thread for blocking work. Its stack:\n%s", hub_index, seconds * 1000, stack)


def set_blocking_threshold(ms: Optional[float],
                           report: Optional[Callable[[int, float, str], None]] = None) -> None:
    """Report a go block that holds its hub longer than `ms` milliseconds (None or 0: never).

    `report(hub_index, seconds, stack)` replaces the default, a warning on the
    `gochan` logger.
    """
    if ms is not None and (isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms < 0):
        raise ValueError(f"set_blocking_threshold: ms must be a number >= 0 or None, got {ms!r}")
    if report is not None and not callable(report):
        raise TypeError(f"set_blocking_threshold: report must be callable, got {report!r}")
    old = _hub._watchdog
    if old is not None:
        _hub._watchdog = None
        old.stop()
    if ms:
        dog = Watchdog(float(ms), report)
        _hub._watchdog = dog
        dog.start()


def start_default() -> None:
    """Start the watchdog with `GOCHAN_BLOCKING_MS` (default 1000 ms) when the hubs start."""
    raw = os.environ.get("GOCHAN_BLOCKING_MS")
    try:
        ms = DEFAULT_MS if raw is None else float(raw)
    except ValueError:
        raise ValueError(f"GOCHAN_BLOCKING_MS must be a number of milliseconds, got {raw!r}") from None
    if _hub._watchdog is None and ms > 0:
        set_blocking_threshold(ms)
