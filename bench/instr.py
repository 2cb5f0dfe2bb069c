"""Instructions per unit of work, counted by valgrind's callgrind: a noise-free
companion to the wall-clock bench on a shared machine.

    python -m bench.instr w1 gochan raw_greenlet gevent_channel [--n1 2000 --n2 12000]

Each contestant runs twice under callgrind (``python -m bench.run_one W C --n N``)
with two sizes; (instructions at n2 - instructions at n1) / (n2 - n1) removes
start-up and import costs and leaves the cost of one round trip / item /
task. Callgrind runs one thread at a time, so for cross-thread workloads
(W6, W8) this counts the work done, not the waiting. Instruction counts are
not time (gevent's compiled code and CPython's interpreter differ in
instructions per cycle), but they do not move when the machine is busy.
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


def count(wid: str, contestant: str, n: int, env_extra: dict) -> int:
    env = dict(os.environ)
    env.update(env_extra)
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


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.instr")
    ap.add_argument("workload")
    ap.add_argument("contestants", nargs="+")
    ap.add_argument("--n1", type=int, default=2000)
    ap.add_argument("--n2", type=int, default=12000)
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    wl = BY_ID[args.workload]
    per = {}
    for c in args.contestants:
        a = count(args.workload, c, args.n1, wl.env)
        b = count(args.workload, c, args.n2, wl.env)
        per[c] = (b - a) / (args.n2 - args.n1)
        print(f"{args.workload} {c:15s} {per[c]:10,.0f} instructions per unit", flush=True)
    if "gochan" in per:
        for c, v in per.items():
            if c != "gochan":
                print(f"  gochan / {c}: {per['gochan'] / v:.2f} of its instructions")


if __name__ == "__main__":
    main()
