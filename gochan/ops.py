"""Channel operations that work from anywhere: park in a go block, block in a thread.

Each public operation is one function. Inside a go block (at any call
depth) a take or put that cannot complete parks the go block; anywhere else
(an ordinary thread, or a greenlet that is not a go block) it blocks the
thread on a lock, without polling.
"""
from __future__ import annotations

from collections import deque as _deque
from random import random as _random
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from greenlet import getcurrent

from .channel import Chan, compiled
from .errors import TooManyPendingError, none_put_error
from .hub import GoTask, Hub, park_compiled
from .procs import any_pending
from .protocols import ALTS, NOT_READY, PENDING, PUT, TAKE, Sentinel
from .runtime import current_runtime
from .suspend import block, check, suspend
from .waiters import NONBLOCKING, AltWaiter, CallbackWaiter, Flag

__all__ = ["take", "put", "alts", "alt", "offer", "poll", "put_async", "take_async", "close",
           "DEFAULT", "NOTHING"]

T = TypeVar("T")

#: The port `alts` returns when its `default` was chosen: `(default, DEFAULT)`.
DEFAULT: Any = Sentinel("DEFAULT")
#: "No default given" for `alts`/`alt` (None is a valid default).
NOTHING: Any = Sentinel("NOTHING")


def _bad_chan(fname: str, c: Any) -> TypeError:
    return TypeError(f"{fname}: c must be a Chan, got {c!r}")


def _is_port(op: Any) -> bool:
    """True for a port that is not a channel (protocols.Port: readiness ports), which take and alts accept."""
    return callable(getattr(op, "take_with", None)) and callable(getattr(op, "takeable_hint", None))


# take and put inline suspend.suspend's go-block half: they are the W1/W2 hot
# path. Through suspend() (a call, a bound method, *args, getcurrent again)
# callgrind counted 39.2k instructions per W1 round trip against 29.4k, and
# 13.6k per W2 item against 8.7k.

def take(c: "Chan[T]") -> Optional[T]:
    """Take a value from `c`: park (go block) or block (thread) until one arrives.

    Returns None once `c` is closed and drained.
    """
    g = getcurrent()
    if c.__class__ is not Chan and not isinstance(c, Chan):
        if not _is_port(c):
            raise TypeError(f"take: c must be a Chan or a port (readable/writable), got {c!r}")
        # A port may name the operation it parks in (readiness ports: IO, which the reaper
        # leaves alone: an fd can wake the go block whoever else holds the port).
        return suspend(getattr(c, "park_op", TAKE), c, c.take_with)  # suspend checks for a cancel request
    if any_pending:  # some process has a cancel request: is it this one?
        check()
    if g.__class__ is GoTask:
        r = c.take_with(g)
        if r is PENDING:
            r = g.park(TAKE, c)
        return r  # type: ignore[no-any-return]
    r = c.take_with(NONBLOCKING, False)  # most takes complete at once: skip fetching the waiter
    if r is NOT_READY:
        r = block(TAKE, c, c.take_with)
    return r  # type: ignore[no-any-return]


def put(c: "Chan[T]", v: T) -> bool:
    """Put `v` on `c`: park (go block) or block (thread) until accepted.

    Returns True once accepted (into the buffer, to a taker, or dropped by a
    dropping/sliding/promise buffer), False if `c` was already closed.
    """
    if v is None:
        raise none_put_error("put")
    g = getcurrent()
    if c.__class__ is not Chan and not isinstance(c, Chan):
        raise _bad_chan("put", c)
    if any_pending:
        check()
    if g.__class__ is GoTask:
        r = c.put_with(g, v)
        if r is PENDING:
            r = g.park(PUT, c)
        return r  # type: ignore[no-any-return]
    r = c.put_with(NONBLOCKING, v, False)  # most puts complete at once: skip fetching the waiter
    if r is NOT_READY:
        r = block(PUT, c, c.put_with, v)
    return r  # type: ignore[no-any-return]


if compiled and not TYPE_CHECKING:
    # The compiled core's take and put (gochan/_cchan.c): the go-block path above in C, for an
    # exact Chan with no cancel request pending anywhere; every other call runs the functions
    # above, the reference.
    from . import _cchan

    _cchan.configure_ops(take, put, GoTask, Hub, _deque, getcurrent, any_pending, park_compiled, TAKE, PUT)
    take = _cchan.take  # noqa: F811
    put = _cchan.put  # noqa: F811


