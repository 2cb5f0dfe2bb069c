"""``python -m bench [--quick]``: run every workload x contestant in fresh
subprocesses, print the table and the targets, write results JSON/markdown and
the chart.

Each repetition of each contestant is its own ``python -m bench.run_one``
process (no warm caches, no leftover threads, RSS from a clean start).
Repetitions are interleaved across contestants (rep 1 of all, then rep 2 ...)
so that a slow spell of a noisy machine does not land on one contestant only.
A contestant that is skipped, fails or times out is not retried.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from .common import CONTESTANTS, Workload
from .registry import WORKLOADS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (label, wid, metric, contestant or ("gochan", other wid), op, threshold)
# ratio = gochan's median / the other's median, in the metric's own units.
TARGETS = [
    ("W1 >= 1.5x gevent Channel", "w1", "rate", "gevent_channel", ">=", 1.5),
    ("W1 >= 0.6x raw-greenlet floor", "w1", "rate", "raw_greenlet", ">=", 0.6),
    ("W1-naive >= 0.9x W1", "w1_naive", "rate", ("gochan", "w1"), ">=", 0.9),
    ("W2-naive >= 0.9x W2", "w2_naive", "rate", ("gochan", "w2"), ">=", 0.9),
    ("W2 >= 1.5x asyncio", "w2", "rate", "asyncio", ">=", 1.5),
    ("W3 RSS/parked <= 1.1x raw-greenlet floor", "w3", "rss_per_task", "raw_greenlet", "<=", 1.1),
    ("W4 n=1000 time <= 1.25x raw-greenlet alts", "w4_1000", "ms", "raw_greenlet", "<=", 1.25),
    ("W4 n=10,000 time <= 10x gochan n=1000", "w4_10000", "ms", ("gochan", "w4_1000"), "<=", 10.0),
    ("W6 >= 2x queue.Queue", "w6", "rate", "threads", ">=", 2.0),
    ("W8 cross-hub buf >= 1x queue.Queue", "w8_tput", "rate", "threads", ">=", 1.0),
    ("W8 cross-hub ping-pong >= 1x queue.Queue", "w8_pingpong", "rate", "threads", ">=", 1.0),
    ("W9 echo >= 1x gevent StreamServer", "w9_echo", "rate", "gevent_queue", ">=", 1.0),
    ("W9 echo >= 1.5x asyncio streams", "w9_echo", "rate", "asyncio", ">=", 1.5),
    ("W9 idle RSS/conn <= gevent StreamServer", "w9_idle", "rss_per_conn", "gevent_queue", "<=", 1.0),

    # issue #14 (the compiled core): gochan is the default build (compiled when built).
    ("#14 W1 >= 2.5x gevent Channel", "w1", "rate", "gevent_channel", ">=", 2.5),
    ("#14 W2 >= 1.0x gevent Queue", "w2", "rate", "gevent_queue", ">=", 1.0),
    ("#14 W3 RSS/parked <= 1.0x raw-greenlet floor", "w3", "rss_per_task", "raw_greenlet", "<=", 1.0),
    ("#14 W6 >= 3x queue.Queue", "w6", "rate", "threads", ">=", 3.0),
    # (the other #14 pipeline target, <= 10 us per item, is absolute: see BENCHMARKS.md)
    ("#14 W13u ordered=False <= 1.0x W13 ordered, 4 workers", "w13u", "us4", ("gochan", "w13"), "<=", 1.0),

    ("W10 asyncio<->go ping-pong >= 2x janus", "w10_pingpong", "rate", "threads", ">=", 2.0),
    ("W10 await_ >= 1.5x run_coroutine_threadsafe from a thread", "w10_await", "rate", "threads", ">=", 1.5),
]

SHORT = {
    "gochan": "gochan",
    "gochan_pure": "gochan pure",
    "raw_greenlet": "raw greenlet",
    "gevent_channel": "gevent Channel",
    "gevent_queue": "gevent Queue",
    "asyncio": "asyncio Queue",
    "trio": "trio mem chan",
    "threads": "threads queue.Queue",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- running -----------------------------------------------------------------

def run_one(wid: str, contestant: str, n: int | None, env_extra: dict, timeout: float,
            quick: bool = False) -> dict:
    env = dict(os.environ)
    env.update(env_extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "bench.run_one", wid, contestant]
    if n is not None:
        cmd += ["--n", str(n)]
    if quick:
        cmd.append("--quick")
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return {"timeout": timeout, "stderr": _clip(err)}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"error": f"exit code {p.returncode}, no result line; stderr:\n{p.stderr[-3000:]}"}
    out = json.loads(lines[-1])
    if p.stderr.strip():
        out["stderr"] = _clip(p.stderr)
        out["stderr_lines"] = p.stderr.count("\n")
    return out


def _clip(text: str, keep: int = 1500) -> str:
    """The head and the tail of a long text."""
    if len(text) <= 2 * keep:
        return text
    return f"{text[:keep]}\n[... {len(text) - 2 * keep} characters ...]\n{text[-keep:]}"


def summarize(values: list[float]) -> dict:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "reps": len(values),
        "values": values,
    }


def run_workload(wl: Workload, reps: int, quick: bool, only: set[str] | None) -> dict:
    n = wl.quick_n if quick else wl.n
    timeout = min(wl.timeout, 30.0) if quick else wl.timeout
    res: dict[str, dict] = {}
    active = []
    for c in CONTESTANTS:
        if only and c not in only:
            res[c] = {"status": "not run", "reason": "excluded by --contestants"}
        elif c not in wl.contestants:
            res[c] = {"status": "n/a", "reason": wl.not_applicable.get(c, "n/a")}
        elif quick and c in wl.quick_skip:
            res[c] = {"status": "skipped", "reason": f"--quick: {wl.quick_skip[c]}"}
        else:
            res[c] = {"status": "ok", "runs": []}
            active.append(c)
    for rep in range(reps):
        for c in list(active):
            out = run_one(wl.wid, c, n, wl.env, timeout)
            if "ok" in out:
                res[c]["runs"].append(out["metrics"])
                if out.get("stderr") and "stderr" not in res[c]:
                    res[c]["stderr"] = out["stderr"]  # kept once: e.g. warnings the library logged
                    res[c]["stderr_lines"] = out["stderr_lines"]
                key = wl.metrics[0].key
                log(f"  {wl.wid:12s} {c:15s} rep {rep + 1}/{reps}: "
                    f"{fmt_value(out['metrics'][key], wl.metrics[0].unit)}")
                continue
            active.remove(c)
            if "skipped" in out:
                res[c] = {"status": "skipped", "reason": out["skipped"]}
            elif "timeout" in out:
                res[c] = {"status": "timeout", "reason": f"no result within {timeout:.0f} s",
                          "stderr": out.get("stderr", ""), "runs": res[c].get("runs", [])}
            else:
                res[c] = {"status": "error", "reason": out.get("error", "?"),
                          "runs": res[c].get("runs", [])}
            log(f"  {wl.wid:12s} {c:15s} rep {rep + 1}/{reps}: {res[c]['status']}: "
                f"{res[c]['reason'].strip().splitlines()[-1] if res[c]['reason'].strip() else ''}")
    for r in res.values():
        _summarize_result(r, [m.key for m in wl.metrics])
    return {
        "wid": wl.wid,
        "title": wl.title,
        "n": n,
        "metrics": [m.__dict__ for m in wl.metrics],
        "notes": wl.notes,
        "env": wl.env,
        "results": res,
    }


def _summarize_result(r: dict, keys: list[str]) -> None:
    """Medians over the successful runs. A contestant that failed or hung after
    some successful repetitions keeps its numbers, and the failure is recorded
    (``failed``) and shown in its cell: an intermittent hang is a finding, and
    it should not erase the runs that did finish."""
    if r["status"] in ("timeout", "error") and r.get("runs"):
        r["failed"] = {"status": r["status"], "reason": r["reason"], "after_runs": len(r["runs"])}
        r["status"] = "ok"
    if r["status"] == "ok" and r.get("runs"):
        r["summary"] = {k: summarize([run[k] for run in r["runs"]]) for k in keys}


def run_w5(quick: bool) -> dict:
    if not (HERE / "timers_bench.py").exists():
        return {"status": "pending", "reason": "bench/timers_bench.py not written yet"}
    out = run_one("w5", "timers", None, {}, 300.0 if quick else 900.0, quick=quick)
    if "ok" in out:
        return {"status": "ok", "metrics": out["metrics"], "targets": out.get("targets", [])}
    if "skipped" in out:
        return {"status": "pending", "reason": out["skipped"]}
    return {"status": "error", "reason": out.get("error") or f"timeout {out.get('timeout')} s"}


# -- formatting ----------------------------------------------------------------

def fmt_value(v: float, unit: str) -> str:
    if unit == "/s":
        for div, suf in ((1e6, "M"), (1e3, "k")):
            if v >= div:
                return f"{v / div:.3g}{suf}"
        return f"{v:.3g}"
    if unit == "ms":
        return f"{v:.3g}" if v < 1000 else f"{v:,.0f}"
    if unit == "B":
        return f"{v:,.0f}"
    return f"{v:.3g}"


def median(doc: dict, wid: str, contestant: str, key: str) -> float | None:
    for w in doc["workloads"]:
        if w["wid"] == wid:
            r = w["results"].get(contestant, {})
            s = r.get("summary", {}).get(key)
            return s["median"] if s else None
    return None


def relative(doc_w: dict, metric: dict, contestant: str) -> float | None:
    """Contestant's performance relative to gochan: >1 means better than gochan."""
    res = doc_w["results"]
    try:
        g = res["gochan"]["summary"][metric["key"]]["median"]
        v = res[contestant]["summary"][metric["key"]]["median"]
    except KeyError:
        return None
    if not g or not v:
        return None
    return v / g if metric["higher_is_better"] else g / v


