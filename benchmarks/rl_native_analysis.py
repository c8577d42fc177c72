"""Do cores trained by reward lose their last stable fixed point like supervised ones? Tracks the
native-PPO P = 24 runs of ``rl_native_study.py`` (every checkpoint = every update) and puts them in
the supervised bifurcation study's table (its committed ``gated.json`` / ``timing.json`` rows).

    python benchmarks/rl_native_analysis.py --runs runs/rl_native [--cores gru rnn lstm]

Writes ``benchmarks/results/rl_native_bifurcation.json``. Iterations of the RL rows are PPO
updates (24,576 frames each); of the supervised rows, SGD iterations.

With ``--every n > 1`` the bifurcation is first found at the stride's resolution; each bifurcated
run's window from the tracked checkpoint before it to it is then tracked at every update
(``resolved``: `analysis.crossing.track_window`, read by `crossing_of`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analysis.crossing import (  # noqa: E402
    Crossing,
    bifurcation_window,
    crossing_of,
    summarise,
    track_window,
)
from analysis.study import run_record, stats, tracked_summary  # noqa: E402
from analysis.tracking import TrackConfig, Tracking, track_run  # noqa: E402
from baselines.provenance import provenance, run_commits  # noqa: E402
from baselines.workers import run_jobs  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def track(job: tuple[str, int]) -> str:
    run, every = job
    track_run(run, Path(run) / "tracking", TrackConfig(every=every), progress=False)
    return run


def track_window_job(job: tuple[str, int, int]) -> str:
    run, lo, hi = job
    track_window(run, (lo, hi), TrackConfig())
    return run


def resolved(run: Path, tr: Tracking) -> dict[str, Any] | None:
    """The bifurcation of ``run`` to one update (`crossing_of` on the window tracked at every
    update), with its offset from TD >= 0.9 too (None: no bifurcation)."""
    win = bifurcation_window(tr)
    if win is None:
        return None
    rec = run_record(run, tr)
    c = crossing_of(track_window(run, win, TrackConfig()), rec, resolution=win[1] - win[0])
    td90 = rec["phases"]["jump_end"]
    return {**asdict(c), "td90_offset": None if c.lost_at is None or td90 is None
            else c.lost_at - td90}


def resolved_summary(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """`summarise` over the resolved runs, with the TD >= 0.9 offset."""
    s = summarise([Crossing(**{k: v for k, v in r.items() if k != "td90_offset"}) for r in recs])
    s["offsets"]["TD >= 0.9"] = stats([r["td90_offset"] for r in recs])
    return {**s, "runs": recs}


def supervised_rows() -> dict[str, dict[str, Any]]:
    """The supervised studies' rows (gated GRU/LSTM, timing tanh RNN), read from their JSON."""
    keys = ("seeds", "solved", "bifurcated", "offsets", "bifurcation_kinds")
    sup: dict[str, dict[str, Any]] = {}
    gated = RESULTS / "analysis" / "gated.json"
    timing = RESULTS / "analysis" / "timing.json"
    if gated.exists():
        g = json.loads(gated.read_text())
        sup.update({f"supervised {k}": {kk: v[kk] for kk in keys}
                    for k, v in g.items() if isinstance(v, dict) and "seeds" in v})
    if timing.exists():
        t = json.loads(timing.read_text())
        sup["supervised rnn"] = {k: t.get(k) for k in keys}
    return sup


def tracked_rows(dirs: dict[str, list[Path]], every: int, workers: int) -> dict[str, Any]:
    """Per core: the tracked summary of its runs (every ``every``-th checkpoint), the engines and
    commits that made them, and (``every > 1``) the bifurcations resolved to one update."""
    run_jobs(track, [(str(d), every) for ds in dirs.values() for d in ds], workers,
             desc="tracking")
    tracked = {c: [(d, track_run(d, d / "tracking", TrackConfig(every=every), progress=False))
                   for d in ds] for c, ds in dirs.items()}
    windows = [(str(d), *w) for ts in tracked.values() for d, tr in ts
               if every > 1 and (w := bifurcation_window(tr)) is not None]
    run_jobs(track_window_job, windows, workers, desc="resolving")
    rows = {}
    for core, ds in dirs.items():
        engines = sorted({json.loads((d / "config.json").read_text()).get("framework", "torch")
                          for d in ds})
        res = [r for d, tr in tracked[core] if (r := resolved(d, tr)) is not None]
        rows[f"native-ppo {core}"] = {**tracked_summary(tracked[core]), "engines": engines,
                                      "run_commits": run_commits(ds),
                                      "resolved": resolved_summary(res) if every > 1 else None}
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="runs/rl_native")
    ap.add_argument("--cores", nargs="*", default=["gru", "rnn", "lstm"])
    ap.add_argument("--every", type=int, default=1, help="track every n-th checkpoint")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(RESULTS / "rl_native_bifurcation.json"))
    a = ap.parse_args()
    dirs = {c: sorted(Path(a.runs, f"P24__{c}").glob("rl_seed_*")) for c in a.cores}
    rows = tracked_rows(dirs, a.every, a.workers)
    sup = supervised_rows()
    out = {"provenance": provenance(), "units": {"native-ppo": "PPO updates (24,576 frames)",
                                                 "supervised": "SGD iterations (64 sequences)"},
           "track_every": a.every, "rows": rows, "supervised": sup}
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    for name, r in {**rows, **sup}.items():
        off = (r.get("offsets") or {}).get("smoothed TD >= 0.75") or {}
        print(f"{name:22s} seeds {r.get('seeds')} solved {r.get('solved')} bifurcated "
              f"{r.get('bifurcated')} kinds {r.get('bifurcation_kinds')} offset(smoothed 0.75) "
              f"{off.get('median')} [{off.get('q1')}, {off.get('q3')}] n={off.get('n')}")


if __name__ == "__main__":
    main()
