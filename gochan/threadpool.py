"""The pool of reusable daemon threads that runs `thread` bodies (like core.async's thread pool).

A submitted job runs on an idle worker if there is one, else on a new
thread; a worker idle for `idle_timeout` seconds exits. New workers are
started with `_thread.start_new_thread`, which returns as soon as the OS
thread exists: `threading.Thread.start()` also waits until the new thread
runs Python, ~0.7 ms during which a go block calling `thread()` would hold
its hub.
"""
from __future__ import annotations

import _thread
import threading
import time
from collections import deque
from typing import Callable, Deque

__all__ = ["ThreadPool"]


class ThreadPool:
    """A growing pool of reusable daemon threads; see the module docstring."""

    def __init__(self, idle_timeout: float = 60.0, name: str = "gochan-thread") -> None:
        self._lock = threading.Lock()
        self._jobs: Deque[Callable[[], None]] = deque()
        self._ready = threading.Condition(self._lock)
        self._gone = threading.Condition(self._lock)
        self._idle = 0
        self._live = 0
        self._started = 0
        self._stopping = False
        self._idle_timeout = idle_timeout
        self._name = name

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job()` on a worker; raises RuntimeError once the pool was shut down."""
        with self._lock:
            if self._stopping:
                raise RuntimeError("thread: the gochan runtime was shut down")
            self._jobs.append(job)
            if self._idle > len(self._jobs) - 1:
                self._ready.notify()
                return
            self._live += 1
            self._started += 1
            name = f"{self._name}-{self._started}"
        try:
            _thread.start_new_thread(self._work, (name,))
        except BaseException:
            with self._lock:
                self._live -= 1
                self._gone.notify_all()
            raise

    def _work(self, name: str) -> None:
        threading.current_thread().name = name
        try:
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
        finally:
            with self._lock:
                self._live -= 1
                self._gone.notify_all()

    def shutdown(self, deadline: float) -> bool:
        """Stop accepting jobs, let idle workers exit, wait for busy ones until `deadline` (monotonic).

        Queued jobs still run. True if every worker ended in time.
        """
        with self._lock:
            self._stopping = True
            self._ready.notify_all()
            while self._live:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._gone.wait(left)
        return True
