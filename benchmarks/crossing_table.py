"""Bifurcation against learning-phase transition over seeds, from ``ta-envs analyze`` outputs.

    python benchmarks/crossing_table.py RUN_DIR... --analysis OUT [--every 2] [--name rnn_p24]

For each run directory, re-assembles the tracking saved under ``OUT/<run>/tracking_cache`` (no new
fixed-point search when ``ta-envs analyze`` has run) and prints per seed: the transition (TD >= 75%)
and solved iterations, the bifurcation (the last stable fixed point lost, per symbol and earliest),
the first iteration from which a stable periodic orbit exists, the first iteration with two stable
fixed points and the one from which they stay (relative timing: the second stable point under
``null``), and the tracked point's final
``|λ_max|`` and ``2π / arg λ_max``; for periodic tasks also the subspace test of the last
network (TD accuracy of the 3-D projection and of the full state, phase locking and winding per
output state). Writes ``benchmarks/results/crossings_<name>.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _timing import table, write_json  # noqa: E402

from analysis.subspace import subspace_test  # noqa: E402
from analysis.tracking import TrackConfig, track_run  # noqa: E402
from baselines.train import checkpoints, load_model  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--analysis", required=True, help="the --out of ta-envs analyze")
    p.add_argument("--every", type=int, default=1)
    p.add_argument("--name", default="runs")
    a = p.parse_args()
    rows = []
    for r in a.runs:
        tr = track_run(r, Path(a.analysis) / Path(r).name / "tracking_cache", TrackConfig(),
                       every=a.every, progress=False)
        ph = tr.phases
        row = {"run": Path(r).name, "transition": ph["transition_at"], "solved": ph["solved_at"],
               "bifurcation": tr.bifurcation_at()}
        for u, s in enumerate(tr.symbols):
            row[f"lost ({s})"] = tr.stable_points_lost_at(u)
            row[f"stable orbit ({s})"] = tr.stable_orbit_at(u)
            two = np.flatnonzero(tr.n_stable[:, u] >= 2)
            row[f"2 stable: first, held ({s})"] = (
                f"{tr.iterations[two[0]]}, {tr.stable_points_reached_at(u, 2)}" if len(two) else None)
            lam, arg = tr.lam_abs[-1, u], tr.lam_arg[-1, u]
            row[f"|λ| ({s})"] = round(float(lam), 3)
            row[f"2π/arg ({s})"] = round(float(2 * np.pi / arg), 1) if arg > 1e-9 else None
        model, task, _ = load_model(checkpoints(r)[-1])
        if any(c.period is not None for c in task.automaton.clocks):
            res = subspace_test(model, task)
            row["TD acc 3-D / full"] = (f"{res.accuracy['projection']['td']:.3f} / "
                                        f"{res.accuracy['full_state']['td']:.3f}")
            row["R, winding"] = "; ".join(f"{res.phase_locking[k]:.2f}, {res.winding[k]:+d}"
                                          for k in sorted(res.phase_locking))
        b, t = row["bifurcation"], row["transition"]
        row["bifurcation - transition"] = None if b is None or t is None else b - t
        rows.append(row)
    cols = list(rows[0])
    print(table(rows, cols))
    d = [r["bifurcation - transition"] for r in rows if r["bifurcation - transition"] is not None]
    agg = {"runs": len(rows), "with_bifurcation": len(d),
           "median_offset": float(np.median(d)) if d else None,
           "abs_offset_le_20": int(sum(abs(x) <= 20 for x in d)),
           "abs_offset_le_50": int(sum(abs(x) <= 50 for x in d))}
    print(agg)
    write_json(Path(__file__).resolve().parent / "results" / f"crossings_{a.name}.json", rows,
               aggregate=agg, checkpoint_spacing=f"every {a.every} checkpoint(s)")


if __name__ == "__main__":
    main()
