"""Figures of the linear-RNN theory experiments (matplotlib figures without pyplot, saved to files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes

from baselines.figures import save_figure, subplots

from .integration import IntegrationResult
from .ntk import KernelMovement
from .properties import (
    ExtrapolationResult,
    FullExtrapolationResult,
    OrderResult,
    TradeoffResult,
)
from .weights import EchoWeights, RankResult

COLORS = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]


def _learning_panel(ax: Axes, predicted: np.ndarray, simulated: np.ndarray,
                    labels: Sequence[str], ph: np.ndarray, sh: np.ndarray) -> None:
    steps = np.arange(len(predicted))
    for i, lab in enumerate(labels):
        c = COLORS[i % len(COLORS)]
        ax.plot(steps, simulated[:, i], color=c, lw=1.6, label=f"{lab}: GD {sh[i]}")
        ax.plot(steps, predicted[:, i], "--", color=c, lw=1.2, label=f"{lab}: theory {ph[i]}")
    ax.axhline(0.5, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("fraction of mode learned")
    ax.legend(fontsize=7, title="half-learned at step", title_fontsize=7)


def order_figure(res: OrderResult, path: str | Path) -> Path:
    """Fraction of each teacher mode learned against step: full-matrix GD (solid) and the reduced
    theory (dashed); left, the task dynamics of each mode."""
    fig, ax = subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 2.2]})
    T = res.s.shape[1]
    for i, lab in enumerate(res.labels):
        ax[0].plot(np.arange(1, T + 1), res.s[i], "o-", color=COLORS[i % len(COLORS)], label=lab)
    ax[0].set_xlabel("input time t (output after t = T)")
    ax[0].set_ylabel("singular value s_t")
    ax[0].legend(fontsize=8)
    _learning_panel(ax[1], res.predicted, res.simulated, res.labels, res.predicted_half,
                    res.simulated_half)
    ax[1].set_title("larger and later modes are learned first", fontsize=10)
    return save_figure(fig, path)


def extrapolation_figure(res: ExtrapolationResult, path: str | Path,
                         full: FullExtrapolationResult | None = None) -> Path:
    """Learned recurrent gain against γ, and relative error / hidden-state gain against sequence
    length for each γ: the reduced model (lines, median over data draws) and, when given, full
    matrices (crosses: median over seeds; the learned W's largest |eigenvalue| in the first
    panel)."""
    fig, ax = subplots(1, 3, figsize=(13, 3.8))
    ax[0].plot(res.gammas, res.w, "ko", label="reduced model")
    if full is not None:
        med = np.median(full.eig, 1)
        ax[0].errorbar(full.gammas, med, yerr=[med - full.eig.min(1), full.eig.max(1) - med],
                       fmt="rx", capsize=2, label="full GD, max |eig W|")
        ax[0].legend(fontsize=7)
    ax[0].plot(res.gammas, res.gammas, "k:", lw=0.8)
    ax[0].axhline(1, color="r", lw=0.7, ls="--")
    ax[0].set_xlabel("task dynamics γ (s_t = γ^{T−t})")
    ax[0].set_ylabel("learned recurrent weight w")
    for i, g in enumerate(res.gammas):
        c = COLORS[i % len(COLORS)]
        ax[1].semilogy(res.lengths, res.error[i], "o-", color=c, label=f"γ = {g:g}")
        ax[2].semilogy(res.lengths, res.gain[i], "o-", color=c, label=f"γ = {g:g}")
        if full is not None and g in full.gammas:
            j = int(np.flatnonzero(full.gammas == g)[0])
            ax[1].semilogy(full.lengths, np.median(full.error[j], 0), "x--", color=c)
            ax[2].semilogy(full.lengths, np.median(full.gain[j], 0), "x--", color=c)
    for a in ax[1:]:
        a.axvline(res.T, color="grey", lw=0.7, ls=":")
        a.set_xlabel("test sequence length (training length dotted)")
    ax[1].set_ylabel("relative error")
    ax[2].set_ylabel("hidden-state norm / norm at T")
    ax[1].legend(fontsize=7)
    fig.suptitle(f"stability and extrapolation (data noise {res.noise:g}; lines: reduced model, "
                 "crosses: full matrices)", fontsize=10)
    return save_figure(fig, path)


def weights_figure(echo: EchoWeights, rank: RankResult, path: str | Path) -> Path:
    """Left: ‖W‖₂ after full-matrix GD on the echo task against its strength c, without and with
    a feed-forward skip (median, bars: min-max over seeds; dotted: at init). Middle: normalised
    singular values of what training added to W (W − W₀) per task-dynamics setting (median over
    seeds). Right: effective rank of W − W₀, of W and of W₀ per setting."""
    fig, ax = subplots(1, 3, figsize=(15, 3.8))
    for r, route in enumerate(echo.routes):
        v = echo.norm_w[r]
        med = np.median(v, 1)
        ax[0].errorbar(echo.c, med, yerr=[med - v.min(1), v.max(1) - med], fmt="o-", capsize=3,
                       label=f"full GD, {route}")
    ax[0].plot(echo.c, np.median(echo.norm_w0, 1), "k:", label="at init")
    ax[0].plot(echo.c, np.abs(echo.w_star), "r_", ms=14, label="reduced optimum |w*|")
    ax[0].set_xlabel("echo strength c")
    ax[0].set_ylabel("‖W‖₂ after training")
    ax[0].legend(fontsize=7)
    for i, name in enumerate(rank.names):
        ax[1].semilogy(np.arange(1, rank.hidden + 1), np.median(rank.sv_delta[i], 0), "o-", ms=3,
                       label=f"{name} γ={rank.gammas[i].tolist()}")
    ax[1].axvline(rank.modes + 0.5, color="grey", ls=":", lw=0.8)
    ax[1].set_xlabel("singular value index")
    ax[1].set_ylabel("σ / σ_max of W − W₀")
    ax[1].legend(fontsize=6)
    x = np.arange(len(rank.names))
    for k, (key, lab) in enumerate((("rank_delta", "W − W₀"), ("rank", "W"), ("rank0", "W₀"))):
        v = getattr(rank, key)
        med = np.median(v, 1)
        ax[2].bar(x + 0.27 * k, med, 0.27, yerr=[med - v.min(1), v.max(1) - med], capsize=2,
                  label=lab)
    ax[2].axhline(rank.modes, color="k", ls="--", lw=0.8, label="teacher modes")
    ax[2].set_xticks(x + 0.27, rank.names, fontsize=8)
    ax[2].set_ylabel("effective rank (σ > 5% of max)")
    ax[2].legend(fontsize=7)
    return save_figure(fig, path)


def tradeoff_figure(res: TradeoffResult, path: str | Path) -> Path:
    """Left: recurrent weight of the global optimum against echo strength c (phase transition at
    c_crit) and where gradient descent ends from each initial w0. Right: the reduced loss L*(w)."""
    fig, ax = subplots(1, 2, figsize=(11, 4))
    ax[0].plot(res.c, res.w_star, "k-", lw=2, label="global optimum w*")
    for q, w0 in enumerate(res.w0):
        ax[0].plot(res.c, res.w_gd[q], "o", ms=4, mfc="none", color=COLORS[q % len(COLORS)],
                   label=f"GD from w0 = {w0:g}")
    ax[0].axvline(res.c_critical, color="r", ls="--", lw=0.8,
                  label=f"c_crit = {res.c_critical:.4f}")
    ax[0].set_xlabel("echo strength c (needs recurrence)")
    ax[0].set_ylabel("recurrent weight w")
    ax[0].legend(fontsize=7)
    idx = np.unique(np.linspace(0, len(res.c) - 1, 5).round().astype(int))
    for k, i in enumerate(idx):
        ax[1].plot(res.landscape_w, res.landscape[i] - res.landscape[i].min(),
                   color=COLORS[k % len(COLORS)], label=f"c = {res.c[i]:.2f}")
    ax[1].set_xlabel("recurrent weight w")
    ax[1].set_ylabel("L*(w) − min (best a = h f for each w)")
    ax[1].legend(fontsize=7)
    return save_figure(fig, path)


def ntk_figure(runs: Sequence[KernelMovement], path: str | Path) -> Path:
    """Kernel distance from the initial NTK over training (first seed of each model and scale),
    and the final distance per model and init scale (median, bars: min-max over seeds): the RNN
    against linear feed-forward nets of 2, 3, 4 and 7 weight layers (the depth control)."""
    fig, ax = subplots(1, 2, figsize=(12, 4))
    scales = sorted({r.scale for r in runs})
    models = list(dict.fromkeys(r.model for r in runs))
    styles = {"rnn": "-", "feedforward": "--", "feedforward3": "-.", "feedforward4": ":",
              "feedforward7": (0, (1, 3))}
    seen = set()
    for r in runs:
        if (r.model, r.scale) in seen:
            continue
        seen.add((r.model, r.scale))
        c = COLORS[scales.index(r.scale) % len(COLORS)]
        ax[0].plot(r.steps, r.distance, ls=styles.get(r.model, "-"), color=c,
                   label=f"{r.model}, init {r.scale:g}")
    ax[0].set_xlabel("gradient-descent step")
    ax[0].set_ylabel("kernel distance from init")
    ax[0].legend(fontsize=6, ncol=2)
    w = 0.8 / len(models)
    for k, model in enumerate(models):
        med, lo, hi = [], [], []
        for s in scales:
            d = np.array([r.distance[-1] for r in runs if r.model == model and r.scale == s])
            med.append(np.median(d))
            lo.append(np.median(d) - d.min())
            hi.append(d.max() - np.median(d))
        ax[1].bar(np.arange(len(scales)) + w * k, med, w, yerr=[lo, hi], capsize=2,
                  label=model)
    ax[1].set_xticks(np.arange(len(scales)) + 0.4 - w / 2, [f"{s:g}" for s in scales])
    ax[1].set_xlabel("init scale")
    ax[1].set_ylabel("final kernel distance")
    ax[1].legend(fontsize=8)
    fig.suptitle("how far the tangent kernel moves: recurrence against feed-forward depth",
                 fontsize=10)
    return save_figure(fig, path)


def integration_figure(res: IntegrationResult, path: str | Path, title: str = "") -> Path:
    """Channels of the integration task learned over training (GD solid, theory dashed), the
    learned recurrent gains against each channel's leak γ, and test error at longer sequences."""
    fig, ax = subplots(1, 3, figsize=(14, 3.8), gridspec_kw={"width_ratios": [2, 1, 1]})
    labels = [f"ch {c}: scale {res.scales[c]:g}, γ {res.gamma[c]:g}" for c in res.order]
    _learning_panel(ax[0], res.predicted, res.simulated, labels, res.predicted_half,
                    res.simulated_half)
    x = np.arange(len(res.eig_abs))
    ax[1].plot(x, res.w_simulated, "b+", ms=10, label="gain along mode (GD)")
    ax[1].plot(x, res.w_predicted, "rx", ms=8, label="theory")
    ax[1].plot(x, res.gamma[res.order], "k_", ms=14, label="channel's leak γ")
    ax[1].set_xlabel("mode (strongest first)")
    ax[1].set_ylabel("recurrent gain")
    ax[1].legend(fontsize=7)
    ax[2].semilogy(res.lengths, res.test_error, "ko-")
    ax[2].set_xlabel("test sequence length")
    ax[2].set_ylabel("relative test error")
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
