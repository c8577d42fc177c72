"""Ring-oscillator experiments: one-pulse ring periods against ring size (simulated and derived)
and the reservoir sweeps; the lattice study is in
[`analysis.rings.lattices`][analysis.rings.lattices]."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from baselines.echo_state import EchoStateConfig, EchoStateNetwork
from baselines.jsonable import to_jsonable
from baselines.provenance import cache_key, code_hash, commits_of, provenance, with_provenance
from baselines.reservoir_readout import FeatureReservoir
from baselines.reservoir_tasks import memory_capacity, narma10_nrmse
from baselines.rings import LatticeConfig, NeuronParams, simulate, single_rings
from baselines.rings.reservoir import ReservoirConfig, RingReservoir
from baselines.runs import atomic_write_json
from ta_envs import make_dataset
from ta_envs.progress import iterate
from ta_envs.validation import InvalidValue, check_int_fields, check_seed

from .period import PeriodResult, asymptotic_low_phase, ring_period
from .ring_figures import period_figure, reservoir_figure
from .synchrony import (
    ring_periods,
)


def ring_period_law(sizes: Sequence[int] = tuple(range(2, 9)), steps: int = 30000,
                    params: NeuronParams | None = None) -> PeriodResult:
    """Simulate one ring per size from the standard start and fit the period law."""
    params = params or NeuronParams()
    sizes_a = np.asarray(sizes, dtype=int)
    tr = simulate(single_rings(sizes_a.tolist()), steps, params=params)
    P = ring_periods(tr.event_step, tr.event_ring, len(sizes_a), params.dt)
    slope, intercept = np.polyfit(sizes_a, P, 1)
    derived = np.array([ring_period(int(n), params) for n in sizes_a])
    return PeriodResult(sizes_a, P, float(slope), float(intercept), derived,
                        asymptotic_low_phase(params), params.dt)


# the suite's tasks and training lengths, so the numbers sit next to the trained RNNs
RESERVOIR_TASKS: dict[str, tuple[str, dict[str, Any], int]] = {
    "periodic P=6": ("TemporalFlipFlop-v0", {"period": 6}, 48),
    "periodic P=24": ("TemporalFlipFlop-v0", {"period": 24}, 96),
    "relative tau=5": ("RelativeTimingFlipFlop-v0", {"tau": 5}, 100),
    "FlipFlop-v0": ("FlipFlop-v0", {}, 100),
}


def run_period(out: Path) -> list[str]:
    """The one-pulse period law: ``period.json``/``.png``; returns report lines."""
    res = ring_period_law()
    period_figure(res, out / "period.png")
    atomic_write_json(out / "period.json", with_provenance(to_jsonable(asdict(res))), indent=None)
    assert res.derived is not None
    worst = float(np.max(np.abs(res.periods - res.derived) / res.sizes))
    return [f"period: simulated {np.round(res.periods, 3).tolist()} vs derived "
            f"{np.round(res.derived, 3).tolist()} (N = {res.sizes.min()}..{res.sizes.max()}, "
            f"largest gap {worst:.4f} per neuron at dt = {res.dt}); least-squares line "
            f"{res.slope:.3f} N + {res.intercept:.3f}; large-ring slope {res.limit_slope:.4f}"]


BENCHMARKS = ("memory", "narma10")


@dataclass(frozen=True)
class ReservoirSweep:
    """Reservoirs on the standard benchmarks (linear memory capacity, NARMA-10) and on the suite's
    tasks, scored by the same ridge readout:

    - ring lattices of ``rows x cols`` rings of ``ring_size`` neurons, one per ``sharing`` value
      (0: independent rings of one size) and ``drive`` (input gain), ``hold`` simulation steps
      per input step, every ring taking input; the suite's tasks use the drive ``task_drive``
      only (default: the first of ``drive``; simulating 256 sequences per task is the expensive
      part);
    - an echo-state network with as many features as each lattice (spectral radius 0.9), one per
      ``esn_scaling`` (input scaling).

    Seeds ``seed .. seed + seeds - 1``; ``train`` training sequences for the suite's tasks."""

    out: Path
    rows: int = 8
    cols: int = 8
    ring_size: int = 8
    sharing: tuple[int, ...] = (0, 1, 2)
    drive: tuple[float, ...] = (0.5, 2.0)
    task_drive: float | None = None
    hold: int = 50
    esn_scaling: tuple[float, ...] = (0.1, 0.5)
    benchmarks: tuple[str, ...] = BENCHMARKS
    tasks: tuple[str, ...] = tuple(RESERVOIR_TASKS)
    train: int = 256
    seeds: int = 3
    seed: int = 0
    force: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        bad = [t for t in self.tasks if t not in RESERVOIR_TASKS]
        if bad:
            raise InvalidValue(f"tasks must be among {list(RESERVOIR_TASKS)}, got {bad}")
        bad = [b for b in self.benchmarks if b not in BENCHMARKS]
        if bad:
            raise InvalidValue(f"benchmarks must be among {list(BENCHMARKS)}, got {bad}")
        check_int_fields(self, ("rows", "cols", "ring_size", "hold", "train", "seeds"), 1)
        check_seed("seed", self.seed)
        if not self.drive:
            raise InvalidValue("drive must name at least one input gain")
        if self.task_drive is None:
            object.__setattr__(self, "task_drive", self.drive[0])

    def models(self, seed: int) -> list[tuple[str, Callable[[], FeatureReservoir]]]:
        """``(name, build)`` for every model of the sweep at ``seed`` (a fresh reservoir per job:
        a fitted readout belongs to one task)."""
        out: list[tuple[str, Callable[[], FeatureReservoir]]] = []
        widths = set()
        for m in self.sharing:
            lat = LatticeConfig(self.rows, self.cols, self.ring_size, m)
            for d in self.drive:
                cfg = ReservoirConfig(lattice=lat, drive=d, hold=self.hold, input_fraction=1.0,
                                      seed=seed)
                widths.add(RingReservoir(cfg).num_features - 1)
                out.append((f"rings m={m} drive={d:g}", partial(RingReservoir, cfg)))
        for units in sorted(widths):  # an echo-state network as wide as each ring reservoir
            for sc in self.esn_scaling:
                ecfg = EchoStateConfig(units=units, input_scaling=sc, seed=seed)
                out.append((f"esn units={units} scaling={sc:g}",
                            partial(EchoStateNetwork, ecfg)))
        return out


