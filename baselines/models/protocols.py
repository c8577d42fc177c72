"""The two model contracts as ``typing.Protocol`` classes (DESIGN section 7), checked by mypy where
models are used and at runtime by
[`baselines.models.require_recurrent()`][baselines.models.require_recurrent].

A **sequence model** is what ``train`` and the suite need: ``Class(input_size=, hidden_size=,
output_size=, **model_kw)`` whose ``forward(inputs [B, T, I])`` returns logits ``[B, T, O]`` or
``(logits, states)``. The **recurrent interface** is what the analysis needs: ``step``,
``readout``, ``initial_state`` and ``state_size``, with real-valued states.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from torch import Tensor
from torch.nn import Parameter


@runtime_checkable
class SequenceModel(Protocol):
    """``forward(inputs [B, T, I]) -> logits [B, T, O] | (logits, states [B, T, S])``."""

    def __call__(self, inputs: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """The forward pass (``nn.Module.__call__``)."""
        ...

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The trainable parameters (``nn.Module.parameters``)."""
        ...


@runtime_checkable
class RecurrentModel(Protocol):
    """The recurrent interface: one step of the state update, the readout, the initial state."""

    state_size: int  #: floats carried from step to step

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """``h [B, S], x [B, I] -> h' [B, S]``."""
        ...

    def readout(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        """Logits ``[B, O]`` from the state after a step (and that step's input, if needed)."""
        ...

    def initial_state(self, batch_size: int) -> Tensor:
        """The state ``[B, S]`` every sequence starts from."""
        ...
