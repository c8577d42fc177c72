"""Ring-oscillator experiments: one-pulse ring periods against ring size, and lattices of rings
synchronising over time (order parameters, correlation length, domains), as result objects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from baselines.rings import (
    LatticeConfig,
    NeuronParams,
    initial_state,
    lattice,
    simulate,
    single_rings,
)

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
