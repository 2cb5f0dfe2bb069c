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

pipeline, as core.async builds it: `jobs` and `results` are chans of size n.
The input loop takes v, makes a one-slot promise `p`, puts (v, p) on jobs and
p on results, in input order. Each of the n workers takes a job, runs v
through a fresh `chan(1, xform, ex_handler)` (so stateful transducers start
afresh per item), closes it and puts it on p. The output loop takes each p
in order, then copies that item's values to `to`. Order comes from
`results`, parallelism from the workers; at most about n + 2 items are in
flight.
"""
from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Sized
from itertools import chain, islice
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple, TypeVar

from .cancel import cancel
from .channel import Chan, chan
from .errors import Cancelled, TooManyPendingError, report_exception
from .ops import alts, put, put_async, take, take_async
from .process import go, thread
from .xf import Reduced, Transducer, completing, has_completion_arity

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

def _pipeline_in(frm: Chan[Any], jobs: Chan[Any], results: Chan[Any]) -> None:
    # jobs is closed by someone else only when the output loop found `to` closed.
    try:
        while not jobs.closed:
            v = take(frm)
            if v is None:
                jobs.close()
                return
            p: Chan[Any] = chan(1)
            if not put(jobs, (v, p)):
                return
            put(results, p)
    except Cancelled:
        jobs.close()  # the workers finish what they have, close `results`, the output loop ends
        raise


def _pipeline_worker(jobs: Chan[Any], results: Chan[Any], xform: Transducer,
                     ex_handler: Optional[Callable[[BaseException], Any]]) -> None:
    """One of the n workers of pipeline (a go block) and pipeline_blocking (a thread)."""
    while True:
        job = take(jobs)
        if job is None:
            results.close()
            return
        v, p = job
        res: Chan[Any] = chan(1, xform, ex_handler)
        try:
            put(res, v)  # never waits: the buffer is empty; the xform may over-fill it
        except Exception as exc:  # only the ex_handler itself can raise here
            report_exception(exc)
        res.close()  # runs the xform's completion (e.g. partition_all's flush)
        put(p, res)


def _pipeline_async_worker(jobs: Chan[Any], results: Chan[Any],
                           af: Callable[[Any, Chan[Any]], Any]) -> None:
    while True:
        job = take(jobs)
        if job is None:
            results.close()
            return
        v, p = job
        res: Chan[Any] = chan(1)
        try:
            af(v, res)
        except Exception as exc:
            report_exception(exc)
            res.close()  # the item yields what af put before raising; the pipeline goes on
        put(p, res)


def _pipeline_out(results: Chan[Any], to: Chan[Any], jobs: Chan[Any], close: bool,
                   helpers: List[Chan[Any]]) -> None:
    try:
        _pipeline_out_loop(results, to, jobs, close)
    except Cancelled:  # cancel(pipeline(...)): stop all of it, close what it owns
        jobs.close()
        for h in helpers:
            cancel(h)
        if close:
            to.close()
        raise


def _pipeline_out_loop(results: Chan[Any], to: Chan[Any], jobs: Chan[Any], close: bool) -> None:
    open_ = True
    while True:
        p = take(results)
        if p is None:
            if close:
                to.close()
            return
        if open_ and to.closed:
            open_ = False
            jobs.close()  # tells the input loop to stop consuming `frm`
        if not open_:
            continue  # `to` is closed: drain `results` so the input loop and workers finish
        res = take(p)  # never None: every job's p gets its res
        while res is not None:
            v = take(res)
            if v is None:
                break
            if not put(to, v):
                open_ = False
                jobs.close()  # tells the input loop to stop consuming `frm`
                break


def _pipeline(fname: str, n: Any, to: Any, xform: Any, frm: Any, close: Any,
              ex_handler: Any, kind: str) -> Chan[Any]:
    _check_count(fname, "n", n, 1)
    _check_chan(fname, "to", to)
    _check_callable(fname, "af" if kind == "async" else "xform", xform)
    _check_chan(fname, "frm", frm)
    if ex_handler is not None:
        _check_callable(fname, "ex_handler", ex_handler)
    jobs: Chan[Any] = chan(n)
    results: Chan[Any] = chan(n)
    helpers: List[Chan[Any]] = []
    for _ in range(n):
        if kind == "async":
            helpers.append(go(_pipeline_async_worker, jobs, results, xform))
        elif kind == "blocking":
            helpers.append(thread(_pipeline_worker, jobs, results, xform, ex_handler))
        else:
            helpers.append(go(_pipeline_worker, jobs, results, xform, ex_handler))
    helpers.append(go(_pipeline_in, frm, jobs, results))
    return go(_pipeline_out, results, to, jobs, bool(close), helpers)


def pipeline(n: int, to: Chan[Any], xform: Transducer, frm: Chan[Any], close: bool = True,
             ex_handler: Optional[Callable[[BaseException], Any]] = None) -> Chan[Any]:
    """Run every value of `frm` through `xform` with parallelism `n`, onto `to`, in input order.

    Each value goes through its own fresh `chan(1, xform, ex_handler)`, so a
    stateful transducer (take, partition_all, ...) starts afresh for every
    item, and an item may yield 0..k values. An exception in the xform goes
    to `ex_handler(exc)`; its non-None result is emitted in that item's
    place (without a handler the exception is reported and the item yields
    nothing). `to` is closed when `frm` closes, unless `close` is false.

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
    """
    return _pipeline("pipeline", n, to, xform, frm, close, ex_handler, "compute")


def pipeline_blocking(n: int, to: Chan[Any], xform: Transducer, frm: Chan[Any],
                      close: bool = True,
                      ex_handler: Optional[Callable[[BaseException], Any]] = None) -> Chan[Any]:
    """Like `pipeline`, but the xform runs on `n` pooled threads (`gochan.thread`), so it may block.

    Returns a channel that closes once everything has been delivered.

    >>> out = chan(10)
    >>> slow = xf.map(lambda url: fetch(url))          # blocking I/O is fine here
    >>> take(pipeline_blocking(8, out, slow, to_chan(urls)))
    """
    return _pipeline("pipeline_blocking", n, to, xform, frm, close, ex_handler, "blocking")


def pipeline_async(n: int, to: Chan[Any], af: Callable[[Any, Chan[Any]], Any], frm: Chan[Any],
                   close: bool = True) -> Chan[Any]:
    """Like `pipeline`, with an asynchronous function: `af(v, result_ch)` for each value.

    `af` starts some work and returns; that work later puts 0..k values on
    `result_ch` and must close it. Up to `n` calls are in flight; outputs
    keep input order. `af` runs in a go block, so it may also park
    (`put(result_ch, ...)` directly). If `af` raises, the exception is
    reported and the item yields what was put before (core.async stalls).
    Trap: a `result_ch` that is never closed stalls the pipeline at that item
    (outputs are in order). Returns a channel that closes once everything
    has been delivered.

    >>> def af(v, res):
    ...     thread(lambda: (put(res, v * 2), close(res)))
    >>> out = chan(10)
    >>> take(pipeline_async(2, out, af, to_chan([1, 2])))
    >>> list(out)
    [2, 4]
    """
    return _pipeline("pipeline_async", n, to, af, frm, close, None, "async")


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

