"""Batched simulation on the compiled tables.

The configuration sequence is computed k steps per table lookup (``CompiledAutomaton.block``),
then every per-step quantity (output, TD flag, Θ, clocks, input vector) is one gather.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compile import CompiledAutomaton
from .tasks import Task


def run_configs(
    comp: CompiledAutomaton, symbols: np.ndarray, start: np.ndarray | None = None
) -> np.ndarray:
    """Configurations before each step.

    ``symbols``: ``[B, T]`` integer symbol indices; ``start``: ``[B]`` starting configurations
    (default: the initial one). Returns ``[B, T]`` intp; ``configs[:, t]`` is the configuration whose
    clocks step ``t``'s guards read.
    """
    symbols = np.asarray(symbols)
    if symbols.ndim != 2:
        raise ValueError(f"symbols must have shape [B, T], got {symbols.shape}")
    B, T = symbols.shape
    S = comp.num_symbols
    k, before, after = comp.block
    nb = -(-T // k)
    if nb * k != T:
        padded = np.zeros((B, nb * k), dtype=np.intp)
        padded[:, :T] = symbols
    else:
        padded = symbols.astype(np.intp, copy=False)
    blocks = padded.reshape(B, nb, k)
    z = blocks[:, :, 0].copy()
    for j in range(1, k):
        z *= S
        z += blocks[:, :, j]
    c = np.zeros(B, dtype=np.intp) if start is None else np.asarray(start, dtype=np.intp)
    base = S**k
    cfg = np.empty((B, nb, k), dtype=np.intp)
    for j in range(nb):
        idx = c * base
        idx += z[:, j]
        cfg[:, j] = before[idx]
        c = after[idx]
    return cfg.reshape(B, nb * k)[:, :T]


@dataclass(frozen=True, eq=False)
class Rollout:
    """Per-step arrays of ``B`` sequences of ``T`` steps (batch-major)."""

    symbols: np.ndarray  #: [B, T] int64 symbol indices
    configs: np.ndarray  #: [B, T] intp configuration before each step
    inputs: np.ndarray  #: [B, T, D] float32 input vectors
    targets: np.ndarray  #: [B, T] int64 output class ([B, T, N] channels for multi-channel tasks)
    mask_td: np.ndarray  #: [B, T] bool, time-dependent steps
    theta: np.ndarray  #: [B, T] int64, Θ(t) (-1 where undefined)
    clocks: np.ndarray  #: [B, T, X] int64, clock values read by each step's guards


def rollout(task: Task, symbols: np.ndarray) -> Rollout:
    """Simulate ``task`` on ``symbols [B, T]`` from the initial configuration."""
    comp = task.automaton.compiled
    symbols = np.asarray(symbols)
    if symbols.dtype.kind not in "iu":
        raise TypeError(f"symbols must be integer indices, got dtype {symbols.dtype}")
    S = comp.num_symbols
    if symbols.size and (symbols.min() < 0 or symbols.max() >= S):
        raise ValueError(f"symbols must be in [0, {S - 1}] for alphabet "
                         f"{list(task.automaton.alphabet)}")
    cfg = run_configs(comp, symbols)
    flat = cfg * S
    flat += symbols
    out = comp.output.ravel()[flat]
    if task.target_channels is not None:
        out = task.target_channels[out]
    return Rollout(
        symbols=symbols.astype(np.int64, copy=False),
        configs=cfg,
        inputs=task.obs_table[symbols],
        targets=out,
        mask_td=comp.time_dependent.ravel()[flat],
        theta=task.theta_table[cfg],
        clocks=comp.clocks[cfg],
    )
