"""Figures of the analysis (matplotlib figures without pyplot, saved to files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from baselines.figures import save_figure, subplots

from .bifurcation import StabilityLoss
from .oscillator import Flow, Oscillator
from .subspace import SubspaceResult
from .tracking import Tracking

COLORS = ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange")


ATTRACTOR_COLORS = {"fixed": "#9ecae1", "torus": "#fdae6b", "orbit": "#e6550d", "none": "white"}


def tracking_figure(tr: Tracking, path: str | Path, title: str = "",
                    losses: Sequence[StabilityLoss] = ()) -> Path:
    """Three stacked panels against iteration: held-out TD accuracy; ``|λ_max|`` of each symbol's
    tracked fixed point (unit circle dashed, W_hh spectral radius grey), each loss of stability
    marked with its type; and one strip per symbol coloured by what the symbol settles to at each
    checkpoint (stable fixed point, torus, stable orbit). The transition is a dotted line."""
    fig, ax = subplots(3, 1, figsize=(8, 7.2), sharex=True,
                       gridspec_kw={"height_ratios": [1, 1.4, 0.5]})
    it = tr.iterations
    tra = tr.phases.get("transition_at")
    ok = np.isfinite(tr.val_td_acc)
    ax[0].plot(it[ok], tr.val_td_acc[ok], "k.-", ms=3, lw=0.8)
    ax[0].set_ylabel("held-out TD accuracy")
    ax[0].set_ylim(0.4, 1.02)
    for u, sym in enumerate(tr.symbols):
        c = COLORS[u % len(COLORS)]
        ax[1].plot(it, tr.lam_abs[:, u], ".-", color=c, ms=3, lw=1, label=f"input {sym}")
    for s in losses:
        k = int(np.searchsorted(it, s.iteration))
        ax[1].annotate(s.kind.replace("neimark-sacker", "N-S"), (s.iteration, tr.lam_abs[k, s.symbol]),
                       xytext=(4, 8), textcoords="offset points", fontsize=7,
                       color=COLORS[s.symbol % len(COLORS)])
        ax[1].plot(s.iteration, tr.lam_abs[k, s.symbol], "o", mfc="none", ms=8,
                   color=COLORS[s.symbol % len(COLORS)])
    if np.isfinite(tr.spectral_radius).any():
        ok = np.isfinite(tr.spectral_radius)
        ax[1].plot(it[ok], tr.spectral_radius[ok], color="0.6", lw=1,
                   label="spectral radius of W_hh")
    ax[1].axhline(1, color="k", ls="--", lw=0.8)
    ax[1].set_ylabel("|λ_max| of tracked fixed point")
    ax[1].legend(fontsize=8, loc="upper left")
    edges = np.r_[it, it[-1] + (it[-1] - it[-2] if len(it) > 1 else 10)]
    for ui in range(len(tr.symbols)):
        for ci in range(len(it)):
            ax[2].axvspan(edges[ci], edges[ci + 1], ymin=ui / len(tr.symbols),
                          ymax=(ui + 0.9) / len(tr.symbols),
                          color=ATTRACTOR_COLORS[tr.attractor(ci, ui)], lw=0)
    ax[2].set_yticks([(u + 0.45) / len(tr.symbols) for u in range(len(tr.symbols))],
                     [f"input {s}" for s in tr.symbols])
    ax[2].set_ylim(0, 1)
    handles = [ax[2].fill_between([], [], color=col, label=name) for name, col in
               (("stable fixed point", ATTRACTOR_COLORS["fixed"]), ("torus", ATTRACTOR_COLORS["torus"]),
                ("stable orbit", ATTRACTOR_COLORS["orbit"]))]
    ax[2].legend(handles=handles, fontsize=7, ncol=3, loc="upper center",
                 bbox_to_anchor=(0.5, -0.45))
    ax[2].set_xlabel("training iteration")
    for a in ax:
        if tra is not None:
            a.axvline(tra, color="tab:gray", ls=":", lw=1.2)
    if tra is not None:
        ax[0].text(tra, 0.42, " transition", color="tab:gray", fontsize=8)
    ax[0].set_title(title, fontsize=10)
    return save_figure(fig, path)


def rings_figure(res: SubspaceResult, path: str | Path, title: str = "") -> Path:
    """States projected on the (Re v, Im v) plane, coloured by time of day ``t mod P``, one panel per
    output state, with the centroids of each time of day joined in order."""
    states = sorted(res.centroids) or sorted(np.unique(res.state).tolist())
    fig, axes = subplots(1, len(states), figsize=(5.2 * len(states), 4.4), squeeze=False)
    for ax, s in zip(axes[0], states):
        sel = res.state == s
        sc = ax.scatter(res.projected[sel, 1], res.projected[sel, 2], c=res.time_of_day[sel],
                        cmap="twilight", s=4, alpha=0.6, vmin=0, vmax=max(res.period or 1, 1))
        if s in res.centroids:
            c = res.centroids[s]
            ax.plot(np.r_[c[:, 0], c[:1, 0]], np.r_[c[:, 1], c[:1, 1]], "k-", lw=0.8)
        R, m = res.phase_locking.get(s), res.winding.get(s)
        ax.set_title(f"output {s}" + (f": phase locking R = {R:.3f}, winding {m}" if R is not None
                                      else ""), fontsize=9)
        ax.set_xlabel("Re v")
        ax.set_ylabel("Im v")
        ax.set_aspect("equal", adjustable="datalim")
    fig.colorbar(sc, ax=axes[0].tolist(), label="t mod P")
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return Path(path)


def oscillator_figure(osc: Oscillator, flows: Sequence[Flow], path: str | Path) -> Path:
    """Left: the loss landscape L(μ, ω) with the gradient-flow field and trajectories (μ = 1 and
    ω = 2π/P dashed). Right: loss (solid) and μ (dotted) against flow time."""
    mu = np.linspace(0.2, 1.06, 120)
    om = np.linspace(0.0, 1.2, 120)
    M, W = np.meshgrid(mu, om)
    L, gm, go = osc.loss_and_grad(M, W)
    fig, (a, b) = subplots(1, 2, figsize=(11, 4.4))
    a.contourf(M, W, np.log10(np.clip(L, 0.15, 3.0)), levels=30, cmap="viridis")
    speed = np.hypot(gm, go)
    a.streamplot(M, W, -gm / (speed + 1e-12), -go / (speed + 1e-12), color="w", density=0.9,
                 linewidth=0.5, arrowsize=0.6)
    for i, f in enumerate(flows):
        c = COLORS[i % len(COLORS)]
        a.plot(f.mu, f.omega, color=c, lw=2)
        a.plot(f.mu[0], f.omega[0], "o", color=c)
        b.plot(f.time, f.loss, color=c, lw=1.5, label=f"(μ0, ω0) = ({f.mu[0]:.2f}, {f.omega[0]:.2f})")
        b.plot(f.time, f.mu, color=c, lw=1, ls=":")
    a.axvline(1, color="w", ls="--", lw=1)
    a.axhline(2 * np.pi / osc.period, color="w", ls="--", lw=1)
    a.set_xlim(mu[0], mu[-1])
    a.set_ylim(om[0], om[-1])
    a.set_xlabel("growth μ")
    a.set_ylabel("frequency ω (rad/step)")
    a.set_title(f"log10 loss and gradient flow (P = {osc.period}, T = {osc.length})", fontsize=9)
    b.axhline(1, color="k", ls="--", lw=0.6)
    b.set_xlabel("flow time")
    b.set_ylabel("loss (solid), μ (dotted)")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)
