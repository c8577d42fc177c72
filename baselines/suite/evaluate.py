"""Evaluating a final network under the protocol's conditions, in bounded memory."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ta_envs import make_dataset, make_task, rollout
from ta_envs.dataset import Batch

from ..config import TrainConfig
from ..models import head_spec, predict
from ..train import DivergedError, loss_and_correct
from .protocol import EVAL_SEQUENCES, LENGTHS, SuiteTask

#: At most this many steps per evaluation chunk (sequences x length).
EVAL_STEPS = 1 << 16
#: At most this many (query, key) step pairs per chunk (sequences x length^2), for attention.
EVAL_PAIRS = 1 << 26


def chunk_size(seq_len: int) -> int:
    """Sequences per evaluation chunk at ``seq_len`` steps."""
    return max(1, min(EVAL_STEPS // seq_len, EVAL_PAIRS // (seq_len * seq_len)))


def correct_steps(model: torch.nn.Module, batch: Batch, kind: str, device: str = "cpu"
                  ) -> np.ndarray:
    """``[B, T]`` bool: the model's output right at each step (all channels), in chunks."""
    T = batch.inputs.shape[1]
    n = chunk_size(T)
    out = []
    with torch.no_grad():
        for s in range(0, len(batch.inputs), n):
            x = torch.as_tensor(batch.inputs[s : s + n], device=device)
            y = torch.as_tensor(batch.targets[s : s + n], device=device)
            logits = predict(model, x)
            if not bool(torch.isfinite(logits).all()):
                raise DivergedError(f"{type(model).__name__}: evaluation produced non-finite "
                                    f"outputs at length {T}; the run is recorded as failed")
            _, correct = loss_and_correct(logits, y, kind, None)
            out.append(correct.cpu().numpy())
    return np.concatenate(out)


def _row(ok: np.ndarray, batch: Batch) -> dict[str, float | None]:
    td, ti = batch.mask_td, batch.mask_ti
    row = {"td": float(ok[td].mean()) if td.any() else None,
           "ti": float(ok[ti].mean()) if ti.any() else None}
    row["acc"] = row["td"] if row["td"] is not None else float(ok.mean())
    return row


def condition_sets(task: SuiteTask, config: TrainConfig) -> dict[str, Batch]:
    """The held-out batch of each condition that applies to ``task`` (the ``1x`` set is the run's
    own held-out set), period conditions included."""
    base = make_dataset(make_task(task.task, **task.kwargs), 1, task.seq_len, seed=config.seed)
    sets = {f"{m}x": base.fixed(EVAL_SEQUENCES, task.seq_len * m) for m in LENGTHS}
    for cond in task.conditions():
        if cond not in sets:
            shifted = make_task(task.task, **task.shifted_kwargs(cond))
            sets[cond] = make_dataset(shifted, 1, task.seq_len, seed=config.seed).fixed(
                EVAL_SEQUENCES)
    for cond in task.period_conditions():
        other = make_task(task.task, **task.period_kwargs(cond))
        sets[cond] = make_dataset(other, 1, task.seq_len, seed=config.seed).fixed(EVAL_SEQUENCES)
    return sets


def period_control(task: SuiteTask, batch: Batch) -> float | None:
    """The metric of the exact trained-period automaton on a period condition's ``batch``: what a
    network that keeps exactly the trained period scores there.

    Args:
        task: the rung (its kwargs give the trained period).
        batch: held-out sequences of the same family at another period.

    Returns:
        Accuracy on the batch's time-dependent steps (all steps when it has none); None when there
        are no steps.
    """
    trained = make_task(task.task, **task.kwargs)
    mine = rollout(trained, np.asarray(batch.symbols, np.int64)).targets
    ok = mine == batch.targets
    if ok.ndim == 3:
        ok = ok.all(-1)
    mask = batch.mask_td if batch.mask_td.any() else np.ones_like(batch.mask_td)
    return float(ok[mask].mean()) if mask.any() else None


def evaluate_conditions(model: torch.nn.Module, task: SuiteTask, config: TrainConfig,
                        device: str = "cpu") -> dict[str, dict[str, Any]]:
    """``{condition: {"td", "ti", "acc"}}`` for the conditions that apply (see the protocol); a
    period condition also holds ``control`` (`period_control`) and ``period``."""
    _, kind = head_spec(config.make_task())
    model = model.to(device).eval()
    out = {}
    periods = task.period_conditions()
    for cond, b in condition_sets(task, config).items():
        row: dict[str, Any] = _row(correct_steps(model, b, kind, device), b)
        if cond in periods:
            row.update(control=period_control(task, b), period=periods[cond])
        out[cond] = row
    return out


def chance(task: SuiteTask) -> float:
    """Uniform guessing on the metric: 1/K for K output classes (1/2**N for N-bit FlipFlop)."""
    t = make_task(task.task, **task.kwargs)
    tc = t.target_channels
    return 1.0 / (2 ** tc.shape[1] if tc is not None else t.automaton.num_classes)
