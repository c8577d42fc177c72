"""Batched simulation on the compiled tables.

The configuration sequence is computed k steps per table lookup (``CompiledAutomaton.block``),
then every per-step quantity (output, TD flag, Θ, clocks, input vector) is one gather.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from .compile import CompiledAutomaton, Schedule
from .tasks import Task
from .validation import InvalidType, InvalidValue

_T = TypeVar("_T")


def _scheduled(sched: Schedule, symbols: np.ndarray, time_major: bool) -> np.ndarray:
    """Configurations without a scan (see [`Schedule`][ta_envs.compile.Schedule])."""
    T = symbols.shape[0] if time_major else symbols.shape[1]
    K = sched.num_states
    cs = sched.states(T)
    loc = np.empty(symbols.shape, dtype=np.intp)
    if time_major:
        loc[0] = sched.start_location
        idx = symbols[:-1] * K
        idx += cs[:-1, None]
        np.take(sched.next_location, idx, out=loc[1:])
        loc *= K
        loc += cs[:, None]
    else:
        loc[:, 0] = sched.start_location
        idx = symbols[:, :-1] * K
        idx += cs[:-1]
        np.take(sched.next_location, idx, out=loc[:, 1:])
        loc *= K
        loc += cs
    return sched.config_of.take(loc)


def run_configs(
    comp: CompiledAutomaton, symbols: np.ndarray, start: np.ndarray | None = None,
    time_major: bool = False,
) -> np.ndarray:
    """Configurations before each step.

    Args:
        comp: the compiled automaton.
        symbols: ``[B, T]`` integer symbol indices (``[T, B]`` when ``time_major``).
        start: ``[B]`` starting configurations (default: the initial one).
        time_major: ``symbols`` (and the result) are ``[T, B]``.

    Returns:
        intp configurations in the layout of ``symbols``; entry ``t`` is the configuration whose
        clocks step ``t``'s guards read.

    Raises:
        ValueError: ``symbols`` is not two-dimensional.
    """
    symbols = np.asarray(symbols)
    if symbols.ndim != 2:
        raise InvalidValue(f"symbols must have shape [B, T] or [T, B], got {symbols.shape}")
    if start is None and comp.schedule is not None and symbols.size:
        return _scheduled(comp.schedule, symbols, time_major)
    T, B = symbols.shape if time_major else symbols.shape[::-1]
    k, before, after, before_t = comp.block
    z = _block_codes(symbols, k, comp.num_symbols, time_major)
    nb = len(z)
    c = np.zeros(B, dtype=np.intp) if start is None else np.asarray(start, dtype=np.intp)
    base = comp.num_symbols**k
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


def _block_codes(symbols: np.ndarray, k: int, S: int, time_major: bool) -> np.ndarray:
    """``[ceil(T / k), B]`` intp: each block of ``k`` symbols as one base-``S`` number (the last
    block padded with symbol 0)."""
    T, B = symbols.shape if time_major else symbols.shape[::-1]
    nb = -(-T // k)
    shape = (nb * k, B) if time_major else (B, nb * k)
    if nb * k != T:
        padded = np.zeros(shape, dtype=np.intp)
        padded[(slice(0, T),) if time_major else (slice(None), slice(0, T))] = symbols
    else:
        padded = symbols.astype(np.intp, copy=False)
    blocks = padded.reshape(nb, k, B) if time_major else padded.reshape(B, nb, k).transpose(1, 2, 0)
    z = blocks[:, 0].copy()  # [nb, B]
    for j in range(1, k):
        z *= S
        z += blocks[:, j]
    return z


@dataclass(frozen=True, eq=False)
class Rollout:
    """Per-step arrays of ``B`` sequences of ``T`` steps (batch-major; ``[T, B, ...]`` when the
    rollout was time-major)."""

    symbols: np.ndarray  #: [B, T] int64 symbol indices
    configs: np.ndarray | None  #: [B, T] intp configuration before each step (``with_configs``)
    inputs: np.ndarray  #: [B, T, D] float32 input vectors
    targets: np.ndarray  #: [B, T] int64 output class ([B, T, N] channels for multi-channel tasks)
    classes: np.ndarray  #: [B, T] int64 output class (equal to ``targets`` for one-channel tasks)
    mask_td: np.ndarray  #: [B, T] bool, time-dependent steps
    theta: np.ndarray  #: [B, T] int64, Θ(t) (-1 where undefined)
    clocks: np.ndarray  #: [B, T, X] int64, clock values read by each step's guards


class _ScheduleKernel:
    """Everything the no-scan kernel reads for one task, gathered once (one cache lookup per
    batch keeps small batches cheap)."""

    def __init__(self, task: Task) -> None:
        comp = task.automaton.compiled
        sched = comp.schedule
        assert sched is not None
        self.sched, self.K, self.S = sched, sched.num_states, comp.num_symbols
        self.classes = _class_table(task)
        self.td_symbol = _td_of_symbol(task)
        self.td = _td_of_location(task)
        self.obs, self.channels, self.theta_table = task.obs_table, task.target_channels, \
            task.theta_table
        self.clock_table = comp.clocks
        self.rows: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def per_length(self, T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``([T] clock state, [T] Θ, [T, X] clocks)`` before each step (cached per length)."""
        row = self.rows.get(T)
        if row is None:
            cs = self.sched.states(T)
            rep = self.sched.config_of.max(axis=0)  # a configuration of each clock state
            per_t = rep.take(cs)
            row = self.rows[T] = (cs, self.theta_table.take(per_t),
                                  self.clock_table.take(per_t, axis=0))
        return row

    def __call__(self, symbols: np.ndarray, time_major: bool, with_configs: bool,
                 fresh: bool = True) -> Rollout:
        """Roll ``symbols`` out: each step's next location is one lookup of (symbol, clock
        state)."""
        T, B = symbols.shape if time_major else symbols.shape[::-1]
        sched, K = self.sched, self.K
        cs, th_t, clk_t = self.per_length(T)
        if time_major:
            cs, th_t, clk_t = cs[:, None], th_t[:, None], clk_t[:, None]
        idx = symbols * K
        idx += cs
        classes = self.classes.take(idx)  # the output after each step
        configs = None
        if self.td_symbol is not None and not with_configs:  # TD depends on the symbol only
            mask_td = self.td_symbol.take(symbols)
        else:
            loc = np.empty_like(idx)
            nxt = sched.next_location.take(idx)  # location after each step
            if time_major:
                loc[0] = sched.start_location
                loc[1:] = nxt[:-1]
            else:
                loc[:, 0] = sched.start_location
                loc[:, 1:] = nxt[:, :-1]
            np.multiply(loc, self.S, out=idx)
            idx += symbols
            mask_td = self.td.take(idx)
            if with_configs:
                loc *= K
                loc += cs
                configs = sched.config_of.take(loc)
        targets = classes if self.channels is None else self.channels.take(classes, axis=0)
        shape = symbols.shape
        X = clk_t.shape[-1]
        if fresh:
            theta = np.empty(shape, np.int64)
            theta[...] = th_t
            clocks = np.empty(shape + (X,), np.int64)
            clocks[...] = clk_t
        else:  # read-only views of the per-step rows
            theta, clocks = np.broadcast_to(th_t, shape), np.broadcast_to(clk_t, shape + (X,))
        return Rollout(symbols=symbols, configs=configs, inputs=self.obs.take(symbols, axis=0),
                       targets=targets, classes=classes, mask_td=mask_td, theta=theta,
                       clocks=clocks)


