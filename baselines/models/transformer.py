"""A small causal Transformer (sequence model only: no recurrent state to analyse).

Pre-LN blocks (Xiong et al. 2020, *On layer normalization in the Transformer architecture*) of
causal multi-head self-attention and a GELU MLP (Vaswani et al. 2017, *Attention is all you
need*), with **rotary position embeddings** (RoPE; Su et al. 2021, *RoFormer*) by default.

Why RoPE: the tasks need absolute time (``t mod P``) or the time since an event, and the suite
evaluates at 4x and 16x the training length. Learned absolute embeddings have nothing to say beyond
the training length. ALiBi (Press et al. 2022) extrapolates but adds a *monotone* distance penalty,
which cannot express a periodic function of time. RoPE rotates queries and keys by angles ``ω_i·t``,
so attending to the sequence's first step gives features ``cos(ω_i t)``, ``sin(ω_i t)``: periodic in
absolute time, defined at every length. ``pos="alibi"`` and ``pos="none"`` (NoPE) are available for
comparison through ``model_kw``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ta_envs.validation import check_choice, check_float, check_int

from .init import reset_linear_

POSITIONS = ("rope", "alibi", "none")


class _Block(nn.Module):
    def __init__(self, d: int, heads: int, mlp: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, mlp), nn.GELU(), nn.Linear(mlp, d))
        self.heads = heads

    def forward(self, x: Tensor, rot: tuple[Tensor, Tensor] | None, bias: Tensor | None) -> Tensor:
        B, T, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, self.heads, d // self.heads).unbind(2)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # [B, heads, T, dh]
        if rot is not None:
            q, k = _rotate(q, *rot), _rotate(k, *rot)
        if bias is None:
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = x + self.proj(a.transpose(1, 2).reshape(B, T, d))
        return x + self.mlp(self.ln2(x))


def _rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """RoPE on the last axis (pairs of even/odd features)."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class Transformer(nn.Module):
    """``Transformer(input_size, hidden_size, output_size, *, layers=2, heads=4, mlp_ratio=4,
    pos="rope", rope_base=10000.0)``: input projection to ``hidden_size``, ``layers`` pre-LN
    blocks, a final LayerNorm and a linear head. ``forward(inputs [B, T, I]) -> logits [B, T, O]``.
    """

    #: Sequences per held-out evaluation call (the attention maps grow with the batch; 256 in one
    #: call measured 1.4x as long as four calls of 64 at the suite's size).
    eval_chunk = 64

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1, *,
                 layers: int = 2, heads: int = 4, mlp_ratio: int = 4, pos: str = "rope",
                 rope_base: float = 10000.0, generator: torch.Generator | None = None) -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("output_size", output_size), ("layers", layers), ("heads", heads),
                        ("mlp_ratio", mlp_ratio)):
            check_int(name, v, 1)
        check_choice("pos", pos, POSITIONS)
        if hidden_size % heads or (pos == "rope" and (hidden_size // heads) % 2):
            raise ValueError(f"hidden_size ({hidden_size}) must be a multiple of heads ({heads})"
                             + (" with an even head size for RoPE" if pos == "rope" else ""))
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.pos, self.heads = pos, heads
        self.rope_base = check_float("rope_base", rope_base, above=1.0)
        self.embed = nn.Linear(input_size, hidden_size)
        self.blocks = nn.ModuleList(_Block(hidden_size, heads, mlp_ratio * hidden_size)
                                    for _ in range(layers))
        self.ln = nn.LayerNorm(hidden_size)
        self.head = nn.Linear(hidden_size, output_size)
        reset_linear_(self, generator)  # every weight from the run's generator

    def _positions(self, T: int, device: torch.device, dtype: torch.dtype
                   ) -> tuple[tuple[Tensor, Tensor] | None, Tensor | None]:
        dh = self.hidden_size // self.heads
        t = torch.arange(T, device=device, dtype=torch.float32)
        if self.pos == "rope":
            freq = self.rope_base ** (-torch.arange(0, dh, 2, device=device).float() / dh)
            ang = t[:, None] * freq[None]  # [T, dh/2]
            return (ang.cos().to(dtype), ang.sin().to(dtype)), None
        if self.pos == "alibi":
            slopes = 2.0 ** (-8.0 * torch.arange(1, self.heads + 1, device=device) / self.heads)
            dist = (t[:, None] - t[None, :]).clamp(min=0)
            bias = -slopes[:, None, None] * dist  # [heads, T, T]
            causal = torch.ones(T, T, dtype=torch.bool, device=device).tril()
            return None, bias.masked_fill(~causal, float("-inf")).to(dtype)
        return None, None

    def forward(self, inputs: Tensor) -> Tensor:
        """Logits ``[B, T, O]`` for ``inputs [B, T, I]`` (causal: step t sees steps 0..t)."""
        x = self.embed(inputs)
        rot, bias = self._positions(inputs.shape[1], inputs.device, x.dtype)
        for blk in self.blocks:
            x = blk(x, rot, bias)
        return self.head(self.ln(x))
