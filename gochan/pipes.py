"""Channel plumbing: pipe, the three pipelines, merge, split, map, take_n, and
the collection helpers (onto_chan, to_chan, into, reduce, transduce).

Each combinator is a loop over take/put/alts run as a go block (`go`), or on a
pooled thread (`thread`) for pipeline_blocking and onto_chan_thread; the
functions here only validate their arguments, start the loop and return what
core.async returns. The loops are written so that none of them is left
parked once its inputs close. The rules they share, chosen once for all:

- Output closed: a single-output combinator stops at the first put that
  returns False (and checks `out.closed` before taking the next input), so it
  never consumes inputs nobody will see. core.async's `pipe` and `split` do
  this; its `merge`, `map`, `take` and `pipeline` keep consuming their inputs
  instead (see docs/combinators.md). The trap we keep: a loop already parked
  on a put when its output closes stays parked until someone takes that value
  (a pending put survives close, by the channel contract). Detecting the
  close would need a close hook on every channel; that costs, so we don't.
- Several outputs (split): a closed output drops its values, the others keep
  being served; the loop stops when all its outputs are closed (as mult does
  with closed taps).
- A user function that raises (split's pred, map's f, an iterable that
  fails) is reported to the exception handler and the combinator closes the
  outputs it owns, so their readers see the end instead of hanging.

The pipelines (DESIGN.md has the measurements and what was rejected). An item
never goes through a channel of its own: a worker runs it through a fresh
application of the xform over a reducing function that gathers its 0..k
outputs in a list (`_run_item`: what `chan(1, xform, ex_handler)` did, step
and completion, without the channel). Ordered, with n > 1: an input loop
takes each value into a window of at most 2n slots and hands the slot to the
n workers over `jobs`; the worker that finishes the slot at the head of the
window delivers it, and every finished slot after it, to `to` itself
(`_Window`), so there is no output loop and no channel per item. Unordered,
and ordered with one worker: each of the n workers takes from `frm` and puts
on `to` directly. pipeline_async keeps core.async's structure when ordered
(af's result channel per item is its API): an input loop, n workers calling
af, and an output loop copying the result channels in input order.
"""
from __future__ import annotations

import copy
import functools
import threading
from collections import deque
from collections.abc import Sized
from itertools import chain, islice
from typing import Any, Callable, Deque, Iterable, List, Optional, Sequence, Tuple, TypeVar

from .cancel import cancel
from .channel import Chan, chan, result_chan
from .errors import Cancelled, TooManyPendingError, apply_ex_handler, report_exception
from .ops import alts, put, put_async, take, take_async
from .process import go, thread
from .xf import Reduced, Transducer, _is_stateless, completing, has_completion_arity

__all__ = ["pipe", "pipeline", "pipeline_blocking", "pipeline_async", "onto_chan",
           "onto_chan_thread", "to_chan", "merge", "into", "reduce", "transduce", "split",
           "take_n"]
# Also public, but not in __all__ because it shadows the builtin: map.

T = TypeVar("T")

# ---------------------------------------------------------------- checks

def _check_chan(fname: str, name: str, c: Any) -> None:
    if not isinstance(c, Chan):
        raise TypeError(f"{fname}: {name} must be a Chan, got {c!r}")


def _check_callable(fname: str, name: str, f: Any) -> None:
    if not callable(f):
        raise TypeError(f"{fname}: {name} must be callable, got {f!r}")


