"""The pool of reusable daemon threads that runs `thread` bodies (like core.async's thread pool).

A submitted job runs on an idle worker if there is one, else on a new
thread; a worker idle for `idle_timeout` seconds exits.
`threading.Thread.start()` waits until the new thread runs Python (~0.7 ms,
more while other threads compute), so a caller that must not block (a hub:
a go block calling `thread()`) hands the start to the pool's launcher thread
instead, and returns at once.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Deque, List, Optional, Set

__all__ = ["ThreadPool"]

#: How often `shutdown` looks again for workers blocked in gochan operations.
POLL = 0.05


class ThreadPool:
    """A growing pool of reusable daemon threads; see the module docstring."""

    def __init__(self, idle_timeout: float = 60.0, name: str = "gochan-thread") -> None:
        self._lock = threading.Lock()
        self._jobs: Deque[Callable[[], None]] = deque()
        self._ready = threading.Condition(self._lock)
        self._idle = 0
        self._started = 0
        self._threads: List[threading.Thread] = []
        self._to_start: Deque[threading.Thread] = deque()
        self._launch = threading.Condition(self._lock)
        self._launcher: Optional[threading.Thread] = None
        self._stopping = False
        self._idle_timeout = idle_timeout
        self._name = name

    def submit(self, job: Callable[[], None], may_block: bool = True) -> None:
        """Run `job()` on a worker. With `may_block=False` a new worker is started by the
        launcher thread, never by the caller. RuntimeError once the pool was shut down."""
        with self._lock:
            if self._stopping:
                raise RuntimeError("thread: the gochan runtime was shut down")
            self._jobs.append(job)
            if self._idle > len(self._jobs) - 1:
                self._ready.notify()
                return
            self._started += 1
            t = threading.Thread(target=self._work, name=f"{self._name}-{self._started}", daemon=True)
            self._threads = [w for w in self._threads if w.is_alive() or w.ident is None]
            self._threads.append(t)
            if not may_block:
                self._to_start.append(t)
                if self._launcher is None:
                    self._launcher = threading.Thread(target=self._launch_loop, name=f"{self._name}-launcher",
                                                      daemon=True)
                    self._launcher.start()  # once per pool, from the first hub that needs it
                else:
                    self._launch.notify()
                return
        t.start()

    def _launch_loop(self) -> None:
        while True:
            with self._lock:
                while not self._to_start and not self._stopping:
                    self._launch.wait()
                if not self._to_start:
                    return
                t = self._to_start.popleft()
            t.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._jobs:
                    if self._stopping:
                        return
                    self._idle += 1
                    notified = self._ready.wait(self._idle_timeout)
                    self._idle -= 1
                    if not notified and not self._jobs:
                        return
                job = self._jobs.popleft()
            job()

    def shutdown(self, deadline: float, interrupt: Optional[Callable[[Set[int]], None]] = None) -> bool:
        """Stop accepting jobs, let idle workers exit, wait for busy ones until `deadline` (monotonic).

        Queued jobs still run. While waiting, `interrupt(idents)` is called
        every `POLL` seconds with the idents of the workers still alive (to
        end those blocked in gochan operations). True if every worker ended
        in time.
        """
        with self._lock:
            self._stopping = True
            self._ready.notify_all()
            self._launch.notify_all()
            threads = list(self._threads) + ([self._launcher] if self._launcher is not None else [])
        threads = [t for t in threads if t is not threading.current_thread() and t.ident is not None]
        while True:
            alive = [t for t in threads if t.is_alive()]
            left = deadline - time.monotonic()
            if not alive or left <= 0:
                return not alive
            if interrupt is not None:
                interrupt({t.ident for t in alive if t.ident is not None})
            alive[0].join(min(left, POLL))
