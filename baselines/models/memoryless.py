"""A control with no memory: the recurrent interface over a state that forgets the past.

``Memoryless`` computes its "state" from the current input alone, ``h_t = tanh(W x_t + b)``, so
anything it does must be decidable from the present observation. It is the no-memory control of
the native-PPO study (``--core mlp``): time-dependent steps stay at chance unless the clock is
observed.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Memoryless(nn.Module):
    """``h_t = tanh(W x_t + b)`` (``h_{t-1}`` is ignored); logits ``= V h_t + c``."""

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.state_size = hidden_size
        self.inp = nn.Linear(input_size, hidden_size)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """``(logits [B, T, O], states [B, T, H])``."""
        states = torch.tanh(self.inp(inputs))
        return self.head(states), states

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """``h [B, H], x [B, I] -> [B, H]`` (``h`` unused: no memory)."""
        return torch.tanh(self.inp(x))

    def readout(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        """Logits ``[B, O]``."""
        return self.head(h)

    def initial_state(self, batch_size: int) -> Tensor:
        """Zeros ``[B, H]``."""
        return torch.zeros(batch_size, self.hidden_size)