def _check_count(fname: str, name: str, n: Any, minimum: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{fname}: {name} must be an int, got {n!r}")
    if n < minimum:
        raise ValueError(f"{fname}: {name} must be >= {minimum}, got {n}")
    return n


def _new_chan(fname: str, name: str, buf: Any) -> Chan[Any]:
    """`chan(buf)`, with an error that names the caller's argument."""
    try:
        return chan(buf)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{fname}: {name}: {exc}") from None


def _chan_list(fname: str, name: str, chs: Any) -> List[Chan[Any]]:
    try:
        cs = list(chs)
    except TypeError:
        raise TypeError(f"{fname}: {name} must be an iterable of Chans, got {chs!r}") from None
    for i, c in enumerate(cs):
        _check_chan(fname, f"{name}[{i}]", c)
    return cs


# ------------------------------------------------------------------ pipe

def _pipe_loop(frm: Chan[Any], to: Chan[Any], close: bool) -> None:
    try:
        while not to.closed:
            v = take(frm)
            if v is None:
                if close:
                    to.close()
                return
            if not put(to, v):
                return
    except Cancelled:  # shutdown: close what it would have closed
        if close:
            to.close()
        raise


def pipe(frm: Chan[T], to: Chan[T], close: bool = True) -> Chan[T]:
    """Copy every value from `frm` to `to`; close `to` when `frm` closes (unless `close` is false).

    Returns `to`. Stops consuming `frm` once `to` is closed. Trap (as in
    core.async): if the copy is parked on a put when `to` closes, that put
    stays pending, and the pipe with it, until someone takes the value.

    >>> out = pipe(to_chan([1, 2, 3]), chan())
    >>> take(into([], out))
    [1, 2, 3]
    """
    _check_chan("pipe", "frm", frm)
    _check_chan("pipe", "to", to)
    go(_pipe_loop, frm, to, bool(close))
    return to


# ------------------------------------------------------------- pipelines

class _NoArg:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<no argument>"


_NOARG: Any = _NoArg()


def _collect(acc: Any = _NOARG, x: Any = _NOARG) -> Any:
    """The reducing function under a pipeline's xform: one item's outputs, gathered in a list.

    A channel's buffer plays this part in `chan(1, xform)`. None outputs are
    dropped: a channel cannot carry None.
    """
    if x is not _NOARG and x is not None:
        acc.append(x)
    return acc


def _handle(exc: Exception, ex_handler: Optional[Callable[[BaseException], Any]], outs: List[Any]) -> None:
    """An xform step or completion raised: as in a channel with a transducer (`apply_ex_handler`)."""
    apply_ex_handler(exc, ex_handler, outs.append)


def _run_item(xform: Transducer, ex_handler: Optional[Callable[[BaseException], Any]], v: Any) -> List[Any]:
    """The 0..k outputs of `v` through a fresh application of `xform`: what `chan(1, xform,
    ex_handler)` would hold after a put of `v` and a close (step, then completion, each once,
    completion also after a `reduced` or a failed step)."""
    outs: List[Any] = []
    try:
        rf = xform(_collect)  # fresh state: take, partition_all... start over for every item
        try:
            rf(outs, v)
        except Exception as exc:
            _handle(exc, ex_handler, outs)
        rf(outs)
    except Exception as exc:
        _handle(exc, ex_handler, outs)
    return outs


_Runner = Callable[[Any], List[Any]]


def _runner(xform: Transducer, ex_handler: Optional[Callable[[BaseException], Any]]) -> _Runner:
    """How the workers of one pipeline run an item: `run(v) -> outputs`.

    `_run_item` for any xform. For one of gochan.xf's stateless transducers
    (map, filter, remove, keep, take_while, cat, mapcat, and their `comp`),
    a fresh application and its completion would change nothing: the
    workers share one application and skip the completion, which halves the
    calls per item (W13, 1 worker: 12.4k -> 8.8k instructions per item, compiled).
    """
    if not _is_stateless(xform):
        return functools.partial(_run_item, xform, ex_handler)
    rf = xform(_collect)  # no state: safe to share between workers, threads too

    def run(v: Any) -> List[Any]:
        outs: List[Any] = []
        try:
            rf(outs, v)
        except Exception as exc:
            _handle(exc, ex_handler, outs)
        return outs
    return run


class _Slot:
    """One item of an ordered pipeline, in the window: its input, then its outputs."""

    __slots__ = ("v", "outs", "done")

    def __init__(self, v: Any) -> None:
        self.v = v
        self.outs: List[Any] = _NO_OUTS
        self.done = False


_NO_OUTS: List[Any] = []

#: An ordered pipeline with n workers holds at most _WINDOW * n items between `frm` and `to`.
_WINDOW = 2


class _Window:
    """The items of an ordered pipeline (or pipeline_blocking) from the input loop to `to`.

    The input loop appends each item's slot here and puts it on `jobs`; the
    window holds at most `limit` slots, so at most `limit` items are in
    flight (the input loop waits on `space` when it is full). A worker that
    finishes the slot at the head of the window, while nobody else is
    delivering, takes the *emitter* role: it delivers that slot's outputs to
    `to`, pops it, and goes on with the next slot as long as that one is
    finished too, then gives the role up. Every change happens under `lock`,
    held for a few bytecodes and never across an operation, so a finished
    head always has an emitter and none waits for one. When a put to `to`
    fails (`to` is closed) the window stops: it drops its slots, closes
    `jobs` (the input loop stops consuming `frm`) and wakes the input loop.
    """

    __slots__ = ("lock", "slots", "limit", "emitting", "in_waiting", "stopped", "space", "jobs", "to")

    def __init__(self, limit: int, jobs: Chan[Any], to: Chan[Any]) -> None:
        self.lock = threading.Lock()
        self.slots: Deque[_Slot] = deque()
        self.limit = limit
        self.emitting = False
        self.in_waiting = False  # the input loop waits (or is about to wait) on `space`
        self.stopped = False
        self.space: Chan[Any] = chan(1)  # at most one signal is ever outstanding
        self.jobs = jobs
        self.to = to

    def add(self, slot: _Slot) -> Optional[bool]:
        """The input loop's new item: None if the window has stopped, else True if it is now full
        (the input loop must then `take(space)` before its next item)."""
        with self.lock:
            if self.stopped:
                return None
            slots = self.slots
            slots.append(slot)
            full = len(slots) >= self.limit
            if full:
                self.in_waiting = True
        return full

    def finish(self, slot: _Slot, outs: List[Any]) -> None:
        """A worker is done with `slot` (from a go block or a thread)."""
        with self.lock:
            slot.outs = outs
            slot.done = True
            if self.emitting or self.stopped or self.slots[0] is not slot:
                return  # someone is delivering (and will get here), or an earlier item is not done
            self.emitting = True
        self._emit(slot)

    def _emit(self, head: Optional[_Slot]) -> None:
        """Deliver `head` and every finished slot after it, in order, then give up the role."""
        lock, slots, to = self.lock, self.slots, self.to
        while head is not None:
            for v in head.outs:
                if not put(to, v):
                    self._stop()
                    return
            with lock:
                slots.popleft()
                wake = self.in_waiting
                self.in_waiting = False
                if slots and slots[0].done:
                    head = slots[0]
                else:
                    head = None
                    self.emitting = False
            if wake:
                put(self.space, True)  # never parks: the signal is consumed before another is sent

    def _stop(self) -> None:
        with self.lock:
            self.stopped = True
            self.slots.clear()
            wake = self.in_waiting
            self.in_waiting = False
        self.jobs.close()
        if wake:
            put(self.space, True)


def _pipeline_in(frm: Chan[Any], to: Chan[Any], jobs: Chan[Any], win: _Window) -> None:
    """An ordered pipeline's input loop: each value of `frm` into the window and onto `jobs`."""
    try:
        while not to.closed:  # checked per item: items that yield nothing never fail a put
            v = take(frm)
            if v is None:
                break
            slot = _Slot(v)
            full = win.add(slot)
            if full is None or not put(jobs, slot):  # `to` was found closed: stop consuming `frm`
                break
            if full:
                take(win.space)
    finally:  # also on Cancelled: the workers finish what they have and end
        jobs.close()


def _pipeline_worker(jobs: Chan[Any], run: _Runner, win: _Window) -> None:
    """One of the n workers of an ordered pipeline (a go block) or pipeline_blocking (a thread)."""
    finish = win.finish
    while True:
        slot = take(jobs)
        if slot is None:
            return
        finish(slot, run(slot.v))


def _pipeline_async_in(frm: Chan[Any], to: Chan[Any], jobs: Chan[Any], results: Chan[Any]) -> None:
    """An ordered pipeline_async's input loop: a `chan(1)` per value for af's results, put with
    the value on `jobs` (for a worker) and alone on `results` (for the output loop), in order."""
    try:
        while not jobs.closed and not to.closed:  # the output loop closes jobs when `to` closes
            v = take(frm)
            if v is None:
                break
            res: Chan[Any] = chan(1)
            if not put(jobs, (v, res)):
                break
            put(results, res)
    finally:
        jobs.close()  # the workers start what they have and end
        results.close()


def _pipeline_async_worker(jobs: Chan[Any], af: Callable[[Any, Chan[Any]], Any]) -> None:
    """One of the n workers of an ordered pipeline_async: starts af on each value and its result channel."""
    while True:
        job = take(jobs)
        if job is None:
            return
        v, res = job
        try:
            af(v, res)
        except Exception as exc:
            report_exception(exc)
            res.close()  # the item yields what af put before raising; the pipeline goes on


def _pipeline_out(results: Chan[Any], to: Chan[Any], jobs: Chan[Any]) -> None:
    """An ordered pipeline_async's output loop: each item's result channel in input order,
    copied to `to`."""
    try:
        while True:
            res = take(results)
            if res is None:
                return
            while not to.closed:
                v = take(res)
                if v is None or not put(to, v):
                    break
            if to.closed:
                break
        # `to` is closed: stop the input loop (it stops consuming `frm`) and take what it
        # has in flight, so that none of it stays parked on `results`.
        jobs.close()
        results.close()
        while take(results) is not None:
            pass
    except Cancelled:
        jobs.close()
        results.close()
        raise


def _pipeline_unordered_worker(frm: Chan[Any], to: Chan[Any], run: _Runner) -> None:
    """One of the n workers of an unordered pipeline (go block) or pipeline_blocking (thread):
    from `frm` straight to `to`. (Also the whole of an ordered one with n = 1.)"""
    while not to.closed:
        v = take(frm)
        if v is None:
            return
        for out in run(v):
            if not put(to, out):
                return


def _pipeline_unordered_async_worker(frm: Chan[Any], to: Chan[Any], af: Callable[[Any, Chan[Any]], Any]) -> None:
    """One of the n workers of an unordered pipeline_async: af on a value, its results onto `to`, the next."""
    while not to.closed:
        v = take(frm)
        if v is None:
            return
        res: Chan[Any] = chan(1)
        try:
            af(v, res)
        except Exception as exc:
            report_exception(exc)
            res.close()  # the item yields what af put before raising
        while True:
            out = take(res)
            if out is None:
                break
            if not put(to, out):
                return


class _Pipeline:
    """The process behind the channel a pipeline returns (its `proc`, what `cancel()` acts on).

    Not a go block of its own: a go block's cancel, made before it has
    started, means it never runs, and then nobody would close `to`. Here
    `cancel()` cancels every loop of the pipeline; the watcher
    (`_pipeline_wait`), which is never cancelled but by shutdown, sees the
    loops that put on `to` end, then closes `to` (unless `close` is false)
    and `done`. A go block's cancel is delivered on its hub's thread, and
    until then its pending put on `to` would survive the close: hence the
    wait. When every loop that puts on `to` is a thread (pipeline_blocking),
    `cancel()` withdrew their pending operations itself (their next one
    raises) and closes `to` and `done` at once, without waiting for a
    thread busy in the xform.
    """

    __slots__ = ("loops", "to", "close", "done", "threads")

    def __init__(self, to: Chan[Any], close: bool, threads: bool) -> None:
        self.loops: List[Chan[Any]] = []
        self.to = to
        self.close = close
        self.threads = threads
        self.done: Chan[Any] = result_chan(self)

    def cancel(self) -> bool:
        """Stop every loop of the pipeline; False if it had already finished."""
        if self.done.closed:
            return False
        for c in self.loops:
            cancel(c)
        if self.threads:
            self.finish()
        return True

    def finish(self) -> None:
        if self.close:
            self.to.close()
        self.done.close()


def _pipeline_wait(putters: List[Chan[Any]], proc: _Pipeline) -> None:
    """A pipeline's watcher: waits for the loops that put on `to` to end, then closes `to`
    (unless `close` is false) and the channel the pipeline returned."""
    try:
        for c in putters:
            take(c)
    except Cancelled:  # shutdown
        proc.cancel()
        raise
    finally:
        proc.finish()


def _pipeline(fname: str, n: Any, to: Any, xform: Any, frm: Any, close: Any,
              ex_handler: Any, kind: str, ordered: Any) -> Chan[Any]:
    _check_count(fname, "n", n, 1)
    _check_chan(fname, "to", to)
    _check_callable(fname, "af" if kind == "async" else "xform", xform)
    _check_chan(fname, "frm", frm)
    if ex_handler is not None:
        _check_callable(fname, "ex_handler", ex_handler)
    if ordered.__class__ is not bool:
        raise TypeError(f"{fname}: ordered must be a bool, got {ordered!r}")
    close = bool(close)
    spawn: Callable[..., Chan[Any]] = thread if kind == "blocking" else go
    proc = _Pipeline(to, close, kind == "blocking")
    loops = proc.loops
    if kind == "async" and ordered:
        jobs: Chan[Any] = chan(n)
        results: Chan[Any] = chan(2 * n)  # 2n + 2 items in flight; chan(n): 74.5k instructions/item, 2n: 56.6k
        loops += [go(_pipeline_async_worker, jobs, xform) for _ in range(n)]
        loops.append(go(_pipeline_async_in, frm, to, jobs, results))
        putters = [go(_pipeline_out, results, to, jobs)]
    elif not ordered or n == 1:  # one worker keeps input order by itself
        if kind == "async":
            putters = [go(_pipeline_unordered_async_worker, frm, to, xform) for _ in range(n)]
        else:
            putters = [spawn(_pipeline_unordered_worker, frm, to, _runner(xform, ex_handler)) for _ in range(n)]
    else:
        limit = _WINDOW * n
        jobs = chan(limit)  # never full: the window admits at most `limit` items
        win = _Window(limit, jobs, to)
        run = _runner(xform, ex_handler)
        putters = [spawn(_pipeline_worker, jobs, run, win) for _ in range(n)]
        loops.append(go(_pipeline_in, frm, to, jobs, win))
    loops += putters
    go(_pipeline_wait, putters, proc)
    return proc.done


def pipeline(n: int, to: Chan[Any], xform: Transducer, frm: Chan[Any], close: bool = True,
             ex_handler: Optional[Callable[[BaseException], Any]] = None, *,
             ordered: bool = True) -> Chan[Any]:
    """Run every value of `frm` through `xform` with parallelism `n`, onto `to`, in input order.

    Each value goes through a fresh application of `xform`, as through a
    `chan(1, xform, ex_handler)` of its own, so a stateful transducer (take,
    partition_all, ...) starts afresh for every item and is completed after
    it, and an item may yield 0..k values (None values are dropped). An
    exception in the xform goes to `ex_handler(exc)`; its non-None result is
    emitted in that item's place (without a handler the exception is
    reported and the item yields nothing). `to` is closed when `frm` closes,
    unless `close` is false.

    `ordered=False` (keyword only): each item's values go to `to` as soon as
    that item is done, so a slow item holds back only itself; an item's own
    values keep their order. Ordered, at most 2n items are in flight between
    `frm` and `to` (a slow item stalls the output once the others fill
    them); unordered, at most n.

    The workers are n go blocks: the xform must not block (use
    `pipeline_blocking` for blocking or long work). Returns a channel that
    closes once everything has been delivered (core.async returns the same);
    `cancel()` on it stops the whole pipeline at once: every go block (or
    thread) of it ends, `frm` is no longer consumed, and `to` is closed
    (unless `close` is false); values in flight are dropped. If `to`
    closes, the pipeline stops consuming `frm` and winds down. Trap (as in
    core.async): if it is parked on a put when `to` closes, it stays parked
    until someone takes that value.

    >>> out = chan(10)
    >>> take(pipeline(4, out, xf.map(lambda x: x * 10), to_chan([1, 2, 3])))
    >>> list(out)
    [10, 20, 30]
    >>> take(pipeline(4, out, xf.map(lambda x: x * 10), to_chan([1, 2, 3]), ordered=False))
    >>> sorted(out)
    [10, 20, 30]
    """
    return _pipeline("pipeline", n, to, xform, frm, close, ex_handler, "compute", ordered)


def pipeline_blocking(n: int, to: Chan[Any], xform: Transducer, frm: Chan[Any],
                      close: bool = True,
                      ex_handler: Optional[Callable[[BaseException], Any]] = None, *,
                      ordered: bool = True) -> Chan[Any]:
    """Like `pipeline`, but the xform runs on `n` pooled threads (`gochan.thread`), so it may block.

    With `ordered=False` results go to `to` as they finish: one slow call
    (a page that takes a minute) does not hold back the rest. Returns a
    channel that closes once everything has been delivered.

    >>> out = chan(10)
    >>> slow = xf.map(lambda url: fetch(url))          # blocking I/O is fine here
    >>> take(pipeline_blocking(8, out, slow, to_chan(urls), ordered=False))
    """
    return _pipeline("pipeline_blocking", n, to, xform, frm, close, ex_handler, "blocking", ordered)


def pipeline_async(n: int, to: Chan[Any], af: Callable[[Any, Chan[Any]], Any], frm: Chan[Any],
                   close: bool = True, *, ordered: bool = True) -> Chan[Any]:
    """Like `pipeline`, with an asynchronous function: `af(v, result_ch)` for each value.

    `af` starts some work and returns; that work later puts 0..k values on
    `result_ch` and must close it. Outputs keep input order: af runs ahead
    of the delivery by at most 2n + 2 values. With `ordered=False` they go
    to `to` as each item's work puts them: each of the n workers calls af,
    copies that `result_ch` to `to` until it closes, then takes the next
    value (n calls in flight). `af` runs in a go block, so it may also park
    (`put(result_ch, ...)` directly). If `af` raises, the exception is
    reported and the item yields what was put before (core.async stalls).
    Trap: a `result_ch` that is never closed stalls the pipeline at that
    item (ordered), or holds one of the n workers for good (unordered).
    Returns a channel that closes once everything has been delivered.

    >>> def af(v, res):
    ...     thread(lambda: (put(res, v * 2), close(res)))
    >>> out = chan(10)
    >>> take(pipeline_async(2, out, af, to_chan([1, 2])))
    >>> list(out)
    [2, 4]
    """
    return _pipeline("pipeline_async", n, to, af, frm, close, None, "async", ordered)


# ------------------------------------------------ collections <-> channels

def _onto_loop(ch: Chan[Any], it: Iterable[Any], close: bool) -> None:
    try:
        for v in it:
            if not put(ch, v):
                break
    finally:
        if close:
            ch.close()


def _iter(fname: str, coll: Any) -> Iterable[Any]:
    try:
        it: Iterable[Any] = iter(coll)
    except TypeError:
        raise TypeError(f"{fname}: coll must be iterable, got {coll!r}") from None
    return it


def onto_chan(ch: Chan[T], coll: Iterable[T], close: bool = True) -> Chan[Any]:
    """Put the values of `coll` on `ch` from a go block, then close `ch` (unless `close` is false).

    Stops early if `ch` is closed (and still closes it if `close`). Iterating
    `coll` must not block: use `onto_chan_thread` for that. Returns a channel
    that closes when done.

    >>> c = chan(3)
    >>> take(onto_chan(c, [1, 2, 3]))
    >>> list(c)
    [1, 2, 3]
    """
    _check_chan("onto_chan", "ch", ch)
    return go(_onto_loop, ch, _iter("onto_chan", coll), bool(close))


def onto_chan_thread(ch: Chan[T], coll: Iterable[T], close: bool = True) -> Chan[Any]:
    """Like `onto_chan`, on a pooled thread: for iterables whose iteration blocks.

    >>> c = chan()
    >>> onto_chan_thread(c, (line for line in open("data.txt")))
    """
    _check_chan("onto_chan_thread", "ch", ch)
    return thread(_onto_loop, ch, _iter("onto_chan_thread", coll), bool(close))


def to_chan(coll: Iterable[T]) -> Chan[T]:
    """A channel holding the values of `coll`, closed after the last.

    Its buffer is `min(len(coll), 100)` (for an iterator, up to 100 values
    are read ahead to size it); an empty `coll` gives a closed channel.

    >>> list(to_chan(range(3)))
    [0, 1, 2]
    """
    it = _iter("to_chan", coll)
    if isinstance(coll, Sized):
        n = min(len(coll), 100)
    else:
        head = list(islice(it, 100))
        n = len(head)
        it = chain(head, it)
    if n == 0:
        ch: Chan[T] = chan()
        ch.close()
        return ch
    ch = chan(n)
    go(_onto_loop, ch, it, True)
    return ch


# ------------------------------------------------------------------ reduce

def _reduce_loop(f: Callable[[Any, Any], Any], acc: Any, ch: Chan[Any]) -> Any:
    while True:
        v = take(ch)
        if v is None:
            return acc
        acc = f(acc, v)
        if acc.__class__ is Reduced or isinstance(acc, Reduced):
            return acc.value


def reduce(f: Callable[[Any, Any], Any], init: Any, ch: Chan[Any]) -> Chan[Any]:
    """A channel that receives `f(...f(f(init, v1), v2)..., vn)` once `ch` closes.

    If `ch` closes empty the result is `init` and `f` is never called. A
    step returning `xf.reduced(x)` ends the reduction at once with `x`,
    without draining `ch`. If `f` raises, the exception is reported and the
    channel closes with no value. (A None result just closes the channel.)

    >>> take(reduce(operator.add, 0, to_chan(range(10))))
    45
    """
    _check_callable("reduce", "f", f)
    _check_chan("reduce", "ch", ch)
    return go(_reduce_loop, f, init, ch)


def _transduce_loop(rf: Callable[..., Any], init: Any, ch: Chan[Any]) -> Any:
    return rf(_reduce_loop(rf, init, ch))


def transduce(xform: Transducer, f: Callable[..., Any], init: Any, ch: Chan[Any]) -> Chan[Any]:
    """Reduce `ch` with `xform(f)` from `init`, then complete; a channel of the result.

    As `xf.transduce`: `f` is wrapped with `xf.completing` when it lacks the
    one-argument completion arity. Completion runs even after an early
    `reduced`.

    >>> take(transduce(xf.map(lambda x: x + 1), operator.add, 0, to_chan(range(5))))
    15
    """
    _check_callable("transduce", "xform", xform)
    _check_callable("transduce", "f", f)
    _check_chan("transduce", "ch", ch)
    if not has_completion_arity(f):
        f = completing(f)
    return go(_transduce_loop, xform(f), init, ch)


def _append(acc: Any, x: Any) -> Any:
    acc.append(x)
    return acc


def _add(acc: Any, x: Any) -> Any:
    acc.add(x)
    return acc


def _assoc(acc: Any, pair: Any) -> Any:
    k, v = pair
    acc[k] = v
    return acc


def _into_loop(step: Callable[[Any, Any], Any], acc: Any, ch: Chan[Any],
               finish: Optional[Callable[[Any], Any]]) -> Any:
    acc = _reduce_loop(step, acc, ch)
    return acc if finish is None else finish(acc)


def into(coll: Any, ch: Chan[Any]) -> Chan[Any]:
    """A channel that receives a new collection of `coll`'s type: `coll`'s items plus `ch`'s values.

    `coll` is a list, tuple, set, frozenset, deque or dict (a dict takes
    `(key, value)` pairs); it is copied at the call and never changed.
    The result arrives once `ch` closes.

    >>> take(into([0], to_chan([1, 2])))
    [0, 1, 2]
    >>> take(into({}, to_chan([("a", 1)])))
    {'a': 1}
    """
    _check_chan("into", "ch", ch)
    finish: Optional[Callable[[Any], Any]] = None
    kind = type(coll)
    if kind is tuple or kind is frozenset:
        acc: Any = list(coll)
        step: Callable[[Any, Any], Any] = _append
        finish = kind
    elif isinstance(coll, dict):
        acc, step = copy.copy(coll), _assoc
    elif isinstance(coll, (list, deque)):
        acc, step = copy.copy(coll), _append
    elif isinstance(coll, set):
        acc, step = copy.copy(coll), _add
    else:
        raise TypeError("into: coll must be a list, tuple, set, frozenset, deque or dict, "
                        f"got {coll!r}")
    return go(_into_loop, step, acc, ch, finish)


# ------------------------------------------------------------------ merge

def _merge_loop(cs: List[Chan[Any]], out: Chan[Any]) -> None:
    try:
        while cs and not out.closed:
            v, c = alts(cs)
            if v is None:
                cs = [x for x in cs if x is not c]
            elif not put(out, v):
                return
    finally:
        out.close()


def merge(chs: Iterable[Chan[Any]], buf: Any = None) -> Chan[Any]:
    """A channel of every value taken from `chs` (in arrival order), closed when all of them are.

    `buf` is the output's buffer (None: unbuffered). `merge([])` is closed
    at once. Stops taking from `chs` once the output is closed.

    >>> sorted(take(into([], merge([to_chan([1, 2]), to_chan([3])]))))
    [1, 2, 3]
    """
    cs = _chan_list("merge", "chs", chs)
    out = _new_chan("merge", "buf", buf)
    go(_merge_loop, cs, out)
    return out


# ------------------------------------------------------------------ split

def _split_loop(pred: Callable[[Any], Any], ch: Chan[Any], tc: Chan[Any], fc: Chan[Any]) -> None:
    try:
        while not (tc.closed and fc.closed):
            v = take(ch)
            if v is None:
                return
            put(tc if pred(v) else fc, v)  # False: that output is closed; the value is dropped
    finally:
        tc.close()
        fc.close()


def split(pred: Callable[[Any], Any], ch: Chan[Any], t_buf: Any = None,
          f_buf: Any = None) -> Tuple[Chan[Any], Chan[Any]]:
    """Split `ch` by `pred`: returns `(true_ch, false_ch)`, both closed when `ch` closes.

    `t_buf`/`f_buf` are their buffers (None: unbuffered). A slow reader of
    one output holds back both. If one output is closed, values meant for
    it are dropped and the other keeps being served; split stops taking
    from `ch` once both are closed (core.async stops entirely and leaves
    the other output open).

    >>> evens, odds = split(lambda x: x % 2 == 0, to_chan(range(6)), 5, 5)
    >>> take(into([], evens)), take(into([], odds))
    ([0, 2, 4], [1, 3, 5])
    """
    _check_callable("split", "pred", pred)
    _check_chan("split", "ch", ch)
    tc = _new_chan("split", "t_buf", t_buf)
    fc = _new_chan("split", "f_buf", f_buf)
    go(_split_loop, pred, ch, tc, fc)
    return tc, fc


# ------------------------------------------------------------------ take_n

def _take_n_loop(n: int, ch: Chan[Any], out: Chan[Any]) -> None:
    try:
        for _ in range(n):
            if out.closed:
                return
            v = take(ch)
            if v is None or not put(out, v):
                return
    finally:
        out.close()


def take_n(n: int, ch: Chan[T], buf: Any = None) -> Chan[T]:
    """A channel of at most the first `n` values of `ch`; it closes after them or when `ch` closes.

    core.async's `take`. `buf` is the output's buffer (None: unbuffered).
    Stops taking from `ch` once the output is closed.

    >>> take(into([], take_n(2, to_chan(range(10)))))
    [0, 1]
    """
    _check_count("take_n", "n", n, 0)
    _check_chan("take_n", "ch", ch)
    out = _new_chan("take_n", "buf", buf)
    go(_take_n_loop, n, ch, out)
    return out


# -------------------------------------------------------------------- map

class _Round:
    """One round of `map`: a take_async on every source, results gathered on `done`."""

    __slots__ = ("lock", "left", "rets", "done")

    def __init__(self, n: int) -> None:
        self.lock = threading.Lock()
        self.left = 0
        self.rets: List[Any] = [None] * n
        self.done: Chan[Any] = chan(1)

    def start(self, n: int) -> None:
        self.left = n
        for i in range(n):
            self.rets[i] = None

    def arrive(self, i: int, v: Any) -> None:
        self.rets[i] = v
        with self.lock:
            self.left -= 1
            last = self.left == 0
        if last:
            put_async(self.done, list(self.rets))


def _map_loop(f: Callable[..., Any], cs: Sequence[Chan[Any]], out: Chan[Any]) -> None:
    n = len(cs)
    rnd = _Round(n)
    callbacks = [(lambda v, i=i: rnd.arrive(i, v)) for i in range(n)]
    try:
        while not out.closed:
            rnd.start(n)
            for i in range(n):
                try:
                    take_async(cs[i], callbacks[i])
                except TooManyPendingError as exc:
                    report_exception(exc)
                    rnd.arrive(i, None)  # counts as closed, as in core.async
            vals = take(rnd.done)
            if vals is None or any(v is None for v in vals):
                return
            if not put(out, f(*vals)):
                return
    finally:
        out.close()


def map(f: Callable[..., Any], chs: Iterable[Chan[Any]],  # noqa: A001 - shadows the builtin
        buf: Any = None) -> Chan[Any]:
    """A channel of `f(v1, ..., vk)` over one value taken from each of `chs` at a time.

    It closes as soon as any source is closed (the other values of that
    round are lost, as in core.async); `map(f, [])` is closed at once. `buf`
    is the output's buffer (None: unbuffered). Reach it as `gochan.map`: it is
    not in `__all__`, since it shadows the builtin.

    >>> take(into([], gochan.map(operator.add, [to_chan([1, 2]), to_chan([10, 20])])))
    [11, 22]
    """
    _check_callable("map", "f", f)
    cs = _chan_list("map", "chs", chs)
    out = _new_chan("map", "buf", buf)
    if not cs:
        out.close()
    else:
        go(_map_loop, f, cs, out)
    return out

