"""minGRU (Feng et al. 2024, *Were RNNs all we needed?*).

``z_t = σ(W_z x_t)``, ``h̃_t = g(W_h x_t)``, ``h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t``, with
``g(v) = v + ½`` for ``v >= 0`` and ``σ(v)`` otherwise (the paper's log-space variant: states stay
positive). The gates read only the input, never the state, so ``forward`` can run the paper's
parallel log-space scan (Heinsen 2023) over the whole sequence (``scan="parallel"``, the default on a
GPU) or the plain loop (``scan="sequential"``, the default on a CPU, where it is about 20x faster at
the suite's sizes); ``step`` is the plain recurrence, and all three agree. A
consequence the analysis shows: under a constant input the state relaxes to one stable fixed point
(``h* = h̃``); a minGRU cannot oscillate on its own.

Layers stack (each layer's input is the previous layer's output); ``expansion`` widens each layer's
state to ``expansion · hidden_size`` with a linear projection back (as in minGRU-pytorch).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ta_envs.validation import check_choice, check_float, check_int

from .init import reset_linear_
from .scan import MODES, heinsen, sequential


def g(x: Tensor) -> Tensor:
    """The positive activation of log-space minGRU."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    """``log g(x)``, computed without overflow."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


class _Layer(nn.Module):
    def __init__(self, d_in: int, d_state: int, d_out: int | None) -> None:
        super().__init__()
        self.to_hidden_and_gate = nn.Linear(d_in, 2 * d_state)
        self.to_out = nn.Linear(d_state, d_out) if d_out is not None else None
        self.d_state = d_state

    def scan(self, x: Tensor, mode: str) -> Tensor:
        """States ``[B, T, d_state]`` from a zero state."""
        hidden, gate = self.to_hidden_and_gate(x).chunk(2, dim=-1)
        if mode == "parallel" or (mode == "auto" and x.is_cuda):
            log_coeffs = -F.softplus(gate)  # log(1 - z)
            log_values = -F.softplus(-gate) + log_g(hidden)  # log(z * h~)
            return heinsen(log_coeffs, log_values)
        z = torch.sigmoid(gate)
        return sequential(1 - z, z * g(hidden))

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        hidden, gate = self.to_hidden_and_gate(x).chunk(2, dim=-1)
        return torch.lerp(h, g(hidden), torch.sigmoid(gate))

    def out(self, h: Tensor) -> Tensor:
        return h if self.to_out is None else self.to_out(h)


class MinGRU(nn.Module):
    """``MinGRU(input_size, hidden_size, output_size, *, layers=2, expansion=1.0, scan="auto")``;
    the state is
    every layer's hidden vector, ``state_size = layers · round(expansion · hidden_size)``."""

    #: Sequences per held-out evaluation call: the scan's intermediates grow with the batch
    #: (256 sequences in one call measured 1.2x to 1.5x as long as four calls of 64).
    eval_chunk = 64

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1, *,
                 layers: int = 2, expansion: float = 1.0, scan: str = "auto",
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("output_size", output_size), ("layers", layers)):
            check_int(name, v, 1)
        check_float("expansion", expansion, above=0.0)
        self.scan = check_choice("scan", scan, MODES)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        d_state = max(1, round(expansion * hidden_size))
        proj = d_state != hidden_size
        self.layer_list = nn.ModuleList(
            _Layer(input_size if i == 0 else hidden_size, d_state, hidden_size if proj else None)
            for i in range(layers))
        self.d_state = d_state
        self.state_size = layers * d_state
        self.head = nn.Linear(hidden_size, output_size)
        reset_linear_(self, generator)

    def _layers(self) -> list[_Layer]:
        """The layers, typed (``nn.ModuleList`` yields plain modules)."""
        return [cast(_Layer, m) for m in self.layer_list]

    def forward(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """``(logits [B, T, O], states [B, T, state_size])``."""
        x, states = inputs, []
        for layer in self._layers():
            h = layer.scan(x, self.scan)
            states.append(h)
            x = layer.out(h)
        return self.head(x), torch.cat(states, dim=-1)

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One step of every layer: ``h [B, S], x [B, I] -> [B, S]``."""
        new = []
        for i, layer in enumerate(self._layers()):
            hi = layer.step(h[..., i * self.d_state : (i + 1) * self.d_state], x)
            new.append(hi)
            x = layer.out(hi)
        return torch.cat(new, dim=-1)

    def readout(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        """Logits ``[B, O]`` from the state (the last layer's output; ``x`` is not used)."""
        last = self._layers()[-1]
        return self.head(last.out(h[..., -self.d_state :]))

    def initial_state(self, batch_size: int) -> Tensor:
        """The zero state ``[B, S]``."""
        p = self.head.weight
        return torch.zeros(batch_size, self.state_size, dtype=p.dtype, device=p.device)
