"""Go blocks, go_fn and thread: results, exceptions, parking semantics, hubs.

Ported from core.async's exceptions_test.clj (as exception-handler tests,
semantics reference §3.4), the go-level parts of ioc_macros_test.clj (§3.6:
try/except/finally across parks, loops, nested go, offer/poll inside go,
enqueued ops) and async_test.clj's thread tests (§3.1); plus what greenlets
add: parking at any call depth, non-go greenlets blocking like threads,
collection of go blocks parked on unreachable channels, and the hub pool.
"""
from __future__ import annotations

import contextvars
import gc
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, List

import pytest
from greenlet import greenlet

import gochan
from gochan import (
    Chan,
    alts,
    chan,
    close,
    go,
    go_fn,
    offer,
    poll,
    put,
    take,
    thread,
)
from gochan.process import go_on
from gochan.runtime import hubs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code: str, env: Any = None, timeout: float = 30) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.pop("GOCHAN_POOL_SIZE", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


# ------------------------------------------------------------------ results


@pytest.mark.timeout(10)
def test_go_delivers_result_then_closes() -> None:
    c = go(lambda: 42)
    assert isinstance(c, Chan)
    assert take(c) == 42
    assert take(c) is None
    assert c.closed


@pytest.mark.timeout(10)
def test_go_none_result_just_closes() -> None:
    c = go(lambda: None)
    assert take(c) is None
    assert c.closed


@pytest.mark.timeout(10)
def test_go_false_result_is_delivered() -> None:
    assert take(go(lambda: False)) is False


@pytest.mark.timeout(10)
def test_go_passes_args_and_kwargs() -> None:
    assert take(go(lambda a, b, *, k: (a, b, k), 1, 2, k=3)) == (1, 2, 3)


@pytest.mark.timeout(10)
def test_go_result_can_be_waited_from_go_block() -> None:
    assert take(go(lambda: take(go(lambda: 41)) + 1)) == 42


@pytest.mark.timeout(10)
def test_go_fn_decorator() -> None:
    calls: List[Any] = []

    @go_fn
    def add(a: int, b: int) -> int:
        """Adds."""
        calls.append((a, b))
        return a + b

    assert calls == []  # decorating runs nothing
    assert add.__name__ == "add" and add.__doc__ == "Adds."
    c1, c2 = add(1, 2), add(b=4, a=3)
    assert isinstance(c1, Chan)
    assert (take(c1), take(c2)) == (3, 7)
    assert sorted(calls) == [(1, 2), (3, 4)]


@pytest.mark.timeout(10)
def test_go_body_never_runs_inline_on_the_caller() -> None:
    me = threading.get_ident()
    assert take(go(threading.get_ident)) != me


@pytest.mark.timeout(10)
def test_go_spawned_from_go_starts_after_the_spawner_yields() -> None:
    log: List[Any] = []

    def child() -> int:
        log.append("child")
        return threading.get_ident()

    def parent() -> Any:
        c = go(child)
        log.append("parent")  # the spawner keeps running: the child is not run inline
        return threading.get_ident(), take(c)

    parent_ident, child_ident = take(go(parent))
    if parent_ident == child_ident:  # on one hub the order is fixed
        assert log == ["parent", "child"]
    else:
        assert sorted(log) == ["child", "parent"]


@pytest.mark.timeout(10)
def test_thread_delivers_result_then_closes() -> None:
    c = thread(lambda a, k=0: a + k, 40, k=2)
    assert take(c) == 42
    assert take(c) is None
    assert take(thread(lambda: None)) is None
    assert take(thread(lambda: False)) is False


@pytest.mark.timeout(10)
def test_thread_runs_on_a_daemon_thread() -> None:
    me = threading.get_ident()
    ident, daemon = take(thread(lambda: (threading.get_ident(), threading.current_thread().daemon)))
    assert ident != me and daemon is True


@pytest.mark.timeout(10)
def test_thread_blocking_ops_chain() -> None:
    # io-thread-tests: blocking ops work across chained threads
    c = chan()
    first = thread(lambda: put(c, "loop"))
    second = thread(lambda: take(c) + " POOL")
    assert take(second) == "loop POOL"
    assert take(first) is True


@pytest.mark.timeout(20)
def test_thread_pool_reuses_threads() -> None:
    idents = {take(thread(threading.get_ident)) for _ in range(20)}
    assert len(idents) <= 10  # sequential jobs are served by idle workers


# -------------------------------------------------------------- exceptions


@pytest.mark.timeout(10)
def test_exception_in_go_is_reported_and_closes_the_channel(reported) -> None:
    ex = RuntimeError("in go")

    def body() -> None:
        raise ex

    c = go(body)
    assert take(c) is None
    assert reported.wait_for(1)[0] is ex
    assert reported.threads[0] != threading.current_thread().name  # reported on the hub


@pytest.mark.timeout(10)
def test_exception_in_thread_is_reported_and_closes_the_channel(reported) -> None:
    ex = RuntimeError("in thread")

    def body() -> None:
        raise ex

    c = thread(body)
    assert take(c) is None
    assert reported.wait_for(1)[0] is ex


@pytest.mark.timeout(10)
def test_exception_after_parking_is_reported(reported) -> None:
    a, b = chan(), chan()

    def in_go() -> None:
        alts([a, b])
        raise KeyError("after alts")

    def in_thread() -> None:
        alts([a, b])
        raise KeyError("after alts, thread")

    g = go(in_go)
    t = thread(in_thread)
    put(a, 1)
    put(b, 2)
    assert take(g) is None
    assert take(t) is None
    excs = reported.wait_for(2)
    assert sorted(e.args[0] for e in excs) == ["after alts", "after alts, thread"]


@pytest.mark.timeout(20)
def test_hubs_and_other_go_blocks_survive_exceptions(reported) -> None:
    n = len(hubs())
    c = chan()
    survivors = [go_on(i, take, c) for i in range(n)]
    failures = [go_on(i % n, lambda i=i: 1 / 0) for i in range(10 * n)]
    assert [take(f) for f in failures] == [None] * (10 * n)
    assert len(reported.wait_for(10 * n)) == 10 * n
    assert all(isinstance(e, ZeroDivisionError) for e in reported.excs)
    for i in range(n):  # every hub still runs new go blocks...
        assert take(go_on(i, lambda: "alive")) == "alive"
    for i in range(n):  # ...and resumes the ones parked before the failures
        put(c, i)
    assert sorted(take(s) for s in survivors) == list(range(n))


@pytest.mark.timeout(10)
def test_a_raising_handler_is_logged_not_propagated(caplog) -> None:
    seen: List[BaseException] = []

    def handler(exc: BaseException) -> None:
        seen.append(exc)
        raise ValueError("handler broke")

    gochan.set_exception_handler(handler)
    try:
        with caplog.at_level(logging.ERROR, logger="gochan"):
            ex = KeyError("body")

            def body() -> None:
                raise ex

            assert take(go(body)) is None
            deadline = time.monotonic() + 5
            while not any(r.exc_info and r.exc_info[1] is ex for r in caplog.records):
                assert time.monotonic() < deadline, caplog.records
                time.sleep(0.005)
        assert seen == [ex]
        assert take(go(lambda: "hub fine")) == "hub fine"
    finally:
        gochan.set_exception_handler(None)


@pytest.mark.timeout(10)
def test_default_handler_logs_the_traceback(caplog) -> None:
    gochan.set_exception_handler(None)
    ex = LookupError("logged")

    def body() -> None:
        raise ex

    with caplog.at_level(logging.ERROR, logger="gochan"):
        assert take(go(body)) is None
        deadline = time.monotonic() + 5
        while not any(r.exc_info and r.exc_info[1] is ex for r in caplog.records):
            assert time.monotonic() < deadline, caplog.records
            time.sleep(0.005)
    rec = next(r for r in caplog.records if r.exc_info and r.exc_info[1] is ex)
    assert rec.name == "gochan" and rec.levelno >= logging.ERROR
    assert rec.exc_info[2] is not None  # with its traceback


@pytest.mark.timeout(10)
def test_handler_return_value_is_ignored(reported) -> None:
    gochan.set_exception_handler(lambda exc: "ignored")
    c = go(lambda: 1 / 0)
    assert take(c) is None  # the handler's return is not put on the channel


# ------------------------------------------------- try/except/finally & parks


@pytest.mark.timeout(10)
def test_try_except_finally_across_parks() -> None:
    c = chan(10)
    for i in range(5):
        put(c, i)
    log: List[Any] = []

    def body() -> str:
        try:
            log.append(take(c))  # does not park: buffered
            log.append(take(c))
            raise ValueError(take(c))
        except ValueError as exc:
            log.append(("caught", exc.args[0], take(c)))  # a take inside except
        finally:
            log.append(("finally", take(c)))
        return "done"

    assert take(go(body)) == "done"
    assert log == [0, 1, ("caught", 2, 3), ("finally", 4)]


@pytest.mark.timeout(10)
def test_parks_inside_try_except_finally_really_park() -> None:
    c = chan()
    log: List[Any] = []

    def body() -> Any:
        try:
            v = take(c)
            raise ValueError(v)
        except ValueError as exc:
            log.append(("except", exc.args[0], take(c)))
        finally:
            log.append(("finally", take(c)))
        return "done"

    g = go(body)
    for v in ("a", "b", "c"):
        put(c, v)  # each put waits for the go block to park on its next take
    assert take(g) == "done"
    assert log == [("except", "a", "b"), ("finally", "c")]


@pytest.mark.timeout(10)
def test_finally_with_park_does_not_change_return_value() -> None:
    c = chan()

    def body() -> int:
        try:
            return 1
        finally:
            take(c)

    g = go(body)
    put(c, "x")
    assert take(g) == 1


@pytest.mark.timeout(10)
def test_except_selected_by_class_hierarchy() -> None:
    class Base(Exception):
        pass

    class Derived(Base):
        pass

    c = chan()

    def body() -> str:
        try:
            take(c)
            raise Derived()
        except KeyError:
            return "wrong"
        except Base:
            return "base"

    g = go(body)
    put(c, 1)
    assert take(g) == "base"


@pytest.mark.timeout(10)
def test_non_matching_except_rethrows_without_looping(reported) -> None:
    c = chan()
    runs: List[int] = []
    ex = TypeError("not caught")

    def body() -> None:
        runs.append(1)
        try:
            take(c)
            raise ex
        except ValueError:
            runs.append(99)

    g = go(body)
    put(c, 1)
    assert take(g) is None
    assert reported.wait_for(1) == [ex]
    assert runs == [1]


@pytest.mark.timeout(10)
def test_nested_handlers_rethrowing_build_message() -> None:
    c = chan(3)
    for v in "eee":
        put(c, v)

    def body() -> str:
        try:
            try:
                try:
                    raise ValueError(take(c))
                except ValueError as e:
                    raise ValueError(e.args[0] + take(c)) from e
            except ValueError as e:
                raise ValueError(e.args[0] + take(c)) from e
        except ValueError as e:
            return e.args[0]

    assert take(go(body)) == "eee"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("mode", ["normal", "rethrow", "parks"])
def test_nested_finally_blocks_each_run_once(mode: str) -> None:
    c = chan(10)
    for i in range(10):
        put(c, i)
    counter: List[int] = []

    def body() -> Any:
        try:
            try:
                if mode != "normal":
                    raise ValueError("x")
            except ValueError:
                if mode == "parks":
                    take(c)
                raise
            finally:
                if mode == "parks":
                    take(c)
                counter.append(1)
        except ValueError:
            if mode == "parks":
                take(c)
        finally:
            if mode == "parks":
                take(c)
            counter.append(1)
        return "ok"

    assert take(go(body)) == "ok"
    assert len(counter) == 2


@pytest.mark.timeout(10)
def test_inner_try_does_not_replace_outer_exception_handling() -> None:
    # ASYNC-198
    c = chan(5)
    for i in range(5):
        put(c, i)
    log: List[Any] = []

    def body() -> Any:
        try:
            try:
                take(c)
                raise KeyError("outer")
            finally:
                try:
                    take(c)
                    raise ValueError("inner")
                except ValueError:
                    log.append("inner handled")
                finally:
                    log.append("inner finally")
        except KeyError as e:
            log.append(("outer handled", e.args[0]))
        return log

    assert take(go(body)) == ["inner handled", "inner finally", ("outer handled", "outer")]


@pytest.mark.timeout(10)
def test_loop_summing_until_close() -> None:
    c = chan()

    def consumer() -> int:
        total = 0
        while True:
            v = take(c)
            if v is None:
                return total
            total += v

    g = go(consumer)
    for i in range(100):
        put(c, i)
    close(c)
    assert take(g) == sum(range(100))


@pytest.mark.timeout(10)
def test_take_in_loop_header() -> None:
    c = chan()

    def producer() -> None:
        for i in range(5):
            put(c, i)
        close(c)

    go(producer)
    assert take(go(lambda: [v for v in iter(lambda: take(c), None)])) == [0, 1, 2, 3, 4]


@pytest.mark.timeout(10)
def test_nested_go() -> None:
    # go-nests
    def outer() -> List[int]:
        inner = go(lambda: 23)
        return [take(inner), 42]

    assert take(go(outer)) == [23, 42]


@pytest.mark.timeout(10)
def test_offer_poll_inside_go() -> None:
    def body() -> List[Any]:
        c = chan(2)
        return [offer(c, 5), offer(c, 6), poll(c), poll(c), poll(c)]

    assert take(go(body)) == [True, True, 5, 6, None]


@pytest.mark.timeout(10)
def test_enqueued_put_resumes() -> None:
    c = chan()

    def body() -> int:
        put(c, 1)
        return 42

    g = go(body)
    assert take(c) == 1
    assert take(g) == 42


@pytest.mark.timeout(10)
def test_enqueued_take_resumes() -> None:
    c = chan()
    g = go(lambda: take(c) + 1)
    put(c, 41)
    assert take(g) == 42


@pytest.mark.timeout(10)
def test_repeated_puts_on_full_buffer_resume() -> None:
    c = chan(1)

    def body() -> str:
        for i in range(20):
            put(c, i)
        return "all put"

    g = go(body)
    assert [take(c) for _ in range(20)] == list(range(20))
    assert take(g) == "all put"


@pytest.mark.timeout(10)
def test_go_nil_result() -> None:
    assert take(go(lambda: None)) is None


# -------------------------------------------------------------- contextvars

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("gochan_test_var", default="unset")


@pytest.mark.timeout(10)
def test_go_copies_the_spawners_context() -> None:
    token = VAR.set("main")
    try:
        def body() -> str:
            seen = VAR.get()
            VAR.set("changed in go")
            return seen

        assert take(go(body)) == "main"
        assert VAR.get() == "main"  # the go block's change stays in its copy
    finally:
        VAR.reset(token)


@pytest.mark.timeout(10)
def test_thread_copies_the_spawners_context() -> None:
    token = VAR.set("main")
    try:
        def body() -> str:
            seen = VAR.get()
            VAR.set("changed in thread")
            return seen

        assert take(thread(body)) == "main"
        assert VAR.get() == "main"
    finally:
        VAR.reset(token)


@pytest.mark.timeout(10)
def test_context_set_in_go_block_persists_across_parks_and_reaches_children() -> None:
    # test-binding: a binding established inside a go block survives parking
    c = chan()

    def body() -> Any:
        VAR.set("in go")
        take(c)  # park; resumed by a put from another thread
        child = go(VAR.get)
        return VAR.get(), take(child)

    g = go(body)
    put(c, 1)
    assert take(g) == ("in go", "in go")
    assert VAR.get() == "unset"


@pytest.mark.timeout(10)
def test_go_blocks_do_not_share_context() -> None:
    c = chan()

    def body(name: str) -> str:
        VAR.set(name)
        take(c)
        return VAR.get()

    gs = [go_on(0, body, f"g{i}") for i in range(10)]  # one hub: interleaved on one thread
    for _ in range(10):
        put(c, 1)
    assert [take(g) for g in gs] == [f"g{i}" for i in range(10)]


# ------------------------------------------------------ parking, greenlets


@pytest.mark.timeout(10)
def test_parking_at_call_depth_3_parks_the_go_block() -> None:
    c = chan()

    def level3() -> Any:
        return take(c)

    def level2() -> Any:
        return ("l2", level3())

    def level1() -> Any:
        return ("l1", level2())

    g = go_on(0, level1)
    # the hub is free while the go block waits: another go block on it runs to the end
    for _ in range(3):
        assert take(go_on(0, lambda: "hub not blocked")) == "hub not blocked"
    put(c, "deep")
    assert take(g) == ("l1", ("l2", "deep"))


@pytest.mark.timeout(10)
def test_put_and_alts_park_at_depth_too() -> None:
    a, b = chan(), chan()

    def helper_put() -> Any:
        return put(a, "x")

    def helper_alts() -> Any:
        return alts([b])

    g = go_on(0, lambda: (helper_put(), helper_alts()))
    assert take(go_on(0, lambda: "free")) == "free"
    assert take(a) == "x"
    assert take(go_on(0, lambda: "free")) == "free"
    put(b, "y")
    assert take(g) == (True, ("y", b))


@pytest.mark.timeout(10)
def test_non_go_greenlet_in_a_thread_blocks(bg) -> None:
    c = chan()

    def in_greenlet() -> Any:
        return greenlet(lambda: take(c)).switch()

    t = bg(in_greenlet)
    assert t.blocked()
    put(c, "v")
    assert t.join() == "v"


@pytest.mark.timeout(10)
def test_non_go_greenlet_in_a_go_block_blocks_its_hub(bg) -> None:
    c = chan()
    g = go_on(0, lambda: greenlet(lambda: take(c)).switch())
    other = bg(take, go_on(0, lambda: "ran"))
    # the user's greenlet blocks the hub's thread, like a thread would be blocked
    assert other.blocked()
    put(c, "v")
    assert take(g) == "v"
    assert other.join() == "ran"


# --------------------------------------------------------------- spawning


@pytest.mark.timeout(20)
def test_go_blocks_spawned_from_go_blocks() -> None:
    def child(i: int, j: int) -> int:
        return i * j

    def parent(i: int) -> int:
        kids = [go(child, i, j) for j in range(20)]
        return sum(take(k) for k in kids)

    parents = [go(parent, i) for i in range(50)]
    assert [take(p) for p in parents] == [i * sum(range(20)) for i in range(50)]


@pytest.mark.timeout(20)
def test_deep_chain_of_go_blocks_waiting_on_their_children() -> None:
    def level(n: int) -> int:
        if n == 0:
            return 0
        return take(go(level, n - 1)) + 1

    assert take(go(level, 200)) == 200


@pytest.mark.timeout(20)
def test_many_go_blocks_parked_at_once() -> None:
    c = chan()
    n = 1000
    done = chan(n)

    def body(i: int) -> None:
        v = take(c)
        put(done, (i, v))

    for i in range(n):
        go(body, i)
    for i in range(n):
        put(c, i)
    got = [take(done) for _ in range(n)]
    assert sorted(i for i, _ in got) == list(range(n))
    assert sorted(v for _, v in got) == list(range(n))


# --------------------------------------------------------------------- GC


class Payload:
    """A weak-referenceable argument, to see when a finished go block lets go of it."""


@pytest.mark.timeout(30)
def test_finished_go_blocks_let_go_of_their_arguments_and_results() -> None:
    """A greenlet outlives its go block (it is kept for reuse), so it must not keep the go
    block's function, arguments or result alive. 3,000 go blocks parked at once need
    fresh greenlets on every hub, whose first go block arrives differently from later ones."""
    import weakref
    n = 3000
    gates = [chan() for _ in range(n)]
    args = [Payload() for _ in range(n)]
    refs = [weakref.ref(a) for a in args]

    def body(p: Payload, gate: Chan) -> Payload:
        take(gate)
        return Payload()

    results = [go(body, a, g) for a, g in zip(args, gates, strict=True)]
    del args
    for g in gates:
        close(g)
    outs = [take(r) for r in results]
    out_refs = [weakref.ref(o) for o in outs]
    del outs, results

    def alive() -> int:
        return sum(r() is not None for r in refs) + sum(r() is not None for r in out_refs)

    # A go block lets go of its result just after delivering it: allow the hubs a moment.
    deadline = time.monotonic() + 5.0
    while alive() and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.01)
    assert alive() == 0, f"{alive()} arguments or results of finished go blocks are still alive"



