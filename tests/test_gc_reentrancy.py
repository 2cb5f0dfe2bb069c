"""The garbage collector may run inside any allocation, even under a hub's lock.

Its gochan callback (the reaper's sweep request) once took a hub's inbox
lock that the same thread already held inside `Hub.post`, and the process
hung (measured: 1 run in 2 with frequent collections).
"""
import subprocess
import sys

import pytest

PROGRAM = r"""
import gc
gc.set_threshold(50, 2, 2)  # collections, full ones included, inside many allocations
from gochan import alts, chan, go, put
n = 4000
cs = [chan() for _ in range(n)]
for c in cs:
    go(put, c, "hi")
for _ in range(n):
    alts(cs)
print("ok")
"""


@pytest.mark.timeout(200)
def test_frequent_collections_during_spawns_and_alts_never_deadlock() -> None:
    for _ in range(4):
        r = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=45)
        assert r.returncode == 0 and r.stdout.strip() == "ok", (r.returncode, r.stderr[-2000:])