def cell(doc_w: dict, metric: dict, contestant: str) -> str:
    r = doc_w["results"][contestant]
    st = r["status"]
    if st != "ok" or "summary" not in r:
        if st == "n/a":
            return "n/a"
        if st == "ok":
            return "no runs"
        return st
    s = r["summary"][metric["key"]]
    med = s["median"]
    spread = (s["max"] - s["min"]) / 2 / med * 100 if med else 0.0
    txt = f"{fmt_value(med, metric['unit'])} ±{spread:.0f}%"
    if contestant != "gochan":
        rel = relative(doc_w, metric, contestant)
        txt += f" ({rel:.2f}x)" if rel is not None else ""
    note = doc_w["notes"].get(contestant)
    if note:
        txt += f" [{note}]"
    if r.get("failed"):
        txt += f" [{r['failed']['status']} in run {r['failed']['after_runs'] + 1}]"
    return txt


def rows(doc: dict) -> list[tuple[str, list[str]]]:
    out = []
    for w in doc["workloads"]:
        for m in w["metrics"]:
            out.append((m["label"], [cell(w, m, c) for c in CONTESTANTS]))
    return out


def text_table(doc: dict) -> str:
    hdr = ["workload"] + [SHORT[c] for c in CONTESTANTS]
    body = [[lab] + cells for lab, cells in rows(doc)]
    widths = [max(len(r[i]) for r in [hdr] + body) for i in range(len(hdr))]
    line = lambda r: "  ".join(x.ljust(widths[i]) for i, x in enumerate(r))  # noqa: E731
    return "\n".join([line(hdr), line(["-" * w for w in widths])] + [line(r) for r in body])


