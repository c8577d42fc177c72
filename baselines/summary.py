"""Summaries of a set of training runs: learning phases per seed, their spread, and the figure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .figures import learning_curves
from .phases import Phases, phases_from_metrics, summarize
from .provenance import with_provenance
from .runs import atomic_write_json, read_metrics


def summarize_runs(run_dirs: Sequence[Path], out: Path, config: TrainConfig) -> dict[str, Any]:
    """Write ``summary.json`` (phases per run, median and spread over runs) and
    ``learning_curves.png`` for ``run_dirs`` into ``out``; returns the summary."""
    metrics = [read_metrics(r) for r in run_dirs]
    phases: list[Phases] = [phases_from_metrics(m) for m in metrics]
    per_1000 = [1000 * m[-1]["wall_s"] / m[-1]["it"] for m in metrics if m[-1]["it"] > 0]
    summary = {"config": {k: v for k, v in config.to_dict().items() if k != "seed"},
               "aggregate": summarize(phases, per_1000),
               "runs": [{"run": str(r.name), **p.to_dict()} for r, p in zip(run_dirs, phases)]}
    atomic_write_json(out / "summary.json", with_provenance(summary))
    done = sorted((p.solved_at, i) for i, p in enumerate(phases) if p.solved_at is not None)
    bold = done[len(done) // 2][1] if done else 0  # the median solving run
    task = config.make_task()
    chance = 1.0 / task.automaton.num_classes
    title = f"{config.arch}({config.hidden}) on {config.task} {config.task_kwargs or ''}"
    learning_curves(metrics, out / "learning_curves.png", title=title, bold=bold,
                    bold_label=f"{run_dirs[bold].name} (median solver)" if done else None,
                    chance=chance)
    return summary
