"""Batched simulation on the compiled tables.

The configuration sequence is computed k steps per table lookup (``CompiledAutomaton.block``),
then every per-step quantity (output, TD flag, Θ, clocks, input vector) is one gather.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compile import CompiledAutomaton
from .tasks import Task
from .validation import InvalidType, InvalidValue


def run_configs(
    comp: CompiledAutomaton, symbols: np.ndarray, start: np.ndarray | None = None,
    time_major: bool = False,
) -> np.ndarray:
    """Configurations before each step.

    ``symbols``: ``[B, T]`` integer symbol indices (``[T, B]`` when ``time_major``); ``start``:
    ``[B]`` starting configurations (default: the initial one). Returns intp configurations in the
    layout of ``symbols``; entry ``t`` is the configuration whose clocks step ``t``'s guards read.
    """
    symbols = np.asarray(symbols)
    if symbols.ndim != 2:
        raise InvalidValue(f"symbols must have shape [B, T] or [T, B], got {symbols.shape}")
    T, B = symbols.shape if time_major else symbols.shape[::-1]
    S = comp.num_symbols
    k, before, after, before_t = comp.block
    nb = -(-T // k)
    shape = (nb * k, B) if time_major else (B, nb * k)
    if nb * k != T:
        padded = np.zeros(shape, dtype=np.intp)
        padded[(slice(0, T),) if time_major else (slice(None), slice(0, T))] = symbols
    else:
        padded = symbols.astype(np.intp, copy=False)
    if time_major:
        blocks = padded.reshape(nb, k, B)
        z = blocks[:, 0].copy()  # [nb, B]
        for j in range(1, k):
            z *= S
            z += blocks[:, j]
    else:
        blocks = padded.reshape(B, nb, k)
        z = blocks[:, :, 0].T.copy()  # [nb, B]
        for j in range(1, k):
            z *= S
            z += blocks[:, :, j].T
    c = np.zeros(B, dtype=np.intp) if start is None else np.asarray(start, dtype=np.intp)
    base = S**k
    if time_major:
        cfg = np.empty((nb, k, B), dtype=np.intp)
        for j in range(nb):
            idx = c * base
            idx += z[j]
            np.take(before_t, idx, axis=1, out=cfg[j])
            c = after.take(idx)
        return cfg.reshape(nb * k, B)[:T]
    cfg = np.empty((B, nb, k), dtype=np.intp)
    for j in range(nb):
        idx = c * base
        idx += z[j]
        cfg[:, j] = before.take(idx, axis=0)
        c = after.take(idx)
    return cfg.reshape(B, nb * k)[:, :T]


@dataclass(frozen=True, eq=False)
class Rollout:
    """Per-step arrays of ``B`` sequences of ``T`` steps (batch-major; ``[T, B, ...]`` when the
    rollout was time-major)."""

    symbols: np.ndarray  #: [B, T] int64 symbol indices
    configs: np.ndarray  #: [B, T] intp configuration before each step
    inputs: np.ndarray  #: [B, T, D] float32 input vectors
    targets: np.ndarray  #: [B, T] int64 output class ([B, T, N] channels for multi-channel tasks)
    classes: np.ndarray  #: [B, T] int64 output class (equal to ``targets`` for one-channel tasks)
    mask_td: np.ndarray  #: [B, T] bool, time-dependent steps
    theta: np.ndarray  #: [B, T] int64, Θ(t) (-1 where undefined)
    clocks: np.ndarray  #: [B, T, X] int64, clock values read by each step's guards


def rollout(task: Task, symbols: np.ndarray, time_major: bool = False) -> Rollout:
    """Simulate ``task`` on ``symbols [B, T]`` (``[T, B]`` if ``time_major``) from the initial
    configuration; every array of the result has the layout of ``symbols``."""
    comp = task.automaton.compiled
    symbols = np.asarray(symbols)
    if symbols.dtype.kind not in "iu":
        raise InvalidType(f"symbols must be integer indices, got dtype {symbols.dtype}")
    S = comp.num_symbols
    if symbols.size and (symbols.min() < 0 or symbols.max() >= S):
        raise InvalidValue(f"symbols must be in [0, {S - 1}] for alphabet "
                           f"{list(task.automaton.alphabet)}")
    cfg = run_configs(comp, symbols, time_major=time_major)
    flat = cfg * S
    flat += symbols
    classes = comp.output.ravel().take(flat)
    out = classes if task.target_channels is None else task.target_channels.take(classes, axis=0)
    # np.take is several times faster than fancy indexing for these row gathers
    return Rollout(
        symbols=symbols.astype(np.int64, copy=False),
        configs=cfg,
        inputs=task.obs_table.take(symbols, axis=0),
        targets=out,
        classes=classes,
        mask_td=comp.time_dependent.ravel().take(flat),
        theta=task.theta_table.take(cfg),
        clocks=comp.clocks.take(cfg, axis=0),
    )