def md_table(doc: dict) -> str:
    hdr = ["workload"] + [SHORT[c] for c in CONTESTANTS]
    out = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for lab, cells in rows(doc):
        out.append("| " + " | ".join([lab] + cells) + " |")
    return "\n".join(out)


def skip_notes(doc: dict) -> list[str]:
    """Explain the table's short words: failures and skips one a line, n/a grouped
    per workload, and the first line of anything a contestant wrote to stderr."""
    out = []
    for w in doc["workloads"]:
        na = []
        for c in CONTESTANTS:
            r = w["results"][c]
            st = r["status"]
            if st == "n/a":
                na.append(f"{c} ({r.get('reason', '')})")
                continue
            if r.get("failed"):
                f = r["failed"]
                why = f["reason"].strip().splitlines()[-1] if f["reason"].strip() else ""
                out.append(f"{w['wid']} {c}: {f['status']} in run {f['after_runs'] + 1} "
                           f"(after {f['after_runs']} good runs, which the cell reports): {why}")
            if st != "ok":
                reason = r.get("reason", "").strip()
                if st in ("error", "timeout"):
                    reason = reason.splitlines()[-1] if reason else ""
                out.append(f"{w['wid']} {c}: {st}: {reason}")
            err = (r.get("stderr") or "").strip()
            if err:
                out.append(f"{w['wid']} {c}: wrote {r.get('stderr_lines', '?')} lines to stderr "
                           f"in a run, starting: {err.splitlines()[0][:120]}")
        if na:
            out.append(f"{w['wid']} n/a: " + ", ".join(na))
    return out


def values(doc: dict, wid: str, contestant: str, key: str) -> list[float]:
    for w in doc["workloads"]:
        if w["wid"] == wid:
            s = w["results"].get(contestant, {}).get("summary", {}).get(key)
            return s["values"] if s else []
    return []


