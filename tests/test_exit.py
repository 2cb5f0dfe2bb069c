"""The interpreter exits cleanly while hubs hold parked, runnable and finished go blocks.

CPython 3.11 ends daemon threads that wake during finalization with
pthread_exit; with a go block's greenlet on the stack that crashed the
process about one run in two, so each case here runs several times.
"""
import subprocess
import sys

import pytest

PROGRAM = r"""
import sys
from gochan import chan, go, put, take, alts
n = int(sys.argv[1])
def main():
    cs = [chan() for _ in range(n)]
    for c in cs:
        go(put, c, "hi")
    for _ in range(n // 2):
        alts(cs)
    parked = chan()
    for _ in range(50):
        go(take, parked)         # left parked at exit
    for _ in range(50):
        go(lambda: sum(range(1000)))  # left runnable at exit
take(go(main))
print("done")
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("pool", ["1", "2"])
def test_exit_with_go_blocks_alive_never_crashes(pool: str) -> None:
    for _ in range(6):
        r = subprocess.run([sys.executable, "-c", PROGRAM, "3000"], capture_output=True, text=True,
                           timeout=60, env={"GOCHAN_POOL_SIZE": pool, "PATH": ""})
        assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
        assert r.stdout.strip() == "done"
