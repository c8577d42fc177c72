"""Standard reservoir-computing benchmarks, for any reservoir with a ``features`` method
(``[B, T, D]`` inputs to ``[B, T, F]`` features), scored with the same ridge readout.

**Linear memory capacity** (Jaeger 2002): the input is i.i.d. uniform in [−1, 1]; for each delay
``k = 0 .. max_delay`` a ridge readout of the features at time t is trained to output
``u_{t−k}``; ``MC_k`` is the squared correlation between readout and target on held-out steps and
``MC = Σ_k MC_k``. Delay 0 (the current input) is included, so a delay line holding the last L
inputs has ``MC = L``.

**NARMA-10** (Atiya & Parlos 2000): ``u_t`` i.i.d. uniform in [0, 0.5],
``y_{t+1} = 0.3 y_t + 0.05 y_t Σ_{i=0}^{9} y_{t−i} + 1.5 u_{t−9} u_t + 0.1``; the readout of the
features at time t predicts ``y_{t+1}`` (which depends on inputs up to ``u_t``); the score is the
normalised root-mean-square error ``sqrt(mean((ŷ − y)²) / var(y))`` on held-out steps (1.0: no
better than the mean).

Both use a washout, a training span, a validation span (which picks the ridge penalty) and a test
span, all from one seeded generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ta_envs.validation import InvalidValue, check_int

from .reservoir_readout import ridge_select

Features = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Spans:
    """Steps of washout, training, validation and test, in this order."""

    washout: int = 200
    train: int = 3000
    val: int = 1000
    test: int = 1000

    @property
    def total(self) -> int:
        """All steps."""
        return self.washout + self.train + self.val + self.test

    def split(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(train, val, test)`` slices of ``a [total, ...]``."""
        w, tr, v = self.washout, self.train, self.val
        return a[w : w + tr], a[w + tr : w + tr + v], a[w + tr + v : self.total]


class DelayLine:
    """The reservoir that remembers exactly the last ``length`` inputs (the memory-capacity
    reference): features ``[u_t, u_{t−1}, ..., u_{t−length+1}]``."""

    def __init__(self, length: int) -> None:
        self.length = check_int("length", length, 1)

    def features(self, inputs: np.ndarray) -> np.ndarray:
        """``[B, T, length · D]`` delayed copies of ``inputs [B, T, D]`` (zeros before t = 0)."""
        B, T, D = inputs.shape
        out = np.zeros((B, T, self.length, D))
        for k in range(self.length):
            out[:, k:, k] = inputs[:, : T - k]
        return out.reshape(B, T, self.length * D)


def _features(features: Features, u: np.ndarray) -> np.ndarray:
    X = np.asarray(features(u[None, :, None]))
    if X.ndim != 3 or X.shape[:2] != (1, len(u)):
        raise InvalidValue(f"features must map [1, T, 1] inputs to [1, T, F], got {X.shape}")
    return X[0]


def memory_capacity(features: Features, max_delay: int = 100, spans: Spans | None = None,
                    seed: int = 0) -> tuple[float, np.ndarray]:
    """``(MC, MC_k [max_delay + 1])`` of the reservoir ``features`` (see the module docstring)."""
    spans = spans or Spans()
    check_int("max_delay", max_delay, 0)
    if max_delay >= spans.washout:
        raise InvalidValue(f"max_delay ({max_delay}) must be below the washout ({spans.washout})")
    u = np.random.default_rng(seed).uniform(-1, 1, spans.total)
    X = _features(features, u)
    targets = np.stack([np.roll(u, k) for k in range(max_delay + 1)], axis=1)  # [T, K]
    (Xtr, Xv, Xte), (Ytr, Yv, Yte) = spans.split(X), spans.split(targets)
    pred, _ = ridge_select(Xtr, Ytr, Xv, Yv, Xte)
    mc = np.zeros(max_delay + 1)
    for k in range(max_delay + 1):
        if pred[:, k].std() > 0:
            mc[k] = np.corrcoef(pred[:, k], Yte[:, k])[0, 1] ** 2
    return float(mc.sum()), mc


def narma10(u: np.ndarray) -> np.ndarray:
    """``y [T]`` of NARMA-10 driven by ``u [T]`` (``y_t = 0`` for t < 10; ``y_{t+1}`` depends on
    inputs up to ``u_t``)."""
    u = np.asarray(u, dtype=np.float64)
    y = np.zeros(len(u))
    for t in range(9, len(u) - 1):
        y[t + 1] = (0.3 * y[t] + 0.05 * y[t] * y[t - 9 : t + 1].sum() + 1.5 * u[t - 9] * u[t]
                    + 0.1)
    return y


def narma10_nrmse(features: Features, spans: Spans | None = None, seed: int = 0) -> float:
    """Test NRMSE of the reservoir ``features`` on NARMA-10 (see the module docstring)."""
    spans = spans or Spans()
    u = np.random.default_rng(seed).uniform(0, 0.5, spans.total + 1)
    y = narma10(u)
    X = _features(features, u[:-1])
    target = y[1:]  # y_{t+1} from the features at t
    (Xtr, Xv, Xte), (Ytr, Yv, Yte) = spans.split(X), spans.split(target)
    pred = ridge_select(Xtr, Ytr, Xv, Yv, Xte)[0][:, 0]
    return float(np.sqrt(((pred - Yte) ** 2).mean() / Yte.var()))
