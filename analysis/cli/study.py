"""``ta-envs study``: the paper's central claim over many seeds (timing, type, complexity, gated
networks, retraining, controls), resumable, JSON and figures into ``--out``."""

from __future__ import annotations

import argparse
import json

from ta_envs.cli import Command
from ta_envs.validation import InvalidValue

STUDIES = ("timing", "complexity", "gated", "retrain", "controls")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``ta-envs study``."""
    p.add_argument("study", choices=STUDIES)
    p.add_argument("--runs", required=True, help="folder for the training runs (reused)")
    p.add_argument("--out", required=True, help="folder for the JSON and figures")
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds per setting (default: timing 30, gated and complexity 10); "
                        "retrain: solved timing networks retrained (8); controls: timing seeds "
                        "examined (30)")
    p.add_argument("--workers", type=int, default=1, help="training worker processes")
    p.add_argument("--iterations", type=int, default=None,
                   help="training budget per run (default 3000; retrain: 800)")
    p.add_argument("--past-solve", type=int, default=None,
                   help="iterations trained after a run first reaches TD >= 0.99 (default 300)")
    p.add_argument("--settings", nargs="*", default=[], help="complexity: settings to run")
    p.add_argument("--archs", nargs="+", default=None, choices=("gru", "lstm"),
                   help="gated: the architectures (default: gru lstm)")
    p.add_argument("--states", type=int, default=128, help="fixed-point initial states")
    p.add_argument("--every", type=int, default=1, help="track every n-th checkpoint")
    p.add_argument("--quiet", action="store_true")


def run(a: argparse.Namespace) -> int:
    """Run one study and print its headline numbers."""
    from analysis import study as st
    from analysis.tracking import TrackConfig

    refuse = {"--settings": a.settings and a.study != "complexity",
              "--archs": a.archs is not None and a.study != "gated",
              "--past-solve": a.past_solve is not None and a.study in ("retrain", "controls"),
              "--iterations": a.iterations is not None and a.study == "controls",
              "--workers": a.workers != 1 and a.study in ("retrain", "controls")}
    bad = [k for k, v in refuse.items() if v]
    if bad:
        raise InvalidValue(f"{', '.join(bad)} does not apply to the {a.study} study")
    seeds = a.seeds if a.seeds is not None else {"timing": 30, "retrain": 8,
                                                 "controls": 30}.get(a.study, 10)
    iterations = a.iterations if a.iterations is not None else (
        800 if a.study == "retrain" else 3000)
    cfg = st.StudyConfig(runs=a.runs, out=a.out, seeds=seeds, workers=a.workers,
                         iterations=iterations,
                         continue_after_stop=300 if a.past_solve is None else a.past_solve,
                         track=TrackConfig(fixed_point_states=a.states, every=a.every),
                         progress=not a.quiet)
    cfg.out.mkdir(parents=True, exist_ok=True)
    if a.study == "complexity":
        result = st.complexity(cfg, tuple(a.settings) or tuple(st.COMPLEXITY))
    elif a.study == "gated":
        result = st.gated(cfg, tuple(a.archs or ("gru", "lstm")))
    else:
        result = st.RUNNERS[a.study](cfg)
    keep = {k: v for k, v in result.items() if k != "runs"} if isinstance(result, dict) else result
    print(json.dumps(keep, indent=1, default=str)[:4000])
    return 0


STUDY = Command("the paper's claims over many seeds: bifurcation timing and type, complexity, "
                "gated networks, retraining, controls", add_arguments, run)