# -------------------------------------------------------------------- hubs


@pytest.mark.timeout(10)
def test_thread_wakes_go_block_on_another_hub(bg) -> None:
    c = chan()
    g = go_on(0, lambda: (take(c), threading.get_ident()))
    t = bg(put, c, "from thread")
    assert t.join() is True
    v, ident = take(g)
    assert v == "from thread" and ident != t.ident


@pytest.mark.timeout(10)
def test_go_block_wakes_go_block_on_another_hub() -> None:
    if len(hubs()) < 2:
        pytest.skip("needs two hubs")
    c, d = chan(), chan()
    g0 = go_on(0, lambda: (take(c), threading.get_ident(), put(d, "back")))
    g1 = go_on(1, lambda: (put(c, "across"), threading.get_ident(), take(d)))
    v0, ident0, ok0 = take(g0)
    ok1, ident1, v1 = take(g1)
    assert (v0, ok0, ok1, v1) == ("across", True, True, "back")
    assert ident0 != ident1


@pytest.mark.timeout(30)
def test_cross_hub_ping_pong() -> None:
    n = len(hubs())
    ping, pong = chan(), chan()
    rounds = 2000

    def pinger() -> int:
        for i in range(rounds):
            put(ping, i)
            assert take(pong) == i
        return rounds

    def ponger() -> int:
        for _ in range(rounds):
            put(pong, take(ping))
        return rounds

    a = go_on(0, pinger)
    b = go_on(min(1, n - 1), ponger)
    assert (take(a), take(b)) == (rounds, rounds)