def _score(name: str, model: FeatureReservoir, job: str, seed: int, train: int
           ) -> dict[str, Any]:

    if job == "memory":
        mc, per = memory_capacity(model.features, seed=seed)
        return {"value": mc, "per_delay": per[:21]}
    if job == "narma10":
        return {"value": narma10_nrmse(model.features, seed=seed)}
    tid, kw, T = RESERVOIR_TASKS[job]
    ds = make_dataset(tid, train, T, seed=seed, **kw)
    model.fit(next(ds), ds.num_outputs)
    test = model.score(ds.fixed(256))
    key = "acc" if not np.isfinite(test["td"]) else "td"
    return {"value": test[key], "metric": key, "test": test}


#: The code a reservoir run's saved score is keyed on (the reservoirs, the readout, the
#: benchmarks, and ``ta_envs`` for the suite's tasks).
RESERVOIR_CODE = ("baselines/rings", "baselines/echo_state.py", "baselines/reservoir_readout.py",
                  "baselines/reservoir_tasks.py", "analysis/rings", "ta_envs")


def _reservoir_jobs(sweep: ReservoirSweep, code: str
                    ) -> list[tuple[str, str, str, Callable[[], FeatureReservoir], str, int]]:
    """``(id, key, model name, build, job, seed)`` of every score the sweep asks for (the suite's
    tasks only for the ring reservoirs at ``task_drive``)."""
    jobs = list(sweep.benchmarks) + list(sweep.tasks)
    task_tag = f"drive={sweep.task_drive:g}"
    out = []
    for s in range(sweep.seed, sweep.seed + sweep.seeds):
        for name, build in sweep.models(s):
            for j in jobs:
                if j in sweep.tasks and name.startswith("rings") and not name.endswith(task_tag):
                    continue
                key = cache_key({"model": repr(build), "job": j, "task": RESERVOIR_TASKS.get(j),
                                 "seed": s, "train": sweep.train}, code)
                out.append((f"{name}/{j}/seed{s}", key, name, build, j, s))
    return out


def run_reservoir(sweep: ReservoirSweep) -> list[str]:
    """Score every (model, benchmark or task, seed) of the sweep, saving each in
    ``reservoir.json`` as it is made; write the summary of this sweep's runs (with the commits
    they were made at) and the figure; returns report lines. A saved score is reused only when its
    key (the model's full config, the job, the seed, ``train`` and the source of
    ``RESERVOIR_CODE``) is this call's and ``force`` is off."""
    out = sweep.out
    out.mkdir(parents=True, exist_ok=True)
    path = out / "reservoir.json"
    runs: dict[str, Any] = {}
    if path.exists() and not sweep.force:
        runs = json.loads(path.read_text()).get("runs", {})
    jobs = _reservoir_jobs(sweep, code_hash(*RESERVOIR_CODE))
    wanted = [j[0] for j in jobs]
    todo = [j for j in jobs if runs.get(j[0], {}).get("key") != j[1]]
    for rid, key, name, build, job, s in iterate(todo, "reservoir", sweep.progress):
        model = build()
        runs[rid] = {"model": name, "job": job, "seed": s, "features": model.num_features,
                     **_score(name, model, job, s, sweep.train), "key": key,
                     "provenance": provenance()}
        atomic_write_json(path, to_jsonable({"runs": runs}), indent=None)
    mine_runs = {rid: runs[rid] for rid in wanted}
    summary = reservoir_summary(mine_runs)
    atomic_write_json(out / "reservoir_summary.json", to_jsonable(
        {"jobs": summary, "seeds": list(range(sweep.seed, sweep.seed + sweep.seeds)),
         "run_commits": commits_of([r.get("provenance") for r in mine_runs.values()]),
         "provenance": provenance()}), indent=1)
    reservoir_figure(summary, out / "reservoir.png")
    lines = []
    for job, models in summary.items():
        for name, st in models.items():
            lines.append(f"{job}: {name}: {st['median']:.3f} [{st['min']:.3f}, {st['max']:.3f}] "
                         f"over {st['n']} seed(s)")
    return lines


def reservoir_summary(runs: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per job and model: median, min, max of the score over seeds, and ``n``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in runs.values():
        out.setdefault(r["job"], {}).setdefault(r["model"], {"values": []})["values"].append(
            r["value"])
    for models in out.values():
        for name, d in models.items():
            v = np.asarray(d.pop("values"), dtype=float)
            models[name] = {"median": float(np.median(v)), "min": float(v.min()),
                            "max": float(v.max()), "n": int(len(v))}
    return out
