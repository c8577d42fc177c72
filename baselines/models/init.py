"""Drawing initial weights from the run's generator (one seed, one stream)."""

from __future__ import annotations

import math

import torch
from torch import nn


def reset_linear_(module: nn.Module, generator: torch.Generator | None) -> None:
    """Redraw every ``nn.Linear`` inside ``module`` from ``generator`` with PyTorch's default
    distribution, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases (no-op without a
    generator)."""
    if generator is None:
        return
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                bound = 1 / math.sqrt(m.in_features)
                m.weight.uniform_(-bound, bound, generator=generator)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=generator)
