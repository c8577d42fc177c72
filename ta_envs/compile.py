"""Compile a timed automaton to a finite machine over configurations ``(location, clock values)``.

Clock values no guard can tell apart are merged: a periodic clock takes ``0..P-1``; an unbounded
clock saturates at ``1 +`` the largest constant any guard compares it with (0 if no guard reads it).
Enumerating the configurations reachable from the initial one validates the spec exactly (one enabled
edge per configuration and symbol) and yields the tables every fast path uses.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .automaton import TimedAutomaton

#: Largest ``C * S**k * k`` entry count of the k-step table used by the batched simulator.
MAX_BLOCK_TABLE = 1 << 20


@dataclass(frozen=True, eq=False)
class CompiledAutomaton:
    """Transition tables over the ``C`` reachable configurations; configuration 0 is the initial one.

    All arrays are read-only. ``S`` = alphabet size, ``X`` = number of clocks.
    """

    next_config: np.ndarray  #: [C, S] intp, configuration after reading each symbol
    output: np.ndarray  #: [C, S] int64, the step's output ``out(l_{t+1})``
    time_dependent: np.ndarray  #: [C, S] bool, the (location, symbol) step is time-dependent
    location: np.ndarray  #: [C] intp, location index of each configuration
    clocks: np.ndarray  #: [C, X] int64, clock values of each configuration
    clock_max: tuple[int, ...]  #: largest value each clock takes (P-1, or the saturation cap)
    num_minimal: int  #: configurations after minimising the input/output machine (complexity)

    @property
    def num_configs(self) -> int:
        return int(self.next_config.shape[0])

    @property
    def num_symbols(self) -> int:
        return int(self.next_config.shape[1])

    @cached_property
    def block(self) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """k-step tables ``(k, before[C*S**k, k], after[C*S**k], before_t[k, C*S**k])``: from
        configuration ``c`` reading the k symbols whose base-S number is ``z``, ``before[c*S**k+z]``
        are the configurations before each of the k steps (``before_t`` is its transpose) and
        ``after[...]`` the one after the last."""
        C, S = self.next_config.shape
        k = 1
        while k < 32 and C * S ** (k + 1) * (k + 1) <= MAX_BLOCK_TABLE:
            k += 1
        z = np.arange(S**k)
        digits = (z[:, None] // S ** np.arange(k - 1, -1, -1)) % S  # [S^k, k], first symbol first
        cur = np.repeat(np.arange(C), S**k)
        digits = np.tile(digits, (C, 1))
        before = np.empty((C * S**k, k), dtype=np.intp)
        for j in range(k):
            before[:, j] = cur
            cur = self.next_config[cur, digits[:, j]]
        before_t = np.ascontiguousarray(before.T)
        for arr in (before, cur, before_t):
            arr.setflags(write=False)
        return k, before, cur, before_t


def compile_automaton(a: TimedAutomaton) -> CompiledAutomaton:
    """Enumerate reachable configurations of ``a`` and build its tables.

    Raises ``ValueError`` naming location, symbol and clock values where zero or several edges are
    enabled.
    """
    names = [c.name for c in a.clocks]
    periods = [c.period for c in a.clocks]
    caps = []
    for c in a.clocks:
        consts = [at.const for e in a.edges for at in e.guard.atoms if at.clock == c.name]
        caps.append(c.period - 1 if c.period is not None else (max(consts) + 1 if consts else 0))
    loc_idx = {loc: i for i, loc in enumerate(a.locations)}
    by_src_sym: dict[tuple[int, int], list[int]] = {}
    for i, e in enumerate(a.edges):
        by_src_sym.setdefault((loc_idx[e.source], a.alphabet.index(e.symbol)), []).append(i)
    reset_mask = [tuple(n in e.resets for n in names) for e in a.edges]

    def advance(values: tuple[int, ...], resets: tuple[bool, ...]) -> tuple[int, ...]:
        out = []
        for v, r, p, cap in zip(values, resets, periods, caps):
            v = 0 if r else v
            out.append((v + 1) % p if p is not None else min(v + 1, cap))
        return tuple(out)

    start = (loc_idx[a.initial], tuple(0 for _ in names))
    index = {start: 0}
    configs = [start]
    queue = deque([start])
    S = len(a.alphabet)
    nxt: list[list[int]] = []
    while queue:
        loc, vals = queue.popleft()
        valuation = dict(zip(names, vals))
        row = []
        for s in range(S):
            enabled = [i for i in by_src_sym.get((loc, s), []) if a.edges[i].guard.holds(valuation)]
            if len(enabled) != 1:
                what = "no edge is" if not enabled else f"{len(enabled)} edges are"
                clk = ", ".join(f"{n}={v}" for n, v in valuation.items()) or "no clocks"
                listed = "; ".join(f"#{i} {a.edges[i].describe()}" for i in enabled)
                raise ValueError(
                    f"location {a.locations[loc]!r}, symbol {a.alphabet[s]!r}, clocks ({clk}): "
                    f"{what} enabled (reachable configuration){': ' + listed if listed else ''}"
                )
            e = enabled[0]
            cfg = (loc_idx[a.edges[e].target], advance(vals, reset_mask[e]))
            if cfg not in index:
                index[cfg] = len(configs)
                configs.append(cfg)
                queue.append(cfg)
            row.append(index[cfg])
        nxt.append(row)

    next_config = np.asarray(nxt, dtype=np.intp)
    location = np.asarray([c[0] for c in configs], dtype=np.intp)
    clocks = np.asarray([c[1] for c in configs], dtype=np.int64).reshape(len(configs), len(names))
    out_of_loc = np.asarray(a.outputs, dtype=np.int64)
    output = out_of_loc[location[next_config]]
    # time-dependent: for (location, symbol), reachable configurations disagree on the output
    td = np.zeros_like(output, dtype=bool)
    for loc in np.unique(location):
        rows = location == loc
        sub = output[rows]
        td[rows] = (sub != sub[:1]).any(axis=0)
    tables = CompiledAutomaton(
        next_config=next_config,
        output=output,
        time_dependent=td,
        location=location,
        clocks=clocks,
        clock_max=tuple(caps),
        num_minimal=_minimal_size(next_config, output),
    )
    for arr in (tables.next_config, tables.output, tables.time_dependent, tables.location,
                tables.clocks):
        arr.setflags(write=False)
    return tables


def _minimal_size(next_config: np.ndarray, output: np.ndarray) -> int:
    """Number of states of the minimal Mealy machine equivalent to ``(next_config, output)``
    (Moore's partition refinement)."""
    _, block = np.unique(output, axis=0, return_inverse=True)
    block = block.reshape(-1)
    n = block.max() + 1
    while True:
        sig = np.concatenate([block[:, None], block[next_config]], axis=1)
        _, new = np.unique(sig, axis=0, return_inverse=True)
        new = new.reshape(-1)
        m = new.max() + 1
        if m == n:
            return int(m)
        block, n = new, m
