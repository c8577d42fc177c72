"""``ta-envs rings``: ring-oscillator experiments as figures and JSON.

``period``: one-pulse ring period against ring size (``period.json``/``.png``). ``lattice``: a
lattice of rings per sharing value (``lattice_m<m>[_eps<ε>].json`` and ``..._snapshots.png``, plus
``lattice.png`` over all runs). ``reservoir``: the ring reservoir with a ridge readout on ``ta_envs``
tasks (``reservoir.json``). Runs whose JSON exists are reused (``--force`` reruns them).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .jsonable import to_jsonable

# the suite's tasks and training lengths, so the numbers sit next to the trained RNNs
RESERVOIR_TASKS: dict[str, tuple[str, dict[str, Any], int]] = {
    "periodic P=6": ("TemporalFlipFlop-v0", {"period": 6}, 48),
    "periodic P=24": ("TemporalFlipFlop-v0", {"period": 24}, 96),
    "relative tau=5": ("RelativeTimingFlipFlop-v0", {"tau": 5}, 100),
    "FlipFlop-v0": ("FlipFlop-v0", {}, 100),
}


def add_rings_args(p: argparse.ArgumentParser) -> None:
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


def _period(out: Path) -> list[str]:
    from analysis.ring_experiments import ring_period_law
    from analysis.ring_plots import period_figure

    res = ring_period_law()
    period_figure(res, out / "period.png")
    (out / "period.json").write_text(json.dumps(to_jsonable(asdict(res))))
    return [f"period: {res.slope:.3f} N + {res.intercept:.3f} (N = {res.sizes.min()}.."
            f"{res.sizes.max()}); reference 1.26 N + 0.27"]


def _lattice(args: argparse.Namespace, out: Path) -> list[str]:
    from analysis.ring_experiments import lattice_run
    from analysis.ring_plots import lattice_snapshots_figure, lattice_summary_figure
    from baselines.rings import LatticeConfig

    configs = [LatticeConfig(args.rows, args.cols, args.ring_size, m, 0.0) for m in args.sharing]
    configs += [LatticeConfig(args.rows, args.cols, args.ring_size, 0, e)
                for e in args.coupling if e > 0]
    runs, lines = [], []
    for cfg in configs:
        name = f"lattice_m{cfg.sharing}" + (f"_eps{cfg.coupling:g}" if cfg.coupling else "")
        path = out / f"{name}.json"
        if path.exists() and not args.force:
            data = json.loads(path.read_text())
            run = _run_from_json(data)
        else:
            run = lattice_run(cfg, args.duration, args.sample, args.seed,
                              progress=not args.quiet)
            path.write_text(json.dumps(to_jsonable(asdict(run))))
        lattice_snapshots_figure(run, out / f"{name}_snapshots.png")
        runs.append(run)
        lines.append(f"{name}: {run.neurons} neurons, {run.ordering} order, locking "
                     f"{run.lock[-1]:.3f}, ξ(end) {run.xi[-1]:.1f}, steady ξ {run.steady_xi:.1f}, "
                     f"walls {run.wall_fraction[-1]:.4f}, largest domain {int(run.largest_domain[-1])}, "
                     f"period median {run.periods[1]:.2f}"
                     + (f", defects {int(run.defects[-1])}" if run.defects is not None else ""))
    lattice_summary_figure(runs, out / "lattice.png")
    return lines


def _run_from_json(d: dict[str, Any]) -> Any:
    from analysis.ring_experiments import LatticeRun
    from baselines.rings import LatticeConfig

    arr = {k: (np.array(v, dtype=float) if isinstance(v, list) else v) for k, v in d.items()}
    arr["config"] = LatticeConfig(**d["config"])
    return LatticeRun(**arr)


def _reservoir(args: argparse.Namespace, out: Path) -> list[str]:
    from ta_envs import make_dataset

    from .reservoir import ReservoirConfig, RingReservoir

    bad = [t for t in args.tasks if t not in RESERVOIR_TASKS]
    if bad:
        raise ValueError(f"tasks must be among {list(RESERVOIR_TASKS)}, got {bad}")
    path = out / "reservoir.json"
    done = json.loads(path.read_text()) if path.exists() and not args.force else {}
    todo = [(t, s) for t in args.tasks for s in range(args.seeds)
            if f"{t}/seed{args.seed + s}" not in done.get("runs", {})]
    runs = done.get("runs", {})
    for task, s in tqdm(todo, desc="reservoir", disable=args.quiet):
        tid, kw, T = RESERVOIR_TASKS[task]
        seed = args.seed + s
        ds = make_dataset(tid, args.train, T, seed=seed, **kw)
        cfg = ReservoirConfig(rings=args.rings, hold=args.hold, seed=seed)
        train = next(ds)
        res = RingReservoir(cfg).fit(train, ds.num_outputs)
        runs[f"{task}/seed{seed}"] = {"task": task, "seed": seed, "train": res.score(train),
                                      "test": res.score(ds.fixed(256)),
                                      "test_4x": res.score(ds.fixed(256, 4 * T))}
        path.write_text(json.dumps(to_jsonable({"config": {"rings": args.rings, "hold": args.hold,
                                                      "train": args.train}, "runs": runs})))
    lines = []
    for task in args.tasks:
        rs = [r for r in runs.values() if r["task"] == task]
        if rs:
            td = rs[0]["test"]["td"]
            key = "acc" if td is None or not np.isfinite(td) else "td"
            vals = [r["test"][key] for r in rs]
            long = [r["test_4x"][key] for r in rs]
            lines.append(f"reservoir {task}: {key.upper()} {np.mean(vals):.3f} (1x), "
                         f"{np.mean(long):.3f} (4x) over {len(rs)} seed(s)")
    return lines


def run_rings(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.experiment == "period":
        lines = _period(out)
    elif args.experiment == "lattice":
        lines = _lattice(args, out)
    else:
        lines = _reservoir(args, out)
    for line in lines:
        print(line)
    return 0
