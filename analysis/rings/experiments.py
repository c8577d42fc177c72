"""Ring-oscillator experiments: one-pulse ring periods against ring size, and lattices of rings
synchronising over time (order parameters, correlation length, domains), as result objects."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from baselines.jsonable import to_jsonable
from baselines.rings import (
    LatticeConfig,
    NeuronParams,
    initial_state,
    lattice,
    simulate,
    single_rings,
)
from baselines.runs import atomic_write_json
from ta_envs.progress import iterate
from ta_envs.validation import InvalidValue, check_float, check_int_fields, check_seed

from .synchrony import (
    correlation_length,
    defects,
    domains,
    local_order,
    neighbour_locking,
    order_parameter,
    phase_correlation,
    ring_periods,
    ring_phases,
    staggered,
)


@dataclass(frozen=True)
class PeriodResult:
    """One-pulse ring period (time units) per ring size, and the least-squares line
    ``period = slope · N + intercept``."""

    sizes: np.ndarray
    periods: np.ndarray
    slope: float
    intercept: float


def ring_period_law(sizes: Sequence[int] = tuple(range(2, 9)), steps: int = 30000,
                    params: NeuronParams | None = None) -> PeriodResult:
    """Simulate one ring per size from the standard start and fit the period law."""
    params = params or NeuronParams()
    sizes_a = np.asarray(sizes, dtype=int)
    tr = simulate(single_rings(sizes_a.tolist()), steps, params=params)
    P = ring_periods(tr.event_step, tr.event_ring, len(sizes_a), params.dt)
    slope, intercept = np.polyfit(sizes_a, P, 1)
    return PeriodResult(sizes_a, P, float(slope), float(intercept))


@dataclass(frozen=True)
class LatticeRun:
    """A lattice run sampled at ``times [S]`` (time units). ``ordering`` is "in_phase" or
    "antiphase" (from the final neighbour locking); the correlation length ``xi``, the domains and
    ``order`` (global Kuramoto R) are of the field in that ordering (staggered for antiphase).
    ``lock [S]`` neighbour-locking strength; ``local [S]`` local order of the raw phases;
    ``snapshots [K, rows, cols]`` phases at ``snapshot_times [K]``; ``periods``: 5th, 50th and
    95th percentiles of ring periods; ``defects [S]`` number of phase vortices and antivortices
    of the ordered field."""

    config: LatticeConfig
    seed: int
    ordering: str
    times: np.ndarray
    order: np.ndarray
    local: np.ndarray
    lock: np.ndarray
    lock_angle: np.ndarray
    xi: np.ndarray
    mean_domain: np.ndarray
    largest_domain: np.ndarray
    wall_fraction: np.ndarray
    snapshot_times: np.ndarray
    snapshots: np.ndarray
    periods: np.ndarray
    neurons: int
    defects: np.ndarray | None = None  #: [S] topological defects (vortices + antivortices)

    @property
    def steady_xi(self) -> float:
        """Mean correlation length over the last quarter of the run."""
        k = max(1, len(self.xi) // 4)
        return float(np.nanmean(self.xi[-k:]))


def lattice_run(cfg: LatticeConfig, duration: float = 1000.0, sample: float = 10.0,
                seed: int = 0, snapshots: int = 4, max_r: int | None = None,
                params: NeuronParams | None = None, progress: bool = False) -> LatticeRun:
    """Simulate ``cfg`` from random initial phases for ``duration`` time units and measure the
    synchrony every ``sample`` time units (the last two ring periods are left out: a phase needs
    the next cycle start)."""
    params = params or NeuronParams()
    net = lattice(cfg)
    steps = int(round(duration / params.dt))
    state = initial_state(net, params, rng=np.random.default_rng(seed))
    tr = simulate(net, steps, state, params, progress=progress)
    es, er = tr.event_step, tr.event_ring
    P = ring_periods(es, er, net.num_rings, params.dt)
    horizon = duration - 2.5 * float(np.nanmax(P))
    times = np.arange(sample, horizon, sample)
    R, C = cfg.rows, cfg.cols
    th = ring_phases(es, er, net.num_rings,
                     np.round(times / params.dt).astype(np.int64)).reshape(len(times), R, C)
    locks = np.array([neighbour_locking(t) for t in th])
    ordering = "antiphase" if abs(locks[-1, 1]) > np.pi / 2 else "in_phase"
    field = staggered(th) if ordering == "antiphase" else th
    max_r = max_r or min(R, C) // 2
    xi = np.array([correlation_length(phase_correlation(f, max_r)) for f in field])
    doms = [domains(f) for f in field]
    snap_idx = np.unique(np.linspace(0, len(times) - 1, snapshots).round().astype(int))
    return LatticeRun(
        config=cfg, seed=seed, ordering=ordering, times=times,
        order=order_parameter(field.reshape(len(times), -1)), local=local_order(th),
        lock=locks[:, 0], lock_angle=locks[:, 1], xi=xi,
        mean_domain=np.array([d.mean_size for d in doms]),
        largest_domain=np.array([d.largest for d in doms]),
        wall_fraction=np.array([d.wall_fraction for d in doms]),
        snapshot_times=times[snap_idx], snapshots=th[snap_idx],
        periods=np.nanpercentile(P, [5, 50, 95]), neurons=net.num_neurons,
        defects=np.array([int(np.abs(defects(f)).sum()) for f in field]))


# the suite's tasks and training lengths, so the numbers sit next to the trained RNNs
RESERVOIR_TASKS: dict[str, tuple[str, dict[str, Any], int]] = {
    "periodic P=6": ("TemporalFlipFlop-v0", {"period": 6}, 48),
    "periodic P=24": ("TemporalFlipFlop-v0", {"period": 24}, 96),
    "relative tau=5": ("RelativeTimingFlipFlop-v0", {"tau": 5}, 100),
    "FlipFlop-v0": ("FlipFlop-v0", {}, 100),
}


def run_period(out: Path) -> list[str]:
    """The one-pulse period law: ``period.json``/``.png``; returns report lines."""
    from .plots import period_figure

    res = ring_period_law()
    period_figure(res, out / "period.png")
    atomic_write_json(out / "period.json", to_jsonable(asdict(res)), indent=None)
    return [f"period: {res.slope:.3f} N + {res.intercept:.3f} (N = {res.sizes.min()}.."
            f"{res.sizes.max()}); reference 1.26 N + 0.27"]


@dataclass(frozen=True)
class LatticeSweep:
    """Lattices of ``rows x cols`` rings of ``ring_size`` neurons: one run per sharing value and
    per weak coupling (with sharing 0), ``duration`` time constants, measured every ``sample``."""

    out: Path
    rows: int = 100
    cols: int = 100
    ring_size: int = 8
    sharing: tuple[int, ...] = (0, 1, 2)
    coupling: tuple[float, ...] = ()
    duration: float = 1000.0
    sample: float = 10.0
    seed: int = 0
    force: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        check_float("duration", self.duration, above=0.0)
        check_float("sample", self.sample, above=0.0)
        for e in self.coupling:
            check_float("coupling", e, 0.0)
        check_seed("seed", self.seed)

    def configs(self) -> list[LatticeConfig]:
        """One lattice per sharing value, then one per positive coupling."""
        out = [LatticeConfig(self.rows, self.cols, self.ring_size, m, 0.0) for m in self.sharing]
        return out + [LatticeConfig(self.rows, self.cols, self.ring_size, 0, e)
                      for e in self.coupling if e > 0]


def run_lattices(sweep: LatticeSweep) -> list[str]:
    """Each lattice's JSON and snapshots, and ``lattice.png`` over all; returns report lines."""
    from .plots import lattice_snapshots_figure, lattice_summary_figure

    args, out = sweep, sweep.out
    configs = sweep.configs()
    runs, lines = [], []
    for cfg in configs:
        name = f"lattice_m{cfg.sharing}" + (f"_eps{cfg.coupling:g}" if cfg.coupling else "")
        path = out / f"{name}.json"
        if path.exists() and not args.force:
            data = json.loads(path.read_text())
            run = _run_from_json(data)
        else:
            run = lattice_run(cfg, args.duration, args.sample, args.seed,
                              progress=sweep.progress)
            atomic_write_json(path, to_jsonable(asdict(run)), indent=None)
        lattice_snapshots_figure(run, out / f"{name}_snapshots.png")
        runs.append(run)
        lines.append(f"{name}: {run.neurons} neurons, {run.ordering} order, locking "
                     f"{run.lock[-1]:.3f}, ξ(end) {run.xi[-1]:.1f}, steady ξ {run.steady_xi:.1f}, "
                     f"walls {run.wall_fraction[-1]:.4f}, largest domain {int(run.largest_domain[-1])}, "
                     f"period median {run.periods[1]:.2f}"
                     + (f", defects {int(run.defects[-1])}" if run.defects is not None else ""))
    lattice_summary_figure(runs, out / "lattice.png")
    return lines


