"""Figures of the ring-oscillator experiments (matplotlib figures without pyplot, saved to files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from baselines.figures import save_figure, subplots

from .period import PeriodResult
from .synchrony import staggered

if TYPE_CHECKING:  # lattices draws its figures with this module: annotation only
    from .lattices import LatticeRun


def period_figure(res: PeriodResult, path: str | Path) -> Path:
    """One-pulse ring period against ring size: simulated, derived, the least-squares line and
    the large-ring asymptote."""
    fig, ax = subplots(figsize=(5, 3.8))
    ax.plot(res.sizes, res.periods, "ko", label=f"simulated (dt = {res.dt})")
    if res.derived is not None:
        ax.plot(res.sizes, res.derived, "r+", ms=10, label="derived N · t_low(N)")
    x = np.linspace(res.sizes.min(), res.sizes.max(), 50)
    ax.plot(x, res.slope * x + res.intercept, "b-", lw=1,
            label=f"fit {res.slope:.3f} N + {res.intercept:.3f}")
    if res.limit_slope is not None:
        ax.plot(x, res.limit_slope * x, "r:", lw=1, label=f"large-N limit {res.limit_slope:.4f} N")
    ax.set_xlabel("ring size N (neurons)")
    ax.set_ylabel("period (time constants)")
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=100)


def lattice_snapshots_figure(run: LatticeRun, path: str | Path) -> Path:
    """Phases on the lattice at a few times (cyclic colour map); for antiphase order the
    staggered phases ``θ + π(row + col)``, so that a locked checkerboard shows as one colour."""
    k = len(run.snapshot_times)
    shown = staggered(run.snapshots) if run.ordering == "antiphase" else run.snapshots
    fig, ax = subplots(1, k, figsize=(3.2 * k, 3.4))
    ax = np.atleast_1d(ax)
    for a, t, th in zip(ax, run.snapshot_times, shown):
        im = a.imshow(th, cmap="hsv", vmin=0, vmax=2 * np.pi, interpolation="nearest")
        a.set_title(f"t = {t:g}", fontsize=9)
        a.set_xticks([])
        a.set_yticks([])
    fig.colorbar(im, ax=list(ax), fraction=0.02,
                 label="staggered phase" if run.ordering == "antiphase" else "phase")
    fig.suptitle(f"{run.name}, seed {run.seed} ({run.ordering} order)", fontsize=10)
    fig.savefig(Path(path), dpi=80)
    return Path(path)


def _bars(ax: Any, xs: Sequence[float], stats: Sequence[dict[str, float]], label: str,
          fmt: str = "o-") -> None:
    med = np.array([s["median"] for s in stats])
    lo = med - np.array([s["min"] for s in stats])
    hi = np.array([s["max"] for s in stats]) - med
    ax.errorbar(xs, med, yerr=[lo, hi], fmt=fmt, capsize=3, label=label)


def lattice_sweep_figure(runs: Sequence[LatticeRun], summary: dict[str, Any],
                         path: str | Path) -> Path:
    """Steady ξ against sharing m, weak coupling ε and Kuramoto K (median, bars: min-max over
    seeds); defect density and ξ over time (median over seeds, band: min-max) per setting."""
    fig, ax = subplots(1, 4, figsize=(20, 4))
    _steady_panels(ax[0], ax[1], summary)
    _time_panels(ax[2], ax[3], runs)
    return save_figure(fig, path, dpi=90)


def _steady_panels(a_share: Any, a_coupling: Any, summary: dict[str, Any]) -> None:
    """Steady ξ against sharing m (rings), and against coupling (rings' ε, Kuramoto's K)."""
    rings = [s for s in summary.values() if s["kind"] == "rings"]
    share = _by_config([s for s in rings if not s["config"]["coupling"]], "sharing")
    if share:
        _bars(a_share, [m for m, _ in share], [s["xi"] for _, s in share], "rings")
    a_share.set_xlabel("shared neurons m")
    a_share.set_ylabel("steady correlation length ξ (rings)")
    _coupling_panel(a_coupling, rings, summary)


def _coupling_panel(a_coupling: Any, rings: list[dict[str, Any]], summary: dict[str, Any]
                    ) -> None:
    eps = _by_config([s for s in rings if s["config"]["coupling"]], "coupling")
    kur = _by_config([s for s in summary.values() if s["kind"] == "kuramoto"], "coupling")
    for series, label, fmt in ((eps, "rings, coupling ε", "o-"),
                               (kur, "Kuramoto, coupling K", "s--")):
        if series:
            _bars(a_coupling, [x for x, _ in series], [s["xi"] for _, s in series], label, fmt)
    a_coupling.set_xscale("log")
    a_coupling.set_xlabel("coupling (ε for rings, K for Kuramoto)")
    a_coupling.set_ylabel("steady ξ")
    if eps or kur:
        a_coupling.legend(fontsize=8)


def _by_config(stats: list[dict[str, Any]], key: str) -> list[tuple[float, dict[str, Any]]]:
    """``(config[key], setting)`` pairs sorted by the value."""
    return sorted(((s["config"][key], s) for s in stats), key=lambda x: x[0])


def _time_panels(a_defects: Any, a_xi: Any, runs: Sequence[LatticeRun]) -> None:
    """Defect density and ξ over time per setting (median over seeds, band: min-max)."""
    for name in dict.fromkeys(r.name for r in runs):
        rs = [r for r in runs if r.name == name]
        n = min(len(r.times) for r in rs)
        t = rs[0].times[:n]
        for a, key in ((a_defects, "defects"), (a_xi, "xi")):
            v = np.stack([getattr(r, key)[:n] / (r.oscillators if key == "defects" else 1)
                          for r in rs])
            line, = a.plot(t, np.median(v, 0), lw=1, label=name)
            a.fill_between(t, v.min(0), v.max(0), color=line.get_color(), alpha=0.15, lw=0)
    a_defects.set_yscale("symlog", linthresh=1e-3)
    a_defects.set_ylabel("defects per oscillator")
    a_xi.set_ylabel("ξ")
    for a in (a_defects, a_xi):
        a.set_xlabel("time (time constants)")
        a.legend(fontsize=6, ncol=2)


def reservoir_figure(summary: dict[str, dict[str, dict[str, float]]], path: str | Path) -> Path:
    """One panel per benchmark or task: each model's score (median, bars: min-max over seeds)."""
    jobs = list(summary)
    fig, ax = subplots(1, len(jobs), figsize=(4.2 * len(jobs), 4.6))
    ax = np.atleast_1d(ax)
    for a, job in zip(ax, jobs):
        names = list(summary[job])
        st = [summary[job][n] for n in names]
        y = np.arange(len(names))
        med = np.array([s["median"] for s in st])
        a.barh(y, med, color=["tab:orange" if n.startswith("rings") else "tab:blue"
                              for n in names])
        a.errorbar(med, y, xerr=[med - [s["min"] for s in st], [s["max"] for s in st] - med],
                   fmt="none", ecolor="k", capsize=2)
        a.set_yticks(y, names, fontsize=6)
        a.set_title({"memory": "memory capacity (higher is better)",
                     "narma10": "NARMA-10 NRMSE (lower is better)"}.get(job, f"{job}: accuracy"),
                    fontsize=9)
    return save_figure(fig, path, dpi=90)
