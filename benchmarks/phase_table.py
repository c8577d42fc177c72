"""Learning-phase results table from ``ta-envs train`` sweeps.

    python benchmarks/phase_table.py runs/rnn_p24 runs/rnn_rel runs/gru_p24 ...

Reads each sweep's ``summary.json``; prints a Markdown table (seeds solved, TD >= 90%, median and
range of the transition iteration, plateau TD accuracy, jump width, wall time per 1,000
iterations) and writes ``benchmarks/results/learning_phases.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import table, write_json  # noqa: E402


def _med(s: dict | None, digits: int = 0) -> str:
    if not s:
        return "-"
    lo, med, hi = (f"{s[k]:.{digits}f}" for k in ("min", "median", "max"))
    return f"{med} ({lo}-{hi})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("sweeps", nargs="+")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" /
                                        "learning_phases.json"))
    args = p.parse_args()
    rows, raw = [], []
    for d in args.sweeps:
        s = json.loads(Path(d, "summary.json").read_text())
        c, a = s["config"], s["aggregate"]
        kw = ", ".join(f"{k}={v}" for k, v in c["task_kwargs"].items())
        rows.append({
            "arch": f"{c['arch']}({c['hidden']})",
            "task": c["task"] + (f" ({kw})" if kw else ""),
            "solved (TD>=99%)": f"{a['solved']}/{a['seeds']}",
            "TD>=90%": f"{a['reached_90']}/{a['seeds']}",
            "transition it. (TD>=75%)": _med(a["transition_at"]),
            "plateau TD acc.": _med(a["plateau_td"], 2),
            "jump 60->90% (it.)": _med(a["jump_width"]),
            "s / 1000 it.": _med(a["wall_s_per_1000_it"], 1),
        })
        raw.append({"sweep": Path(d).name, "config": c, "aggregate": a})
    print(table(rows, list(rows[0])))
    write_json(args.out, raw)


if __name__ == "__main__":
    main()
