"""Differentiating ring oscillators: the model (:mod:`.model`), its simulators (:mod:`.simulate`)
and the reservoir computer built from them (:mod:`.reservoir`). Measures and experiments live in
:mod:`analysis.rings`."""

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
from .simulate import Stepper, TorchStepper, Trajectory, simulate

__all__ = ["LatticeConfig", "NeuronParams", "RingNetwork", "RingState", "Stepper", "TorchStepper",
           "Trajectory", "from_rings", "initial_state", "lattice", "reference_step", "simulate",
           "single_rings"]
