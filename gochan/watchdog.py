"""The blocking detector: reports a go block that holds its hub for too long, with its stack, once.

A go block that never parks (a CPU loop, `time.sleep`, blocking I/O) stalls
every go block on its hub. A watchdog thread (a runtime service) samples
each hub every half threshold. A hub that is awake and has not been back
to its loop (`Hub.passes` unchanged; go-to-go switches return to it every
64 at most) is running one go block the whole time, if it could run at all:
- its thread used `threshold` of CPU time meanwhile (a CPU loop), or
- `threshold` of wall time passed while the rest of the process was mostly
  idle (a blocking call: the hub was not waiting for the GIL).
A hub that merely waited for the GIL, because other threads computed, is
never blamed (with 64 busy threads, go blocks that park every millisecond
were); nor is one while the process itself could not run: the
watchdog's own sleeps overran by LATE_SHARE of the window (it needs the
GIL and a CPU as a hub does), or the process was preempted (more than one
involuntary context switch per INVOLUNTARY_S; measured: an idle process
counts 0 per 50 ms even on a loaded machine, 32 spinning threads 50 to
300). A machine oversubscribed by other processes starves a hub of the
GIL with little CPU for anyone in this process. The stack of the hub's thread is logged to the `gochan` logger as a
warning, once per stall. While every hub sleeps the watchdog rests.
Threshold: `GOCHAN_BLOCKING_MS` (default 1000; 0 disables) or
`set_blocking_threshold(ms)`.

The same samples drive placement (runtime.py) wherever there is more than
one hub, reports on or off: every STALL_MS / 2 while a hub is awake, a hub
awake, inside a go block and in the same pass for STALL_MS is marked stalled
with `Runtime.mark_stalled`, which moves its unstarted go blocks; the mark
is cleared when its pass count moves or it sleeps.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from typing import Callable, Dict, List, Optional, Tuple

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX
    resource = None  # type: ignore[assignment]

from .errors import logger
from .hub import Hub, go_frames
from .runtime import STALL_MS, Runtime, on_start, peek_runtime

__all__ = ["set_blocking_threshold", "Watchdog"]

DEFAULT_MS = 1000.0
#: Above this share of one core used by other threads over the window, a hub that
#: did not run may have been waiting for the GIL: wall time alone does not blame it.
BUSY_SHARE = 0.5
#: Woken late by this share of the window or more (its own sleeps overran: this thread could
#: not run either), the watchdog blames no hub on wall time.
LATE_SHARE = 0.25
#: More than one involuntary context switch of this process per this many seconds of the
#: window: the machine preempted it, so a hub that did not run may have been starved.
INVOLUNTARY_S = 0.010

Report = Callable[[int, float, str], None]


def _involuntary_switches() -> int:
    """This process's involuntary context switches so far (0 where getrusage is missing)."""
    if resource is None:  # pragma: no cover - not POSIX
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw


def _cpu_clock(hub: Hub) -> Optional[int]:
    ident = hub.thread.ident
    try:
        return time.pthread_getcpuclockid(ident) if ident is not None else None
    except (AttributeError, OSError):  # not on this platform
        return None


