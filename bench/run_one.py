"""Run one contestant of one workload in this (fresh) process; print one JSON line.

    python -m bench.run_one WORKLOAD CONTESTANT --n N
    python -m bench.run_one w5 timers [--quick]

Output: {"ok": true, "metrics": {...}} or {"skipped": why} or {"error": traceback}.
The process ends with os._exit so that leftover threads cannot hold it open.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
import traceback

from .common import REQUIRES


def _missing(contestant: str) -> str | None:
    """Why the contestant's library cannot be used, or None if it can."""
    mod = REQUIRES.get(contestant)
    if mod is None:
        return None
    try:
        m = importlib.import_module(mod)
    except ImportError as e:
        return f"{mod} not installed ({e})"
    if mod == "gochan" and not all(hasattr(m, a) for a in ("chan", "go", "take", "put", "alts")):
        return "gochan not usable yet (missing chan/go/take/put/alts)"
    return None


def _run(args) -> dict:
    if args.contestant == "gochan_pure":  # before anything imports gochan
        os.environ["GOCHAN_PURE"] = "1"
    if args.workload == "w5":
        try:
            tb = importlib.import_module("bench.timers_bench")
        except ImportError as e:
            return {"skipped": f"pending (timers): {e}"}
        fn = getattr(tb, "main", None)
        if fn is None:
            return {"skipped": "pending (timers): bench.timers_bench has no main()"}
        params = inspect.signature(fn).parameters
        res = fn(quick=args.quick) if "quick" in params else fn()
        if not isinstance(res, dict):
            return {"error": f"timers_bench.main() returned {type(res).__name__}, not dict"}
        targets = []
        for label, check in getattr(tb, "TARGETS", []):  # optional: [(label, fn(metrics) -> bool)]
            try:
                targets.append({"target": label, "met": bool(check(res))})
            except Exception as e:  # a metric the check needs is missing
                targets.append({"target": label, "met": None, "why": repr(e)})
        return {"ok": True, "metrics": res, "targets": targets}

    from .registry import BY_ID
    wl = BY_ID[args.workload]
    fn = wl.contestants.get(args.contestant)
    if fn is None:
        return {"skipped": wl.not_applicable.get(args.contestant, "n/a")}
    why = _missing(args.contestant)
    if why:
        return {"skipped": why}
    if args.contestant == "gochan_pure":
        import gochan
        assert not gochan.compiled, "GOCHAN_PURE=1 was ignored"
    n = args.n or (wl.quick_n if args.quick else wl.n)
    return {"ok": True, "n": n, "metrics": fn(n)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.run_one")
    ap.add_argument("workload")
    ap.add_argument("contestant")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    try:
        out = _run(args)
    except BaseException:
        out = {"error": traceback.format_exc()}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
