"""Shared helpers for the bench: timing, RSS, and the workload/contestant registry.

A workload module defines contestant functions and a ``WORKLOAD`` dict; each
contestant runs in a fresh subprocess (``python -m bench.run_one``) and returns
a dict of metrics.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

now = time.perf_counter

# Column order of the table; every workload draws its contestants from these.
CONTESTANTS = [
    "gochan",
    "gochan_pure",  # the same functions with GOCHAN_PURE=1: the pure-Python channel (bench/run_one.py)
    "raw_greenlet",
    "gevent_channel",
    "gevent_queue",
    "asyncio",
    "trio",
    "threads",
]

# Which importable library each contestant needs (missing -> skipped).
REQUIRES = {
    "gochan": "gochan",
    "gochan_pure": "gochan",
    "raw_greenlet": "greenlet",
    "gevent_channel": "gevent",
    "gevent_queue": "gevent",
    "asyncio": "asyncio",
    "trio": "trio",
    "threads": "queue",
}


@dataclass
class Metric:
    key: str            # key in the contestant's result dict
    label: str          # row label in the table
    unit: str           # "/s", "ms", "B"
    higher_is_better: bool


@dataclass
class Workload:
    wid: str                      # e.g. "w1"
    title: str
    metrics: list[Metric]
    contestants: dict[str, Callable[..., dict]]
    n: int                        # full-size n
    quick_n: int                  # n for --quick
    notes: dict[str, str] = field(default_factory=dict)   # per-contestant marker, e.g. "fan-in"
    not_applicable: dict[str, str] = field(default_factory=dict)  # contestant -> why
    env: dict[str, str] = field(default_factory=dict)      # extra env for the subprocess
    quick_skip: dict[str, str] = field(default_factory=dict)  # contestant -> why not in --quick
    timeout: float = 120.0
    diagnostic: bool = False      # an extra row for insight, left out of --quick

    def __post_init__(self) -> None:
        # gochan's pure-Python build runs gochan's functions (run_one sets GOCHAN_PURE=1 first).
        if "gochan" in self.contestants:
            self.contestants.setdefault("gochan_pure", self.contestants["gochan"])


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (psutil as fallback)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import psutil
        return psutil.Process().memory_info().rss