class Watchdog:
    """Samples one runtime's hubs; see the module docstring."""

    def __init__(self, hubs: List[Hub], threshold_ms: float, report: Optional[Report] = None,
                 runtime: Optional[Runtime] = None) -> None:
        self.hubs = hubs
        self.threshold = threshold_ms / 1000.0  # 0: no reports, only placement's samples
        self.report = report or _log
        # Placement's signal (runtime.py): only where there is another hub to go to.
        self.runtime = runtime if runtime is not None and len(hubs) > 1 and not runtime.spread else None
        periods = [self.threshold / 2] if self.threshold else []
        if self.runtime is not None:
            periods.append(STALL_MS / 1000.0 / 2)
        self.period = min(periods) if periods else DEFAULT_MS / 1000.0
        self.activity = threading.Event()
        self.stopping = threading.Event()
        self.resting = False
        self.stopped = False
        self._thread = threading.Thread(target=self._run, name="gochan-watchdog", daemon=True)
        for h in hubs:
            h.on_wake = self._hub_woke

    def start(self) -> None:
        self._thread.start()

    def stop(self, deadline: float) -> None:
        self.stopped = True
        self.stopping.set()
        self.activity.set()
        for h in self.hubs:
            if h.on_wake == self._hub_woke:
                h.on_wake = None
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(max(0.0, deadline - time.monotonic()))

    def _hub_woke(self) -> None:
        if self.resting:
            self.activity.set()

    def _run(self) -> None:
        # hub index -> (passes, wall, hub cpu, process cpu, involuntary switches, lateness) when
        # that pass count was first seen
        first: Dict[int, Tuple[int, float, float, float, int, float]] = {}
        late = 0.0  # seconds this thread woke later than asked, in all (it needs the GIL too)
        reported: Dict[int, int] = {}  # hub index -> the passes value already reported
        clocks = {h.index: _cpu_clock(h) for h in self.hubs}
        period = self.period
        hubs = self.hubs
        rt = self.runtime
        stall = STALL_MS / 1000.0
        while not self.stopped:
            if all(h.sleeping for h in hubs):
                if rt is not None:
                    for h in hubs:
                        if rt.stalled[h.index] >= 0:
                            rt.mark_stalled(h, -1)
                self.activity.clear()
                self.resting = True
                if all(h.sleeping for h in hubs):  # re-check: a hub may have woken meanwhile
                    self.activity.wait()
                self.resting = False
                self.activity.clear()
                first.clear()
                continue
            asleep_at = time.monotonic()
            self.stopping.wait(period)
            if self.stopped:
                return
            now = time.monotonic()
            late += max(0.0, now - asleep_at - period)
            proc = time.process_time()
            preempted = _involuntary_switches() if self.threshold else 0
            for h in hubs:
                clock = clocks[h.index]
                cpu = time.clock_gettime(clock) if clock is not None else 0.0
                passes = h.passes
                seen = first.get(h.index)
                if h.sleeping or h.stopping or seen is None or seen[0] != passes:
                    first[h.index] = (passes, now, cpu, proc, preempted, late)
                    if rt is not None and rt.stalled[h.index] >= 0:
                        rt.mark_stalled(h, -1)
                    continue
                wall = now - seen[1]
                if rt is not None and wall >= stall:
                    # Not back to its loop: running one go block, if it can run at all. A hub
                    # merely waiting for the GIL counts too, for placement: its queued go blocks
                    # do not run either, and a misplaced one costs locality, not correctness.
                    if go_frames(sys._current_frames().get(h.ident or -1)) is not None:
                        rt.mark_stalled(h, passes)
                if not self.threshold:
                    continue
                hub_cpu = cpu - seen[2]
                others = (proc - seen[3]) - hub_cpu
                hogging = clock is not None and hub_cpu >= self.threshold
                blocked = (wall >= self.threshold and others < BUSY_SHARE * wall
                           and preempted - seen[4] <= wall / INVOLUNTARY_S and late - seen[5] < LATE_SHARE * wall)
                if (hogging or blocked) and reported.get(h.index) != passes:
                    frame = sys._current_frames().get(h.ident or -1)
                    if go_frames(frame) is None:
                        continue  # the hub loop itself, e.g. woken but waiting for the GIL
                    reported[h.index] = passes
                    self.report(h.index, wall, "".join(traceback.format_stack(frame)))


def _log(hub_index: int, seconds: float, stack: str) -> None:
    logger.warning("a go block has held hub %d for %.0f ms without parking (blocking call or CPU loop?);"
                   " use gochan.thread for blocking work. Its stack:\n%s", hub_index, seconds * 1000, stack)


_setting: Optional[Tuple[Optional[float], Optional[Report]]] = None  # None: GOCHAN_BLOCKING_MS


def set_blocking_threshold(ms: Optional[float], report: Optional[Report] = None) -> None:
    """Report a go block that holds its hub longer than `ms` milliseconds (None or 0: never).

    `report(hub_index, seconds, stack)` replaces the default, a warning on the
    `gochan` logger. Applies to the running runtime and to later ones.
    """
    if ms is not None and (isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms < 0):
        raise ValueError(f"set_blocking_threshold: ms must be a number >= 0 or None, got {ms!r}")
    if report is not None and not callable(report):
        raise TypeError(f"set_blocking_threshold: report must be callable, got {report!r}")
    global _setting
    _setting = (ms, report)
    rt = peek_runtime()
    if rt is not None:
        _apply(rt)


def _configured() -> Tuple[Optional[float], Optional[Report]]:
    if _setting is not None:
        return _setting
    raw = os.environ.get("GOCHAN_BLOCKING_MS")
    try:
        return (DEFAULT_MS if raw is None else float(raw)), None
    except ValueError:
        raise ValueError(f"GOCHAN_BLOCKING_MS must be a number of milliseconds, got {raw!r}") from None


def _apply(rt: Runtime) -> None:
    """(Re)start `rt`'s watchdog with the configured threshold."""
    ms, report = _configured()
    with rt.lock:
        old = rt.services.pop(Watchdog, None)
        placing = len(rt.hubs) > 1 and not rt.spread
        dog = Watchdog(rt.hubs, float(ms or 0), report, rt) if ms or placing else None
        if dog is not None:
            rt.services[Watchdog] = dog
    if old is not None:
        old.stop(time.monotonic())
    if dog is not None:
        dog.start()


on_start(_apply)