def _run_from_json(d: dict[str, Any]) -> LatticeRun:
    arr = {k: (np.array(v, dtype=float) if isinstance(v, list) else v) for k, v in d.items()}
    arr["config"] = LatticeConfig(**d["config"])
    return LatticeRun(**arr)


@dataclass(frozen=True)
class ReservoirSweep:
    """The ring reservoir on the suite's tasks: ``rings`` rings, ``hold`` simulation steps per
    task step, ``train`` training sequences, seeds ``seed .. seed + seeds - 1``."""

    out: Path
    rings: int = 128
    hold: int = 50
    train: int = 256
    tasks: tuple[str, ...] = tuple(RESERVOIR_TASKS)
    seeds: int = 1
    seed: int = 0
    force: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        bad = [t for t in self.tasks if t not in RESERVOIR_TASKS]
        if bad:
            raise InvalidValue(f"tasks must be among {list(RESERVOIR_TASKS)}, got {bad}")
        check_int_fields(self, ("rings", "hold", "train", "seeds"), 1)
        check_seed("seed", self.seed)


def run_reservoir(sweep: ReservoirSweep) -> list[str]:
    """Fit and score the reservoir per task and seed (``reservoir.json``); report lines."""
    from baselines.rings.reservoir import ReservoirConfig, RingReservoir
    from ta_envs import make_dataset

    args, out = sweep, sweep.out
    path = out / "reservoir.json"
    done = json.loads(path.read_text()) if path.exists() and not args.force else {}
    todo = [(t, s) for t in args.tasks for s in range(args.seeds)
            if f"{t}/seed{args.seed + s}" not in done.get("runs", {})]
    runs = done.get("runs", {})
    for task, s in iterate(todo, "reservoir", sweep.progress):
        tid, kw, T = RESERVOIR_TASKS[task]
        seed = args.seed + s
        ds = make_dataset(tid, args.train, T, seed=seed, **kw)
        cfg = ReservoirConfig(rings=args.rings, hold=args.hold, seed=seed)
        train = next(ds)
        res = RingReservoir(cfg).fit(train, ds.num_outputs)
        runs[f"{task}/seed{seed}"] = {"task": task, "seed": seed, "train": res.score(train),
                                      "test": res.score(ds.fixed(256)),
                                      "test_4x": res.score(ds.fixed(256, 4 * T))}
        atomic_write_json(path, to_jsonable({"config": {"rings": args.rings, "hold": args.hold,
                                                        "train": args.train}, "runs": runs}),
                          indent=None)
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


