"""Does a network's time of day survive a switch between inputs (a -> b, b -> a)?

A linear decoder reads the phase of the day from the hidden state: least squares from ``[h, 1]``
to ``(cos, sin)`` of ``2π k / P``, where ``k`` is the periodic clock after the step (``t + 1 mod
P``), fitted on one batch of the task's own random streams. On held-out sequences the decoded phase
``φ̂ = atan2(ŝ, ĉ)`` is compared with the true one; the phase error ``|wrap(φ̂ − 2πk/P)|`` is
reported overall, and at the steps just before and just after each switch of the input symbol.
If the network switches between orbits that keep a common phase (the paper's picture), the error
after a switch equals the error before it; if a switch resets or scrambles the clock, it jumps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from baselines.models import logits_of, require_recurrent
from ta_envs import Task, make_dataset
from ta_envs.validation import InvalidValue, check_int


@dataclass(frozen=True)
class PhaseCarry:
    """Phase errors (radians, in [0, π]) of the decoded time of day."""

    period: int
    error_median: float  #: over all held-out steps (after ``burn_in``)
    before_switch: float  #: median error at the step just before a switch
    after_switch: float  #: median error at the first step after a switch
    after_switch_3: float  #: median error three steps after a switch
    switches: int  #: switches measured
    decoded_accuracy: float  #: fraction of steps whose decoded phase rounds to the true k

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)


def _states(model: torch.nn.Module, inputs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = model(torch.as_tensor(inputs))
    if not isinstance(out, tuple):
        raise InvalidValue("phase_carry needs forward to return (logits, states)")
    logits_of(out)
    return out[1].double().numpy()


def phase_carry(model: torch.nn.Module, task: Task, *, batch_size: int = 128,
                seq_len: int | None = None, burn_in: int | None = None, seed: int = 0
                ) -> PhaseCarry:
    """Decode the time of day from the states of ``model`` on ``task`` and measure the phase error
    around input switches (see the module docstring)."""
    require_recurrent(model, "phase_carry")
    clocks = [i for i, c in enumerate(task.automaton.clocks) if c.period is not None]
    if not clocks:
        raise InvalidValue("phase_carry needs a task with a periodic clock (a time of day)")
    ci = clocks[0]
    period = task.automaton.clocks[ci].period
    assert period is not None  # clocks holds periodic clocks only
    P = int(period)
    T = check_int("seq_len", seq_len if seq_len is not None else 4 * P, 2)
    burn = P if burn_in is None else check_int("burn_in", burn_in, 0)
    data = make_dataset(task, batch_size=batch_size, seq_len=T, seed=seed)
    sets = []
    for _ in range(2):
        b = next(data)
        h = _states(model, b.inputs)  # [B, T, S]: state after step t
        k = (b.clocks[:, :, ci] + 1) % P  # the clock after step t
        sets.append((h, k, b.symbols))
    (h_tr, k_tr, _), (h_te, k_te, sym_te) = sets
    ang = 2 * np.pi * k_tr / P
    A = np.c_[h_tr[:, burn:].reshape(-1, h_tr.shape[-1]), np.ones(h_tr[:, burn:, 0].size)]
    Y = np.c_[np.cos(ang[:, burn:]).ravel(), np.sin(ang[:, burn:]).ravel()]
    w = np.linalg.lstsq(A, Y, rcond=None)[0]
    B, _, S = h_te.shape
    pred = np.c_[h_te.reshape(-1, S), np.ones(B * T)] @ w
    phi = np.arctan2(pred[:, 1], pred[:, 0]).reshape(B, T)
    err = np.abs(np.angle(np.exp(1j * (phi - 2 * np.pi * k_te / P))))
    switch = np.zeros_like(sym_te, dtype=bool)
    switch[:, 1:] = sym_te[:, 1:] != sym_te[:, :-1]  # step t reads a different symbol than t-1
    switch[:, : burn + 1] = False
    b_idx, t_idx = np.nonzero(switch)
    ok3 = t_idx + 3 < T
    decoded = np.rint(phi / (2 * np.pi) * P) % P == k_te
    return PhaseCarry(
        period=P, error_median=float(np.median(err[:, burn:])),
        before_switch=float(np.median(err[b_idx, t_idx - 1])) if len(t_idx) else float("nan"),
        after_switch=float(np.median(err[b_idx, t_idx])) if len(t_idx) else float("nan"),
        after_switch_3=float(np.median(err[b_idx[ok3], t_idx[ok3] + 3])) if ok3.any()
        else float("nan"),
        switches=int(len(t_idx)), decoded_accuracy=float(decoded[:, burn:].mean()))
