"""Instructions per unit of work, counted by valgrind's callgrind: a noise-free
companion to the wall-clock bench on a shared machine.

    python -m bench.instr                  # W1 and W2: gochan, the floor and the peers (DEFAULTS)
    python -m bench.instr w1 gochan raw_greenlet gevent_channel [--n1 2000 --n2 12000]

Each contestant runs twice under callgrind (``python -m bench.run_one W C --n N``)
with two sizes; (instructions at n2 - instructions at n1) / (n2 - n1) removes
start-up and import costs and leaves the cost of one round trip / item /
task. Callgrind runs one thread at a time, so for cross-thread workloads
(W6, W8) this counts the work done, not the waiting. Instruction counts are
not time (gevent's compiled code and CPython's interpreter differ in
instructions per cycle), but they do not move when the machine is busy.
Each run gets PYTHONHASHSEED=0 (unless set), so that a repeated count
repeats (without it two counts of the floor's W1 differed by 14 of 21.5k).
A contestant whose library is missing is skipped and says so.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

from .__main__ import ROOT
from .registry import BY_ID
from .run_one import _missing

# What `python -m bench.instr` with no arguments counts: (workload, contestants, n1, n2).
# trio and the threads are left out: trio's per-unit cost is 2-8x everyone's (see the
# wall-clock table), and callgrind serializes threads, so a thread peer's count leaves
# out what it really pays (waiting for the OS and the GIL).
DEFAULTS = [
    ("w1", ["gochan", "gochan_pure", "raw_greenlet", "gevent_channel", "gevent_queue", "asyncio"], 2000, 12000),
    ("w2", ["gochan", "gochan_pure", "raw_greenlet", "gevent_queue", "asyncio"], 20000, 120000),
]


def count(wid: str, contestant: str, n: int, env_extra: dict) -> int:
    env = dict(os.environ)
    env.update(env_extra)
    env.setdefault("PYTHONHASHSEED", "0")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    p = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-m", "bench.run_one", wid, contestant, "--n", str(n)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if '"ok": true' not in p.stdout:
        raise RuntimeError(f"{wid} {contestant} n={n}: {p.stdout.strip()[-500:]}")
    m = re.search(r"Collected\s*:\s*([\d,]+)", p.stderr)
    if not m:
        raise RuntimeError(f"no callgrind total in: {p.stderr[-500:]}")
    return int(m.group(1).replace(",", ""))


def per_unit(wid: str, contestants: list[str], n1: int, n2: int) -> dict[str, float]:
    wl = BY_ID[wid]
    per: dict[str, float] = {}
    for c in contestants:
        why = _missing(c)
        if why:
            print(f"{wid} {c:15s} skipped: {why}", flush=True)
            continue
        a = count(wid, c, n1, wl.env)
        b = count(wid, c, n2, wl.env)
        per[c] = (b - a) / (n2 - n1)
        print(f"{wid} {c:15s} {per[c]:10,.0f} instructions per unit", flush=True)
    if "gochan" in per:
        for c, v in per.items():
            if c != "gochan":
                print(f"  gochan / {c}: {per['gochan'] / v:.2f} of its instructions")
    return per


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.instr")
    ap.add_argument("workload", nargs="?", help="a workload id; none: W1 and W2 as in DEFAULTS")
    ap.add_argument("contestants", nargs="*")
    ap.add_argument("--n1", type=int, default=None, help="default 2000 (W1 and others), 20000 (W2)")
    ap.add_argument("--n2", type=int, default=None, help="default 12000, 120000 (W2)")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    if args.workload is None:
        for wid, cs, n1, n2 in DEFAULTS:
            per_unit(wid, cs, args.n1 or n1, args.n2 or n2)
        return
    if not args.contestants:
        ap.error("name the contestants to count (or give no workload for the defaults)")
    d = {wid: (n1, n2) for wid, _, n1, n2 in DEFAULTS}.get(args.workload, (2000, 12000))
    per_unit(args.workload, args.contestants, args.n1 or d[0], args.n2 or d[1])


if __name__ == "__main__":
    main()
