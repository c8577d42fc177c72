"""User architectures for the model-protocol tests (imported as ``toy_models:Class``)."""

from __future__ import annotations

import torch
from torch import nn


class ToyRNN(nn.Module):
    """A conforming user model: a ReLU RNN written by hand."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.state_size = hidden_size
        self.inp = nn.Linear(input_size, hidden_size)
        self.rec = nn.Linear(hidden_size, hidden_size, bias=False)
        self.out = nn.Linear(hidden_size, output_size)

    def step(self, h, x):
        return torch.relu(self.inp(x) + self.rec(h))

    def readout(self, h):
        return self.out(h)

    def initial_state(self, batch_size):
        return torch.zeros(batch_size, self.state_size)

    def forward(self, inputs):
        h, hs = self.initial_state(inputs.shape[0]), []
        for t in range(inputs.shape[1]):
            h = self.step(h, inputs[:, t])
            hs.append(h)
        states = torch.stack(hs, 1)
        return self.out(states), states


class NoStep(ToyRNN):
    step = None  # type: ignore[assignment]


class WrongStates(ToyRNN):
    def forward(self, inputs):
        logits, states = super().forward(inputs)
        return logits, states[:, :, :1]


class Inconsistent(ToyRNN):
    def step(self, h, x):  # disagrees with forward
        return super().step(h, x) + 1.0

    def forward(self, inputs):
        h, hs = self.initial_state(inputs.shape[0]), []
        for t in range(inputs.shape[1]):
            h = torch.relu(self.inp(inputs[:, t]) + self.rec(h))
            hs.append(h)
        states = torch.stack(hs, 1)
        return self.out(states), states


class BadSignature(nn.Module):
    """A constructor that does not take the protocol's keywords."""

    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()


class Raises(ToyRNN):
    def forward(self, inputs):
        raise RuntimeError("boom inside the user's forward")


class WrongShape(ToyRNN):
    def forward(self, inputs):
        logits, states = super().forward(inputs)
        return logits[:, :, :0], states


class IntLogits(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.output_size = output_size
        self.lin = nn.Linear(input_size, output_size)

    def forward(self, inputs):
        return torch.zeros(*inputs.shape[:2], self.output_size, dtype=torch.long)


class NaNAfter(ToyRNN):
    """Finite at first; its forward returns NaN once it has been called many times (a run that
    diverges mid-training)."""

    calls = 0

    def forward(self, inputs):
        type(self).calls += 1
        logits, states = super().forward(inputs)
        if type(self).calls > 40:
            logits = logits * float("nan")
        return logits, states


class NaNInEval(ToyRNN):
    """Finite while training (the build check runs in train mode), NaN in eval mode."""

    def forward(self, inputs):
        logits, states = super().forward(inputs)
        if not self.training:
            logits = logits * float("nan")
        return logits, states


class Deep(ToyRNN):
    """A user model with an option whose value it uses (``depth``)."""

    def __init__(self, input_size, hidden_size, output_size, depth=1):
        super().__init__(input_size, hidden_size, output_size)
        self.extra = torch.nn.ModuleList([torch.nn.Identity() for _ in range(depth)])
