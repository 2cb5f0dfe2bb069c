"""Introspection: which go blocks exist, where each is parked and on what.

`dump()` finds go blocks by scanning the garbage collector's objects, so
spawning and parking pay nothing for it; it is a debugging tool, O(heap).
"""
from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass
from typing import IO, Any, List, Optional

from .hub import GoTask

__all__ = ["GoBlockInfo", "dump"]

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
#: The runtime's own modules: frames in them are how a go block parks, not what it does.
#: (Combinator modules such as pipes.py are go blocks' own code and are listed.)
_RUNTIME = {os.path.join(_PKG_DIR, name) for name in (
    "hub.py", "ops.py", "channel.py", "waiters.py", "process.py", "debug.py", "timers.py")}


def _internal(code: Any) -> bool:
    return os.path.abspath(code.co_filename) in _RUNTIME
_OPS = {"take", "put", "alts", "alt", "sleep"}


@dataclass(frozen=True)
class GoBlockInfo:
    """One live go block: its hub, what it runs, where it is parked and on which operation."""

    hub: int
    function: str
    location: str  # file:line of the innermost frame outside gochan
    op: str  # "take", "put", "alts", ... or "" when runnable or running
    channel: str  # repr of the channel it waits on, when known
    stack: List[str]

    def __str__(self) -> str:
        what = f"{self.op} {self.channel}".strip() if self.op else "runnable"
        return f"hub {self.hub}: {self.function} at {self.location}: {what}"


def _info(g: GoTask) -> Optional[GoBlockInfo]:
    frame = g.gr_frame
    if frame is None or g.dead or g in g.hub.free:
        return None
    frames = []
    f = frame
    while f is not None:
        frames.append(f)
        f = f.f_back
    frames.reverse()  # outermost first
    user = [f for f in frames if not _internal(f.f_code)]
    if not user:
        return None  # idle recycled greenlet between go blocks
    op = ""
    channel = ""
    for f in frames:
        if _internal(f.f_code) and f.f_code.co_name in _OPS:
            op = f.f_code.co_name
            c = f.f_locals.get("c")
            channel = repr(c) if c is not None else ""
            break
    top = user[-1]
    return GoBlockInfo(
        hub=g.hub.index,
        function=user[0].f_code.co_name,
        location=f"{top.f_code.co_filename}:{top.f_lineno}",
        op=op,
        channel=channel,
        stack=[f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}" for f in user],
    )


def dump(file: Optional[IO[str]] = None) -> List[GoBlockInfo]:
    """List every live go block (parked ones say where and on what); print them to `file` if given.

    >>> for info in dump(): print(info)
    hub 0: worker at app.py:12: take <Chan 0x7f.. unbuffered puts=0 takes=1 open>
    """
    if file is not None and not callable(getattr(file, "write", None)):
        raise TypeError(f"dump: file must be a writable text stream (with .write), got {file!r}")
    infos = []
    for obj in gc.get_objects():
        if obj.__class__ is GoTask:
            try:
                info = _info(obj)
            except Exception:  # a go block running on another thread changed under us
                continue
            if info is not None:
                infos.append(info)
    if file is not None:
        for info in infos:
            print(info, file=file)
            for line in info.stack:
                print("    " + line, file=file)
    return infos


if __name__ == "__main__":  # pragma: no cover
    dump(sys.stdout)
