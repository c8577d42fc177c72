"""Differentiating ring oscillators: the model (`.model`), its simulators (`.simulate`)
and the reservoir computer built from them (`.reservoir`). Measures and experiments live in
[`analysis.rings`][analysis.rings]."""

from .model import (
    LatticeConfig,
    NeuronParams,
    RingNetwork,
    RingState,
    from_rings,
    initial_state,
    lattice,
    reference_step,
    single_rings,
)
from .spiking import Stepper, TorchStepper, Trajectory, simulate

__all__ = ["LatticeConfig", "NeuronParams", "RingNetwork", "RingState", "Stepper", "TorchStepper",
           "Trajectory", "from_rings", "initial_state", "lattice", "reference_step", "simulate",
           "single_rings"]
