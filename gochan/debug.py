"""Introspection: every live go block and every thread blocked in a gochan operation, and what each waits on.

`dump()` reads the park reasons that `GoTask.park` and `ThreadWaiter.wait`
record (the operation and every channel or port), never a frame's locals,
and finds go blocks through their hubs, so spawning and parking pay nothing
for it; it is a debugging tool, O(heap).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import IO, Any, Dict, List, Optional, Set, Tuple

from .hub import IDLE, GoTask, Hub, Spawn, go_frames
from .runtime import peek_runtime
from .waiters import ThreadWaiter, blocked_threads

__all__ = ["GoBlockInfo", "dump"]

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
#: The runtime's own modules: frames in them are how a go block parks, not what it does.
#: (Combinator modules such as pipes.py are go blocks' own code and are listed.)
_RUNTIME = {os.path.join(_PKG_DIR, name) for name in (
    "hub.py", "ops.py", "channel.py", "waiters.py", "suspend.py", "process.py", "debug.py", "timers.py",
    "aio.py", "aiowait.py")}


@dataclass(frozen=True)
class GoBlockInfo:
    """One live go block, or one thread blocked in a gochan operation.

    `kind` is "go" or "thread"; `hub` the go block's hub index (None for a
    thread); `state` "parked", "runnable", "running" or "not started" (a go
    block) or "blocked" (a thread); `op` "take", "put", "alts", "sleep", "io",
    "await" (`aio.await_`, its port the awaited operation) or "" when not
    waiting; `ports` every channel or port it waits on; `location` the
    file:line of the innermost frame outside gochan's runtime.
    """

    kind: str
    hub: Optional[int]
    thread: str
    function: str
    state: str
    op: str
    ports: Tuple[Any, ...]
    location: str
    stack: List[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"hub {self.hub}" if self.kind == "go" else f"thread {self.thread}"
        what = self.state
        if self.op:
            what += f" in {self.op} on " + ", ".join(repr(p) for p in self.ports)
        return f"{where}: {self.function} at {self.location}: {what}"


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or repr(fn)


def _internal(code: Any) -> bool:
    return os.path.abspath(code.co_filename) in _RUNTIME


def _describe(frames: List[Any]) -> Tuple[str, List[str]]:
    """(location, stack) of frames listed outermost first; gochan's own frames left out when others exist."""
    user = [f for f in frames if not _internal(f.f_code)] or frames
    if not user:
        return "", []
    top = user[-1]
    stack = [f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}" for f in user]
    return f"{top.f_code.co_filename}:{top.f_lineno}", stack


def _ports(op: Optional[str], waiting: Any) -> Tuple[Any, ...]:
    if not op or waiting is None:
        return ()
    try:
        return tuple(waiting.ports())
    except Exception:  # changed under us (another thread)
        return ()


def _hub_infos(hub: Hub, current: Dict[int, Any]) -> List[GoBlockInfo]:
    infos = []
    queued = hub.queued()
    runnable = {id(t) for t in queued if t.__class__ is GoTask}
    runnable.update(id(t.task) for t in queued if getattr(t, "task", None) is not None)
    for t in queued:
        if t.__class__ is Spawn:
            code = getattr(t.fn, "__code__", None)
            loc = f"{code.co_filename}:{code.co_firstlineno}" if code is not None else ""
            infos.append(GoBlockInfo("go", hub.index, hub.name, _name(t.fn), "not started", "", (), loc, []))
    for g in hub.live_tasks():
        try:
            info = _task_info(hub, g, runnable, current)
        except Exception:  # pragma: no cover - it changed under us (it runs on another thread)
            continue
        if info is not None:
            infos.append(info)
    return infos


def _task_info(hub: Hub, g: GoTask, runnable: Set[int], current: Dict[int, Any]) -> Optional[GoBlockInfo]:
    op, waiting, fn = g.op, g.waiting, g.fn
    if op == IDLE or (op is None and fn is None):
        return None  # between go blocks: idle, or its go block has returned (on its way to idle)
    if op is None:
        state = "running"
        frames = go_frames(current.get(hub.ident or -1)) or []
    elif id(g) in runnable:  # its operation completed: it waits for its hub, on nothing
        state, op = "runnable", None
        frames = go_frames(g.gr_frame) or []
    else:
        state = "parked"
        frames = go_frames(g.gr_frame) or []
    location, stack = _describe(frames)
    return GoBlockInfo("go", hub.index, hub.name, _name(fn), state, op or "",
                       _ports(op, waiting), location, stack)


def _thread_info(w: ThreadWaiter, current: Dict[int, Any]) -> Optional[GoBlockInfo]:
    op, waiting = w.op, w.waiting
    if not op:
        return None
    frames = []
    f = current.get(w.ident)
    while f is not None:
        frames.append(f)
        f = f.f_back
    frames.reverse()
    location, stack = _describe(frames)
    user = [f for f in frames if not _internal(f.f_code)]
    function = user[-1].f_code.co_name if user else ""
    return GoBlockInfo("thread", None, w.thread, function, "blocked", op, _ports(op, waiting), location, stack)


def dump(file: Optional[IO[str]] = None) -> List[GoBlockInfo]:
    """List every live go block (parked, runnable, running, not started) and every thread
    blocked in a gochan operation, with what each waits on; print them to `file` if given.

    >>> for info in dump(): print(info)
    hub 0: worker at app.py:12: parked in take on <Chan 'jobs' 0x7f.. unbuffered puts=0 takes=1 open>
    """
    if file is not None and not callable(getattr(file, "write", None)):
        raise TypeError(f"dump: file must be a writable text stream (with .write), got {file!r}")
    current = sys._current_frames()
    infos: List[GoBlockInfo] = []
    rt = peek_runtime()
    if rt is not None:
        for hub in rt.hubs:
            try:
                infos.extend(_hub_infos(hub, current))
            except Exception:  # pragma: no cover - a hub changed under us; dump what we can
                continue
    for w in blocked_threads():
        info = _thread_info(w, current)
        if info is not None:
            infos.append(info)
    del current
    if file is not None:
        for info in infos:
            print(info, file=file)
            for line in info.stack:
                print("    " + line, file=file)
    return infos


if __name__ == "__main__":  # pragma: no cover
    dump(sys.stdout)
