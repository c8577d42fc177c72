"""An echo-state network (Jaeger 2001): the standard reservoir the ring reservoir is compared with,
scored by the same ridge readout
([`baselines.reservoir_readout.FeatureReservoir`][baselines.reservoir_readout.FeatureReservoir]).

``x_t = (1 − leak) x_{t−1} + leak · tanh(W x_{t−1} + W_in u_t)``, ``x_0 = 0``; ``W`` sparse
(``density``) with normal entries, rescaled to ``spectral_radius``; ``W_in`` uniform in
``[−input_scaling, input_scaling]``. Features: ``[x_t, 1]``, so ``units + 1`` of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ta_envs.validation import check_float, check_int, check_prob, check_seed

from .reservoir_readout import FeatureReservoir


@dataclass(frozen=True)
class EchoStateConfig:
    """Size and scaling of the echo-state network; ``seed`` fixes ``W`` and ``W_in``."""

    units: int = 256
    spectral_radius: float = 0.9
    input_scaling: float = 0.5
    density: float = 0.1
    leak: float = 1.0
    ridge: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("units", self.units, 1)
        check_float("spectral_radius", self.spectral_radius, 0.0)
        check_float("input_scaling", self.input_scaling, 0.0)
        check_prob("density", self.density)
        check_prob("leak", self.leak)
        check_float("ridge", self.ridge, above=0.0)
        check_seed("seed", self.seed)


class EchoStateNetwork(FeatureReservoir):
    """Echo-state network with a ridge readout (see the module docstring)."""

    def __init__(self, config: EchoStateConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or EchoStateConfig()
        self.ridge = config.ridge
        rng = np.random.default_rng(config.seed)
        n = config.units
        W = rng.normal(size=(n, n)) * (rng.random((n, n)) < config.density)
        rho = float(np.abs(np.linalg.eigvals(W)).max()) if n > 1 else float(abs(W[0, 0]))
        self.W = W * (config.spectral_radius / rho) if rho > 0 else W

    @property
    def num_features(self) -> int:
        """``units + 1`` (the state and a bias)."""
        return self.config.units + 1

    def _input_weights(self, d: int) -> np.ndarray:
        rng = np.random.default_rng([self.config.seed, d])  # the same W_in for the same width
        s = self.config.input_scaling
        return rng.uniform(-s, s, size=(self.config.units, d))

    def features(self, inputs: np.ndarray) -> np.ndarray:
        """``[B, T, units + 1]`` states (and the bias) for inputs ``[B, T, D]``."""
        inputs = self._check_inputs(inputs).astype(np.float64)
        B, T, D = inputs.shape
        W_in, leak = self._input_weights(D), self.config.leak
        drive = inputs @ W_in.T  # [B, T, units]
        x = np.zeros((B, self.config.units))
        out = np.empty((B, T, self.num_features), dtype=np.float32)
        for t in range(T):
            x = (1 - leak) * x + leak * np.tanh(x @ self.W.T + drive[:, t])
            out[:, t, :-1] = x
        out[..., -1] = 1.0
        return out
