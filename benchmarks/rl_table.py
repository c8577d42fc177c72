"""RL results table from ``ta-envs rl`` sweeps.

    python benchmarks/rl_table.py runs/rl/*

Reads each sweep's ``summary.json``; prints a Markdown table (task, agent, seeds, steps, final TD
and TI accuracy as mean ± std and min-max over seeds, frames per second) and writes
``benchmarks/results/rl_results.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import table, write_json  # noqa: E402

from baselines.provenance import commits_of  # noqa: E402


def _acc(s: dict[str, Any]) -> str:
    if s["mean"] != s["mean"]:  # NaN: the task has no such steps
        return "- (none)"
    return f"{s['mean']:.3f} ± {s['std']:.3f} ({s['min']:.2f}-{s['max']:.2f})"


#: The table's columns.
COLUMNS = ["task", "agent", "seeds", "steps", "TD acc", "TI acc", "frames/s"]


def row_of(s: dict[str, Any], sweep: str | Path) -> dict[str, Any]:
    """The table row of one sweep's ``summary.json`` content ``s``."""
    c, agg = s["config"], s["aggregate"]
    return {"task": f"{c['env_id']} {c['env_kwargs'] or ''}".strip(), "agent": s["label"],
            "seeds": agg["seeds"], "steps": c["steps"], "TD acc": _acc(agg["td_acc"]),
            "TI acc": _acc(agg["ti_acc"]),
            "frames/s": agg["fps"]["mean"] if agg["fps"] else None, "sweep": str(sweep)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("sweeps", nargs="+")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" /
                                        "rl_results.json"))
    a = p.parse_args()
    rows, made = [], []
    for d in a.sweeps:
        s = json.loads(Path(d, "summary.json").read_text())
        rows.append(row_of(s, d))
        made.append(s.get("provenance"))
    print(table(rows, COLUMNS))
    write_json(a.out, rows, run_commits=commits_of(made))


if __name__ == "__main__":
    main()