class _Table(Generic[_T]):
    """A per-task value built once (weakly keyed on the task): a table or a kernel object."""

    def __init__(self, build: Callable[[Task], _T]) -> None:
        self.build = build
        self.cache: weakref.WeakKeyDictionary[Task, _T] = weakref.WeakKeyDictionary()

    def get(self, task: Task) -> _T:
        t = self.cache.get(task)
        if t is None:
            t = self.cache[task] = self.build(task)
        return t


def _out_of_location(task: Task) -> np.ndarray:
    return np.asarray(task.automaton.outputs, dtype=np.int64)


def _td_of_location(task: Task) -> np.ndarray:
    """``[L * S]`` time-dependent flag of each (location, symbol)."""
    comp = task.automaton.compiled
    L, S = len(task.automaton.locations), comp.num_symbols
    td = np.zeros((L, S), dtype=bool)
    td[comp.location] = comp.time_dependent
    return td.ravel()


def _class_table(task: Task) -> np.ndarray:
    """``[S * K]`` output after reading symbol s in clock state k (a schedule's automaton)."""
    sched = task.automaton.compiled.schedule
    assert sched is not None
    return _out_of_location(task).take(sched.next_location).ravel()


def _td_of_symbol(task: Task) -> np.ndarray | None:
    """``[S]`` time-dependent flag per symbol when it does not depend on the location, else
    None."""
    comp = task.automaton.compiled
    td = comp.time_dependent
    return td[0].copy() if (td == td[:1]).all() else None


