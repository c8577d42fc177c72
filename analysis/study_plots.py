"""Figures of the studies (:mod:`analysis.study`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from baselines.figures import save_figure, subplots
from baselines.runs import read_metrics

from .tracking import Tracking

KIND_COLORS = {"neimark-sacker": "tab:red", "period-doubling": "tab:purple",
               "pitchfork": "tab:green", "saddle-node": "tab:orange", "other": "grey", None: "k"}


def aligned_figure(runs: Sequence[tuple[Path, Tracking]], records: Sequence[dict[str, Any]],
                   path: str | Path) -> Path:
    """Held-out TD accuracy of every seed against iterations since its bifurcation (seeds without
    one are left out), coloured by the bifurcation's type; the right panel: |λ_max| of the tracked
    point of the symbol that bifurcates, aligned the same way."""
    fig, ax = subplots(1, 2, figsize=(11, 4))
    n = 0
    for (run, tr), rec in zip(runs, records):
        bif = rec["bifurcation_at"]
        if bif is None:
            continue
        n += 1
        c = KIND_COLORS.get(rec["bifurcation_kind"], "k")
        rows = [m for m in read_metrics(run) if m.get("val_td_acc") is not None]
        ax[0].plot([m["it"] - bif for m in rows], [m["val_td_acc"] for m in rows], color=c, lw=0.7,
                   alpha=0.6)
        u = next(u for u in range(len(tr.symbols)) if tr.stable_points_lost_at(u) == bif)
        ax[1].plot(tr.iterations - bif, tr.lam_abs[:, u], color=c, lw=0.7, alpha=0.6)
    for a in ax:
        a.axvline(0, color="k", ls="--", lw=0.8)
        a.set_xlabel("iterations since the bifurcation (last stable fixed point lost)")
        a.set_xlim(-800, 600)
    ax[0].set_ylabel("held-out TD accuracy")
    ax[0].axhline(0.75, color="grey", ls=":", lw=0.7)
    ax[1].axhline(1, color="grey", ls=":", lw=0.7)
    ax[1].set_ylabel("|λ_max| of the tracked fixed point")
    handles = [ax[0].plot([], [], color=c, label=k)[0] for k, c in KIND_COLORS.items()
               if k and any(r["bifurcation_kind"] == k for r in records)]
    if handles:
        ax[0].legend(handles=handles, fontsize=7, loc="lower right")
    fig.suptitle(f"{n} seeds aligned at their bifurcation", fontsize=10)
    return save_figure(fig, path)


def complexity_figure(rows: dict[str, Any], path: str | Path) -> Path:
    """Transition, bifurcation and solve iterations (median and IQR over seeds) and the fraction
    solved, against the minimised configuration count of each task."""
    fig, ax = subplots(1, 2, figsize=(12, 4.2))
    names = list(rows)
    x = np.array([rows[n]["minimal"] for n in names], float)
    jitter = {"transition_at": -0.04, "bifurcation_at": 0.0, "solved_at": 0.04}
    for key, color in (("transition_at", "tab:blue"), ("bifurcation_at", "tab:red"),
                       ("solved_at", "tab:green")):
        med, lo, hi, xs = [], [], [], []
        for xi, n in zip(x, names):
            s = rows[n][key]
            if s:
                xs.append(xi * (1 + jitter[key]))
                med.append(s["median"])
                lo.append(s["median"] - s["q1"])
                hi.append(s["q3"] - s["median"])
        ax[0].errorbar(xs, med, yerr=[lo, hi], fmt="o", color=color, capsize=3,
                       label=key.replace("_at", ""))
    for xi, n in zip(x, names):
        ax[0].annotate(n, (xi, 0), textcoords="offset points", xytext=(0, -14), fontsize=6,
                       rotation=30, ha="right", annotation_clip=False)
        ax[1].bar(n, rows[n]["solved"] / max(rows[n]["seeds"], 1), color="tab:green", alpha=0.7)
    ax[0].set_xscale("log")
    ax[0].set_xlabel("configurations after minimisation (log)")
    ax[0].set_ylabel("iteration (median, IQR over seeds)")
    ax[0].legend(fontsize=8)
    ax[1].set_ylabel("fraction of seeds solved (TD >= 0.99)")
    ax[1].tick_params(axis="x", rotation=45, labelsize=7)
    ax[1].set_ylim(0, 1.05)
    return save_figure(fig, path)
