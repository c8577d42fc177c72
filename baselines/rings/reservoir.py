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

from ta_envs.validation import check_int_fields

from ..reservoir_readout import FeatureReservoir
from .model import (
    LatticeConfig,
    NeuronParams,
    RingNetwork,
    initial_state,
    lattice,
    single_rings,
)
from .spiking import Stepper


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


class RingReservoir(FeatureReservoir):
    """Ring-oscillator reservoir with a ridge readout (see the module docstring)."""

    def __init__(self, config: ReservoirConfig | None = None) -> None:
        super().__init__()
        config = config or ReservoirConfig()
        self.config, self.ridge = config, config.ridge
        rng = np.random.default_rng(config.seed)
        if config.lattice is not None:
            self.net: RingNetwork = lattice(config.lattice)
        else:
            sizes = rng.integers(config.min_size, config.max_size + 1, size=config.rings)
            self.net = single_rings(sizes.tolist())
        self._order = rng.permutation(self.net.num_rings)

    @property
    def num_features(self) -> int:
        """Feature dimension the readout sees: each neuron's output and voltage, and a bias."""
        return 2 * self.net.num_neurons + 1

    def _wiring(self, d: int) -> list[np.ndarray]:
        n_in = max(d, int(round(self.config.input_fraction * self.net.num_rings)))
        chosen = self._order[:n_in]
        return [np.array([self.net.rings[r][0] for r in chosen[k::d]]) for k in range(d)]

    def features(self, inputs: np.ndarray) -> np.ndarray:
        """``[B, T, F]`` reservoir features for task inputs ``[B, T, D]`` (float)."""
        inputs = self._check_inputs(inputs)
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
