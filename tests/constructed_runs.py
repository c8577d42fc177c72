"""Runs whose checkpoints hold hand-made 2-unit tanh RNNs with a known bifurcation of each type
(for the tracking and crossing tests)."""

from __future__ import annotations

import json
import math

import numpy as np
import torch

from analysis.tracking import TrackConfig
from baselines.config import TrainConfig
from baselines.runs import atomic_write_json, checkpoint_path, save_checkpoint
from baselines.train import Session

THETA = 2 * math.pi / 7
FAST = TrackConfig(fixed_point_states=32, orbit_states=8, transient=400, adam_steps=100)


def constructed_run(path, weights, td=None):
    """Checkpoints every 10 iterations of a 2-unit tanh RNN with no input weights and the given
    ``(W_hh, bias)`` per checkpoint; TD accuracy ``td`` (default: jumps at iteration 40)."""
    cfg = TrainConfig(task_kwargs={"period": 6}, hidden=2, seq_len=12, eval_every=10)
    s = Session.build(cfg)
    rows = []
    for i, (W, b) in enumerate(weights):
        with torch.no_grad():
            s.model.rnn.weight_hh_l0.copy_(torch.as_tensor(W))
            s.model.rnn.weight_ih_l0.zero_()
            s.model.rnn.bias_ih_l0.copy_(torch.as_tensor(b))
            s.model.rnn.bias_hh_l0.zero_()
        save_checkpoint(checkpoint_path(path, 10 * i), 10 * i, cfg, s.model, s.optimizer,
                        s.data.rng.bit_generator.state, 0.0)
        acc = td[i] if td is not None else (0.5 if 10 * i < 40 else 1.0)
        rows.append({"it": 10 * i, "val_td_acc": acc, "val_ti_acc": 1.0,
                     "spectral_radius": float(np.abs(np.linalg.eigvals(W)).max())})
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    atomic_write_json(path / "config.json", cfg.to_dict())
    return path


def rot(g):
    return g * np.array([[np.cos(THETA), -np.sin(THETA)], [np.sin(THETA), np.cos(THETA)]])


GAINS = [0.7, 0.8, 0.9, 0.95, 1.1, 1.2, 1.3]  # the loss of stability is at iteration 40
CASES = {
    "neimark-sacker": [(rot(g), [0.0, 0.0]) for g in GAINS],
    "period-doubling": [(np.diag([-g, 0.5]), [0.0, 0.0]) for g in GAINS],
    "pitchfork": [(np.diag([g, 0.5]), [0.0, 0.0]) for g in GAINS],
    # x = tanh(2x + b): the lower stable point meets the saddle at b = 0.5328 and both vanish
    "saddle-node": [(np.diag([2.0, 0.5]), [b, 0.0])
                    for b in (-1.0, -0.6, -0.2, 0.2, 0.45, 0.62, 0.8)],
}
LOSS_AT = {"neimark-sacker": 40, "period-doubling": 40, "pitchfork": 40, "saddle-node": 50}
