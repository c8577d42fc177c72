"""The Linear Recurrent Unit (Orvieto et al. 2023, *Resurrecting recurrent neural networks for long
sequences*, ICML).

Each layer runs a diagonal complex recurrence ``h_t = λ ⊙ h_{t-1} + γ ⊙ (B u_t)`` with the
exponential parametrisation ``λ = exp(−exp(ν) + i·exp(θ))`` (so ``|λ| < 1`` always), the
normalisation ``γ = sqrt(1 − |λ|²)`` (stored as ``log γ`` and trained), and the ring
initialisation (``|λ|`` uniform on ``[r_min, r_max]`` in area, phase uniform in
``[0, max_phase]``); the output is ``y_t = Re(C h_t) + D ⊙ u_t``. A layer is the pre-norm block
``x ← x + W·GELU(LRU(LayerNorm(x)))``; an input projection comes first and a linear head last.

Recurrent interface: the state is every layer's complex state as real ``[Re h, Im h]``
(``state_size = layers · 2N``); ``readout(h, x)`` needs the step's input ``x`` because of the
``D ⊙ u`` skip. ``forward`` runs the recurrence as a parallel (chunked) scan on a GPU and as a loop
on a CPU, where that is faster (``scan="auto"``; [`baselines.models.scan`][baselines.models.scan]);
iterating
``step`` reproduces it.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ta_envs.validation import check_choice, check_float, check_int

from .init import reset_linear_
from .scan import MODES, scan_invariant


class _LRULayer(nn.Module):
    def __init__(self, d: int, n: int, r_min: float, r_max: float, max_phase: float,
                 generator: torch.Generator | None) -> None:
        super().__init__()
        u1 = torch.rand(n, generator=generator)
        u2 = torch.rand(n, generator=generator)
        nu_log = torch.log(-0.5 * torch.log(u1 * (r_max**2 - r_min**2) + r_min**2))
        theta_log = torch.log(max_phase * u2 + 1e-12)
        mod = torch.exp(-torch.exp(nu_log))
        self.nu_log = nn.Parameter(nu_log)
        self.theta_log = nn.Parameter(theta_log)
        self.gamma_log = nn.Parameter(torch.log(torch.sqrt(1 - mod**2)))
        self.B_re = nn.Parameter(torch.randn(n, d, generator=generator) / math.sqrt(2 * d))
        self.B_im = nn.Parameter(torch.randn(n, d, generator=generator) / math.sqrt(2 * d))
        self.C_re = nn.Parameter(torch.randn(d, n, generator=generator) / math.sqrt(n))
        self.C_im = nn.Parameter(torch.randn(d, n, generator=generator) / math.sqrt(n))
        self.D = nn.Parameter(torch.randn(d, generator=generator))
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, d)
        self.n = n

    def lam(self) -> Tensor:
        """The diagonal ``λ`` (complex, ``[N]``)."""
        mod = torch.exp(-torch.exp(self.nu_log))
        ph = torch.exp(self.theta_log)
        return torch.complex(mod * torch.cos(ph), mod * torch.sin(ph))

    def drive(self, u: Tensor) -> Tensor:
        """``γ ⊙ (B u)`` as complex ``[..., N]``."""
        g = torch.exp(self.gamma_log)
        return torch.complex(g * (u @ self.B_re.T), g * (u @ self.B_im.T))

    def output(self, x: Tensor, u: Tensor, h: Tensor) -> Tensor:
        """The block's output ``x + W·GELU(Re(C h) + D u)`` for complex ``h``."""
        y = h.real @ self.C_re.T - h.imag @ self.C_im.T + self.D * u
        return x + self.out(F.gelu(y))


class LRU(nn.Module):
    """``LRU(input_size, hidden_size, output_size, *, layers=1, state_size=None (= hidden_size),
    r_min=0.5, r_max=0.99, max_phase=2π, scan="auto")``."""

    #: Sequences per held-out evaluation call (the scan's complex intermediates grow with the
    #: batch; four calls of 64 measured up to 1.1x faster than 256 in one at the suite's size).
    eval_chunk = 64

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1, *,
                 layers: int = 1, state_size: int | None = None, r_min: float = 0.5,
                 r_max: float = 0.99, max_phase: float = 2 * math.pi, scan: str = "auto",
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("output_size", output_size), ("layers", layers)):
            check_int(name, v, 1)
        n = hidden_size if state_size is None else check_int("state_size", state_size, 1)
        check_float("r_min", r_min, 0.0, below=1.0)
        check_float("r_max", r_max, above=r_min, below=1.0)
        check_float("max_phase", max_phase, above=0.0)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.n, self.layers = n, layers
        self.scan = check_choice("scan", scan, MODES)
        self.state_size = layers * 2 * n
        self.embed = nn.Linear(input_size, hidden_size)
        self.blocks = nn.ModuleList(_LRULayer(hidden_size, n, r_min, r_max, max_phase, generator)
                                    for _ in range(layers))
        self.head = nn.Linear(hidden_size, output_size)
        reset_linear_(self, generator)

    def _split(self, h: Tensor) -> list[Tensor]:
        n = self.n
        return [torch.complex(h[..., 2 * n * i : 2 * n * i + n], h[..., 2 * n * i + n : 2 * n * (i + 1)])
                for i in range(self.layers)]

    def _block_list(self) -> list[_LRULayer]:
        """The layers, typed (``nn.ModuleList`` yields plain modules)."""
        return [cast(_LRULayer, m) for m in self.blocks]

    def forward(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """``(logits [B, T, O], states [B, T, state_size])``."""
        x = self.embed(inputs)
        states = []
        for blk in self._block_list():
            u = blk.norm(x)
            h = scan_invariant(blk.lam(), blk.drive(u), mode=self.scan)
            states += [h.real.detach(), h.imag.detach()]  # for analysis: no gradient
            x = blk.output(x, u, h)
        return self.head(x), torch.cat(states, dim=-1)

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One step of every layer: ``h [B, S], x [B, I] -> [B, S]``."""
        z = self.embed(x)
        new = []
        for blk, hl in zip(self._block_list(), self._split(h)):
            u = blk.norm(z)
            hl = blk.lam() * hl + blk.drive(u)
            new += [hl.real, hl.imag]
            z = blk.output(z, u, hl)
        return torch.cat(new, dim=-1)

    def readout(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        """Logits ``[B, O]`` from the states after a step and that step's input ``x`` (needed:
        each layer's output has the ``D ⊙ u`` skip)."""
        if x is None:
            raise ValueError("LRU.readout needs the step's input x (its D*u skip reads it)")
        z = self.embed(x)
        for blk, hl in zip(self._block_list(), self._split(h)):
            z = blk.output(z, blk.norm(z), hl)
        return self.head(z)

    def initial_state(self, batch_size: int) -> Tensor:
        """The zero state ``[B, S]``."""
        p = self.head.weight
        return torch.zeros(batch_size, self.state_size, dtype=p.dtype, device=p.device)
