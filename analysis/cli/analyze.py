"""``ta-envs analyze``: fixed points, orbits, the bifurcation and its type, rings, for trained runs."""

from __future__ import annotations

import argparse

from ta_envs.cli import Command
from ta_envs.validation import check_int


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``ta-envs analyze``."""
    p.add_argument("runs", nargs="*", help="run directories (from ta-envs train/demo)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--every", type=int, default=1, help="track every N-th checkpoint")
    p.add_argument("--states", type=int, default=128, help="initial states per checkpoint")
    p.add_argument("--retrain-period", type=int, default=None,
                   help="retrain each run's last network on this period and track it")
    p.add_argument("--retrain-iterations", type=int, default=1000)
    p.add_argument("--oscillator", action="store_true",
                   help="the two-parameter oscillator under gradient flow")
    p.add_argument("--arch", default=None,
                   help="the module:Class of runs trained with a user architecture")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: run several at once)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(a: argparse.Namespace) -> int:
    """Analyse the runs and print one line per run."""
    import torch

    from analysis.analyze import AnalyzeConfig, analyze
    from analysis.tracking import TrackConfig

    check_int("--threads", a.threads, 1)
    torch.set_num_threads(a.threads)
    cfg = AnalyzeConfig(out=a.out, runs=tuple(a.runs), arch=a.arch,
                        track=TrackConfig(fixed_point_states=a.states, every=a.every),
                        retrain_period=a.retrain_period, retrain_iterations=a.retrain_iterations,
                        oscillator=a.oscillator, progress=not a.quiet)
    result = analyze(cfg)
    for s in result["runs"]:
        lam = ", ".join(f"{k}: |λ| {v['final_lam_abs'] or float('nan'):.3f} ({v['final_attractor']})"
                        for k, v in s["symbols"].items())
        print(f"{s['run']}: transition {s['phases'].get('transition_at')}, bifurcation "
              f"{s['bifurcation_at']}, losses of stability {s['losses_of_stability']}; {lam}")
    print(f"wrote {cfg.out / 'analysis.json'}")
    return 0


ANALYZE = Command("fixed points, orbits and the bifurcation of trained runs", add_arguments, run)