def offer(c: "Chan[T]", v: T) -> Optional[bool]:
    """Put only if it completes at once: True if accepted, False if closed, None otherwise. Never parks."""
    if v is None:
        raise none_put_error("offer")
    if not isinstance(c, Chan):
        raise _bad_chan("offer", c)
    r = c.put_with(NONBLOCKING, v, False)
    return None if r is NOT_READY else r


def poll(c: "Chan[T]") -> Optional[T]:
    """Take only if a value is there at once; else None. Never parks."""
    if not isinstance(c, Chan):
        raise _bad_chan("poll", c)
    r = c.take_with(NONBLOCKING, False)
    return None if r is NOT_READY else r


def close(c: Chan[Any]) -> None:
    """Close `c` (idempotent): new puts return False; what was accepted is still delivered."""
    if not isinstance(c, Chan):
        raise _bad_chan("close", c)
    c.close()


def _dispatch(fn: Callable[[Any], Any], value: Any) -> None:
    """Run a callback on a hub instead of the current thread."""
    current_runtime().spawn(fn, (value,), {}, None)


def _check_callback(fname: str, fn: Any, required: bool) -> None:
    if fn is None and not required:
        return
    if not callable(fn):
        raise TypeError(f"{fname}: fn must be callable, got {fn!r}")


def _run_now(fn: Callable[[Any], Any], value: Any, on_caller: bool) -> None:
    if not on_caller:
        _dispatch(fn, value)
        return
    CallbackWaiter(fn).wake(value)  # runs fn here, reporting its exception


def put_async(c: "Chan[T]", v: T, fn: Optional[Callable[[bool], Any]] = None,
              on_caller: bool = True) -> bool:
    """Put without waiting; `fn(ok)` is called when the put completes.

    Returns False if `c` was already closed, else True (the put may still be
    pending). If it completes at once, `fn` runs on the caller (or, with
    `on_caller=False`, on a hub); if later, on the thread that completes it
    (or on a hub with `on_caller=False`). Pending puts count toward the
    1024 limit.
    """
    if v is None:
        raise none_put_error("put_async")
    if not isinstance(c, Chan):
        raise _bad_chan("put_async", c)
    _check_callback("put_async", fn, False)
    r = c.put_with(CallbackWaiter(fn, None if on_caller else _dispatch), v)
    if r is PENDING:
        return True
    if fn is not None:
        _run_now(fn, r, on_caller)
    return r  # type: ignore[no-any-return]


def take_async(c: "Chan[T]", fn: Callable[[Optional[T]], Any], on_caller: bool = True) -> None:
    """Take without waiting; `fn(value)` is called with the value (None if closed).

    Where `fn` runs follows `put_async`.
    """
    if not isinstance(c, Chan):
        raise _bad_chan("take_async", c)
    _check_callback("take_async", fn, True)
    r = c.take_with(CallbackWaiter(fn, None if on_caller else _dispatch))
    if r is not PENDING:
        _run_now(fn, r, on_caller)


# ---------------------------------------------------------------------- alts

#: alts validates every op up front when it has at most this many (see _alts).
EAGER_VALIDATION = 64


def _parse_op(op: Any, index: int, fname: str, arg: str = "ops") -> Tuple[Chan[Any], Any]:
    """(channel, value) for a put op, (channel, NOTHING) for a take op."""
    if op.__class__ is Chan or isinstance(op, Chan):
        return op, NOTHING
    if isinstance(op, (tuple, list)):
        if len(op) == 2 and isinstance(op[0], Chan):
            if op[1] is None:
                raise ValueError(f"{fname}: {arg}[{index}] puts None, which is not allowed")
            return op[0], op[1]
    elif _is_port(op):
        return op, NOTHING
    raise TypeError(f"{fname}: {arg}[{index}] must be a Chan or a port (take) or a (Chan, value) pair (put), "
                    f"got {op!r}")


