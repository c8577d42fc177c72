"""Lattices of ring oscillators over seeds, and the Kuramoto lattice measured the same way.

One *setting* is a lattice (sharing ``m``, or weak coupling ``ε`` with ``m = 0``) or a Kuramoto
lattice (coupling ``K``); each runs for several seeds side by side (batch rows; row ``b`` is exactly
the run with seed ``seeds[b]`` alone). Every run is measured by `measure()` with the functions
of [`analysis.rings.synchrony`][analysis.rings.synchrony]: order parameter, neighbour locking,
correlation length ξ,
domains and topological defects over time. A run's defect count has *converged* when its mean over
the last tenth of the run is within 20% (or 2 defects) of its mean over the tenth before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from baselines.jsonable import to_jsonable
from baselines.provenance import cache_key, code_hash, commits_of, provenance
from baselines.rings import LatticeConfig, NeuronParams, initial_state, lattice, simulate
from baselines.rings.kuramoto import KuramotoConfig, simulate_lattice
from baselines.rings.model import RingState
from baselines.runs import atomic_write_json
from ta_envs.progress import iterate
from ta_envs.validation import InvalidValue, check_float, check_int, check_out_dir, check_seed

from .ring_figures import lattice_snapshots_figure, lattice_sweep_figure
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
class LatticeRun:
    """One lattice run sampled at ``times [S]`` (time constants). ``kind``: "rings" or "kuramoto";
    ``ordering``: "in_phase" or "antiphase" (from the final neighbour locking); ξ (capped at the
    lattice size), the domains, ``order`` (global R) and ``defects`` are of the field in that
    ordering (staggered for antiphase); ``lock [S]`` neighbour-locking strength; ``local [S]`` local
    order of the raw phases; ``snapshots [K, rows, cols]`` phases at ``snapshot_times``; ``periods``:
    5th, 50th and 95th percentiles of the oscillators' periods; ``frequency_std``: spread of their
    angular frequencies (rad per time constant)."""

    kind: str
    config: dict[str, Any]
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
    defects: np.ndarray
    snapshot_times: np.ndarray
    snapshots: np.ndarray
    periods: np.ndarray
    frequency_std: float
    oscillators: int

    def _tail(self, values: np.ndarray, frac: float = 0.25) -> float:
        k = max(1, int(len(values) * frac))
        return float(np.nanmean(values[-k:]))

    @property
    def steady_xi(self) -> float:
        """Mean correlation length over the last quarter of the run."""
        return self._tail(self.xi)

    @property
    def defect_density(self) -> float:
        """Defects per oscillator over the last tenth of the run."""
        return self._tail(self.defects, 0.1) / self.oscillators

    @property
    def converged(self) -> bool:
        """Whether the defect count settled (see the module docstring)."""
        k = max(1, len(self.defects) // 10)
        last, before = self.defects[-k:].mean(), self.defects[-2 * k : -k].mean()
        return bool(abs(last - before) <= max(0.2 * before, 2.0))

    @property
    def name(self) -> str:
        """Setting name, e.g. ``rings_m1``, ``rings_m0_eps0.05``, ``kuramoto_K0.1``."""
        c = self.config
        if self.kind == "kuramoto":
            return f"kuramoto_K{c['coupling']:g}"
        return f"rings_m{c['sharing']}" + (f"_eps{c['coupling']:g}" if c["coupling"] else "")


def measure(kind: str, config: dict[str, Any], seed: int, times: np.ndarray, th: np.ndarray,
            periods: np.ndarray, snapshots: int = 4) -> LatticeRun:
    """Measure phase fields ``th [S, rows, cols]`` at ``times`` (``periods [R]``: each
    oscillator's period)."""
    rows, cols = th.shape[1:]
    locks = np.array([neighbour_locking(t) for t in th])
    ordering = "antiphase" if abs(locks[-1, 1]) > np.pi / 2 else "in_phase"
    fld = staggered(th) if ordering == "antiphase" else th
    max_r = min(rows, cols) // 2
    cap = float(max(rows, cols))  # ξ at the lattice size: ordered at this size
    xi = np.array([correlation_length(phase_correlation(f, max_r), cap=cap) for f in fld])
    doms = [domains(f) for f in fld]
    snap = np.unique(np.linspace(0, len(times) - 1, snapshots).round().astype(int))
    with np.errstate(divide="ignore", invalid="ignore"):
        freq = 2 * np.pi / periods
    return LatticeRun(
        kind=kind, config=config, seed=seed, ordering=ordering, times=times,
        order=order_parameter(fld.reshape(len(times), -1)), local=local_order(th),
        lock=locks[:, 0], lock_angle=locks[:, 1], xi=xi,
        mean_domain=np.array([d.mean_size for d in doms]),
        largest_domain=np.array([d.largest for d in doms]),
        wall_fraction=np.array([d.wall_fraction for d in doms]),
        defects=np.array([int(np.abs(defects(f)).sum()) for f in fld]),
        snapshot_times=times[snap], snapshots=th[snap],
        periods=np.nanpercentile(periods, [5, 50, 95]),
        frequency_std=float(np.nanstd(freq)), oscillators=rows * cols)


def ring_lattice_runs(cfg: LatticeConfig, duration: float, sample: float, seeds: Sequence[int],
                      params: NeuronParams | None = None, progress: bool = False
                      ) -> list[LatticeRun]:
    """Simulate ``cfg`` from random initial phases (``default_rng(seed)`` per seed, side by side)
    for ``duration`` time constants; measure every ``sample`` (the last 2.5 ring periods are left
    out: a phase needs the next cycle start)."""
    params = params or NeuronParams()
    net = lattice(cfg)
    starts = [initial_state(net, params, rng=np.random.default_rng(s)) for s in seeds]
    state = RingState(np.concatenate([s.v for s in starts]),
                      np.concatenate([s.low for s in starts]))
    tr = simulate(net, int(round(duration / params.dt)), state, params, progress=progress)
    runs = []
    for b, seed in enumerate(seeds):
        mine = tr.event_batch == b
        es, er = tr.event_step[mine], tr.event_ring[mine]
        P = ring_periods(es, er, net.num_rings, params.dt)
        horizon = duration - 2.5 * float(np.nanmax(P))
        times = np.arange(sample, horizon, sample)
        th = ring_phases(es, er, net.num_rings, np.round(times / params.dt).astype(np.int64))
        runs.append(measure("rings", asdict(cfg), int(seed), times,
                            th.reshape(len(times), cfg.rows, cfg.cols), P))
    return runs


def kuramoto_runs(cfg: KuramotoConfig, duration: float, sample: float, seeds: Sequence[int]
                  ) -> list[LatticeRun]:
    """The Kuramoto lattice for each seed, measured like the rings."""
    th, times = simulate_lattice(cfg, duration, sample, list(seeds))
    runs = []
    for b, seed in enumerate(seeds):
        # the natural frequencies of this seed (the stepper draws phases, then frequencies)
        rng = np.random.default_rng(seed)
        rng.uniform(0, 2 * np.pi, (cfg.rows, cfg.cols))
        omega = cfg.omega + cfg.omega_std * rng.normal(size=(cfg.rows, cfg.cols))
        runs.append(measure("kuramoto", asdict(cfg), int(seed), times, th[:, b],
                            (2 * np.pi / omega).ravel()))
    return runs


@dataclass(frozen=True)
class LatticeSweep:
    """The lattice study: ring lattices of ``rows x cols`` rings of ``ring_size`` neurons, one
    setting per sharing value and per weak coupling (sharing 0), and Kuramoto lattices of the
    same size, one setting per coupling ``K``, with the rings' median period and frequency
    spread (of the uncoupled lattice); ``seeds`` seeds each, ``duration`` time constants,
    measured every ``sample``."""

    out: Path
    rows: int = 40
    cols: int = 40
    ring_size: int = 12
    sharing: tuple[int, ...] = (0, 1, 2, 3)
    coupling: tuple[float, ...] = (0.02, 0.05, 0.1)
    kuramoto: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3)
    duration: float = 2000.0
    sample: float = 10.0
    seeds: int = 5
    seed: int = 0
    force: bool = False
    progress: bool = True
    params: NeuronParams = field(default_factory=NeuronParams)

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", check_out_dir("out", self.out))
        check_float("duration", self.duration, above=0.0)
        check_float("sample", self.sample, above=0.0)
        check_int("seeds", self.seeds, 1)
        check_seed("seed", self.seed)
        for e in self.coupling:
            check_float("coupling", e, 0.0)
        for k in self.kuramoto:
            check_float("kuramoto", k, 0.0)
        if self.rows % 2 or self.cols % 2:
            raise InvalidValue(f"rows and cols must be even (a bipartite torus, so antiphase order "
                               f"can be staggered), got {self.rows} x {self.cols}")

    def ring_configs(self) -> list[LatticeConfig]:
        """One lattice per sharing value, then one per positive coupling (sharing 0)."""
        out = [LatticeConfig(self.rows, self.cols, self.ring_size, m, 0.0) for m in self.sharing]
        return out + [LatticeConfig(self.rows, self.cols, self.ring_size, 0, e)
                      for e in self.coupling if e > 0]

    @property
    def seed_list(self) -> list[int]:
        """The seeds every setting runs."""
        return list(range(self.seed, self.seed + self.seeds))


