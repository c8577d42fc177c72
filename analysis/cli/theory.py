"""``ta-envs theory``: linear-RNN learning dynamics, as figures and numbers."""

from __future__ import annotations

import argparse

from analysis.theory.experiments import EXPERIMENTS
from ta_envs.cli import Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``ta-envs theory``."""
    p.add_argument("experiments", nargs="*", default=[], metavar="EXPERIMENT",
                   help=f"any of {', '.join(EXPERIMENTS)} (default: all)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--quick", action="store_true", help="fewer steps and settings (smoke run)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="rerun experiments whose JSON exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(a: argparse.Namespace) -> int:
    """Run the experiments and print their headline numbers."""
    from analysis.theory.experiments import TheoryConfig, report_lines, run_theory

    cfg = TheoryConfig(out=a.out, experiments=tuple(a.experiments), quick=a.quick, seed=a.seed,
                       force=a.force, progress=not a.quiet)
    for line in report_lines(run_theory(cfg)):
        print(line)
    return 0


THEORY = Command("linear-RNN learning dynamics: the four properties, as figures and numbers",
                 add_arguments, run)