@pytest.mark.timeout(60)
def test_pool_size_from_env() -> None:
    code = """
        import threading
        import gochan, gochan.runtime
        from gochan import go, take
        idents = {take(go(threading.get_ident)) for _ in range(60)}
        print(len(gochan.runtime.hubs()), len(idents), all(t.daemon for t in threading.enumerate()
              if t.ident in idents))
    """
    for size in ("1", "3"):
        r = run_python(code, {"GOCHAN_POOL_SIZE": size})
        assert r.returncode == 0, r.stderr
        hubs_n, used, daemons = r.stdout.split()
        assert hubs_n == size
        assert 1 <= int(used) <= int(size)
        assert daemons == "True"
    r = run_python(code, {"GOCHAN_POOL_SIZE": "1"})
    assert r.stdout.split()[1] == "1"  # one hub: every go block on one thread


@pytest.mark.timeout(60)
def test_bad_pool_size_env_is_an_error_naming_it() -> None:
    r = run_python("""
        from gochan import go, take
        try:
            take(go(lambda: 1))
        except ValueError as e:
            print("ValueError", e)
    """, {"GOCHAN_POOL_SIZE": "0"})
    assert "ValueError" in r.stdout and "GOCHAN_POOL_SIZE" in r.stdout, (r.stdout, r.stderr)


@pytest.mark.timeout(60)
def test_program_exits_while_go_blocks_and_threads_are_parked() -> None:
    start = time.monotonic()
    r = run_python("""
        from gochan import chan, go, take, thread, put
        for i in range(200):
            go(take, chan())
        go(put, chan(), 1)
        thread(take, chan())
        print("main done")
    """, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "main done"
    assert time.monotonic() - start < 20


@pytest.mark.timeout(60)
def test_idle_hub_does_not_spin() -> None:
    # in a fresh process, so no timers or go blocks of other tests are around
    r = run_python("""
        import time
        import gochan.runtime
        from gochan import chan, go, take
        from gochan.process import go_on
        parked = [go(take, chan()) for _ in range(10)]
        for i in range(len(gochan.runtime.hubs())):
            take(go_on(i, lambda: 1))
        time.sleep(0.05)
        before = [h.passes for h in gochan.runtime.hubs()]
        time.sleep(0.3)
        after = [h.passes for h in gochan.runtime.hubs()]
        print(max(a - b for a, b in zip(after, before)))
    """)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) < 20  # a polling loop would make thousands of passes
