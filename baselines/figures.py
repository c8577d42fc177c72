"""Figures of training runs and the suite, and the one way every figure here is made and saved.

Figures are ``matplotlib.figure.Figure`` objects drawn without ``pyplot``: no backend is chosen or
changed at import time, and nothing is left open in a global figure registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image  # matplotlib's own dependency


def subplots(nrows: int = 1, ncols: int = 1, **kw: Any) -> tuple[Figure, Any]:
    """A new ``Figure`` and its axes (``figsize`` and the other keywords as in
    ``pyplot.subplots``)."""
    fig_kw = {k: kw.pop(k) for k in ("figsize", "dpi", "layout") if k in kw}
    fig = Figure(**fig_kw)
    return fig, fig.subplots(nrows, ncols, **kw)


def save_figure(fig: Figure, path: str | Path, dpi: int = 110, tight: bool = True,
                colors: int | None = None) -> Path:
    """Lay out and write ``fig`` (creating the folder); returns the path.

    ``colors``: write a PNG with a palette of at most this many colours (2 to 256) instead of
    RGBA, for figures with many panels and thin lines (a 17-panel suite figure: 268 KB RGBA,
    61 KB at 64 colours, no visible change)."""
    if colors is not None and (not isinstance(colors, int) or isinstance(colors, bool)):
        raise TypeError(f"colors must be an int in [2, 256] or None, got {type(colors).__name__}")
    if colors is not None and not 2 <= colors <= 256:
        raise ValueError(f"colors must be an int in [2, 256] or None, got {colors!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=dpi, bbox_inches="tight" if not tight else None)
    if colors is not None:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        rgb.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def chance_line(ax: Axes, chance: float | None) -> None:
    """A dotted horizontal line at the chance level (nothing when unknown)."""
    if chance is not None:
        ax.axhline(chance, color="grey", lw=0.7, ls=":")


def learning_curves(runs: Sequence[Sequence[dict[str, Any]]], path: str | Path, title: str = "",
                    bold: int | None = None, bold_label: str | None = None,
                    chance: float | None = 0.5) -> Path:
    """Held-out TD and TI accuracy against iteration, one thin line per run and run ``bold`` drawn
    bold (the paper's Fig. 2 layout); tasks without TD steps show the all-step accuracy."""
    td_key = "val_td_acc" if any(m.get("val_td_acc") is not None for r in runs for m in r) \
        else "val_acc"
    td_name = "time-dependent (TD)" if td_key == "val_td_acc" else "all steps"
    fig, axes = subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, key, name in ((axes[0], td_key, td_name),
                          (axes[1], "val_ti_acc", "time-independent (TI)")):
        for i, rows in enumerate(runs):
            if i != bold:
                _curve(ax, rows, key, lw=0.6, alpha=0.45, color="tab:blue")
        if bold is not None and bold < len(runs) and \
                _curve(ax, runs[bold], key, lw=2.2, color="black",
                       label=bold_label or f"run {bold}"):
            ax.legend(loc="lower right", frameon=False)
        ax.set_title(name)
        ax.set_xlabel("iteration")
        chance_line(ax, chance)
        ax.set_ylim(0.0 if chance is not None and chance < 0.3 else 0.3, 1.02)
    axes[0].set_ylabel("held-out accuracy")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def _curve(ax: Axes, rows: Sequence[dict[str, Any]], key: str, **style: Any) -> bool:
    """Plot ``key`` against ``it`` over the rows that have it; whether anything was drawn."""
    pts = [(m["it"], m[key]) for m in rows if m.get(key) is not None]
    if pts:
        x, y = zip(*pts)
        ax.plot(x, y, **style)
    return bool(pts)


def accuracy_vs_length(reports: Sequence[dict[str, Any]], path: str | Path,
                       title: str = "accuracy against sequence length",
                       tasks: Sequence[str] | None = None) -> Path:
    """One panel per suite task (``tasks``, default all of the first report's): the score metric
    (TD accuracy, or all steps without TD) against sequence length (training length x 1, 4, 16),
    one colour per report (architecture), seeds thin and the mean bold, chance dotted."""
    tasks = list(tasks) if tasks is not None else [t["task"] for t in reports[0]["tasks"]]
    cols = min(4, len(tasks))
    rows = -(-len(tasks) // cols)
    fig, axes = subplots(rows, cols, figsize=(3.3 * cols, 2.7 * rows), squeeze=False, sharey=True)
    colors = [f"C{i}" for i in range(10)]
    for ax, name in zip(axes.flat, tasks):
        for k, rep in enumerate(reports):
            t = next((x for x in rep["tasks"] if x["task"] == name), None)
            if t is not None:
                _length_panel(ax, t, colors[k % len(colors)], rep["label"])
        ax.set_xscale("log")
        ax.set_xticks([1, 4, 16], ["1x", "4x", "16x"])
        ax.set_ylim(0.0, 1.02)
        ax.set_title(name, fontsize=8)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    axes.flat[0].legend(fontsize=6, loc="lower left")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path, dpi=100, colors=64)


def _length_panel(ax: Axes, t: dict[str, Any], c: str, label: str) -> None:
    """One report's task in `accuracy_vs_length`: each seed thin, the mean bold, chance dotted."""
    xs = [int(m[:-1]) for m in t["acc_mean"] if m.endswith("x")]
    for r in t["runs"]:
        if r.get("acc") and not r.get("failed"):
            ax.plot(xs, [r["acc"][f"{m}x"]["acc"] for m in xs], color=c, lw=0.6, alpha=0.4)
    mean = [t["acc_mean"][f"{m}x"] for m in xs]
    if None not in mean:
        ax.plot(xs, mean, "o-", color=c, lw=1.8, ms=3, label=label)
    chance_line(ax, t.get("chance"))


def _find(rep: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((x for x in rep["tasks"] if x["task"] == name), None)


def family_figure(reports: Sequence[dict[str, Any]], tasks: Sequence[str], path: str | Path,
                  title: str) -> Path:
    """A task family in the suite (v3 reports): per task, the metric against length (top row)
    and each report's machine score per seed (bottom row: dots, the mean as a bar; none for
    models without the recurrent interface), one colour per report."""
    fig, axes = subplots(2, len(tasks), figsize=(3.3 * len(tasks), 5.2), squeeze=False)
    for j, name in enumerate(tasks):
        top, low = axes[0, j], axes[1, j]
        for k, rep in enumerate(reports):
            t = _find(rep, name)
            if t is None:
                continue
            _length_panel(top, t, f"C{k % 10}", rep["label"])
            scores = [r["machine"]["score"] for r in t["runs"] if r.get("machine")]
            if scores:
                low.bar(k, float(np.mean(scores)), color=f"C{k % 10}", alpha=0.5)
                low.plot([k] * len(scores), scores, "k.", ms=4)
        top.set_xscale("log")
        top.set_xticks([1, 4, 16], ["1x", "4x", "16x"])
        top.set_ylim(0.0, 1.02)
        top.set_title(name, fontsize=8)
        low.set_xticks(range(len(reports)), [r["label"] for r in reports], rotation=60,
                       fontsize=6)
        low.set_ylim(0.0, 1.02)
    axes[0, 0].set_ylabel("accuracy")
    axes[1, 0].set_ylabel("machine score (4x)")
    axes[0, 0].legend(fontsize=6, loc="lower left")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path, dpi=100)


def _period_panel(ax: Axes, reports: Sequence[dict[str, Any]], name: str) -> None:
    """One task of `period_figure`: each report's seeds and mean at P/2, P, 2P; the control."""
    conds = ["P/2", "1x", "2P"]
    ticks = [0, 1, 2]
    for k, rep in enumerate(reports):
        t = _find(rep, name)
        if t is None:
            continue
        for r in t["runs"]:
            if r.get("acc") and not r.get("failed") and all(c in r["acc"] for c in conds):
                ax.plot(ticks, [r["acc"][c]["acc"] for c in conds], color=f"C{k % 10}",
                        lw=0.6, alpha=0.4)
        mean = [t["period_mean"].get("P/2"), t["acc_mean"].get("1x"),
                t["period_mean"].get("2P")]
        if None not in mean:
            ax.plot(ticks, mean, "o-", color=f"C{k % 10}", lw=1.8, ms=3, label=rep["label"])
    ctrl = _find(reports[0], name)
    if ctrl is not None:
        pc = ctrl["period_control"]
        ax.plot(ticks, [pc.get("P/2"), 1.0, pc.get("2P")], "--", color="grey", lw=1,
                label="trained-period automaton")
    ax.set_xticks(ticks, ["P/2", "P", "2P"])
    ax.set_ylim(0.0, 1.02)
    ax.set_title(name, fontsize=8)


def period_figure(reports: Sequence[dict[str, Any]], path: str | Path, title: str) -> Path:
    """Generalisation over the period (v3 reports): per task with a period, the metric at the
    evaluation period (P/2, P = the 1x set, 2P) per report (seeds thin, mean bold), and the
    control (the trained-period automaton) as a grey dashed line."""
    names = [t["task"] for t in reports[0]["tasks"] if t.get("period_mean")]
    cols = min(4, max(1, len(names)))
    rows = -(-len(names) // cols) or 1
    fig, axes = subplots(rows, cols, figsize=(3.3 * cols, 2.7 * rows), squeeze=False,
                         sharey=True)
    for ax, name in zip(axes.flat, names):
        _period_panel(ax, reports, name)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes[0, 0].set_ylabel("accuracy")
    axes.flat[0].legend(fontsize=6, loc="lower left")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path, dpi=100, colors=64)


def bars(ax: Axes, labels: Sequence[str], values: Sequence[float],
         errors: Sequence[tuple[float, float]] | None = None) -> None:
    """Horizontal bars with optional asymmetric error bars ``(low, high)``."""
    y = np.arange(len(labels))
    xerr = None
    if errors is not None:
        xerr = np.array([[v - lo for v, (lo, _) in zip(values, errors)],
                         [hi - v for v, (_, hi) in zip(values, errors)]])
    ax.barh(y, values, xerr=xerr, color="tab:blue", alpha=0.7)
    ax.set_yticks(y, labels)


def rl_curves(runs: Sequence[Sequence[dict[str, Any]]], path: str | Path, title: str) -> Path:
    """TD and TI accuracy against environment steps: each seed thin, the mean bold."""
    fig, axes = subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, key, name in ((axes[0], "td_acc", "time-dependent (TD)"),
                          (axes[1], "ti_acc", "time-independent (TI)")):
        for r in runs:
            ax.plot([x["steps"] for x in r], [x[key] for x in r], lw=0.7, alpha=0.5,
                    color="tab:blue")
        n = min(len(r) for r in runs)
        ax.plot([x["steps"] for x in runs[0][:n]],
                np.mean([[x[key] for x in r[:n]] for r in runs], 0), lw=2, color="tab:blue",
                label="mean over seeds")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("environment steps")
        ax.axhline(0.5, color="k", ls=":", lw=0.8)
    axes[0].set_ylabel("evaluation accuracy")
    axes[0].set_ylim(0, 1.02)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)
    return Path(path)
