"""Running the suite: one cached unit per (task, seed), local worker processes or Ray, the report."""

from __future__ import annotations

import importlib
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ta_envs import __version__
from ta_envs.validation import InvalidValue, check_int

from ..config import TrainConfig, resolve_device
from ..models import (
    BUILTIN,
    ModelError,
    count_parameters,
    has_recurrent_interface,
    head_spec,
    width_for_budget,
)
from ..provenance import provenance
from ..runs import atomic_write_json, checkpoints, load_model, make_model, read_metrics
from ..train import DivergedError, train
from ..workers import run_jobs
from .cache import model_source_hash, read_result, run_key, write_result
from .evaluate import chance, evaluate_conditions
from .protocol import CONDITIONS, LENGTHS, PROTOCOL, RECIPE, SuiteConfig, SuiteTask
from .report import load_report, merge_reports, run_score


def train_configs(config: SuiteConfig, hidden: int) -> list[tuple[SuiteTask, TrainConfig]]:
    """The training config of every (task, seed) of the suite, in order.

    Args:
        config: the suite's configuration.
        hidden: the hidden size that meets the parameter budget.

    Returns:
        ``(task, training config)`` per task and seed.
    """
    out = []
    for t in config.selected():
        for s in range(config.seeds_of(t)):
            out.append((t, TrainConfig(
                task=t.task, task_kwargs=dict(t.kwargs), arch=config.arch, hidden=hidden,
                model_kw=dict(config.model_kw), init=config.init, gain=config.gain,
                seq_len=t.seq_len, iterations=t.iterations, seed=s, device=config.device,
                checkpoint_every=max(50, t.iterations // 4), tensorboard=config.tensorboard,
                **RECIPE)))
    return out


def _periodic(task: SuiteTask) -> bool:
    return task.task == "TemporalFlipFlop-v0" or "period" in task.kwargs


def run_unit(job: dict[str, Any]) -> dict[str, Any]:
    """Train (or resume) one run in ``cache/<key>``, evaluate it, classify its mechanism; cached
    in a checksummed ``result.json``. Takes a plain dict so worker processes and Ray can call it.

    Args:
        job: the run's config dict, cache folder, model source hash and mechanism settings.

    Returns:
        The run's result: accuracy per condition, solved iteration, mechanism, time.
    """
    config = TrainConfig.from_dict(job["config"])
    task = SuiteTask(**job["task"])
    key = run_key(config, job["source"])
    run_dir = Path(job["cache"]) / key
    done = run_dir / "result.json"
    result = read_result(done)
    if result is None and done.exists():
        shutil.rmtree(run_dir)  # a corrupt or edited result: redo the run from scratch
    if result is not None:
        return _complete(job, result, run_dir, task, config)
    t0 = time.perf_counter()
    base = {"task": task.name, "seed": config.seed, "key": key}
    try:
        train(config, run_dir, progress=bool(job.get("progress")),
              label=f"{task.name} seed {config.seed}")
    except (DivergedError, ModelError) as err:
        return write_result(done, {**base, "failed": str(err), "acc": None, "solved_at": None,
                                   "wall_s": round(time.perf_counter() - t0, 1)})
    train_s = time.perf_counter() - t0
    model, _, _ = load_model(checkpoints(run_dir)[-1], arch=config.arch)
    try:
        acc = evaluate_conditions(model, task, config, resolve_device(config.device))
    except DivergedError as err:
        return write_result(done, {**base, "failed": str(err), "acc": None, "solved_at": None,
                                   "wall_s": round(time.perf_counter() - t0, 1)})
    metrics = read_metrics(run_dir)
    key_acc = "val_td_acc" if any(m.get("val_td_acc") is not None for m in metrics) else "val_acc"
    solved = next((m["it"] for m in metrics if (m.get(key_acc) or 0) >= 0.99), None)
    last = metrics[-1]
    result = {**base, "failed": None, "acc": acc, "solved_at": solved,
              "iterations_per_s": round(last["it"] / max(last["wall_s"], 1e-9), 2),
              "train_wall_s": round(train_s, 1),
              "wall_s": round(time.perf_counter() - t0, 1)}
    if job["mechanism"]:
        result["mechanism"] = _mechanism(job, run_dir, task, model)
    if job.get("machine_fn"):
        result["machine"] = _machine(job["machine_fn"], model, config)
    return write_result(done, result)


def _complete(job: dict[str, Any], result: dict[str, Any], run_dir: Path, task: SuiteTask,
              config: TrainConfig) -> dict[str, Any]:
    """A cached result with the mechanism and machine score added where asked for and missing."""
    if result.get("failed"):
        return result
    done = run_dir / "result.json"
    if job["mechanism"] and "mechanism" not in result:
        result = write_result(done, {**result, "mechanism": _mechanism(job, run_dir, task)})
    if job.get("machine_fn") and "machine" not in result:
        model, _, _ = load_model(checkpoints(run_dir)[-1], arch=config.arch)
        result = write_result(done, {**result, "machine": _machine(job["machine_fn"], model,
                                                                   config)})
    return result


def _machine(fn_name: str, model: Any, config: TrainConfig) -> dict[str, Any] | None:
    """The final network's machine score at 4x the training length (recurrent models), or None.
    ``fn_name`` (``module:function``) is called as ``fn(model, task, length=, seed=)`` and returns
    a result with ``to_dict()`` (`analysis.machine.machine_score`)."""
    if not has_recurrent_interface(model):
        return None
    mod, _, fn = fn_name.partition(":")
    model = model.cpu().double().eval()
    m = getattr(importlib.import_module(mod), fn)(model, config.make_task(),
                                                  length=4 * config.seq_len, seed=config.seed)
    d = m.to_dict()
    return {k: d[k] for k in ("score", "represented", "transitions", "num_minimal", "length")}


def _mechanism(job: dict[str, Any], run_dir: Path, task: SuiteTask, model: Any = None
               ) -> dict[str, Any] | None:
    """What the final network keeps time with (periodic tasks, recurrent models), or None."""
    fn_name = job.get("mechanism_fn")
    if not fn_name or not _periodic(task):
        return None

    if model is None:
        model, _, _ = load_model(checkpoints(run_dir)[-1], arch=job["config"]["arch"])
    if not has_recurrent_interface(model):
        return None
    mod, _, fn = fn_name.partition(":")
    t = TrainConfig.from_dict(job["config"]).make_task()
    return getattr(importlib.import_module(mod), fn)(model, t)


def _execute(jobs: list[dict[str, Any]], backend: str, workers: int, address: str | None,
             on_result: Callable[[int, dict[str, Any]], None], show_progress: bool
             ) -> list[dict[str, Any]]:
    return run_jobs(run_unit, jobs, workers, backend=backend, address=address, desc="suite runs",
                    show_progress=show_progress, on_result=on_result)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment(config: SuiteConfig, source: str, threads: int) -> dict[str, Any]:
    """Versions, device, git commit and model source hash recorded with a report; ``threads``:
    the torch threads each run trains with (not this process's: with workers they differ)."""
    return {"ta_envs": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "device": resolve_device(config.device),
            "machine": f"{platform.machine()}, {threads} torch thread(s) per run",
            "git_commit": _git_commit(), "model_source_hash": source}


def _probe(config: SuiteConfig) -> tuple[int, torch.nn.Module]:
    """The hidden size and a model built on the ladder's first task."""
    first = config.selected()[0]
    probe = TrainConfig(task=first.task, task_kwargs=dict(first.kwargs), arch=config.arch,
                        hidden=config.hidden or 1, model_kw=dict(config.model_kw),
                        init=config.init, gain=config.gain, **RECIPE)
    task = probe.make_task()
    if config.params is not None:
        out, _ = head_spec(task)
        hidden, _ = width_for_budget(config.arch, config.params, int(task.obs_table.shape[1]), out,
                                     config.model_kw)
        probe = replace(probe, hidden=hidden)
    return probe.hidden, make_model(probe, task)  # imports and checks the architecture first


def resolve_width(config: SuiteConfig) -> tuple[int, int]:
    """``(hidden_size, parameter count)`` on the ladder's first task (the count of every task is
    recorded too; inputs and outputs differ by task)."""
    hidden, model = _probe(config)
    return hidden, count_parameters(model)


def state_record(model: torch.nn.Module) -> dict[str, Any]:
    """The floats a model carries from step to step: ``state_size`` (an int for a recurrent
    model; None when it grows with the sequence), ``state_per_step`` (a causal transformer's
    key-value cache per step seen: 2 x layers x width) and ``rule`` in words.

    Args:
        model: a built model.

    Returns:
        ``{"state_size", "state_per_step", "rule"}``.
    """
    size = getattr(model, "state_size", None)
    if isinstance(size, int) and not isinstance(size, bool):
        return {"state_size": size, "state_per_step": None, "rule": "fixed (recurrent state)"}
    blocks, width = getattr(model, "blocks", None), getattr(model, "hidden_size", None)
    if blocks is not None and isinstance(width, int):
        per = 2 * len(blocks) * width
        return {"state_size": None, "state_per_step": per,
                "rule": f"grows with the sequence: key-value cache of {per} floats per step seen"}
    return {"state_size": None, "state_per_step": None, "rule": "unknown (no state_size)"}


def _recurrent(arch: str) -> bool:
    """Whether a built-in has the recurrent interface (a user class: assumed, checked per run)."""
    return BUILTIN.get(arch, BUILTIN["rnn"]).recurrent


def _check_backend(backend: str, address: str | None, workers: int) -> None:
    check_int("workers", workers, 1)
    if backend not in ("local", "ray"):
        raise InvalidValue(f"backend must be 'local' or 'ray', got {backend!r}")
    if address is not None and backend != "ray":
        raise InvalidValue("address applies to backend 'ray' only (--backend ray --address ...)")


def run_suite(config: SuiteConfig, out_dir: str | Path, *, backend: str = "local",
              workers: int = 1, address: str | None = None, force: bool = False,
              mechanism_fn: str | None = None,
              machine_fn: str | None = "analysis.machine:machine_score", show_progress: bool = True,
              on_result: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run (or resume) the suite into ``out_dir``; returns and writes ``results.json``.

    ``mechanism_fn`` (``"module:function"``, e.g. ``analysis.mechanism:classify``) classifies what
    each final recurrent network keeps time with on the periodic tasks. ``force`` reruns cached
    runs. ``on_result(result)`` is called as each run finishes.

    Args:
        config: the ladder, the model and the budgets.
        out_dir: where ``results.json``, ``leaderboard.md``, the figure and the run cache go.
        backend: ``"local"`` (worker processes) or ``"ray"``.
        workers: parallel runs.
        address: the Ray cluster to join (``backend="ray"``).
        force: rerun cached runs.
        mechanism_fn: ``"module:function"`` classifying each final network.
        machine_fn: ``"module:function"`` scoring each final recurrent network against its
            task's minimal machine (when ``config.machine``; None: no machine score).
        show_progress: show progress bars.
        on_result: called with each run's result as it finishes.

    Returns:
        The report, as written to ``results.json``.

    Raises:
        ValueError: a bad configuration or option.
        RunLockedError: another process is writing a run of this suite.
    """
    _check_backend(backend, address, workers)
    resolve_device(config.device)  # CUDA asked for and absent: one line before any work
    out = Path(out_dir)
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    hidden, probe = _probe(config)
    params = count_parameters(probe)
    source = model_source_hash(config.arch)
    pairs = train_configs(config, hidden)
    recurrent = _recurrent(config.arch)
    analyses = {"mechanism": config.mechanism and mechanism_fn is not None and recurrent,
                "mechanism_fn": mechanism_fn,
                "machine_fn": machine_fn if config.machine and recurrent else None,
                # iterations with an ETA inside each run, where runs go one at a time here
                "progress": show_progress and backend == "local" and workers == 1}
    jobs = [{"config": c.to_dict(), "task": {"name": t.name, "task": t.task,
                                             "kwargs": dict(t.kwargs), "seq_len": t.seq_len,
                                             "iterations": t.iterations,
                                             "min_seeds": t.min_seeds},
             "cache": str(cache), "source": source, **analyses} for t, c in pairs]
    if force:
        for _, c in pairs:
            shutil.rmtree(cache / run_key(c, source), ignore_errors=True)
    t0 = time.perf_counter()
    results = _execute(jobs, backend, workers, address,
                       lambda i, r: on_result(r) if on_result else None, show_progress)
    report = score(results, config, hidden, params)
    report["state"] = state_record(probe)
    report["environment"] = environment(config, source, pairs[0][1].threads)
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    prior = out / "results.json"
    if config.tasks and prior.exists():  # a partial run adds to the report, never replaces it
        old = load_report(prior)
        old.pop("_path", None)
        report = merge_reports(old, report)
    report["provenance"] = provenance()
    atomic_write_json(prior, report)
    return report


def _mean(vals: list[float | None]) -> float | None:
    v = [x for x in vals if x is not None]
    return float(np.mean(v)) if v else None


def _ranges(t: SuiteTask) -> dict[str, Any]:
    """The lengths and periods a task trains and is evaluated at."""
    out: dict[str, Any] = {"train_length": t.seq_len,
                           "eval_lengths": [t.seq_len * m for m in LENGTHS]}
    if t.period is not None:
        out.update(train_period=t.period, eval_periods=t.period_conditions())
    return out


def _cond_mean(ok: list[dict[str, Any]], c: str, key: str) -> float | None:
    return _mean([r["acc"][c].get(key) for r in ok if c in r["acc"]])


def _v3_fields(t: SuiteTask, ok: list[dict[str, Any]]) -> dict[str, Any]:
    """The period conditions' means (with their control) and the machine score over seeds."""
    machine = [r["machine"]["score"] for r in ok if r.get("machine")]
    periods = tuple(t.period_conditions())
    return {"period_mean": {c: _cond_mean(ok, c, "acc") for c in periods},
            "period_control": {c: _cond_mean(ok, c, "control") for c in periods},
            "machine_mean": _mean(machine), "machine_max": max(machine) if machine else None}


def _task_summary(t: SuiteTask, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One task's entry of a report: its runs (sorted by seed) with the scores over seeds."""
    ch = chance(t)
    s = [run_score(r, ch) for r in runs]
    ok = [r for r in runs if not r.get("failed")]
    solved = [r["solved_at"] for r in ok if r["solved_at"] is not None]
    mech = [r["mechanism"] for r in ok if r.get("mechanism")]
    return {
        "task": t.name, "id": t.task, "kwargs": dict(t.kwargs), "seq_len": t.seq_len,
        "iterations": t.iterations, "seeds": len(runs), "chance": ch,
        "ranges": _ranges(t), "conditions": list(t.conditions()),
        "failed": len(runs) - len(ok),
        "score_mean": float(np.mean(s)), "score_max": float(np.max(s)),
        "acc_mean": {c: _cond_mean(ok, c, "acc") for c in CONDITIONS},
        "ti_mean": {c: _cond_mean(ok, c, "ti") for c in CONDITIONS},
        **_v3_fields(t, ok),
        "solved": f"{len(solved)}/{len(runs)}",
        "solved_at_median": float(np.median(solved)) if solved else None,
        "mechanism": [m.get("summary") for m in mech] if mech else None,
        "runs": runs}


def score(results: list[dict[str, Any]], config: SuiteConfig, hidden: int, params: int
          ) -> dict[str, Any]:
    """Per-task and overall scores (mean and max over seeds), joined by task name.

    Args:
        results: every run's result (any order).
        config: the suite's configuration (its tasks in ladder order).
        hidden: the model's hidden size.
        params: its parameter count.

    Returns:
        The report: protocol, config, per-task summaries with their runs, overall scores.
    """
    tasks = [_task_summary(t, sorted((r for r in results if r["task"] == t.name),
                                     key=lambda r: r["seed"])) for t in config.selected()]
    wall = [r.get("wall_s") or 0.0 for r in results]
    return {"protocol": PROTOCOL, "label": config.label(), "config": config.to_dict(),
            "hidden": hidden, "params": params,
            "overall": {"score_mean": float(np.mean([t["score_mean"] for t in tasks])),
                        "score_max": float(np.mean([t["score_max"] for t in tasks])),
                        "tasks": len(tasks)},
            "run_wall_s": {"total": round(float(np.sum(wall)), 1),
                           "per_run_median": round(float(np.median(wall)), 1)},
            "tasks": tasks}
