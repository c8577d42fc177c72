"""Linear readouts for reservoirs: ridge regression on standardised features, and
`FeatureReservoir`, the fit / predict / score of any reservoir that maps input sequences
to features (the ring reservoir, the echo-state network), so that both are scored by the same
readout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ta_envs.dataset import Batch
from ta_envs.validation import InvalidType, InvalidValue


@dataclass(frozen=True)
class Ridge:
    """A ridge readout: ``predict(X) = ((X − mean) / sd) @ weights + bias``."""

    mean: np.ndarray  #: [F]
    sd: np.ndarray  #: [F]
    weights: np.ndarray  #: [F, K]
    bias: np.ndarray  #: [K]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``[n, K]`` outputs for features ``X [n, F]``."""
        return ((np.asarray(X, dtype=np.float64) - self.mean) / self.sd) @ self.weights + self.bias


def ridge_fit(X: np.ndarray, Y: np.ndarray, alpha: float) -> Ridge:
    """Ridge regression of ``Y [n, K]`` on features ``X [n, F]`` standardised with their own mean
    and standard deviation (constant features are left at zero), penalty ``alpha`` on the
    weights, unpenalised intercept."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if X.ndim != 2 or len(X) != len(Y):
        raise InvalidValue(f"X must be [n, F] and Y [n, K] with the same n, got {X.shape} and "
                           f"{Y.shape}")
    if not alpha > 0:
        raise InvalidValue(f"alpha must be > 0, got {alpha}")
    mean, sd = X.mean(0), X.std(0)
    sd = np.where(sd > 1e-12, sd, np.inf)  # constant features contribute nothing
    Z = (X - mean) / sd
    ym = Y.mean(0)
    A = Z.T @ Z
    A[np.diag_indices_from(A)] += alpha
    W = np.linalg.solve(A, Z.T @ (Y - ym))
    return Ridge(mean, sd, W, ym)


ALPHAS = (1e-6, 1e-4, 1e-2, 1.0, 1e2)


def ridge_select(X: np.ndarray, Y: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray,
                 X_test: np.ndarray, alphas: tuple[float, ...] = ALPHAS
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Ridge readouts of every column of ``Y [n, K]`` on ``X [n, F]`` (standardised as in
    `ridge_fit()`), each column's penalty chosen from ``alphas`` by validation MSE; returns
    the test predictions ``[n_test, K]`` and the chosen penalties ``[K]``. One eigendecomposition
    of ``ZᵀZ`` serves every penalty and column."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(len(X), -1)
    Y_val = np.asarray(Y_val, dtype=np.float64).reshape(len(X_val), -1)
    mean, sd = X.mean(0), X.std(0)
    sd = np.where(sd > 1e-12, sd, np.inf)
    Z = (X - mean) / sd
    Zv, Zt = (np.asarray(X_val) - mean) / sd, (np.asarray(X_test) - mean) / sd
    ym = Y.mean(0)
    lam, Q = np.linalg.eigh(Z.T @ Z)
    proj = Q.T @ (Z.T @ (Y - ym))  # [F, K]
    Zv_q, Zt_q = Zv @ Q, Zt @ Q
    best_err = np.full(Y.shape[1], np.inf)
    best_pred = np.zeros((len(Zt), Y.shape[1]))
    chosen = np.zeros(Y.shape[1])
    for a in alphas:
        coef = proj / (np.maximum(lam, 0.0) + a)[:, None]
        err = ((Zv_q @ coef + ym - Y_val) ** 2).mean(0)
        better = err < best_err
        if better.any():
            best_err[better] = err[better]
            best_pred[:, better] = (Zt_q @ coef[:, better]) + ym[better]
            chosen[better] = a
    return best_pred, chosen


class FeatureReservoir:
    """A reservoir with a ridge readout on one-hot targets (one block per target channel),
    decoded by argmax. Subclasses define `features()`."""

    ridge: float = 1.0

    def __init__(self) -> None:
        self.readout: Ridge | None = None
        self._classes: int | None = None
        self._channels: int | None = None
        self._inputs: int | None = None

    @property
    def num_features(self) -> int:
        """``F``, the width of `features()`."""
        raise NotImplementedError

    def features(self, inputs: np.ndarray) -> np.ndarray:
        """``[B, T, F]`` features for inputs ``[B, T, D]``."""
        raise NotImplementedError

    def _check_inputs(self, inputs: np.ndarray) -> np.ndarray:
        inputs = np.asarray(inputs)
        if inputs.ndim != 3:
            raise InvalidValue(f"inputs must be [B, T, D], got shape {inputs.shape}")
        if self._inputs is not None and inputs.shape[2] != self._inputs:
            raise InvalidValue(f"inputs have {inputs.shape[2]} channels, the reservoir was fitted "
                               f"on {self._inputs}")
        return inputs

    def fit(self, batch: Batch, classes: int) -> FeatureReservoir:
        """Fit the readout on a batch (``classes`` per target channel)."""
        if isinstance(classes, bool) or not isinstance(classes, int):
            raise InvalidType(f"classes must be an int, got {type(classes).__name__}")
        if classes < 2:
            raise InvalidValue(f"classes must be >= 2, got {classes}")
        X = self.features(batch.inputs)
        X = X.reshape(-1, X.shape[-1])
        y = (batch.targets if batch.targets.ndim == 3 else batch.targets[..., None]).astype(int)
        if y.max() >= classes or y.min() < 0:
            raise InvalidValue(f"targets must lie in 0..{classes - 1}, got {y.min()}..{y.max()}")
        C = y.shape[-1]
        flat = y.reshape(-1, C)
        Y = np.zeros((len(flat), C * classes))
        for c in range(C):
            Y[np.arange(len(flat)), c * classes + flat[:, c]] = 1.0
        self.readout = ridge_fit(X, Y, self.ridge)
        self._classes, self._channels, self._inputs = classes, C, batch.inputs.shape[2]
        return self

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """``[B, T]`` (``[B, T, C]`` for a multi-channel task) predicted classes."""
        if self.readout is None or self._classes is None or self._channels is None:
            raise RuntimeError("fit the reservoir first")
        X = self.features(inputs)
        B, T, _ = X.shape
        S = self.readout.predict(X.reshape(B * T, -1)).reshape(B, T, self._channels,
                                                              self._classes)
        pred = S.argmax(-1)
        return pred[..., 0] if self._channels == 1 else pred

    def score(self, batch: Batch) -> dict[str, float]:
        """Accuracy on all steps, on time-dependent (TD) and time-independent (TI) steps (``nan``
        where a task has none)."""
        pred = self.predict(batch.inputs)
        ok = pred == batch.targets
        if ok.ndim == 3:
            ok = ok.all(-1)
        out = {"acc": float(ok.mean())}
        for name, mask in (("td", batch.mask_td), ("ti", batch.mask_ti)):
            out[name] = float(ok[mask].mean()) if mask.any() else float("nan")
        return out
