"""The raw-greenlet floor: the least a greenlet channel design can cost.

A minimal single-threaded hub (a FIFO run queue of greenlets) and hand-written
channels with real park/unpark, FIFO waiters, a fixed buffer and an ``alts``
with one shared commit flag per select. No locks, no cross-thread wakes, no
limits, no close, no error handling: a go-style design in pure Python cannot
do the same work with less. The bench compares gochan against it.

Parking switches straight to the next runnable task when it has already
started (one greenlet switch per park, as in the "raw greenlet switch pair"
floor of the design notes); new tasks are started by the loop greenlet.

Rejected shortcuts (they would make the floor dishonest):
- switching directly between the two ping-pong greenlets (a design with a run
  queue must go through it so that other runnable tasks are served fairly);
- an alts that scans only a prefix or a fixed order (it starts at a random
  index and wraps, so every op gets a fair chance).
"""
from __future__ import annotations

import random
from collections import deque

from greenlet import getcurrent, greenlet

_ready: deque = deque()      # FIFO run queue of (greenlet, value to resume with)
_loop: list = [None]         # the greenlet running the hub loop


def spawn(fn, *args) -> None:
    """Queue fn(*args) as a new task. Its greenlet is created when the loop
    starts it (a queued task is a tuple, not a GC-tracked greenlet)."""
    _ready.append((None, (fn, args)))


def park():
    """Suspend the current task; returns the value given to ``unpark``.

    Switches straight to the next runnable task if it has started (one switch,
    not two through the loop greenlet). A task that has not started yet is
    started by the loop, so that every task's stack begins at the loop's
    shallow depth: starting greenlets from inside other tasks would stack
    each new one on top of its starter (C stack and recursion depth grow
    without bound, and every switch copies more stack).
    """
    if _ready and _ready[0][0]:
        g, v = _ready.popleft()
        return g.switch(v)
    return _loop[0].switch()


def unpark(g, value) -> None:
    _ready.append((g, value))


def run(fn, *args):
    """Run fn(*args) as the first task and the hub loop until nothing is runnable."""
    out = []
    _loop[0] = getcurrent()
    spawn(lambda: out.append(fn(*args)))
    ready = _ready
    pop = ready.popleft
    loop = _loop[0]
    while ready:
        g, v = pop()
        if g is None:  # a new task: start it from here, at the loop's stack depth
            task_fn, task_args = v
            greenlet(task_fn, loop).switch(*task_args)
        else:
            g.switch(v)
    _loop[0] = None
    if not out:
        raise RuntimeError("deadlock: main task never finished")
    return out[0]


class _Waiter:
    """A parked op. ``flag`` is None for a plain op, or a list shared by an alts."""
    __slots__ = ("g", "flag", "val")

    def __init__(self, g, flag, val=None):
        self.g = g
        self.flag = flag
        self.val = val


def _claim(w) -> bool:
    """Commit waiter w if it is still active (alts: exactly one of its waiters)."""
    f = w.flag
    if f is None:
        return True
    if f[0]:
        f[0] = False
        return True
    return False


class Chan:
    __slots__ = ("buf", "cap", "takers", "putters")

    def __init__(self, cap: int = 0):
        # As in gochan, a queue exists only once needed: an unbuffered channel
        # has no buffer, and the waiter queues appear at the first park. Waiter
        # queues are lists (a deque costs ~600 B more; pending ops are few).
        self.buf = deque() if cap else None
        self.cap = cap
        self.takers = None
        self.putters = None

    def _park_take(self, w) -> None:
        if self.takers is None:
            self.takers = []
        self.takers.append(w)

    def _park_put(self, w) -> None:
        if self.putters is None:
            self.putters = []
        self.putters.append(w)

    # -- the two primitive attempts, shared by take/put/alts --------------
    def _try_take(self):
        """Return (True, value) if a take completes now, else (False, None)."""
        buf = self.buf
        putters = self.putters
        if buf:
            v = buf.popleft()
            while putters:  # refill from the oldest active putter
                w = putters.pop(0)
                if _claim(w):
                    buf.append(w.val)
                    unpark(w.g, True if w.flag is None else (True, self))
                    break
            return True, v
        while putters:
            w = putters.pop(0)
            if _claim(w):
                unpark(w.g, True if w.flag is None else (True, self))
                return True, w.val
        return False, None

    def _try_put(self, v) -> bool:
        takers = self.takers
        while takers:
            w = takers.pop(0)
            if _claim(w):
                unpark(w.g, v if w.flag is None else (v, self))
                return True
        buf = self.buf
        if buf is not None and len(buf) < self.cap:
            buf.append(v)
            return True
        return False

    # -- plain take/put: the same logic as above, inlined for the hot path --
    def take(self):
        buf = self.buf
        if buf and not self.putters:
            return buf.popleft()
        if buf or self.putters:
            return self._try_take()[1]
        takers = self.takers
        if takers is None:
            takers = self.takers = []
        takers.append(_Waiter(getcurrent(), None))
        # park (inlined)
        if _ready and _ready[0][0]:
            g, v = _ready.popleft()
            return g.switch(v)
        return _loop[0].switch()

    def put(self, v) -> bool:
        takers = self.takers
        while takers:
            w = takers.pop(0)
            f = w.flag
            if f is None:
                _ready.append((w.g, v))
                return True
            if f[0]:
                f[0] = False
                _ready.append((w.g, (v, self)))
                return True
        buf = self.buf
        if buf is not None and len(buf) < self.cap:
            buf.append(v)
            return True
        putters = self.putters
        if putters is None:
            putters = self.putters = []
        putters.append(_Waiter(getcurrent(), None, v))
        if _ready and _ready[0][0]:
            g, r = _ready.popleft()
            return g.switch(r)
        return _loop[0].switch()


def alts(ops):
    """ops: Chan (take) or (Chan, value) (put). Returns (value, chan)."""
    n = len(ops)
    start = random.randrange(n)
    for i in range(n):
        op = ops[(start + i) % n]
        if type(op) is tuple:
            c, v = op
            if c._try_put(v):
                return True, c
        else:
            ok, v = op._try_take()
            if ok:
                return v, op
    flag = [True]
    g = getcurrent()
    for op in ops:
        if type(op) is tuple:
            c, v = op
            c._park_put(_Waiter(g, flag, v))
        else:
            op._park_take(_Waiter(g, flag))
    return park()
