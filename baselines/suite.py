"""The benchmark suite: any recurrent architecture on a fixed ladder of timed-automaton tasks.

Protocol (version ``PROTOCOL``): every task in :data:`FULL` (or :data:`QUICK`) is trained for the
task's fixed iteration budget and sequence length, for each seed, with one recipe for every
architecture: Adam, learning rate 0.01, gradient-norm clipping 1.0, batch 64, BCE/CE on all steps
(the other :class:`~baselines.train.TrainConfig` defaults; built-in models start from an orthogonal
recurrent matrix). The final network is evaluated on 256 held-out sequences (from the
task's fixed validation stream) at the training length and at 4x and 16x that length. Per run:

- ``acc[length]``: accuracy on TD steps, or on all steps for tasks without TD steps (FlipFlop-v0),
  next to the TI accuracy;
- ``solved_at``: the first iteration whose held-out accuracy (same choice) reached 0.99 (None if
  never).

Per task, the *score* of a run is its mean accuracy over the three lengths; the task reports the
mean **and** the max over seeds (the max alone hides failures), and the suite's overall score is the
mean over tasks of each. Runs are cached under ``cache/<hash of the run's config>/`` (training
resumes from its checkpoints, a finished run is never redone), executed in local worker processes or
on a Ray cluster (``backend="ray"``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ta_envs.checks import check_int_fields

from .models import resolve_arch
from .train import (
    TrainConfig,
    build,
    checkpoints,
    head_spec,
    load_model,
    loss_and_correct,
    read_metrics,
    train,
)

PROTOCOL = "ta-envs-suite/1"
LENGTHS = (1, 4, 16)
EVAL_SEQUENCES = 256


@dataclass(frozen=True)
class SuiteTask:
    """One rung of the ladder: a registered id with its kwargs, training length and budget."""

    name: str
    task: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    seq_len: int = 96
    iterations: int = 1000


FULL: tuple[SuiteTask, ...] = (
    SuiteTask("periodic P=6", "TemporalFlipFlop-v0", {"period": 6}, 48, 800),
    SuiteTask("periodic P=12", "TemporalFlipFlop-v0", {"period": 12}, 48, 1000),
    SuiteTask("periodic P=24", "TemporalFlipFlop-v0", {"period": 24}, 96, 1500),
    SuiteTask("periodic P=48", "TemporalFlipFlop-v0", {"period": 48}, 192, 1500),
    SuiteTask("K=3 phases", "TemporalFlipFlop-v0", {"period": 24, "num_phases": 3}, 96, 1500),
    SuiteTask("relative tau=3", "RelativeTimingFlipFlop-v0", {"tau": 3}, 100, 800),
    SuiteTask("relative tau=5", "RelativeTimingFlipFlop-v0", {"tau": 5}, 100, 1000),
    SuiteTask("relative tau=10", "RelativeTimingFlipFlop-v0", {"tau": 10}, 100, 1500),
    SuiteTask("state-dependent P=12", "TemporalFlipFlop-v0",
              {"period": 12, "state_dependent": True}, 48, 1500),
    SuiteTask("periodic+relative", "RelativeTimingFlipFlop-v0", {"tau": 3, "period": 12}, 100, 1500),
    SuiteTask("FlipFlop 3-bit", "FlipFlop-v0", {}, 100, 800),
)
QUICK: tuple[SuiteTask, ...] = (
    SuiteTask("periodic P=6", "TemporalFlipFlop-v0", {"period": 6}, 48, 300),
    SuiteTask("relative tau=3", "RelativeTimingFlipFlop-v0", {"tau": 3}, 100, 300),
    SuiteTask("FlipFlop 3-bit", "FlipFlop-v0", {}, 100, 200),
)


@dataclass(frozen=True)
class SuiteConfig:
    """What to run: an architecture (``rnn|gru|lstm|linear|module:Class``), width, seeds, tasks."""

    arch: str = "rnn"
    hidden: int = 64
    seeds: int = 3
    quick: bool = False
    tasks: tuple[str, ...] = ()  #: names to keep (default: all of the chosen ladder)
    optimizer: str = "adam"
    lr: float = 0.01

    def __post_init__(self) -> None:
        resolve_arch(self.arch)  # TypeError/ValueError for a model that does not conform
        check_int_fields(self, ("seeds", "hidden"), 1)
        object.__setattr__(self, "tasks", tuple(self.tasks))
        names = [t.name for t in self.ladder]
        unknown = [t for t in self.tasks if t not in names]
        if unknown:
            raise ValueError(f"unknown suite tasks {unknown}; choose from {names}")
        runs = self.runs()  # validates every TrainConfig up front
        build(runs[0][1])  # and the architecture against the model protocol (TypeError)

    @property
    def ladder(self) -> tuple[SuiteTask, ...]:
        return QUICK if self.quick else FULL

    def selected(self) -> list[SuiteTask]:
        return [t for t in self.ladder if not self.tasks or t.name in self.tasks]

    def runs(self) -> list[tuple[SuiteTask, TrainConfig]]:
        out = []
        for t in self.selected():
            for s in range(self.seeds):
                out.append((t, TrainConfig(task=t.task, task_kwargs=dict(t.kwargs), arch=self.arch,
                                           hidden=self.hidden, seq_len=t.seq_len,
                                           iterations=t.iterations, seed=s, optimizer=self.optimizer,
                                           lr=self.lr, eval_every=10,
                                           checkpoint_every=max(50, t.iterations // 4))))
        return out


def run_key(config: TrainConfig) -> str:
    """Cache key: a hash of the protocol version and the run's full config."""
    blob = json.dumps({"protocol": PROTOCOL, "lengths": LENGTHS, "eval": EVAL_SEQUENCES,
                       "config": config.to_dict()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def evaluate_lengths(model: torch.nn.Module, config: TrainConfig) -> dict[str, dict[str, float]]:
    """``{"1x": {"acc", "td", "ti"}, "4x": ..., "16x": ...}`` on held-out sequences."""
    from ta_envs import make_dataset

    task = config.make_task()
    _, kind = head_spec(task)
    ds = make_dataset(task, 1, config.seq_len, seed=config.seed)
    out = {}
    for m in LENGTHS:
        b = ds.fixed(EVAL_SEQUENCES, config.seq_len * m)
        with torch.no_grad():
            logits, _ = model(torch.as_tensor(b.inputs))
            _, correct = loss_and_correct(logits, torch.as_tensor(b.targets), kind, None)
        c = correct.numpy()
        td, ti = b.mask_td, b.mask_ti
        row = {"td": float(c[td].mean()) if td.any() else None,
               "ti": float(c[ti].mean()) if ti.any() else None}
        row["acc"] = row["td"] if row["td"] is not None else float(c.mean())
        out[f"{m}x"] = row
    return out


def run_unit(args: tuple[dict[str, Any], str, str]) -> dict[str, Any]:
    """Train (or resume) one run in ``cache_dir/<key>`` and evaluate it; cached in
    ``result.json``. Picklable arguments so that worker processes and Ray can call it."""
    cfg_dict, name, cache_dir = args
    config = TrainConfig.from_dict(cfg_dict)
    run_dir = Path(cache_dir) / run_key(config)
    done = run_dir / "result.json"
    if done.exists():
        return json.loads(done.read_text())
    t0 = time.perf_counter()
    train(config, run_dir, progress=False)
    model, _, _ = load_model(checkpoints(run_dir)[-1])
    metrics = read_metrics(run_dir)
    has_td = any(m.get("val_td_acc") is not None for m in metrics)
    key = "val_td_acc" if has_td else "val_ti_acc"
    solved = next((m["it"] for m in metrics if (m.get(key) or 0) >= 0.99), None)
    result = {"task": name, "seed": config.seed, "key": run_key(config),
              "acc": evaluate_lengths(model, config), "solved_at": solved,
              "wall_s": round(time.perf_counter() - t0, 1)}
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(done)
    return result


def _execute(jobs: list[tuple[dict[str, Any], str, str]], backend: str, workers: int,
             address: str | None) -> list[dict[str, Any]]:
    if backend == "ray":
        try:
            import ray
        except ImportError:
            raise ValueError("backend 'ray' needs the ray extra: pip install 'ta-envs[ray]'") from None
        started = not ray.is_initialized()
        if started:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        try:
            remote = ray.remote(num_cpus=1)(run_unit)
            return list(ray.get([remote.remote(j) for j in jobs]))
        finally:
            if started:
                ray.shutdown()
    if backend != "local":
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    if workers <= 1:
        return [run_unit(j) for j in jobs]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as ex:
        return list(ex.map(run_unit, jobs))


def run_suite(config: SuiteConfig, out_dir: str | Path, *, backend: str = "local",
              workers: int = 1, address: str | None = None) -> dict[str, Any]:
    """Run (or resume) the suite into ``out_dir``; returns and writes ``results.json``."""
    out = Path(out_dir)
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    jobs = [(c.to_dict(), t.name, str(cache)) for t, c in config.runs()]
    results = _execute(jobs, backend, workers, address)
    report = score(results, config)
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def score(results: Sequence[dict[str, Any]], config: SuiteConfig) -> dict[str, Any]:
    """Per-task and overall scores (mean and max over seeds) from run results."""
    tasks = []
    for t in config.selected():
        runs = sorted((r for r in results if r["task"] == t.name), key=lambda r: r["seed"])
        s = [float(np.mean([r["acc"][f"{m}x"]["acc"] for m in LENGTHS])) for r in runs]
        solved = [r["solved_at"] for r in runs if r["solved_at"] is not None]
        tasks.append({
            "task": t.name, "id": t.task, "kwargs": dict(t.kwargs), "seq_len": t.seq_len,
            "iterations": t.iterations, "seeds": len(runs),
            "score_mean": float(np.mean(s)), "score_max": float(np.max(s)),
            "acc_mean": {f"{m}x": float(np.mean([r["acc"][f"{m}x"]["acc"] for r in runs]))
                         for m in LENGTHS},
            "ti_mean": {f"{m}x": _mean([r["acc"][f"{m}x"]["ti"] for r in runs]) for m in LENGTHS},
            "solved": f"{len(solved)}/{len(runs)}",
            "solved_at_median": float(np.median(solved)) if solved else None,
            "runs": runs})
    return {"protocol": PROTOCOL, "config": asdict(config),
            "overall": {"score_mean": float(np.mean([t["score_mean"] for t in tasks])),
                        "score_max": float(np.mean([t["score_max"] for t in tasks]))},
            "tasks": tasks}


def _mean(vals: list[float | None]) -> float | None:
    v = [x for x in vals if x is not None]
    return float(np.mean(v)) if v else None


def leaderboard(reports: Sequence[dict[str, Any]]) -> str:
    """A Markdown table: one row per task, one column pair (mean / max score) per report."""
    names = [f"{r['config']['arch']}({r['config']['hidden']})" for r in reports]
    head = "| task | " + " | ".join(f"{n} mean / max" for n in names) + " |"
    lines = [head, "|---|" + "---|" * len(names)]
    for i, t in enumerate(reports[0]["tasks"]):
        cells = []
        for r in reports:
            rt = r["tasks"][i]
            cells.append(f"{rt['score_mean']:.3f} / {rt['score_max']:.3f} ({rt['solved']})")
        lines.append(f"| {t['task']} | " + " | ".join(cells) + " |")
    lines.append("| **overall** | " + " | ".join(
        f"**{r['overall']['score_mean']:.3f} / {r['overall']['score_max']:.3f}**" for r in reports)
        + " |")
    lines += ["", "Length generalisation, mean accuracy over seeds at 1x / 4x / 16x the training "
              "length:", "", "| task | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for i, t in enumerate(reports[0]["tasks"]):
        cells = [" / ".join(f"{r['tasks'][i]['acc_mean'][f'{m}x']:.3f}" for m in LENGTHS)
                 for r in reports]
        lines.append(f"| {t['task']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
