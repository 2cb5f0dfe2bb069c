"""shutdown() and `thread` bodies: one blocked in a gochan operation is ended with `Cancelled`
(not reported), so shutdown() without a timeout returns; one in a blocking call is waited for
until the timeout. Each test runs in a fresh process (the runtime is process-global)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(body: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(body)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)


@pytest.mark.timeout(40)
def test_shutdown_ends_thread_bodies_blocked_in_gochan_operations() -> None:
    r = run("""
        import threading, time
        import gochan
        from gochan import alts, chan, put, stats, take, thread
        reported = []
        gochan.set_exception_handler(reported.append)
        log = []
        c, d, e = chan(), chan(), chan()

        def blocked_take():
            try:
                return take(c)
            finally:
                log.append("take")

        def blocked_alts():
            try:
                return alts([d, (e, "x")])
            except gochan.errors.Cancelled:
                log.append("alts cancelled")
                raise

        results = [thread(blocked_take), thread(blocked_alts)]
        deadline = time.monotonic() + 10
        while stats(c).pending_takes < 1 or stats(d).pending_takes < 1 or stats(e).pending_puts < 1:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        t0 = time.monotonic()
        ok = gochan.shutdown()
        took = time.monotonic() - t0
        assert ok is True and took < 5, (ok, took)
        assert sorted(log) == ["alts cancelled", "take"], log
        assert [take(res) for res in results] == [None, None]
        assert reported == [], reported
        counts = [(stats(x).pending_takes, stats(x).pending_puts) for x in (c, d, e)]
        assert counts == [(0, 0)] * 3, counts  # withdrawn: nothing left pending
        assert [t.name for t in threading.enumerate() if t.name.startswith("gochan")] == []
        print("ALL OK")
    """)
    assert r.returncode == 0 and "ALL OK" in r.stdout, r.stdout + r.stderr


@pytest.mark.timeout(40)
def test_shutdown_with_a_timeout_leaves_a_thread_in_a_blocking_call() -> None:
    r = run("""
        import threading, time
        import gochan
        from gochan import thread
        release = threading.Event()
        started = threading.Event()
        def stuck():
            started.set()
            release.wait(20)  # not a gochan operation: cannot be interrupted
        thread(stuck)
        assert started.wait(10)
        t0 = time.monotonic()
        ok = gochan.shutdown(timeout_ms=200)
        took = time.monotonic() - t0
        assert ok is False and 0.15 <= took < 3, (ok, took)
        release.set()
        print("ALL OK")
    """)
    assert r.returncode == 0 and "ALL OK" in r.stdout, r.stdout + r.stderr


@pytest.mark.timeout(40)
def test_shutdown_cancels_parked_go_blocks_with_cancelled() -> None:
    r = run("""
        import gochan
        from gochan import chan, go, stats, take
        from gochan.errors import Cancelled
        reported = []
        gochan.set_exception_handler(reported.append)
        seen = []
        c = chan()

        def body():
            try:
                take(c)
            except Exception:  # Cancelled is a BaseException: not swallowed here
                seen.append("Exception")
            except BaseException as exc:
                seen.append(type(exc).__name__)
                raise

        done = go(body)
        while stats(c).pending_takes < 1:
            pass
        assert gochan.shutdown(timeout_ms=5000) is True
        assert seen == ["Cancelled"], seen
        assert take(done) is None and reported == [], reported
        assert issubclass(Cancelled, BaseException) and not issubclass(Cancelled, Exception)
        print("ALL OK")
    """)
    assert r.returncode == 0 and "ALL OK" in r.stdout, r.stdout + r.stderr


@pytest.mark.timeout(30)
def test_a_stopped_hub_keeps_no_reference_to_its_threads_main_greenlet() -> None:
    """greenlet frees a dead thread's main greenlet from a pending call that may run inside a
    garbage collection, trusting `gc.get_referrers`, which cannot see the objects that collection
    is examining: a stopped Hub still pointing at it made the collector segfault (the aio tests,
    ~1 run in 25). So a hub lets go of it, and of what plugs into it, when its thread ends."""
    import gochan
    from gochan import go, take
    from gochan.readiness import readable
    from gochan.runtime import hubs

    r, w = os.pipe()
    try:
        old = list(hubs())
        assert take(go(lambda: take(gochan.timeout(1)) or "timers used")) == "timers used"
        parked = go(lambda: take(readable(r)))  # its hub gets a poller
        os.write(w, b"x")
        assert take(parked) is True
        assert gochan.shutdown(10_000)
        for h in old:
            assert h.glet is None and not h.thread.is_alive()
            assert h.hooks == () and h.services == {} and h.idle_wait is None and h.waker is None
    finally:
        os.close(r)
        os.close(w)
