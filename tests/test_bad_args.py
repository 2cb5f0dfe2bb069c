"""Bad arguments: every public function of the core raises TypeError or
ValueError at the call, with a message naming the argument, and changes
nothing (SPEC "Errors and diagnostics").

(The combinators, timers and transducers have their own tests.)
"""
from __future__ import annotations

import io
import re
import threading
from typing import Any, Callable, List

import pytest

import gochan
from gochan import (
    alt,
    alts,
    buffer,
    chan,
    close,
    dropping_buffer,
    dump,
    go,
    go_fn,
    is_unblocking_buffer,
    offer,
    poll,
    promise_chan,
    put,
    put_async,
    set_exception_handler,
    sliding_buffer,
    take,
    take_async,
    thread,
)


def ok(v: Any, p: Any) -> Any:
    return v


C = chan(1)  # a valid channel for the cases that need one (never left changed)

CASES = [
    # (id, call, exception, argument named in the message)
    ("chan buf str", lambda: chan("3"), TypeError, "buf"),
    ("chan buf float", lambda: chan(1.5), TypeError, "buf"),
    ("chan buf bool", lambda: chan(True), TypeError, "buf"),
    ("chan buf negative", lambda: chan(-1), ValueError, "buf"),
    ("chan buf object", lambda: chan(object()), TypeError, "buf"),
    ("chan xform not callable", lambda: chan(1, 5), TypeError, "xform"),
    ("chan xform without buffer", lambda: chan(None, gochan.xf.map(str)), ValueError, "buf"),
    ("chan ex_handler not callable", lambda: chan(1, None, 5), TypeError, "ex_handler"),
    ("promise_chan xform", lambda: promise_chan(5), TypeError, "xform"),
    ("promise_chan ex_handler", lambda: promise_chan(None, 5), TypeError, "ex_handler"),
    ("buffer 0", lambda: buffer(0), ValueError, "n"),
    ("buffer -1", lambda: buffer(-1), ValueError, "n"),
    ("buffer None", lambda: buffer(None), TypeError, "n"),
    ("buffer str", lambda: buffer("2"), TypeError, "n"),
    ("buffer float", lambda: buffer(2.0), TypeError, "n"),
    ("buffer bool", lambda: buffer(True), TypeError, "n"),
    ("dropping_buffer 0", lambda: dropping_buffer(0), ValueError, "n"),
    ("dropping_buffer None", lambda: dropping_buffer(None), TypeError, "n"),
    ("sliding_buffer 0", lambda: sliding_buffer(0), ValueError, "n"),
    ("sliding_buffer str", lambda: sliding_buffer("1"), TypeError, "n"),
    ("is_unblocking_buffer int", lambda: is_unblocking_buffer(5), TypeError, "buf"),
    ("is_unblocking_buffer chan", lambda: is_unblocking_buffer(chan(1)), TypeError, "buf"),
    ("close None", lambda: close(None), TypeError, "c"),
    ("close int", lambda: close(5), TypeError, "c"),
    ("take None", lambda: take(None), TypeError, "c"),
    ("take list", lambda: take([C]), TypeError, "c"),
    ("put not a chan", lambda: put(5, 1), TypeError, "c"),
    ("put None value", lambda: put(C, None), ValueError, "v"),
    ("offer not a chan", lambda: offer("c", 1), TypeError, "c"),
    ("offer None value", lambda: offer(C, None), ValueError, "v"),
    ("poll not a chan", lambda: poll(None), TypeError, "c"),
    ("put_async not a chan", lambda: put_async(5, 1), TypeError, "c"),
    ("put_async None value", lambda: put_async(C, None), ValueError, "v"),
    ("put_async fn", lambda: put_async(C, 1, 5), TypeError, "fn"),
    ("take_async not a chan", lambda: take_async(5, print), TypeError, "c"),
    ("take_async fn None", lambda: take_async(C, None), TypeError, "fn"),
    ("take_async fn int", lambda: take_async(C, 5), TypeError, "fn"),
    ("alts empty", lambda: alts([]), ValueError, "ops"),
    ("alts None", lambda: alts(None), TypeError, "ops"),
    ("alts int", lambda: alts(5), TypeError, "ops"),
    ("alts generator", lambda: alts(x for x in [C]), TypeError, "ops"),
    ("alts bad op", lambda: alts([C, 5]), TypeError, "ops"),
    ("alts None op", lambda: alts([None]), TypeError, "ops"),
    ("alts triple", lambda: alts([(C, 1, 2)]), TypeError, "ops"),
    ("alts pair without chan", lambda: alts([("c", 1)]), TypeError, "ops"),
    ("alts None put", lambda: alts([(C, None)]), ValueError, "ops"),
    ("alt None", lambda: alt(None), TypeError, "clauses"),
    ("alt not pairs", lambda: alt([C]), TypeError, "clauses"),
    ("alt fn not callable", lambda: alt([(C, 5)]), TypeError, "clauses"),
    ("go int", lambda: go(5), TypeError, "fn"),
    ("go None", lambda: go(None), TypeError, "fn"),
    ("go_fn int", lambda: go_fn(5), TypeError, "fn"),
    ("thread str", lambda: thread("f"), TypeError, "fn"),
    ("set_exception_handler int", lambda: set_exception_handler(5), TypeError, "fn"),
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("call,exc,arg", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_argument_raises_naming_it(call: Callable[[], Any], exc: type, arg: str) -> None:
    with pytest.raises(exc) as info:
        call()
    assert re.search(rf"\b{arg}\b", str(info.value)), f"message does not name {arg!r}: {info.value}"
    # C was not changed by any of them
    assert poll(C) is None and not C.closed


def test_alt_empty_names_clauses() -> None:
    with pytest.raises(ValueError, match=r"\bclauses\b"):
        alt([])


def test_alt_bad_op_names_clauses() -> None:
    with pytest.raises(TypeError, match=r"\bclauses\b"):
        alt([(5, ok)])


# -------------------------------------------------------- inside a go block

GO_CASES = [
    ("take", lambda: take(5), TypeError, "c"),
    ("put chan", lambda: put(5, 1), TypeError, "c"),
    ("put None", lambda: put(C, None), ValueError, "v"),
    ("alts empty", lambda: alts([]), ValueError, "ops"),
    ("alts bad op", lambda: alts([5]), TypeError, "ops"),
    ("offer None", lambda: offer(C, None), ValueError, "v"),
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("call,exc,arg", [c[1:] for c in GO_CASES], ids=[c[0] for c in GO_CASES])
def test_bad_argument_in_go_block(call: Callable[[], Any], exc: type, arg: str) -> None:
    def body() -> Any:
        try:
            call()
        except Exception as e:
            return e
        return "no error"

    e = take(go(body))
    assert isinstance(e, exc), e
    assert re.search(rf"\b{arg}\b", str(e)), str(e)


# -------------------------------------------------------- nothing changes


@pytest.mark.timeout(10)
def test_none_put_leaves_a_pending_taker_waiting() -> None:
    c = chan()
    got: List[Any] = []
    take_async(c, got.append)
    for call in (lambda: put(c, None), lambda: offer(c, None), lambda: put_async(c, None, got.append),
                 lambda: c.put(None), lambda: alts([(c, None)]), lambda: alt([((c, None), ok)])):
        with pytest.raises(ValueError):
            call()
    assert got == []
    assert offer(c, 1) is True  # the taker was still there
    assert got == [1]


def test_none_put_leaves_buffer_unchanged() -> None:
    c = chan(2)
    put(c, "a")
    for call in (lambda: put(c, None), lambda: offer(c, None), lambda: put_async(c, None)):
        with pytest.raises(ValueError):
            call()
    assert "buffer(1/2)" in repr(c)
    assert poll(c) == "a" and poll(c) is None


def test_put_async_bad_fn_puts_nothing() -> None:
    c = chan(1)
    with pytest.raises(TypeError):
        put_async(c, 1, "not callable")
    assert poll(c) is None
    d = chan()
    with pytest.raises(TypeError):
        put_async(d, 1, 5)
    assert poll(d) is None  # no pending put was registered


def test_take_async_bad_fn_takes_nothing() -> None:
    c = chan(1)
    offer(c, "kept")
    with pytest.raises(TypeError):
        take_async(c, None)
    assert poll(c) == "kept"
    d = chan()
    with pytest.raises(TypeError):
        take_async(d, 5)
    assert offer(d, 1) is None  # no pending take was registered


@pytest.mark.parametrize("priority", [True, False])
def test_alts_bad_op_touches_no_channel(priority: bool) -> None:
    for _ in range(20):  # the random order must not matter
        ready = chan(1)
        offer(ready, "kept")
        empty = chan()
        for bad in (5, None, (ready,), ("x", 1), (empty, None)):
            with pytest.raises((TypeError, ValueError)):
                alts([ready, empty, bad], priority=priority)
            with pytest.raises((TypeError, ValueError)):
                alts([ready, bad], priority=priority, default="d")
        assert poll(ready) == "kept"
        assert offer(empty, 1) is None  # nothing registered on it


@pytest.mark.parametrize("priority", [True, False])
def test_alt_bad_clause_touches_no_channel(priority: bool) -> None:
    for _ in range(20):
        ready = chan(1)
        offer(ready, "kept")
        for bad in ((5, ok), (ready, "not callable"), ((ready, None), ok), [ready, ok], 5):
            with pytest.raises((TypeError, ValueError)):
                alt([(ready, ok), bad], priority=priority)
        assert poll(ready) == "kept"


@pytest.mark.timeout(10)
def test_bad_exception_handler_keeps_the_previous_one() -> None:
    seen: List[BaseException] = []
    set_exception_handler(seen.append)
    try:
        with pytest.raises(TypeError):
            set_exception_handler("not callable")
        ex = KeyError("still routed")

        def body() -> None:
            raise ex

        assert take(go(body)) is None
        done = threading.Event()
        for _ in range(500):
            if seen:
                break
            done.wait(0.01)
        assert seen == [ex]
    finally:
        set_exception_handler(None)


def test_bad_chan_arguments_do_not_create_anything() -> None:
    # a channel constructor that raises returns nothing half-made; the same
    # arguments, corrected, work
    with pytest.raises(ValueError):
        chan(-1)
    assert offer(chan(1), 1) is True


@pytest.mark.timeout(10)
def test_go_bad_fn_spawns_nothing() -> None:
    before = len(dump())
    for bad in (5, None, "fn"):
        with pytest.raises(TypeError):
            go(bad)
        with pytest.raises(TypeError):
            thread(bad)
    assert len(dump()) <= before


@pytest.mark.timeout(10)
def test_dump_bad_file_raises_naming_it() -> None:
    c = chan()

    def parked_in_user_code() -> Any:
        return take(c)

    g = go(parked_in_user_code)
    try:
        with pytest.raises(TypeError, match=r"\bfile\b"):
            dump(file=5)
        with pytest.raises(TypeError, match=r"\bfile\b"):
            dump(file="out.txt")
        out = io.StringIO()
        dump(file=out)  # a real file works
    finally:
        close(c)
        take(g)