def eval_targets(doc: dict) -> list[dict]:
    """Each target's ratio of medians (what decides met/missed) and, as a check on
    drift, the median of the per-repetition ratios (repetition i of both sides
    ran back to back, so a slow spell of the machine hits both)."""
    out = []
    for label, wid, key, other, op, thr in TARGETS:
        owid, oc = (other[1], other[0]) if isinstance(other, tuple) else (wid, other)
        g = median(doc, wid, "gochan", key)
        o = median(doc, owid, oc, key)
        if g is None or o is None:
            out.append({"target": label, "ratio": None, "met": None})
            continue
        ratio = g / o
        pairs = [a / b for a, b in zip(values(doc, wid, "gochan", key), values(doc, owid, oc, key), strict=False) if b]
        met = ratio >= thr if op == ">=" else ratio <= thr
        out.append({"target": label, "ratio": ratio, "met": met, "op": op, "threshold": thr,
                    "paired_ratio": statistics.median(pairs) if pairs else None})
    return out


def fmt_ratio(t: dict) -> str:
    """Two decimals, or four when two would round onto the threshold (1.1003 is not
    "1.10 MISSED" against <= 1.1)."""
    txt = f"{t['ratio']:.2f}"
    if t.get("threshold") is not None and float(txt) == t["threshold"] and t["ratio"] != t["threshold"]:
        txt = f"{t['ratio']:.4f}"
    return txt


def targets_text(targets: list[dict]) -> str:
    lines = []
    for t in targets:
        if t["ratio"] is None:
            lines.append(f"  {t['target']:45s} not measured")
        else:
            paired = f", per-repetition median {t['paired_ratio']:.2f}" if t.get("paired_ratio") else ""
            lines.append(f"  {t['target']:45s} {'met   ' if t['met'] else 'MISSED'} "
                         f"(gochan/other = {fmt_ratio(t)}{paired})")
    return "\n".join(lines)


