"""``ta-envs rings``: ring-oscillator experiments as figures and JSON.

``period``: the one-pulse ring period against ring size, simulated and derived. ``lattice``: ring
lattices per sharing value and weak coupling, and Kuramoto lattices, over seeds. ``reservoir``:
lattice reservoirs and echo-state networks on memory capacity, NARMA-10 and the suite's tasks.
Saved parts are reused only when made with the same settings and code (``--force`` reruns
them), so an interrupted call resumes and a changed one is redone.
"""

from __future__ import annotations

import argparse

from ta_envs.cli import Command
from ta_envs.validation import check_out_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``ta-envs rings``."""
    from analysis.rings.experiments import BENCHMARKS, RESERVOIR_TASKS

    p.add_argument("experiment", choices=("period", "lattice", "reservoir"))
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--rows", type=int, help="lattice rows (lattice: 40, reservoir: 8)")
    p.add_argument("--cols", type=int, help="lattice columns (lattice: 40, reservoir: 8)")
    p.add_argument("--ring-size", type=int, help="neurons per ring (lattice: 12, reservoir: 8)")
    p.add_argument("--sharing", type=int, nargs="+",
                   help="shared neurons m (lattice: 0 1 2 3, reservoir: 0 1 2)")
    p.add_argument("--coupling", type=float, nargs="*", default=[0.02, 0.05, 0.1],
                   help="lattice: weak coupling ε of the m = 0 lattices")
    p.add_argument("--kuramoto", type=float, nargs="*", default=[0.01, 0.03, 0.1, 0.3],
                   help="lattice: Kuramoto couplings K")
    p.add_argument("--duration", type=float, default=2000.0, help="lattice: time constants")
    p.add_argument("--sample", type=float, default=10.0, help="lattice: measure every this many")
    p.add_argument("--drive", type=float, nargs="+", default=[0.5, 2.0],
                   help="reservoir: input gains of the ring reservoirs")
    p.add_argument("--hold", type=int, default=50, help="reservoir: steps per input step")
    p.add_argument("--esn-scaling", type=float, nargs="+", default=[0.1, 0.5],
                   help="reservoir: input scalings of the echo-state networks")
    p.add_argument("--benchmarks", nargs="*", default=list(BENCHMARKS),
                   help=f"reservoir benchmarks among {list(BENCHMARKS)}")
    p.add_argument("--tasks", nargs="*", default=list(RESERVOIR_TASKS),
                   help=f"reservoir tasks among {list(RESERVOIR_TASKS)}")
    p.add_argument("--train", type=int, default=256, help="reservoir training sequences")
    p.add_argument("--seeds", type=int, help="seeds per setting (lattice: 5, reservoir: 3)")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--force", action="store_true")
    p.add_argument("--quiet", action="store_true")


def _given(a: argparse.Namespace, **names: str) -> dict:
    """The options the user set (None means: the experiment's default)."""
    out = {}
    for field, opt in names.items():
        v = getattr(a, opt)
        if v is not None:
            out[field] = tuple(v) if isinstance(v, list) else v
    return out


def run(a: argparse.Namespace) -> int:
    """Run one experiment and print its report lines."""
    from analysis.rings import experiments as ex
    from analysis.rings.lattices import LatticeSweep, run_lattices

    out = check_out_dir("--out", a.out)
    out.mkdir(parents=True, exist_ok=True)
    shared = _given(a, rows="rows", cols="cols", ring_size="ring_size", sharing="sharing",
                    seeds="seeds")
    if a.experiment == "period":
        lines = ex.run_period(out)
    elif a.experiment == "lattice":
        lines = run_lattices(LatticeSweep(
            out, coupling=tuple(a.coupling), kuramoto=tuple(a.kuramoto), duration=a.duration,
            sample=a.sample, seed=a.seed, force=a.force, progress=not a.quiet, **shared))
    else:
        lines = ex.run_reservoir(ex.ReservoirSweep(
            out, drive=tuple(a.drive), hold=a.hold, esn_scaling=tuple(a.esn_scaling),
            benchmarks=tuple(a.benchmarks), tasks=tuple(a.tasks), train=a.train, seed=a.seed,
            force=a.force, progress=not a.quiet, **shared))
    for line in lines:
        print(line)
    return 0


RINGS = Command("differentiating ring oscillators: periods, lattices and Kuramoto baseline, "
                "reservoirs against echo-state networks", add_arguments, run)
