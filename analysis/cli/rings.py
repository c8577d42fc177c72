"""``ta-envs rings``: ring-oscillator experiments as figures and JSON.

``period``: the one-pulse ring period against ring size. ``lattice``: lattices of rings per sharing
value (and weak coupling). ``reservoir``: the ring reservoir with a ridge readout on the suite's
tasks. Results whose JSON exists are reused (``--force`` reruns them).
"""

from __future__ import annotations

import argparse

from ta_envs.cli import Command
from ta_envs.validation import check_out_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``ta-envs rings``."""
    from analysis.rings.experiments import RESERVOIR_TASKS

    p.add_argument("experiment", choices=("period", "lattice", "reservoir"))
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--rows", type=int, default=100)
    p.add_argument("--cols", type=int, default=100)
    p.add_argument("--ring-size", type=int, default=8)
    p.add_argument("--sharing", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--coupling", type=float, nargs="+", default=[0.0],
                   help="weak coupling ε (with sharing 0 runs the coupled alternative)")
    p.add_argument("--duration", type=float, default=1000.0, help="time constants")
    p.add_argument("--sample", type=float, default=10.0, help="measure every this many")
    p.add_argument("--rings", type=int, default=128, help="reservoir rings")
    p.add_argument("--hold", type=int, default=50, help="reservoir steps per task step")
    p.add_argument("--train", type=int, default=256, help="reservoir training sequences")
    p.add_argument("--tasks", nargs="+", default=list(RESERVOIR_TASKS),
                   help=f"reservoir tasks among {list(RESERVOIR_TASKS)}")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true")
    p.add_argument("--quiet", action="store_true")


def run(a: argparse.Namespace) -> int:
    """Run one experiment and print its report lines."""
    from analysis.rings import experiments as ex

    out = check_out_dir("--out", a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.experiment == "period":
        lines = ex.run_period(out)
    elif a.experiment == "lattice":
        lines = ex.run_lattices(ex.LatticeSweep(
            out, a.rows, a.cols, a.ring_size, tuple(a.sharing), tuple(a.coupling), a.duration,
            a.sample, a.seed, a.force, not a.quiet))
    else:
        lines = ex.run_reservoir(ex.ReservoirSweep(
            out, a.rings, a.hold, a.train, tuple(a.tasks), a.seeds, a.seed, a.force, not a.quiet))
    for line in lines:
        print(line)
    return 0


RINGS = Command("differentiating ring oscillators: periods, lattices, reservoir baseline",
                add_arguments, run)
