"""``ta-envs study``: the paper's central claim over many seeds (timing, type, complexity, gated
networks, retraining, controls), resumable, JSON and figures into ``--out``."""

from __future__ import annotations

import argparse
import json

from ta_envs.cli import Command

STUDIES = ("timing", "complexity", "gated", "retrain", "controls")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``ta-envs study``."""
    p.add_argument("study", choices=STUDIES)
    p.add_argument("--runs", required=True, help="folder for the training runs (reused)")
    p.add_argument("--out", required=True, help="folder for the JSON and figures")
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds per setting (default: timing 30, others 10)")
    p.add_argument("--workers", type=int, default=1, help="training worker processes")
    p.add_argument("--iterations", type=int, default=3000, help="training budget per run")
    p.add_argument("--past-solve", type=int, default=300,
                   help="iterations trained after a run first reaches TD >= 0.99")
    p.add_argument("--settings", nargs="*", default=[], help="complexity: settings to run")
    p.add_argument("--states", type=int, default=128, help="fixed-point initial states")
    p.add_argument("--every", type=int, default=1, help="track every n-th checkpoint")
    p.add_argument("--quiet", action="store_true")


def run(a: argparse.Namespace) -> int:
    """Run one study and print its headline numbers."""
    from analysis import study as st
    from analysis.tracking import TrackConfig

    seeds = a.seeds if a.seeds is not None else (30 if a.study == "timing" else 10)
    cfg = st.StudyConfig(runs=a.runs, out=a.out, seeds=seeds, workers=a.workers,
                         iterations=a.iterations, continue_after_stop=a.past_solve,
                         track=TrackConfig(fixed_point_states=a.states, every=a.every),
                         progress=not a.quiet)
    cfg.out.mkdir(parents=True, exist_ok=True)
    if a.study == "complexity":
        result = st.complexity(cfg, tuple(a.settings) or tuple(st.COMPLEXITY))
    else:
        result = st.RUNNERS[a.study](cfg)
    keep = {k: v for k, v in result.items() if k != "runs"} if isinstance(result, dict) else result
    print(json.dumps(keep, indent=1, default=str)[:4000])
    return 0


STUDY = Command("the paper's claims over many seeds: bifurcation timing and type, complexity, "
                "gated networks, retraining, controls", add_arguments, run)