def _alts(ops: Sequence[Any], priority: bool, default: Any, fname: str, arg: str = "ops") -> Tuple[Any, Any, int]:
    """The engine of alts/alt: returns (value, port, index)."""
    try:
        n = len(ops)
    except TypeError:
        raise TypeError(f"{fname}: {arg} must be a list of operations, got {ops!r}") from None
    if n == 0:
        raise ValueError(f"{fname}: {arg} must contain at least one operation")
    if any_pending:
        check()
    tried: List[Tuple[int, Chan[Any], Any]] = []
    parsed = [_parse_op(op, j, fname, arg) for j, op in enumerate(ops)] if n <= EAGER_VALIDATION else None
    # A uniformly random order, drawn lazily (a Fisher-Yates shuffle that swaps
    # only as far as it has gone): O(k) for the first k tries, not O(n).
    swapped: Dict[int, int] = {}  # positions displaced by the shuffle so far
    peek = default is NOTHING
    # Phase 1: try each op without registering; the first that completes wins.
    # Nothing of this alts is registered anywhere yet, so no other thread can
    # complete it meanwhile: plain non-blocking tries suffice, with no commit
    # flag to allocate and lock. Up to EAGER_VALIDATION ops are all validated
    # first; beyond that each op is validated when tried, so that an alts over
    # 10,000 channels whose first try is ready costs O(1), not O(ports)
    # (core.async walks them all).
    for i in range(n):
        if priority:
            j = i
        else:
            k = i + int(_random() * (n - i))
            j = swapped.get(k, k)
            if k != i:
                swapped[k] = swapped.get(i, i)
        if parsed is not None:
            c, v = parsed[j]
        else:
            c = ops[j]
            if c.__class__ is Chan:
                v = NOTHING
            else:
                c, v = _parse_op(c, j, fname, arg)
        if v is NOTHING and peek and not c.takeable_hint():
            # Unlocked peek: nothing to take. A stale answer is harmless, as
            # phase 2 repeats every op under the channel lock. With a default
            # there is no phase 2, so every op is tried under its lock: a stale
            # peek would report "nothing ready" while something was.
            tried.append((j, c, v))
            continue
        r = c.take_with(NONBLOCKING, False) if v is NOTHING else c.put_with(NONBLOCKING, v, False)
        if r is not NOT_READY:
            return r, c, j
        tried.append((j, c, v))
    if default is not NOTHING:
        return default, DEFAULT, -1
    # Phase 2: nothing was ready; register on every port (the same order) and wait.
    flag = Flag(tried)
    return suspend(ALTS, flag, _register, tried, flag)  # type: ignore[no-any-return]


def _register(resumer: Any, tried: List[Tuple[int, Chan[Any], Any]], flag: Flag) -> Any:
    """Register every op of an alts with its shared `flag`: its result if one completed at once,
    else PENDING (`resumer` will be woken: one registration has completed or will)."""
    for j, c, v in tried:
        w = AltWaiter(flag, resumer, c, j)
        try:
            r = c.take_with(w) if v is NOTHING else c.put_with(w, v)
        except TooManyPendingError:
            if flag.commit():
                raise  # nothing completed: earlier registrations are now inert
            return PENDING  # a registration already completed: its result is on the way
        if r is PENDING:
            if not flag.active:
                return PENDING
            continue
        return r, c, j
    return PENDING


def alts(ops: Sequence[Any], *, priority: bool = False, default: Any = NOTHING) -> Tuple[Any, Any]:
    """Complete exactly one of several operations; returns `(value, port)`.

    `ops` items are a `Chan` (take) or a `(Chan, value)` pair (put). A take
    gives the value (None if closed), a put gives True (False if closed).
    Among ready operations the choice is uniformly random, or the first in
    list order with `priority=True`. With `default` given and nothing ready at
    once, returns `(default, DEFAULT)`. Parks in a go block, blocks elsewhere.

    >>> v, port = alts([c1, c2, (c3, "x")])
    """
    r, port, _ = _alts(ops, priority, default, "alts")
    return r, port


def alt(clauses: Sequence[Tuple[Any, Callable[[Any, Any], Any]]], *, priority: bool = False,
        default: Any = NOTHING) -> Any:
    """`alts` over the clauses' ops, then `fn(value, port)` of the chosen clause; returns its result.

    `clauses` is a list of `(op, fn)` pairs. When the default is chosen,
    returns the default value.

    >>> alt([(c1, lambda v, c: ("one", v)), ((c2, 5), lambda ok, c: "sent")])
    """
    try:
        pairs = list(clauses)
    except TypeError:
        raise TypeError(f"alt: clauses must be a list of (op, fn) pairs, got {clauses!r}") from None
    for i, clause in enumerate(pairs):
        if not (isinstance(clause, tuple) and len(clause) == 2 and callable(clause[1])):
            raise TypeError(f"alt: clauses[{i}] must be an (op, fn) pair with a callable fn, got {clause!r}")
    r, port, index = _alts([op for op, _ in pairs], priority, default, "alt", "clauses")
    if port is DEFAULT:
        return r
    return pairs[index][1](r, port)
