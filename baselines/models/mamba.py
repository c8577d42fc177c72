"""A selective state-space model in the style of Mamba (Gu & Dao 2023, *Mamba: linear-time sequence
modeling with selective state spaces*), in plain torch (no custom kernels).

A layer is ``x ← x + Mixer(LayerNorm(x))``. The mixer projects to two streams of width
``E = expand · hidden_size``: ``v`` goes through a causal depthwise convolution (``d_conv`` taps)
and SiLU, then a diagonal SSM per channel with *input-dependent* step ``Δ_t = softplus(W_Δ v_t)``,
``B_t`` and ``C_t`` (the selection mechanism): ``h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t v_t``,
``y_t = C_t · h_t + D ⊙ v_t`` with ``A = −exp(A_log)`` (S4D-real init ``A = −(1..N)``); the output
``y ⊙ SiLU(z)`` is projected back. ``forward`` runs the selective scan as a parallel (chunked)
scan on a GPU and as a loop on a CPU (``scan="auto"``; [`baselines.models.scan`][baselines.models.scan]).

Recurrent interface: per layer the state holds the last ``d_conv`` raw conv inputs and the SSM
state, as one real vector (``state_size = layers · E · (d_conv + N)``); ``readout(h, x)`` needs the
step's input.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ta_envs.validation import check_choice, check_int

from .init import reset_linear_
from .scan import MODES, scan_log


class _Mixer(nn.Module):
    def __init__(self, d: int, e: int, n: int, k: int, rank: int, scan: str,
                 generator: torch.Generator | None) -> None:
        super().__init__()
        self.e, self.n, self.k, self.rank, self.scan = e, n, k, rank, scan
        self.norm = nn.LayerNorm(d)
        self.in_proj = nn.Linear(d, 2 * e)
        self.conv_w = nn.Parameter(torch.empty(e, k))
        self.conv_b = nn.Parameter(torch.zeros(e))
        self.x_proj = nn.Linear(e, rank + 2 * n, bias=False)
        self.dt_proj = nn.Linear(rank, e)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, n + 1, dtype=torch.float32)).repeat(e, 1))
        self.D = nn.Parameter(torch.ones(e))
        self.out_proj = nn.Linear(e, d)
        reset_linear_(self, generator)
        with torch.no_grad():
            self.conv_w.uniform_(-1 / math.sqrt(k), 1 / math.sqrt(k), generator=generator)
            self.dt_proj.weight.uniform_(-rank**-0.5, rank**-0.5, generator=generator)
            # softplus(bias) log-uniform in [1e-3, 1e-1], the paper's Δ initialisation
            dt = torch.exp(torch.rand(e, generator=generator) * (math.log(0.1) - math.log(1e-3))
                           + math.log(1e-3))
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))

    def ssm_inputs(self, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        dbc = self.x_proj(v)
        dt = F.softplus(self.dt_proj(dbc[..., : self.rank]))
        return dt, dbc[..., self.rank : self.rank + self.n], dbc[..., self.rank + self.n :]

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(x + mixer(x) [B, T, d], conv inputs [B, T, E], SSM states [B, T, E, N])``."""
        B, T, _ = x.shape
        v_raw, z = self.in_proj(self.norm(x)).chunk(2, dim=-1)
        pad = F.pad(v_raw.transpose(1, 2), (self.k - 1, 0))  # [B, E, T + k - 1]
        v = F.silu(F.conv1d(pad, self.conv_w[:, None], self.conv_b, groups=self.e).transpose(1, 2))
        dt, Bm, Cm = self.ssm_inputs(v)
        A = -torch.exp(self.A_log)  # [E, N]
        log_a = (dt[..., None] * A).reshape(B, T, -1)
        b = ((dt * v)[..., None] * Bm[:, :, None, :]).reshape(B, T, -1)
        h = scan_log(log_a, b, mode=self.scan).reshape(B, T, self.e, self.n)
        y = (h * Cm[:, :, None, :]).sum(-1) + self.D * v
        return x + self.out_proj(y * F.silu(z)), v_raw, h

    def step(self, buf: Tensor, h: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One step: ``buf [B, E, k]`` last raw conv inputs, ``h [B, E, N]``, ``x [B, d]``;
        returns ``(new buf, new h, layer output [B, d])``."""
        v_raw, z = self.in_proj(self.norm(x)).chunk(2, dim=-1)
        buf = torch.cat([buf[..., 1:], v_raw[..., None]], dim=-1)
        v = F.silu((buf * self.conv_w).sum(-1) + self.conv_b)
        dt, Bm, Cm = self.ssm_inputs(v)
        A = -torch.exp(self.A_log)
        h = torch.exp(dt[..., None] * A) * h + (dt * v)[..., None] * Bm[:, None, :]
        y = (h * Cm[:, None, :]).sum(-1) + self.D * v
        return buf, h, x + self.out_proj(y * F.silu(z))

    def output(self, buf: Tensor, h: Tensor, x: Tensor) -> Tensor:
        """The layer output at a step whose post-step state is ``(buf, h)`` and input ``x``."""
        _, z = self.in_proj(self.norm(x)).chunk(2, dim=-1)
        v = F.silu((buf * self.conv_w).sum(-1) + self.conv_b)
        _, _, Cm = self.ssm_inputs(v)
        y = (h * Cm[:, None, :]).sum(-1) + self.D * v
        return x + self.out_proj(y * F.silu(z))


class Mamba(nn.Module):
    """``Mamba(input_size, hidden_size, output_size, *, layers=1, d_state=8, d_conv=4, expand=2,
    dt_rank=ceil(hidden_size / 16), scan="auto")``."""

    #: Sequences per held-out evaluation call: the scan's intermediates grow with the batch
    #: (256 sequences in one call measured 1.0x to 1.7x as long as four calls of 64).
    eval_chunk = 64

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1, *,
                 layers: int = 1, d_state: int = 8, d_conv: int = 4, expand: int = 2,
                 dt_rank: int | None = None, scan: str = "auto",
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("output_size", output_size), ("layers", layers), ("d_state", d_state),
                        ("d_conv", d_conv), ("expand", expand)):
            check_int(name, v, 1)
        rank = math.ceil(hidden_size / 16) if dt_rank is None else check_int("dt_rank", dt_rank, 1)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.e, self.n, self.k = expand * hidden_size, d_state, d_conv
        self.per_layer = self.e * (d_conv + d_state)
        self.state_size = layers * self.per_layer
        self.embed = nn.Linear(input_size, hidden_size)
        check_choice("scan", scan, MODES)
        self.mixers = nn.ModuleList(_Mixer(hidden_size, self.e, d_state, d_conv, rank, scan,
                                           generator) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden_size)
        self.head = nn.Linear(hidden_size, output_size)
        reset_linear_(self.embed, generator)
        reset_linear_(self.head, generator)

    def _split(self, s: Tensor, i: int) -> tuple[Tensor, Tensor]:
        part = s[..., i * self.per_layer : (i + 1) * self.per_layer]
        kb = self.e * self.k
        return (part[..., :kb].reshape(*s.shape[:-1], self.e, self.k),
                part[..., kb:].reshape(*s.shape[:-1], self.e, self.n))

    def _mixer_list(self) -> list[_Mixer]:
        """The layers, typed (``nn.ModuleList`` yields plain modules)."""
        return [cast(_Mixer, m) for m in self.mixers]

    def forward(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        """``(logits [B, T, O], states [B, T, state_size])``."""
        B, T, _ = inputs.shape
        x = self.embed(inputs)
        states = []
        for m in self._mixer_list():
            x, v_raw, h = m(x)
            # conv buffer after step t: raw inputs t-k+1..t (zeros before the start)
            pad = F.pad(v_raw, (0, 0, self.k - 1, 0))  # [B, T + k - 1, E]
            buf = pad.unfold(1, self.k, 1)  # [B, T, E, k]
            states += [buf.detach().reshape(B, T, -1), h.detach().reshape(B, T, -1)]
        # the states are for analysis: detached, so training pays only for the copy
        return self.head(self.norm(x)), torch.cat(states, dim=-1)

    def logits(self, inputs: Tensor) -> Tensor:
        """``forward``'s logits ``[B, T, O]`` alone (no conv windows or SSM states copied out)."""
        x = self.embed(inputs)
        for m in self._mixer_list():
            x = m(x)[0]
        return self.head(self.norm(x))

    def step(self, s: Tensor, x: Tensor) -> Tensor:
        """One step of every layer: ``s [B, S], x [B, I] -> [B, S]``."""
        z = self.embed(x)
        new = []
        for i, m in enumerate(self._mixer_list()):
            buf, h = self._split(s, i)
            buf, h, z = m.step(buf, h, z)
            new += [buf.flatten(-2), h.flatten(-2)]
        return torch.cat(new, dim=-1)

    def readout(self, s: Tensor, x: Tensor | None = None) -> Tensor:
        """Logits ``[B, O]`` from the post-step state and the step's input ``x`` (needed: the
        gate ``SiLU(z)`` and the conv input read it)."""
        if x is None:
            raise ValueError("Mamba.readout needs the step's input x")
        z = self.embed(x)
        for i, m in enumerate(self._mixer_list()):
            buf, h = self._split(s, i)
            z = m.output(buf, h, z)
        return self.head(self.norm(z))

    def initial_state(self, batch_size: int) -> Tensor:
        """The zero state ``[B, S]`` (an empty conv window, as ``forward``'s zero padding)."""
        p = self.head.weight
        return torch.zeros(batch_size, self.state_size, dtype=p.dtype, device=p.device)