_OUT: _Table[np.ndarray] = _Table(_out_of_location)
_TD: _Table[np.ndarray] = _Table(_td_of_location)
_CLASS: _Table[np.ndarray] = _Table(_class_table)
_KERNEL: _Table[_ScheduleKernel] = _Table(_ScheduleKernel)


def rollout(task: Task, symbols: np.ndarray, time_major: bool = False,
            with_configs: bool = False, check: bool = True, fresh: bool = True) -> Rollout:
    """Simulate ``task`` on ``symbols`` from the initial configuration.

    Args:
        task: the task whose compiled table is stepped.
        symbols: ``[B, T]`` integer symbol indices (``[T, B]`` if ``time_major``).
        time_major: the layout of ``symbols`` and of every returned array.
        with_configs: also return the configuration before each step.
        check: validate ``symbols`` (skip only for symbols the caller drew itself).
        fresh: ``False`` lets Θ and the clocks be read-only broadcast views where they depend on
            t only (no copies).

    Returns:
        Inputs, targets, TD/TI masks, Θ, clocks (and configurations), in the layout of ``symbols``.

    Raises:
        TypeError: non-integer symbols.
        ValueError: symbols out of range or not two-dimensional.
    """
    comp = task.automaton.compiled
    S = comp.num_symbols
    if check:
        symbols = np.asarray(symbols)
        if symbols.dtype.kind not in "iu":
            raise InvalidType(f"symbols must be integer indices, got dtype {symbols.dtype}")
        if symbols.ndim != 2:
            raise InvalidValue(f"symbols must have shape [B, T] or [T, B], got {symbols.shape}")
        if symbols.size and (symbols.min() < 0 or symbols.max() >= S):
            raise InvalidValue(f"symbols must be in [0, {S - 1}] for alphabet "
                               f"{list(task.automaton.alphabet)}")
    symbols = symbols.astype(np.int64, copy=False)
    if comp.schedule is not None and symbols.size:
        return _KERNEL.get(task)(symbols, time_major, with_configs, fresh)
    cfg = run_configs(comp, symbols, time_major=time_major)
    flat = cfg * S
    flat += symbols
    classes = comp.output.ravel().take(flat)
    out = classes if task.target_channels is None else task.target_channels.take(classes, axis=0)
    # np.take is several times faster than fancy indexing for these row gathers
    return Rollout(
        symbols=symbols,
        configs=cfg,
        inputs=task.obs_table.take(symbols, axis=0),
        targets=out,
        classes=classes,
        mask_td=comp.time_dependent.ravel().take(flat),
        theta=task.theta_table.take(cfg),
        clocks=comp.clocks.take(cfg, axis=0),
    )


def rollout_into(task: Task, symbols: np.ndarray, out: dict[str, np.ndarray],
                 scratch: np.ndarray | None = None) -> None:
    """Write the per-step arrays of ``symbols [B, T]`` (batch-major, valid indices) into the
    preallocated ``out`` arrays (keys ``inputs``, ``targets``, ``mask_td``, ``mask_ti``,
    ``theta``, ``clocks``). Under a schedule with a symbol-only TD flag this allocates nothing
    large (``scratch``: an int64 ``[B, T]`` buffer); otherwise it computes a rollout and copies."""
    kern = _KERNEL.get(task) if task.automaton.compiled.schedule is not None else None
    if kern is None or kern.td_symbol is None or kern.channels is not None:
        r = rollout(task, symbols, check=False)
        for k in ("inputs", "targets", "mask_td", "theta", "clocks"):
            np.copyto(out[k], getattr(r, k))
        np.logical_not(out["mask_td"], out=out["mask_ti"])
        return
    B, T = symbols.shape
    cs, theta, clocks = kern.per_length(T)
    idx = np.empty((B, T), np.int64) if scratch is None else scratch
    np.multiply(symbols, kern.K, out=idx)
    idx += cs
    np.take(kern.classes, idx, out=out["targets"])
    np.take(kern.td_symbol, symbols, out=out["mask_td"])
    np.logical_not(out["mask_td"], out=out["mask_ti"])
    np.take(kern.obs, symbols, axis=0, out=out["inputs"])
    np.copyto(out["theta"], theta)
    np.copyto(out["clocks"], clocks)
