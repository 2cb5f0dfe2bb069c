"""Placement policies (issue #15), measured side by side: ``python -m bench.placement [--reps N]``.

Each (policy, measure, repetition) is a fresh process; repetitions are
interleaved over policies, so a slow spell of the shared machine hits all of
them. Policies:

- ``home``: the default. Go blocks spawned from threads go to hub 0 unless the
  watchdog's sampler found it stalled (awake, not back to its loop for
  STALL_MS); a stalled hub's unstarted go blocks move to the next hub.
- ``spread``: round-robin over the hubs (gochan before #15;
  ``GOCHAN_PLACEMENT=spread``).
- ``one``: a pool of one hub (``GOCHAN_POOL_SIZE=1``): what a default of 1 on
  GIL builds would give. No isolation: a stalled hub stalls everything.
- ``steal``: hub 0 always; an idle hub steals the unstarted go blocks of a
  stalled one. Emulated here: the watchdog's placement is switched off and
  every other hub gets a hook that polls hub 0 every STALL_MS / 2 (an idle hub
  has no other way to learn that hub 0 stalled).

Measures: W1-naive and W2-naive (both sides spawned from the main thread), W1
and W2 as ``make bench`` runs them, W8 cross-hub ping-pong (pinned with
``go_on``), the walkthrough demo (n=1000), ``stall_first_ms`` and
``stall_next_ms``, ``stall_worst_ms`` (how long a go block spawned from the
main thread waits to start while a go block holds hub 0 in ``time.sleep``
for up to 2 s: the first one, spawned as the stall begins, the median of the
next four, the worst of the five) and ``idle_cpu_ms``
(process CPU time over one idle second with one go block parked).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

ROOT = Path(__file__).resolve().parent.parent

POLICIES: Dict[str, Dict[str, str]] = {
    "home": {},
    "spread": {"GOCHAN_PLACEMENT": "spread"},
    "one": {"GOCHAN_POOL_SIZE": "1"},
    "steal": {"BENCH_PLACEMENT_STEAL": "1"},
}


def _install_steal() -> None:
    """The ``steal`` policy: hub 0 always, idle hubs poll it and take its unstarted go blocks."""
    from gochan.hub import Spawn
    from gochan.runtime import STALL_MS, current_runtime

    rt = current_runtime()
    home = rt.hubs[0]
    rt.place = lambda: home  # type: ignore[method-assign]
    rt.mark_stalled = lambda hub, passes: 0  # type: ignore[method-assign]
    stall = STALL_MS / 1000.0
    seen = [home.passes, time.monotonic()]

    def make_hook(me: Any) -> Callable[[], float]:
        def hook() -> float:
            if not me.idle():
                return stall / 2
            now, passes = time.monotonic(), home.passes
            if home.sleeping or passes != seen[0]:
                seen[0], seen[1] = passes, now
            elif now - seen[1] >= stall:
                with home.inbox_lock:
                    inbox = home.inbox
                    moved = [t for t, _ in inbox if t.__class__ is Spawn and not t.pinned]
                    if moved:
                        keep = [x for x in inbox if x[0].__class__ is not Spawn or x[0].pinned]
                        inbox.clear()
                        inbox.extend(keep)
                for sp in moved:
                    me.schedule(sp)
            return stall / 2
        return hook

    for h in rt.hubs[1:]:
        h.add_hook(make_hook(h))


def m_w1_naive() -> float:
    from .w1_pingpong import gochan_naive
    return gochan_naive(30_000)["rate"]


def m_w2_naive() -> float:
    from .w2_buffered import gochan_naive
    return gochan_naive(300_000)["rate"]


def m_w1() -> float:
    from .w1_pingpong import gochan
    return gochan(30_000)["rate"]


def m_w2() -> float:
    from .w2_buffered import gochan
    return gochan(300_000)["rate"]


def m_w8_pingpong() -> float:
    from .w8_crosshub import gochan_pingpong
    return gochan_pingpong(20_000)["rate"]


def m_demo_ms() -> float:
    from .w4_demo import gochan
    return gochan(1000)["ms"]


def _stall() -> List[float]:
    from gochan import go, take

    started = threading.Event()
    release: List[bool] = []

    def blocker() -> None:
        started.set()
        end = time.monotonic() + 2
        while not release and time.monotonic() < end:
            time.sleep(0.002)

    b = go(blocker)
    started.wait()
    waits = []
    for _ in range(5):
        t0 = time.monotonic()
        t1 = take(go(time.monotonic))
        waits.append((t1 - t0) * 1000)
    release.append(True)
    take(b)
    return waits


def m_stall_first_ms() -> float:
    return _stall()[0]


def m_stall_next_ms() -> float:
    return statistics.median(_stall()[1:])


def m_stall_worst_ms() -> float:
    return max(_stall())


def m_idle_cpu_ms() -> float:
    from gochan import chan, go, take

    c: Any = chan()
    go(take, c)
    time.sleep(0.2)
    t0 = time.process_time()
    time.sleep(1.0)
    return (time.process_time() - t0) * 1000


MEASURES: Dict[str, Callable[[], float]] = {
    name[2:]: fn for name, fn in list(globals().items()) if name.startswith("m_") and callable(fn)
}


def _child(measure: str) -> None:
    from gochan.runtime import current_runtime
    current_runtime()
    if os.environ.get("BENCH_PLACEMENT_STEAL"):
        _install_steal()
    v = MEASURES[measure]()
    sys.stdout.write(json.dumps({"value": v}) + "\n")
    sys.stdout.flush()
    os._exit(0)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.placement")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--measures", default=",".join(MEASURES))
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child)
        return
    measures = args.measures.split(",")
    policies = args.policies.split(",")
    got: Dict[str, Dict[str, List[float]]] = {m: {p: [] for p in policies} for m in measures}
    for rep in range(args.reps):
        for m in measures:
            for p in policies:
                env = dict(os.environ)
                env.pop("GOCHAN_PLACEMENT", None)
                env.pop("GOCHAN_POOL_SIZE", None)
                env.update(POLICIES[p])
                env["PYTHONPATH"] = os.pathsep.join(x for x in (str(ROOT), env.get("PYTHONPATH")) if x)
                out = subprocess.run([sys.executable, "-m", "bench.placement", "--child", m], cwd=ROOT,
                                     env=env, capture_output=True, text=True, timeout=120)
                lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
                if not lines:
                    print(f"{m} {p}: failed: {out.stderr[-500:]}", file=sys.stderr)
                    continue
                got[m][p].append(json.loads(lines[-1])["value"])
        print(f"rep {rep + 1}/{args.reps} done", file=sys.stderr, flush=True)
    print(f"Medians of {args.reps} fresh-process runs [min-max], policies interleaved; (ratio to home)")
    print()
    print("| measure | " + " | ".join(policies) + " |")
    print("|---|" + "---|" * len(policies))
    for m in measures:
        cells = []
        base = statistics.median(got[m]["home"]) if got[m].get("home") else None
        for p in policies:
            vs = got[m][p]
            if not vs:
                cells.append("-")
                continue
            med = statistics.median(vs)
            rel = f" ({med / base:.2f}x)" if base else ""
            cells.append(f"{med:,.4g} [{min(vs):,.3g}-{max(vs):,.3g}]{rel}")
        print(f"| {m} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