#: The code a lattice setting's saved runs are keyed on (the model, the steppers, the measures).
LATTICE_CODE = ("baselines/rings", "analysis/rings")


def _runs_from_json(data: list[dict[str, Any]]) -> list[LatticeRun]:
    names = {f for f in LatticeRun.__dataclass_fields__}
    out = []
    for d in data:
        kw: dict[str, Any] = {
            k: (np.asarray(v, dtype=float) if isinstance(v, list) and k != "config" else v)
            for k, v in d.items() if k in names}
        out.append(LatticeRun(**kw))
    return out


def _setting(path: Path, key: str, force: bool, make: Any
             ) -> tuple[list[LatticeRun], dict[str, Any] | None]:
    """A setting's runs and the provenance they were made with: the saved ones when their key
    (settings, seeds, duration and code) is ``key``, else made now (and saved with the key)."""
    if path.exists() and not force:
        saved = json.loads(path.read_text())
        if isinstance(saved, dict) and saved.get("key") == key:
            return _runs_from_json(saved["runs"]), saved.get("provenance")
    runs = make()
    prov = provenance()
    atomic_write_json(path, to_jsonable({"key": key, "provenance": prov,
                                         "runs": [asdict(r) for r in runs]}), indent=None)
    return runs, prov


def summarise(runs: Sequence[LatticeRun]) -> dict[str, Any]:
    """Per setting: seeds, ordering, median and range over seeds of the steady ξ, the final
    neighbour locking and the defect density, and how many runs converged."""
    def spread(v: list[float]) -> dict[str, float]:
        a = np.asarray(v, dtype=float)
        return {"median": float(np.median(a)), "min": float(a.min()), "max": float(a.max())}

    out = {}
    for name in dict.fromkeys(r.name for r in runs):
        rs = [r for r in runs if r.name == name]
        out[name] = {"kind": rs[0].kind, "config": rs[0].config, "n": len(rs),
                     "ordering": sorted({r.ordering for r in rs}),
                     "xi": spread([r.steady_xi for r in rs]),
                     "lock": spread([float(r.lock[-1]) for r in rs]),
                     "defect_density": spread([r.defect_density for r in rs]),
                     "converged": sum(r.converged for r in rs),
                     "period_median": spread([float(r.periods[1]) for r in rs]),
                     "frequency_std": spread([r.frequency_std for r in rs])}
    return out