def _fmt_any(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def w5_text(w5: dict) -> str:
    if w5["status"] == "ok":
        items = [f"{k}={_fmt_any(v)}" for k, v in w5["metrics"].items()]
        lines = ["W5 timers (bench/timers_bench.py; ms unless the name says otherwise):"]
        for i in range(0, len(items), 4):
            lines.append("  " + "  ".join(f"{x:30s}" for x in items[i:i + 4]).rstrip())
        return "\n".join(lines)
    if w5["status"] == "pending":
        return "W5: pending (timers)"
    why = str(w5.get("reason", "")).strip().splitlines()
    return f"W5 timers: {w5['status']}: {why[-1] if why else ''}"


def w5_md(w5: dict) -> str:
    if w5["status"] != "ok":
        return w5_text(w5)
    lines = ["W5 timers (from `bench/timers_bench.py`; ms unless the name says otherwise):", "",
             "| metric | value | metric | value |", "|---|---|---|---|"]
    items = list(w5["metrics"].items())
    for i in range(0, len(items), 2):
        pair = items[i:i + 2]
        cells = [f"{k} | {_fmt_any(v)}" for k, v in pair] + ([" | "] if len(pair) == 1 else [])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def w5_targets(w5: dict) -> list[dict]:
    return [t for t in w5.get("targets", [])] if w5["status"] == "ok" else []


def meta(args, reps: int) -> dict:
    versions = {}
    from importlib import metadata
    for dist in ("gochan-csp", "greenlet", "gevent", "trio", "matplotlib", "psutil"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench" + (" --quick" if args.quick else ""),
        "uname": " ".join(x for x in platform.uname() if x),
        "uname_a": _uname_a(),
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "versions": versions,
        "quick": args.quick,
        "reps": reps,
        "git": _git_rev(),
        "loadavg_start": _loadavg(),
    }


def _uname_a() -> str | None:
    try:
        return subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip() or None
    except OSError:
        return None


def _loadavg() -> list | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _git_rev() -> str | None:
    """HEAD's short hash, with "+dirty" when gochan/ has uncommitted changes."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "gochan"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return None
    return (rev + ("+dirty" if dirty else "")) or None


def report(doc: dict) -> str:
    m = doc["meta"]
    out = [
        f"{m['command']}  |  {m['date']}  |  {m['uname']}  |  nproc {m['nproc']}  |  "
        f"{m['implementation']} {m['python']}  |  git {m['git']}  |  "
        f"load avg {m.get('loadavg_start')} -> {m.get('loadavg_end')}",
        f"medians of {m['reps']} fresh-process runs; ±% = half the min-max range / median; "
        "(R x) = contestant's performance / gochan's (R > 1: contestant better; "
        "for ms and B lower is better)",
        "",
        text_table(doc),
        "",
        w5_text(doc["w5"]),
    ]
    notes = skip_notes(doc)
    if notes:
        out += ["", "not run:"] + [f"  {s}" for s in notes]
    out += ["", "targets (ratio = gochan's median / the other's median):", targets_text(doc["targets"])]
    for t in w5_targets(doc["w5"]):
        state = "not measured" if t["met"] is None else ("met" if t["met"] else "MISSED")
        out.append(f"  W5 {t['target']:42s} {state}")
    return "\n".join(out)


def rerender(path: Path) -> None:
    """Recompute targets and rewrite the markdown and the printout from a results JSON."""
    doc = json.loads(path.read_text())
    for w in doc["workloads"]:
        for r in w["results"].values():
            _summarize_result(r, [m["key"] for m in w["metrics"]])
    doc["targets"] = eval_targets(doc)
    path.write_text(json.dumps(doc, indent=1) + "\n")
    path.with_suffix(".md").write_text(report_md(doc))
    print(report(doc))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--quick", action="store_true", help="3 reps, n/10 where needed")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--workloads", default=None, help="comma list of workload ids (w1,w4_1000,...)")
    ap.add_argument("--contestants", default=None, help="comma list of contestants")
    ap.add_argument("--out", default=None, help="results JSON path")
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--render", metavar="JSON", default=None,
                    help="run nothing: re-render the table and targets from a results JSON")
    args = ap.parse_args(argv)
    if args.render:
        rerender(Path(args.render))
        return
    reps = args.reps or (3 if args.quick else 5)
    wsel = set(args.workloads.split(",")) if args.workloads else None
    csel = set(args.contestants.split(",")) if args.contestants else None
    suffix = "-quick" if args.quick else ""
    out_json = Path(args.out) if args.out else HERE / f"results{suffix}.json"

    doc = {"meta": meta(args, reps), "workloads": []}
    for wl in WORKLOADS:
        if wsel and wl.wid not in wsel:
            continue
        if args.quick and wl.diagnostic and not wsel:
            continue
        log(f"{wl.title} (n={wl.quick_n if args.quick else wl.n:,}, {reps} reps)")
        doc["workloads"].append(run_workload(wl, reps, args.quick, csel))
    if not wsel or "w5" in wsel:
        log("W5 timers")
        doc["w5"] = run_w5(args.quick)
    else:
        doc["w5"] = {"status": "pending", "reason": "not selected"}
    doc["targets"] = eval_targets(doc)
    doc["meta"]["loadavg_end"] = _loadavg()

    out_json.write_text(json.dumps(doc, indent=1) + "\n")
    out_md = out_json.with_suffix(".md")
    out_md.write_text(report_md(doc))
    print(report(doc))
    print(f"\nwrote {out_json.relative_to(ROOT) if out_json.is_relative_to(ROOT) else out_json}, "
          f"{out_md.name}")
    if not args.no_chart:
        try:
            from .chart import make_chart
            png = out_json.with_name(f"chart{suffix}.png")
            make_chart(doc, png)
            print(f"wrote {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}")
        except ImportError as e:
            print(f"chart skipped: {e}")


def report_md(doc: dict) -> str:
    m = doc["meta"]
    lines = [
        f"Command: `{m['command']}`, {m['date']}, git {m['git']}  ",
        f"Machine: `{m.get('uname_a') or m['uname']}`, nproc {m['nproc']}, {m['implementation']} {m['python']}, "
        f"load average (1, 5, 15 min) {m.get('loadavg_start')} at start, "
        f"{m.get('loadavg_end')} at end  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + "  ",
        f"Medians of {m['reps']} fresh-process runs; ±% is half the min-max range over the median; "
        "(R x) is the contestant's performance relative to gochan (R > 1: the contestant did "
        "better; for ms and B lower is better).",
        "",
        md_table(doc),
        "",
        w5_md(doc["w5"]),
        "",
    ]
    notes = skip_notes(doc)
    if notes:
        lines += ["Not run:", ""] + [f"- {s}" for s in notes] + [""]
    lines += ["Targets (ratio = gochan's median / the other's median; the per-repetition "
              "median pairs repetition i of both sides, which ran back to back):", "",
              "| target | ratio | per-repetition median | |", "|---|---|---|---|"]
    for t in doc["targets"]:
        if t["ratio"] is None:
            lines.append(f"| {t['target']} | not measured | | |")
        else:
            pr = f"{t['paired_ratio']:.2f}" if t.get("paired_ratio") else ""
            lines.append(f"| {t['target']} | {fmt_ratio(t)} | {pr} | "
                         f"{'met' if t['met'] else 'MISSED'} |")
    for t in w5_targets(doc["w5"]):
        state = "not measured" if t["met"] is None else ("met" if t["met"] else "MISSED")
        lines.append(f"| W5 {t['target']} | | | {state} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
