"""A reservoir computer of differentiating ring oscillators with a ridge-regression readout, as a
baseline learner on any ``ta_envs`` task (``fit`` / ``predict`` / ``score``).

The reservoir is a set of independent rings of random sizes, or a lattice of rings. Each input
channel drives the first neuron of its own random subset of rings: while task step t lasts
(``hold`` simulation steps) that neuron's input gets ``drive · x_t[channel]``. Rings without input
run freely from the common start and act as clocks. Features at the end of each task step are the
outputs and voltages of all neurons; the readout is ridge regression onto one-hot targets (one
block per target channel), decoded by argmax.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ta_envs.dataset import Batch
from ta_envs.validation import check_int_fields

from .model import (
    LatticeConfig,
    NeuronParams,
    RingNetwork,
    initial_state,
    lattice,
    single_rings,
)
from .simulate import Stepper


@dataclass(frozen=True)
class ReservoirConfig:
    """``rings`` rings of sizes drawn uniformly from ``min_size..max_size`` (or a ``lattice``, which
    then sets the rings); ``input_fraction`` of the rings take input, split evenly over the input
    channels; ``hold`` simulation steps per task step; ``ridge`` the readout's L2 penalty (on
    standardised features); ``seed`` fixes ring sizes, input wiring and the random start."""

    rings: int = 128
    min_size: int = 3
    max_size: int = 9
    input_fraction: float = 0.5
    drive: float = 1.0
    hold: int = 50
    ridge: float = 1.0
    lattice: LatticeConfig | None = None
    random_phases: bool = True
    seed: int = 0
    params: NeuronParams = field(default_factory=NeuronParams)

    def __post_init__(self) -> None:
        check_int_fields(self, ("rings", "hold"), 1)
        check_int_fields(self, ("min_size",), 2)
        check_int_fields(self, ("seed",), 0)
        if self.max_size < self.min_size:
            raise ValueError(f"max_size ({self.max_size}) must be >= min_size ({self.min_size})")
        if not 0 < self.input_fraction <= 1:
            raise ValueError(f"input_fraction must be in (0, 1], got {self.input_fraction}")
        if self.ridge <= 0:
            raise ValueError(f"ridge must be > 0, got {self.ridge}")


class RingReservoir:
    """Ring-oscillator reservoir with a ridge readout (see the module docstring)."""

    def __init__(self, config: ReservoirConfig = ReservoirConfig()) -> None:
        self.config = config
        rng = np.random.default_rng(config.seed)
        if config.lattice is not None:
            self.net: RingNetwork = lattice(config.lattice)
        else:
            sizes = rng.integers(config.min_size, config.max_size + 1, size=config.rings)
            self.net = single_rings(sizes.tolist())
        self._rng_start = np.random.default_rng(rng.integers(2**63))
        self._order = rng.permutation(self.net.num_rings)
        self.readout: np.ndarray | None = None
        self._mu: np.ndarray | None = None
        self._sd: np.ndarray | None = None
        self._classes: int | None = None
        self._channels: int | None = None
        self._inputs: int | None = None

    @property
    def num_features(self) -> int:
        """Feature dimension the readout sees."""
        return 2 * self.net.num_neurons + 1

    def _wiring(self, d: int) -> list[np.ndarray]:
        n_in = max(d, int(round(self.config.input_fraction * self.net.num_rings)))
        chosen = self._order[:n_in]
        return [np.array([self.net.rings[r][0] for r in chosen[k::d]]) for k in range(d)]

    def features(self, inputs: np.ndarray) -> np.ndarray:
        """``[B, T, F]`` reservoir features for task inputs ``[B, T, D]`` (float)."""
        inputs = np.asarray(inputs)
        if inputs.ndim != 3:
            raise ValueError(f"inputs must be [B, T, D], got shape {inputs.shape}")
        if self._inputs is not None and inputs.shape[2] != self._inputs:
            raise ValueError(f"inputs have {inputs.shape[2]} channels, the reservoir was fitted "
                             f"on {self._inputs}")
        B, T, D = inputs.shape
        cfg = self.config
        rng = np.random.default_rng(cfg.seed + 1) if cfg.random_phases else None
        # the same start for every sequence: free-running rings are a clock from t = 0
        start = initial_state(self.net, cfg.params, batch=1, rng=rng)
        state = initial_state(self.net, cfg.params, batch=B)
        state.v[:] = start.v
        state.low[:] = start.low
        stepper = Stepper(self.net, cfg.params, B)
        wiring = self._wiring(D)
        drive = np.zeros((B, self.net.num_neurons), dtype=state.v.dtype)
        out = np.empty((B, T, self.num_features), dtype=np.float32)
        n = self.net.num_neurons
        for t in range(T):
            drive[:] = 0
            for k, neurons in enumerate(wiring):
                drive[:, neurons] = cfg.drive * inputs[:, t, k : k + 1]
            for _ in range(cfg.hold):
                stepper(state, drive)
            out[:, t, :n] = ~state.low
            out[:, t, n : 2 * n] = state.v
            out[:, t, -1] = 1.0
        return out

    def _targets(self, batch: Batch) -> np.ndarray:
        y = batch.targets if batch.targets.ndim == 3 else batch.targets[..., None]
        return y.astype(np.int64)

    def fit(self, batch: Batch, classes: int) -> RingReservoir:
        """Fit the ridge readout on a batch (``classes`` per target channel)."""
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
            raise ValueError(f"classes must be an int >= 2, got {classes!r}")
        X = self.features(batch.inputs)
        X = X.reshape(-1, X.shape[-1]).astype(np.float64)
        y = self._targets(batch)
        if y.max() >= classes or y.min() < 0:
            raise ValueError(f"targets must lie in 0..{classes - 1}, got {y.min()}..{y.max()}")
        C = y.shape[-1]
        Y = np.zeros((X.shape[0], C * classes))
        flat = y.reshape(-1, C)
        for c in range(C):
            Y[np.arange(len(flat)), c * classes + flat[:, c]] = 1.0
        self._mu, self._sd = X.mean(0), X.std(0) + 1e-8
        self._mu[-1], self._sd[-1] = 0.0, 1.0  # keep the bias column
        Z = (X - self._mu) / self._sd
        A = Z.T @ Z + self.config.ridge * np.eye(Z.shape[1])
        self.readout = np.linalg.solve(A, Z.T @ Y)
        self._classes, self._channels, self._inputs = classes, C, batch.inputs.shape[2]
        return self

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """``[B, T]`` (``[B, T, C]`` for a multi-channel task) predicted classes."""
        if self.readout is None or self._classes is None or self._channels is None:
            raise RuntimeError("fit the reservoir first")
        X = self.features(inputs)
        B, T, _ = X.shape
        Z = (X.reshape(B * T, -1) - self._mu) / self._sd
        S = (Z @ self.readout).reshape(B, T, self._channels, self._classes)
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