def run_lattices(sweep: LatticeSweep) -> list[str]:
    """Every setting, ``lattice_summary.json`` (with the commits its settings were made at) and
    the figures; returns report lines. A setting saved by an earlier call is reused only when its
    key (the setting, seeds, duration, sampling, neuron parameters and the source of
    ``LATTICE_CODE``) is this call's and ``force`` is off; otherwise it is made again."""
    out = sweep.out
    out.mkdir(parents=True, exist_ok=True)
    seeds = sweep.seed_list
    code = code_hash(*LATTICE_CODE)
    common = {"duration": sweep.duration, "sample": sweep.sample, "seeds": seeds,
              "params": asdict(sweep.params)}
    runs: list[LatticeRun] = []
    made: list[dict[str, Any] | None] = []
    for cfg in iterate(sweep.ring_configs(), "ring lattices", sweep.progress):
        name = f"rings_m{cfg.sharing}" + (f"_eps{cfg.coupling:g}" if cfg.coupling else "")
        key = cache_key({"rings": asdict(cfg), **common}, code)
        rs, prov = _setting(out / f"lattice_{name}.json", key, sweep.force,
                            lambda cfg=cfg: ring_lattice_runs(cfg, sweep.duration, sweep.sample,
                                                              seeds, sweep.params, sweep.progress))
        made.append(prov)
        lattice_snapshots_figure(rs[0], out / f"lattice_{name}_snapshots.png")
        runs += rs
    base = [r for r in runs if r.config["sharing"] == 0 and not r.config["coupling"]]
    ref = base or runs
    period = float(np.median([r.periods[1] for r in ref]))
    spread = float(np.median([r.frequency_std for r in ref]))
    for K in iterate(sweep.kuramoto, "kuramoto lattices", sweep.progress):
        kc = KuramotoConfig(sweep.rows, sweep.cols, K, 2 * np.pi / period, spread)
        key = cache_key({"kuramoto": asdict(kc), **common}, code)
        rs, prov = _setting(out / f"lattice_kuramoto_K{K:g}.json", key, sweep.force,
                            lambda kc=kc: kuramoto_runs(kc, sweep.duration, sweep.sample, seeds))
        runs += rs
        made.append(prov)
    summary = summarise(runs)
    atomic_write_json(out / "lattice_summary.json", to_jsonable(
        {"settings": summary, "rows": sweep.rows, "cols": sweep.cols,
         "ring_size": sweep.ring_size, "duration": sweep.duration, "sample": sweep.sample,
         "seeds": seeds, "run_commits": commits_of(made), "provenance": provenance()}), indent=1)
    lattice_sweep_figure(runs, summary, out / "lattice.png")
    lines = []
    for name, s in summary.items():
        lines.append(f"{name}: n={s['n']} {'/'.join(s['ordering'])}, steady xi "
                     f"{s['xi']['median']:.2f} [{s['xi']['min']:.2f}, {s['xi']['max']:.2f}], "
                     f"locking {s['lock']['median']:.3f}, defects/oscillator "
                     f"{s['defect_density']['median']:.4f} [{s['defect_density']['min']:.4f}, "
                     f"{s['defect_density']['max']:.4f}], converged {s['converged']}/{s['n']}")
    return lines
