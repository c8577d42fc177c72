"""``ta-envs demo``: one seed of the paper's setting, tracked and analysed, with ``report.md``."""

from __future__ import annotations

import argparse

from ta_envs.cli import Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``ta-envs demo``."""
    p.add_argument("--out", default="ta_envs_demo")
    p.add_argument("--seed", type=int, default=2, help="default: a seed showing all phases")
    p.add_argument("--iterations", type=int, default=2500)
    p.add_argument("--quiet", action="store_true")


def run(a: argparse.Namespace) -> int:
    """Run the demo and print where the report is."""
    from analysis.demo import DemoConfig, run_demo

    r = run_demo(DemoConfig(out=a.out, seed=a.seed, iterations=a.iterations,
                            progress=not a.quiet))
    print(f"wrote {a.out}/report.md ({r['wall_s']:.0f} s): transition {r['transition_at']}, "
          f"bifurcation {r['bifurcation_at']} ({r['kind']})")
    return 0


DEMO = Command("one seed of the paper's setting, tracked, with report.md", add_arguments, run)
