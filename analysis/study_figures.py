"""Figures of the studies ([`analysis.study`][analysis.study])."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from baselines.figures import save_figure, subplots
from baselines.runs import read_metrics

from .tracking import Tracking

KIND_COLORS = {"neimark-sacker": "tab:red", "period-doubling": "tab:purple",
               "pitchfork": "tab:green", "saddle-node": "tab:orange", "other": "grey",
               "untracked": "tab:blue", None: "k"}


def aligned_figure(runs: Sequence[tuple[Path, Tracking]], records: Sequence[dict[str, Any]],
                   path: str | Path, dpi: int = 80) -> Path:
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
    return save_figure(fig, path, dpi=dpi)


def complexity_figure(rows: dict[str, Any], path: str | Path) -> Path:
    """Per task setting, ordered by its minimised configuration count: the transition,
    bifurcation and solve iterations (median and IQR over the seeds that have them; ``n=k``
    marks fewer than all seeds) and the fractions of seeds that solved and that bifurcated."""
    fig, ax = subplots(1, 2, figsize=(13, 4.6))
    order = sorted(rows, key=lambda n: (rows[n]["minimal"], rows[n]["configs"]))
    pos = np.arange(len(order))
    labels = [f"{n}\n({rows[n]['minimal']} configs)" for n in order]
    for key, color, dx in (("transition_at", "tab:blue", -0.22), ("bifurcation_at", "tab:red", 0.0),
                           ("solved_at", "tab:green", 0.22)):
        xs, med, lo, hi = [], [], [], []
        for i, n in enumerate(order):
            st = rows[n][key]
            if not st:
                continue
            xs.append(i + dx)
            med.append(st["median"])
            lo.append(st["median"] - st["q1"])
            hi.append(st["q3"] - st["median"])
            if st["n"] < rows[n]["seeds"]:
                ax[0].annotate(f"n={st['n']}", (i + dx, st["q3"]), textcoords="offset points",
                               xytext=(0, 4), fontsize=6, ha="center", color=color)
        ax[0].errorbar(xs, med, yerr=[lo, hi], fmt="o", color=color, capsize=3,
                       label=key.replace("_at", "").replace("_", " "))
    ax[0].set_yscale("symlog", linthresh=10)
    ax[0].set_ylabel("iteration (median, IQR over seeds)")
    width = 0.38
    for key, color, dx, label in (("solved", "tab:green", -width / 2, "solved (TD >= 0.99)"),
                                  ("bifurcated", "tab:red", width / 2,
                                   "lost the last stable point")):
        ax[1].bar(pos + dx, [rows[n][key] / max(rows[n]["seeds"], 1) for n in order], width,
                  color=color, alpha=0.75, label=label)
    ax[1].set_ylabel("fraction of seeds")
    ax[1].set_ylim(0, 1.12)
    for a, where in zip(ax, ("upper left", "upper right")):
        a.set_xticks(pos, labels, rotation=40, ha="right", fontsize=7)
        a.legend(fontsize=8, loc=where)
    fig.suptitle("Task settings ordered by their minimised configuration count "
                 "(10 seeds each, the reference recipe, 3,000 iterations)", fontsize=9)
    return save_figure(fig, path)
