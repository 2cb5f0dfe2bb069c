"""Draw the bench chart from a results JSON: one group of bars per table row,
each bar a contestant's performance relative to gochan (log scale, gochan = 1).

    python -m bench.chart [bench/results.json] [bench/chart.png]
"""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from .common import CONTESTANTS

COLORS = {
    "gochan_pure": "#ff7f0e",
    "raw_greenlet": "#4c4c4c",
    "gevent_channel": "#1f77b4",
    "gevent_queue": "#6baed6",
    "asyncio": "#2ca02c",
    "trio": "#9467bd",
    "threads": "#d62728",
}
LABELS = {
    "gochan_pure": "gochan, pure Python",
    "raw_greenlet": "raw greenlet (floor)",
    "gevent_channel": "gevent Channel",
    "gevent_queue": "gevent Queue",
    "asyncio": "asyncio Queue",
    "trio": "trio memory channel",
    "threads": "threads + queue.Queue",
}


def _rel(w: dict, m: dict, c: str) -> float | None:
    res = w["results"]
    try:
        g = res["gochan"]["summary"][m["key"]]["median"]
        v = res[c]["summary"][m["key"]]["median"]
    except KeyError:
        return None
    if not g or not v:
        return None
    return v / g if m["higher_is_better"] else g / v


def make_chart(doc: dict, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    groups = []  # (label, {contestant: rel}, {contestant: note})
    for w in doc["workloads"]:
        for m in w["metrics"]:
            rels = {c: _rel(w, m, c) for c in CONTESTANTS if c != "gochan"}
            name, _, unit = m["label"].rpartition(" (")
            label = textwrap.fill(name, 20) + "\n(" + unit
            groups.append((label, rels, w.get("notes", {})))
    peers = [c for c in CONTESTANTS if c != "gochan"
             and any(g[1].get(c) is not None for g in groups)]
    if not groups or not peers:
        raise ValueError("nothing to draw: no gochan results to compare with")

    fig, ax = plt.subplots(figsize=(max(10, 1.3 * len(groups)), 6.6), dpi=110)
    width = 0.8 / len(peers)
    for gi, (_label, rels, notes) in enumerate(groups):
        for pi, c in enumerate(peers):
            v = rels.get(c)
            if v is None:
                continue
            x = gi - 0.4 + width * (pi + 0.5)
            ax.bar(x, v, width, color=COLORS[c], edgecolor="white", linewidth=0.5,
                   hatch="//" if notes.get(c) == "fan-in" else None)
            ax.text(x, v * (1.08 if v >= 1 else 0.92), f"{v:.2g}", ha="center",
                    va="bottom" if v >= 1 else "top", fontsize=6, rotation=90)
    ax.axhline(1.0, color="black", linewidth=1.2)
    ax.annotate("gochan = 1", xy=(1.0, 1.0), xycoords=("axes fraction", "data"), xytext=(4, 0),
                textcoords="offset points", va="center", ha="left", fontsize=9, fontweight="bold")
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g[0] for g in groups], fontsize=7.5)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    lo = min(v for g in groups for v in g[1].values() if v)
    hi = max(v for g in groups for v in g[1].values() if v)
    ax.set_ylim(min(lo, 1) / 2.5, max(hi, 1) * 2.5)
    ax.set_ylabel("peer's performance / gochan's  (log)\n"
                  "below 1: gochan is faster (or smaller)")
    meta = doc.get("meta", {})
    fig.suptitle(f"gochan vs peers, ratio of medians ({meta.get('command', '')}, "
                 f"{meta.get('date', '')}, {meta.get('nproc', '?')} cores, "
                 f"Python {meta.get('python', '')})", fontsize=10, y=0.99)
    handles = [Patch(color=COLORS[c], label=LABELS[c]) for c in peers]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//",
                         label="fan-in (no select)"))
    ax.legend(handles=handles, fontsize=8, ncol=len(handles), loc="lower center",
              bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.grid(axis="y", which="both", alpha=0.25)
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    here = Path(__file__).resolve().parent
    src = Path(argv[0]) if argv else here / "results.json"
    dst = Path(argv[1]) if len(argv) > 1 else src.with_name(
        "chart" + ("-quick" if src.stem.endswith("-quick") else "") + ".png")
    make_chart(json.loads(src.read_text()), dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
