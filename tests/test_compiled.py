"""The optional C channel core and its pure-Python fallback (issue #14).

`gochan.compiled` says which channel runs. The fallback must import and work
with `GOCHAN_PURE=1` and with the compiled module unimportable; the rest of
the suite runs on whichever build is installed (`make test` runs it on both).
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import gochan
from gochan import chan, close, go, put, take, xf

ROOT = Path(__file__).resolve().parent.parent

SMOKE = textwrap.dedent("""
    import gochan
    from gochan import alts, chan, close, go, put, take, timeout, xf
    def producer(c):
        for i in range(100):
            put(c, i)
        close(c)
    for buf in (None, 4):
        c = chan(buf)
        go(producer, c)
        assert list(c) == list(range(100))
    x = chan(4, xf.map(lambda v: v * 2))
    put(x, 3)
    assert take(x) == 6
    v, port = alts([chan(), timeout(10)])
    assert v is None
    print("compiled" if gochan.compiled else "pure", type(gochan.Chan.__mro__[1]).__name__)
""")


def _run(code: str, **env: str) -> str:
    e = dict(os.environ)
    e.update(env)
    e["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), e.get("PYTHONPATH")) if p)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_compiled_is_a_bool() -> None:
    assert gochan.compiled in (True, False)


@pytest.mark.timeout(60)
def test_gochan_pure_runs_the_python_channel() -> None:
    assert _run(SMOKE, GOCHAN_PURE="1").split()[0] == "pure"


@pytest.mark.timeout(60)
def test_an_unimportable_compiled_core_falls_back_to_python() -> None:
    # A meta path finder that refuses gochan._cchan, as on a machine with no compiler.
    code = textwrap.dedent("""
        import sys
        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name == "gochan._cchan":
                    raise ImportError("no compiled core here")
                return None
        sys.meta_path.insert(0, Refuse())
    """) + SMOKE
    assert _run(code).split()[0] == "pure"


@pytest.mark.timeout(60)
def test_the_default_uses_the_compiled_core_when_built() -> None:
    built = any((ROOT / "gochan").glob("_cchan*.so")) or any((ROOT / "gochan").glob("_cchan*.pyd"))
    if not built:
        pytest.skip("the C core is not built here (no compiler, or GOCHAN_PURE at install)")
    assert _run(SMOKE, GOCHAN_PURE="").split()[0] == "compiled"


@pytest.mark.timeout(20)
def test_python_subclass_state_is_shared_with_the_core() -> None:
    # Whichever build runs: the reference (Python) paths and the fast paths see one state.
    c = chan(2, xf.map(lambda v: v + 1))  # an xform: the reference path
    put(c, 1)
    assert take(c) == 2
    d = chan(1)  # a plain buffer: the fast path when compiled
    put(d, "a")
    assert gochan.stats(d).count == 1  # stats() reads the state in Python
    close(d)
    assert take(d) == "a" and take(d) is None
    # a rendezvous from a go block, then a put pending at close
    e = chan()
    go(put, e, "x")
    assert take(e) == "x"
    f = chan()
    done = go(put, f, "y")
    while gochan.stats(f).pending_puts == 0:
        pass
    close(f)
    assert take(f) == "y" and take(f) is None
    assert take(done) is True




def test_put_with_and_take_with_take_keywords() -> None:
    from gochan.protocols import NOT_READY
    from gochan.waiters import NONBLOCKING

    c = chan(1)
    assert c.take_with(NONBLOCKING, blockable=False) is NOT_READY
    assert c.put_with(NONBLOCKING, "v", blockable=False) is True
    assert c.put_with(waiter=NONBLOCKING, val="w", blockable=False) is NOT_READY
    assert c.take_with(waiter=NONBLOCKING, blockable=False) == "v"


def test_take_and_put_keep_their_signatures() -> None:
    import inspect

    assert list(inspect.signature(gochan.take).parameters) == ["c"]
    assert list(inspect.signature(gochan.put).parameters) == ["c", "v"]
    c = chan(1)
    assert put(c=c, v="k") is True
    assert take(c=c) == "k"
