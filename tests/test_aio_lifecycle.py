"""gochan.aio and the runtime's lifecycle: gochan's own asyncio loop is a runtime service, so
shutdown() stops it, a later use starts a fresh one, a fork child gets its own, and the
interpreter exits cleanly with go blocks parked in `await_`."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import warnings

import pytest

import gochan
from gochan import aio, go, take

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


async def triple(x: int) -> int:
    await asyncio.sleep(0)
    return x * 3


def _aio_threads() -> list:
    return [t for t in threading.enumerate() if t.name == "gochan-aio" and t.is_alive()]


@pytest.mark.timeout(20)
def test_shutdown_stops_gochans_loop_and_a_later_use_starts_a_fresh_one() -> None:
    assert aio.await_(triple(1)) == 3
    assert len(_aio_threads()) == 1
    assert gochan.shutdown(5000)
    assert _aio_threads() == []
    assert take(go(lambda: aio.await_(triple(2)))) == 6
    assert len(_aio_threads()) == 1


@pytest.mark.timeout(30)
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_gets_its_own_loop() -> None:
    assert aio.await_(triple(1)) == 3  # the parent's loop is running at the fork
    rd, wr = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() in a multi-threaded process
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(rd)
        try:
            ok = aio.await_(triple(5)) == 15 and take(go(lambda: aio.await_(triple(6)))) == 18
            os.write(wr, b"ok" if ok else b"wrong")
        except BaseException as exc:
            os.write(wr, repr(exc).encode())
        finally:
            os._exit(0)
    os.close(wr)
    with os.fdopen(rd, "rb") as f:
        got = f.read()
    os.waitpid(pid, 0)
    assert got == b"ok"
    assert aio.await_(triple(2)) == 6  # the parent is unaffected


PROGRAM = r"""
import asyncio
from gochan import aio, chan, go, take
async def forever():
    await asyncio.Event().wait()
for _ in range(20):
    go(aio.await_, forever())
async def parked():
    await aio.take(chan())
aio.spawn(parked())
print(aio.await_(asyncio.sleep(0, "done")))
"""


@pytest.mark.timeout(60)
def test_exit_with_go_blocks_parked_in_await_is_clean() -> None:
    for _ in range(3):
        r = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=30, cwd=ROOT)
        assert r.returncode == 0, r.stderr[-2000:]
        assert r.stdout.strip() == "done"
        assert "Traceback" not in r.stderr, r.stderr[-2000:]
