"""Figures of training runs (matplotlib, Agg backend, saved to files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 110) -> Path:
    """Lay out, write (creating the folder) and close ``fig``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def learning_curves(runs: Sequence[Sequence[dict[str, Any]]], path: str | Path, title: str = "",
                    bold: int | None = None, bold_label: str | None = None) -> Path:
    """TD and TI held-out accuracy against iteration, one thin line per run and run ``bold`` drawn
    bold (the paper's Fig. 2 layout)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, key, name in ((axes[0], "val_td_acc", "time-dependent (TD)"),
                          (axes[1], "val_ti_acc", "time-independent (TI)")):
        for i, rows in enumerate(runs):
            pts = [(m["it"], m[key]) for m in rows if m.get(key) is not None]
            if not pts:
                continue
            x, y = zip(*pts)
            if i == bold:
                continue
            ax.plot(x, y, lw=0.6, alpha=0.45, color="tab:blue")
        if bold is not None and bold < len(runs):
            pts = [(m["it"], m[key]) for m in runs[bold] if m.get(key) is not None]
            if pts:
                x, y = zip(*pts)
                ax.plot(x, y, lw=2.2, color="black", label=bold_label or f"run {bold}")
                ax.legend(loc="lower right", frameon=False)
        ax.set_title(name)
        ax.set_xlabel("iteration")
        ax.axhline(0.5, color="grey", lw=0.5, ls=":")
        ax.set_ylim(0.3, 1.02)
    axes[0].set_ylabel("held-out accuracy")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def accuracy_vs_length(report: dict[str, Any], path: str | Path) -> Path:
    """One panel per suite task: accuracy (TD, or all steps without TD) against sequence length
    (training length x 1, 4, 16), each seed thin, the mean bold."""
    tasks = report["tasks"]
    cols = min(4, len(tasks))
    rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False,
                             sharey=True)
    for ax, t in zip(axes.flat, tasks):
        xs = [1, 4, 16]
        for r in t["runs"]:
            ax.plot(xs, [r["acc"][f"{m}x"]["acc"] for m in xs], color="tab:blue", lw=0.7, alpha=0.5)
        ax.plot(xs, [t["acc_mean"][f"{m}x"] for m in xs], "o-", color="tab:blue", lw=2)
        ax.set_xscale("log")
        ax.set_xticks(xs, [f"{m}x" for m in xs])
        ax.set_ylim(0.4, 1.02)
        ax.axhline(0.5, color="k", ls=":", lw=0.6)
        ax.set_title(f"{t['task']} (L={t['seq_len']})", fontsize=8)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    c = report["config"]
    fig.suptitle(f"{c['arch']}({c['hidden']}): accuracy against sequence length", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
