"""Training throughput of ``baselines.train.train`` against a minimal torch loop over the same
module, optimiser and data stream (shared by ``bench_train.py`` and ``bench_suite.py``).

The minimal loop is what a user would write: next batch, forward (the model's logits-only
``logits`` where it has one, as ``train()`` uses), loss on all steps, backward, clip, step; no
evaluation, no logging, no checkpoints. ``train()`` runs with its defaults (evaluation on the
held-out set every ``eval_every`` iterations, a metrics row per iteration, checkpoints), timed from
its metrics log after a warm-up so that building the session is not counted on either side.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from baselines.config import TrainConfig
from baselines.models import predict
from baselines.runs import read_metrics
from baselines.train import Session, loss_and_correct, train

WARMUP = 20


def minimal_seconds(config: TrainConfig, iterations: int) -> float:
    """Seconds per iteration of the minimal loop (after ``WARMUP`` iterations)."""
    s = Session.build(config)
    clip = config.grad_clip or float("inf")

    def one() -> None:
        b = next(s.data)
        logits = predict(s.model, torch.from_numpy(b.inputs))
        loss, _ = loss_and_correct(logits, torch.from_numpy(b.targets), s.kind, None)
        s.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(s.model.parameters(), clip)
        s.optimizer.step()

    for _ in range(WARMUP):
        one()
    t0 = time.perf_counter()
    for _ in range(iterations):
        one()
    return (time.perf_counter() - t0) / iterations


def train_seconds(config: TrainConfig, iterations: int) -> float:
    """Seconds per iteration of ``train()`` over iterations ``WARMUP+1 .. WARMUP+iterations``
    (its own clock, ``wall_s``, in the metrics log)."""
    cfg = replace(config, iterations=WARMUP + iterations, stop_at_td=None, continue_after_stop=0,
                  tensorboard=False)
    with tempfile.TemporaryDirectory() as tmp:
        train(cfg, Path(tmp) / "run", progress=False)
        rows = {r["it"]: r["wall_s"] for r in read_metrics(Path(tmp) / "run")}
    return (rows[WARMUP + iterations] - rows[WARMUP]) / iterations


def harness_ratio(config: TrainConfig, iterations: int, rounds: int) -> dict[str, Any]:
    """``train()`` against the minimal loop, interleaved round by round; the ratio is the median
    of the per-round ratios (minimal seconds / train seconds; 1.0 = no overhead)."""
    t_min, t_train = [], []
    for _ in range(rounds):
        t_train.append(train_seconds(config, iterations))
        t_min.append(minimal_seconds(config, iterations))
    return {"train() it/s": 1 / statistics.median(t_train),
            "minimal loop it/s": 1 / statistics.median(t_min),
            "ratio (train / minimal)": statistics.median(m / t for m, t in zip(t_min, t_train))}
