"""Runtime lifecycle: os.fork() gives the child a fresh runtime; shutdown() stops the runtime and a
later use starts a new one. Each test runs in a fresh process (the runtime is process-global)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

# Shared by the scripts: pending takes of a channel (stats when available, else the repr's count)
# and "every idle pool thread is waiting" (best effort: the tests pass either way).
PRELUDE = """
import os, re, sys, threading, time, warnings
warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() in a multi-threaded process
import gochan
from gochan import alts, chan, close, go, offer, put, take, thread, timeout

def pending_takes(c):
    stats = getattr(gochan, "stats", None)
    if stats is not None:
        return stats(c).pending_takes
    return int(re.search(r"takes=(\\d+)", repr(c)).group(1))

def wait_for(pred, what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.001)

def pool_threads_idle():
    frames = sys._current_frames()
    for t in threading.enumerate():
        if t.name.startswith("gochan-thread"):
            f = frames.get(t.ident)
            if f is None or os.path.basename(f.f_code.co_filename) != "threading.py":
                return False
    return True

def gochan_threads():
    return [t for t in threading.enumerate() if t.name.startswith("gochan")]
"""


def run_script(body: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("GOCHAN_POOL_SIZE", None)
    code = PRELUDE + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _ok(r: Any) -> None:
    assert r.returncode == 0 and "ALL OK" in r.stdout, f"rc={r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"


# ------------------------------------------------------------------ fork


@pytest.mark.timeout(40)
def test_fork_child_gets_a_fresh_runtime_and_the_parent_is_unaffected() -> None:
    r = run_script("""
        # the parent's runtime has run: hubs, a pool thread (now idle), timers
        assert take(go(lambda: 1)) == 1
        assert take(thread(lambda: 2)) == 2
        deadline = time.monotonic() + 2.0
        while not pool_threads_idle() and time.monotonic() < deadline:
            time.sleep(0.001)
        assert take(timeout(5)) is None
        armed = timeout(60000)  # still pending at the fork

        c = chan()
        parked = go(take, c)  # a parent go block parked on a channel the child shares
        wait_for(lambda: pending_takes(c) == 1, "the parent's go block to park")
        b = chan(2)
        put(b, "kept")

        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rd)
            def say(msg):
                os.write(wr, (msg + "\\n").encode())

            def check_offer():
                got = offer(c, 1)
                assert got is None, "offer to the parent's taker returned %r" % (got,)

            def check_buffered():
                assert take(b) == "kept"

            def check_go():
                assert take(go(lambda: 42)) == 42

            def check_timeout():
                t0 = time.monotonic()
                v, port = alts([chan(), timeout(100)])
                el = time.monotonic() - t0
                assert v is None and 0.099 <= el < 2.0, el

            def check_thread():
                assert take(thread(lambda: 7)) == 7

            failed = 0
            for check in (check_offer, check_buffered, check_go, check_timeout, check_thread):
                # each on its own plain thread, so that one that hangs does not hide the others
                err = []
                def run():
                    try:
                        check()
                    except BaseException as e:
                        err.append(e)
                t = threading.Thread(target=run, daemon=True)
                t.start()
                t.join(3)
                if t.is_alive():
                    failed += 1
                    say("%s: HUNG" % check.__name__)
                elif err:
                    failed += 1
                    say("%s: %r" % (check.__name__, err[0]))
                else:
                    say("%s: ok" % check.__name__)
            os._exit(1 if failed else 0)
        os.close(wr)
        # the parent: its go block still gets what the parent puts
        assert put(c, "x") is True
        assert take(parked) == "x"
        assert take(go(lambda: 5)) == 5
        assert take(thread(lambda: 6)) == 6
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.01)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        log = b""
        while True:
            chunk = os.read(rd, 4096)
            if not chunk:
                break
            log += chunk
        print("child said:", log.decode().replace("\\n", " | "))
        assert status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, \\
            "child failed or hung (status %r)" % (status,)
        close(armed)
        print("ALL OK")
    """)
    _ok(r)


@pytest.mark.timeout(40)
def test_fork_child_closing_a_shared_channel_does_not_wake_the_parents_go_block() -> None:
    r = run_script("""
        c = chan()
        parked = go(take, c)
        wait_for(lambda: pending_takes(c) == 1, "the parent's go block to park")
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                close(c)  # wakes nobody in the child: the parent's taker does not exist here
                assert take(go(lambda: 3)) == 3
                code = 0
            finally:
                os._exit(code)
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.01)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("child hung")
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        assert not c.closed  # the child's close is the child's own
        assert put(c, "still mine") is True
        assert take(parked) == "still mine"
        print("ALL OK")
    """)
    _ok(r)


# ------------------------------------------------------------------ shutdown


@pytest.mark.timeout(40)
def test_shutdown_cancels_go_blocks_runs_finally_and_stops_every_thread() -> None:
    r = run_script("""
        log = []

        def waiter(c):
            try:
                return take(c)
            finally:
                log.append("take")

        def alter(a, b):
            try:
                return alts([a, (b, 1)])
            finally:
                log.append("alts")

        cs = [chan() for _ in range(3)]
        results = [go(waiter, c) for c in cs]
        a, b = chan(), chan()
        results.append(go(alter, a, b))
        assert take(thread(lambda: 1)) == 1  # a pool thread, idle by now or soon
        armed = timeout(60000)  # a pending timer
        for c in cs:
            wait_for(lambda: pending_takes(c) == 1, "the go blocks to park")
        wait_for(lambda: pending_takes(a) == 1, "the alts to park")
        old_hubs = [t for t in gochan_threads() if t.name.startswith("gochan-hub")]
        assert old_hubs

        t0 = time.monotonic()
        gochan.shutdown()
        print("shutdown took %.3f s" % (time.monotonic() - t0))
        assert sorted(log) == ["alts", "take", "take", "take"], log
        for res in results:
            assert take(res) is None  # cancelled: closed without a value
            assert res.closed
        left = [t.name for t in gochan_threads() if t.is_alive()]
        assert left == [], left
        assert all(not t.is_alive() for t in old_hubs)

        # any later use starts a fresh runtime
        assert take(go(lambda: 1)) == 1
        new_hubs = [t for t in gochan_threads() if t.name.startswith("gochan-hub")]
        assert new_hubs and not set(new_hubs) & set(old_hubs)
        t0 = time.monotonic()
        v, port = alts([chan(), timeout(50)])
        assert v is None and time.monotonic() - t0 < 2.0
        assert take(thread(lambda: 2)) == 2
        c = chan()
        g = go(take, c)
        put(c, "again")
        assert take(g) == "again"
        print("ALL OK")
    """)
    _ok(r)


@pytest.mark.timeout(40)
def test_shutdown_with_a_timeout_returns_even_if_a_go_block_never_parks() -> None:
    r = run_script("""
        started = threading.Event()

        def stuck():
            started.set()
            time.sleep(5)  # never parks: shutdown cannot cancel it

        go(stuck)
        assert started.wait(5)
        t0 = time.monotonic()
        gochan.shutdown(timeout_ms=200)
        el = time.monotonic() - t0
        assert el < 2.0, "shutdown(timeout_ms=200) took %.2f s" % el
        print("ALL OK")
        sys.stdout.flush()
        os._exit(0)  # the stuck go block's thread is still sleeping
    """)
    _ok(r)


@pytest.mark.timeout(40)
def test_shutdown_twice_and_before_first_use_is_harmless() -> None:
    r = run_script("""
        gochan.shutdown()  # nothing started yet
        assert take(go(lambda: 1)) == 1
        gochan.shutdown()
        gochan.shutdown(timeout_ms=100)
        assert [t.name for t in gochan_threads() if t.is_alive()] == []
        assert take(go(lambda: 2)) == 2
        print("ALL OK")
    """)
    _ok(r)
