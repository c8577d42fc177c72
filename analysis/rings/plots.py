"""Figures of the ring-oscillator experiments (matplotlib figures without pyplot, saved to files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from baselines.figures import save_figure, subplots

from .experiments import LatticeRun, PeriodResult
from .synchrony import staggered


def period_figure(res: PeriodResult, path: str | Path, law: tuple[float, float] = (1.26, 0.27)
                  ) -> Path:
    """One-pulse ring period against ring size, the fitted line and the reference law."""
    fig, ax = subplots(figsize=(5, 3.8))
    ax.plot(res.sizes, res.periods, "ko", label="simulated")
    x = np.linspace(res.sizes.min(), res.sizes.max(), 50)
    ax.plot(x, res.slope * x + res.intercept, "b-", lw=1,
            label=f"fit {res.slope:.3f} N + {res.intercept:.3f}")
    ax.plot(x, law[0] * x + law[1], "r--", lw=1, label=f"{law[0]} N + {law[1]}")
    ax.set_xlabel("ring size N (neurons)")
    ax.set_ylabel("period (time constants)")
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=100)


def lattice_snapshots_figure(run: LatticeRun, path: str | Path) -> Path:
    """Ring phases on the lattice at a few times (cyclic colour map); for antiphase order the
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
    c = run.config
    fig.suptitle(f"{c.rows}x{c.cols} rings of {c.ring_size}, sharing m = {c.sharing}, "
                 f"coupling {c.coupling:g} ({run.ordering} order)", fontsize=10)
    fig.savefig(Path(path), dpi=90)
    return Path(path)


def lattice_summary_figure(runs: Sequence[LatticeRun], path: str | Path) -> Path:
    """Correlation length ξ(t), neighbour locking and domain-wall fraction over time for each run,
    and the steady-state ξ against sharing m."""
    fig, ax = subplots(1, 5, figsize=(21, 3.8))
    for r in runs:
        lab = f"m={r.config.sharing}" + (f", eps={r.config.coupling:g}" if r.config.coupling else "")
        ax[0].plot(r.times, r.xi, label=lab)
        ax[1].plot(r.times, r.lock, label=lab)
        ax[2].plot(r.times, r.wall_fraction, label=lab)
        if r.defects is not None:
            ax[3].semilogy(r.times, np.maximum(r.defects, 0.5), label=lab)
    ax[0].set_ylabel("correlation length ξ (rings)")
    ax[1].set_ylabel("neighbour phase locking |z|")
    ax[2].set_ylabel("domain-wall fraction")
    ax[3].set_ylabel("phase defects (vortices + antivortices)")
    for a in ax[:4]:
        a.set_xlabel("time (time constants)")
        a.legend(fontsize=7)
    plain = [r for r in runs if r.config.coupling == 0]
    ax[4].plot([r.config.sharing for r in plain], [r.steady_xi for r in plain], "ko-")
    ax[4].set_xlabel("shared neurons m")
    ax[4].set_ylabel("steady-state ξ (last quarter)")
    return save_figure(fig, path, dpi=100)
