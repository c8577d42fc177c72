"""Compile a timed automaton to a finite machine over configurations ``(location, clock values)``.

Clock values no guard can tell apart are merged: a periodic clock takes ``0..P-1``; an unbounded
clock saturates at ``1 +`` the largest constant any guard compares it with (0 if no guard reads it).
Enumerating the configurations reachable from the initial one validates the spec exactly (one enabled
edge per configuration and symbol) and yields the tables every fast path uses.

The work is bounded: the number of configurations is at most ``locations x`` the product of the
clocks' value counts, which is computed first; above ``max_configs`` (default
`DEFAULT_MAX_CONFIGS`, or the environment variable ``TA_ENVS_MAX_CONFIGS``) the automaton is
refused with that count named, before any memory is spent. Guards are evaluated for all clock values
at once (NumPy), the reachable set is a breadth-first search over the resulting table, and the
minimal machine ([`CompiledAutomaton.num_minimal`][ta_envs.compile.CompiledAutomaton.num_minimal],
computed on first
use) comes from Hopcroft's
partition refinement, ``O(S n log n)``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .progress import progress
from .validation import InvalidValue, check_int

if TYPE_CHECKING:
    from .automaton import TimedAutomaton

#: Largest ``C * S**k * k`` entry count of the k-step table used by the batched simulator.
MAX_BLOCK_TABLE = 1 << 20
#: Default bound on the configuration count of one automaton (about 100 bytes of tables each).
DEFAULT_MAX_CONFIGS = 4_000_000
#: Show progress when an automaton has at least this many configurations (about 2 s of work).
PROGRESS_CONFIGS = 500_000


def max_configs() -> int:
    """The configuration bound in force: ``TA_ENVS_MAX_CONFIGS`` if set, else the default."""
    env = os.environ.get("TA_ENVS_MAX_CONFIGS")
    if env is None:
        return DEFAULT_MAX_CONFIGS
    try:
        return check_int("TA_ENVS_MAX_CONFIGS", int(env), 1)
    except ValueError:
        raise InvalidValue(f"TA_ENVS_MAX_CONFIGS must be an int >= 1, got {env!r}") from None


@dataclass(frozen=True, eq=False)
class Schedule:
    """The fast path of automata whose clocks ignore the input (no edge resets a clock) and whose
    next location depends only on the symbol read and the clock values (not on the current
    location; e.g. ``TemporalFlipFlop-v0``). The clock state at step ``t`` is then known in
    advance, and the configuration before step ``t + 1`` is one table lookup from ``(symbol_t,
    clock state_t)``: a whole batch needs no scan over time."""

    clock_state: np.ndarray  #: [C] clock-state id of each configuration
    next_state: np.ndarray  #: [K] clock state after one step
    start_state: int
    next_location: np.ndarray  #: [S, K] location after reading s in clock state k
    config_of: np.ndarray  #: [L, K] configuration of (location, clock state), -1 if unreachable
    start_location: int
    _states: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def num_states(self) -> int:
        """Number of clock states ``K``."""
        return int(self.next_state.shape[0])

    def states(self, T: int) -> np.ndarray:
        """``[T]`` clock state before each step ``0..T-1`` (cached, read-only)."""
        have = self._states[0] if self._states else np.zeros(0, np.intp)
        if len(have) < T:
            out = np.empty(max(T, 2 * len(have)), dtype=np.intp)
            k = self.start_state
            nxt = self.next_state.tolist()
            for t in range(len(out)):
                out[t] = k
                k = nxt[k]
            out.setflags(write=False)
            self._states[:] = [out]
            have = out
        return have[:T]


def _schedule(a: TimedAutomaton, next_config: np.ndarray, location: np.ndarray,
              clocks: np.ndarray) -> Schedule | None:
    if any(e.resets for e in a.edges):
        return None
    _, cs, = np.unique(clocks, axis=0, return_inverse=True)[:2]
    cs = cs.reshape(-1).astype(np.intp)
    K, C = int(cs.max()) + 1, len(cs)
    S = next_config.shape[1]
    nxt_cs = cs[next_config]  # [C, S]
    if not (nxt_cs == nxt_cs[:, :1]).all():
        return None  # a clock that depends on the symbol (cannot happen without resets)
    next_state = np.full(K, -1, np.intp)
    next_state[cs] = nxt_cs[:, 0]
    nloc = location[next_config]  # [C, S]
    next_location = np.full((S, K), -1, np.intp)
    for s in range(S):
        next_location[s, cs] = nloc[:, s]
        if not (next_location[s, cs] == nloc[:, s]).all():
            return None  # the next location depends on the current one
    L = int(location.max()) + 1
    config_of = np.full((L, K), -1, np.intp)
    config_of[location, cs] = np.arange(C)
    for arr in (cs, next_state, next_location, config_of):
        arr.setflags(write=False)
    return Schedule(cs, next_state, int(cs[0]), next_location, config_of, int(location[0]))


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
    schedule: Schedule | None = None  #: the no-scan fast path, where it applies
    _timing: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def num_configs(self) -> int:
        """Number of reachable configurations ``C``."""
        return int(self.next_config.shape[0])

    @property
    def num_symbols(self) -> int:
        """Alphabet size ``S``."""
        return int(self.next_config.shape[1])

    @cached_property
    def minimal_class(self) -> np.ndarray:
        """``[C]`` int64: the minimal machine's state of each configuration."""
        out = minimal_classes(self.next_config, self.output)
        out.setflags(write=False)
        return out

    @cached_property
    def num_minimal(self) -> int:
        """Configurations after minimising the input/output machine: the task's complexity."""
        t0 = time.perf_counter()
        n = minimal_size(self.next_config, self.output)
        self._timing["minimise_s"] = time.perf_counter() - t0
        return n

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


def _clock_caps(a: TimedAutomaton) -> list[int]:
    caps = []
    for c in a.clocks:
        consts = [at.const for e in a.edges for at in e.guard.atoms if at.clock == c.name]
        caps.append(c.period - 1 if c.period is not None else (max(consts) + 1 if consts else 0))
    return caps


def configuration_bound(a: TimedAutomaton) -> int:
    """Upper bound on the reachable configurations: locations times the clock value counts."""
    n = len(a.locations)
    for cap in _clock_caps(a):
        n *= cap + 1
    return n


def _refuse_too_large(a: TimedAutomaton, bound: int, limit: int, caps: list[int]) -> None:
    if bound > limit:
        shape = " x ".join([f"{len(a.locations)} locations"] + [
            f"{cap + 1} values of clock {c.name!r}" for c, cap in zip(a.clocks, caps)])
        raise InvalidValue(
            f"automaton {a.name or '(unnamed)'} has up to {bound:,} configurations ({shape}), above "
            f"max_configs={limit:,}; use smaller periods or guard constants, or raise the limit with "
            f"the environment variable TA_ENVS_MAX_CONFIGS if you have ~{bound * 100 // 2**20} MiB")


@dataclass(frozen=True, eq=False)
class _Grid:
    """Every clock valuation as one grid point ``g`` in ``[0, size)`` (mixed radix)."""

    a: TimedAutomaton
    caps: list[int]
    size: int
    strides: list[int]
    values: list[np.ndarray]  # clock k's value at each grid point
    advanced: dict[tuple[bool, ...], np.ndarray]

    @classmethod
    def of(cls, a: TimedAutomaton, caps: list[int]) -> _Grid:
        sizes = [cap + 1 for cap in caps]
        size = int(np.prod(sizes)) if a.clocks else 1
        strides = [int(np.prod(sizes[k + 1 :])) for k in range(len(sizes))]
        g = np.arange(size, dtype=np.int64)
        values = [(g // strides[k]) % sizes[k] for k in range(len(sizes))]
        return cls(a, caps, size, strides, values, {})

    def advance(self, resets: tuple[bool, ...]) -> np.ndarray:
        """``[size]``: the grid point after an edge's resets and one clock advance."""
        if resets not in self.advanced:
            out = np.zeros(self.size, dtype=np.int64)
            for k, c in enumerate(self.a.clocks):
                v = np.zeros(self.size, np.int64) if resets[k] else self.values[k]
                v = (v + 1) % c.period if c.period is not None else np.minimum(v + 1, self.caps[k])
                out += v * self.strides[k]
            self.advanced[resets] = out
        return self.advanced[resets]


_OPS = {"<": np.less, "<=": np.less_equal, "==": np.equal, ">=": np.greater_equal,
        ">": np.greater}


def _edges_by_source_symbol(a: TimedAutomaton) -> dict[tuple[int, int], list[int]]:
    loc_idx = {loc: i for i, loc in enumerate(a.locations)}
    sym_idx = {s: i for i, s in enumerate(a.alphabet)}
    by_src_sym: dict[tuple[int, int], list[int]] = {}
    for i, e in enumerate(a.edges):
        by_src_sym.setdefault((loc_idx[e.source], sym_idx[e.symbol]), []).append(i)
    return by_src_sym


def _full_table(a: TimedAutomaton, grid: _Grid, by_src_sym: dict[tuple[int, int], list[int]]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Over every (location, grid point) and symbol: the next full index (-1 where not exactly
    one edge is enabled) and the number of enabled edges, both ``[L * G, S]``."""
    G, S = grid.size, len(a.alphabet)
    names = [c.name for c in a.clocks]
    loc_idx = {loc: i for i, loc in enumerate(a.locations)}
    full_next = np.full((len(a.locations) * G, S), -1, dtype=np.int64)
    count = np.zeros((len(a.locations) * G, S), dtype=np.int16)
    for (loc, s), edge_ids in by_src_sym.items():
        rows = slice(loc * G, (loc + 1) * G)
        cnt = np.zeros(G, dtype=np.int16)
        nxt = np.full(G, -1, dtype=np.int64)
        for i in edge_ids:
            e = a.edges[i]
            mask = np.ones(G, dtype=bool)
            for at in e.guard.atoms:
                mask &= _OPS[at.op](grid.values[names.index(at.clock)], at.const)
            cnt += mask
            target = loc_idx[e.target] * G + grid.advance(tuple(n in e.resets for n in names))
            nxt = np.where(mask, target, nxt)
        count[rows, s] = cnt
        full_next[rows, s] = np.where(cnt == 1, nxt, -1)
    return full_next, count


def _reachable(full_next: np.ndarray, start: int) -> np.ndarray:
    """Breadth-first search from ``start``: the reachable full indices in discovery order."""
    S = full_next.shape[1]
    flat = full_next.ravel().tolist()
    seen = bytearray(full_next.shape[0])
    seen[start] = 1
    order = [start]
    head = 0
    while head < len(order):
        base = order[head] * S
        head += 1
        for n in flat[base : base + S]:
            if n >= 0 and not seen[n]:
                seen[n] = 1
                order.append(n)
    return np.asarray(order, dtype=np.int64)


def _refuse_nondeterminism(a: TimedAutomaton, grid: _Grid, reach: np.ndarray, count: np.ndarray,
                           by_src_sym: dict[tuple[int, int], list[int]]) -> None:
    bad = count[reach] != 1
    if not bad.any():
        return
    r, s = np.argwhere(bad)[0]
    loc, point = divmod(int(reach[r]), grid.size)
    valuation = {c.name: int(grid.values[k][point]) for k, c in enumerate(a.clocks)}
    enabled = [i for i in by_src_sym.get((loc, int(s)), []) if a.edges[i].guard.holds(valuation)]
    what = "no edge is" if not enabled else f"{len(enabled)} edges are"
    clk = ", ".join(f"{n}={v}" for n, v in valuation.items()) or "no clocks"
    listed = "; ".join(f"#{i} {a.edges[i].describe()}" for i in enabled)
    raise InvalidValue(
        f"location {a.locations[loc]!r}, symbol {a.alphabet[int(s)]!r}, clocks ({clk}): "
        f"{what} enabled (reachable configuration){': ' + listed if listed else ''}")


def _time_dependent(location: np.ndarray, output: np.ndarray, L: int, S: int) -> np.ndarray:
    """``[n, S]`` bool: reachable configurations of the same location disagree on the output."""
    lo = np.full((L, S), np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full((L, S), -1, dtype=np.int64)
    np.minimum.at(lo, location, output)
    np.maximum.at(hi, location, output)
    td: np.ndarray = (lo != hi)[location]
    return td


def compile_automaton(a: TimedAutomaton, limit: int | None = None,
                      show_progress: bool | None = None) -> CompiledAutomaton:
    """Enumerate reachable configurations of ``a`` and build its tables.

    Args:
        a: the automaton.
        limit: the most configurations allowed (default `max_configs()`, settable with the
            environment variable ``TA_ENVS_MAX_CONFIGS``).
        show_progress: report the stages (default: for large automata).

    Returns:
        The transition, output, time-dependence, location and clock tables over the reachable
        configurations, numbered in breadth-first order from the initial one.

    Raises:
        ValueError: naming location, symbol and clock values where zero or several edges are
            enabled; or, before any work, when `configuration_bound()` exceeds ``limit``.
    """
    limit = max_configs() if limit is None else check_int("limit", limit, 1)
    bound = configuration_bound(a)
    caps = _clock_caps(a)
    _refuse_too_large(a, bound, limit, caps)
    t0 = time.perf_counter()
    show = bound >= PROGRESS_CONFIGS if show_progress is None else show_progress
    bar = progress(4, f"compiling {a.name or 'automaton'} ({bound:,} configurations)", show)
    grid = _Grid.of(a, caps)
    G = grid.size
    by_src_sym = _edges_by_source_symbol(a)
    full_next, count = _full_table(a, grid, by_src_sym)
    bar.update(1)
    reach = _reachable(full_next, a.locations.index(a.initial) * G)
    bar.update(1)
    try:
        _refuse_nondeterminism(a, grid, reach, count, by_src_sym)
    except InvalidValue:
        bar.close()
        raise
    index = np.full(full_next.shape[0], -1, dtype=np.intp)
    index[reach] = np.arange(len(reach))
    next_config = index[full_next[reach]]
    del full_next, count
    location = (reach // G).astype(np.intp)
    gp = reach % G
    clocks = np.stack([v[gp] for v in grid.values], axis=1) if a.clocks else \
        np.zeros((len(reach), 0), np.int64)
    output = np.asarray(a.outputs, dtype=np.int64)[location[next_config]]
    bar.update(1)
    td = _time_dependent(location, output, len(a.locations), len(a.alphabet))
    bar.update(1)
    bar.close()
    tables = CompiledAutomaton(next_config=next_config, output=output, time_dependent=td,
                               location=location, clocks=clocks.astype(np.int64),
                               clock_max=tuple(caps),
                               schedule=_schedule(a, next_config, location, clocks),
                               _timing={"compile_s": time.perf_counter() - t0})
    for arr in (tables.next_config, tables.output, tables.time_dependent, tables.location,
                tables.clocks):
        arr.setflags(write=False)
    return tables


def minimal_size(next_config: np.ndarray, output: np.ndarray) -> int:
    """Number of states of the minimal Mealy machine equivalent to ``(next_config [n, S],
    output [n, S])``, all states reachable: Hopcroft's partition refinement, ``O(S n log n)``,
    started from the partition by output rows."""
    classes = minimal_classes(next_config, output)
    return int(classes.max()) + 1 if len(classes) else 0


def _inverse_transitions(next_config: np.ndarray) -> tuple[list[list[int]], list[list[int]]]:
    """Per symbol ``s``, CSR lists: the predecessors of ``t`` are ``idx[s][ptr[s][t]:ptr[s][t+1]]``."""
    n, S = next_config.shape
    inv_ptr, inv_idx = [], []
    for s in range(S):
        tgt = next_config[:, s]
        srt = np.argsort(tgt, kind="stable")
        inv_idx.append(srt.tolist())
        inv_ptr.append(np.searchsorted(tgt[srt], np.arange(n + 1)).tolist())
    return inv_ptr, inv_idx


class _Partition:
    """A refinable partition of ``0..n-1``: ``elems`` sorted by block, block ``b`` is the slice
    ``elems[first[b]:end[b]]``, and its marked elements sit at the slice's front."""

    def __init__(self, block0: np.ndarray) -> None:
        n = len(block0)
        order = np.argsort(block0, kind="stable")
        self.elems: list[int] = order.tolist()
        where = np.empty(n, dtype=np.int64)
        where[order] = np.arange(n)
        self.loc: list[int] = where.tolist()
        blk_sorted = block0[order]
        starts = np.flatnonzero(np.r_[True, blk_sorted[1:] != blk_sorted[:-1]])
        self.first: list[int] = starts.tolist()
        self.end: list[int] = np.r_[starts[1:], n].tolist()
        self.block_of: list[int] = block0.tolist()
        self.marked = [0] * len(self.first)

    def mark_predecessors(self, b: int, ptr: list[int], idx: list[int]) -> list[int]:
        """Mark every predecessor of block ``b`` (CSR ``ptr``/``idx``); the blocks touched."""
        elems, loc, first, marked, block_of = (self.elems, self.loc, self.first, self.marked,
                                               self.block_of)
        touched = []
        for q in elems[first[b] : self.end[b]]:
            for p in idx[ptr[q] : ptr[q + 1]]:
                y = block_of[p]
                m = marked[y]
                pos = first[y] + m
                if loc[p] >= pos:  # not yet marked: swap it to the marked front of its block
                    other = elems[pos]
                    lp = loc[p]
                    elems[pos], elems[lp] = p, other
                    loc[p], loc[other] = pos, lp
                    if m == 0:
                        touched.append(y)
                    marked[y] = m + 1
        return touched

    def split(self, y: int) -> int | None:
        """Split block ``y``'s marked front off as a new block; its number (None: all marked)."""
        m = self.marked[y]
        self.marked[y] = 0
        if m == self.end[y] - self.first[y]:
            return None
        new = len(self.first)
        self.first.append(self.first[y])
        self.end.append(self.first[y] + m)
        self.marked.append(0)
        self.first[y] += m
        for p in self.elems[self.first[new] : self.end[new]]:
            self.block_of[p] = new
        return new


def minimal_classes(next_config: np.ndarray, output: np.ndarray) -> np.ndarray:
    """``[n]`` int64: the minimal machine's state of each configuration (classes numbered
    ``0..k-1`` in order of first appearance), by :func:`minimal_size`'s partition refinement."""
    n, S = next_config.shape
    if n == 0:
        return np.zeros(0, np.int64)
    _, block0 = np.unique(output, axis=0, return_inverse=True)
    part = _Partition(block0.reshape(-1))
    inv_ptr, inv_idx = _inverse_transitions(next_config)
    nb = len(part.first)
    # worklist: every block but the largest, for every symbol
    largest = max(range(nb), key=lambda b: part.end[b] - part.first[b])
    work = [(b, s) for b in range(nb) if b != largest for s in range(S)]
    in_work = set(work)
    while work:
        b, s = work.pop()
        in_work.discard((b, s))
        for y in part.mark_predecessors(b, inv_ptr[s], inv_idx[s]):
            new = part.split(y)
            if new is None:
                continue  # the whole block moved: no split
            small = new if part.end[new] - part.first[new] <= part.end[y] - part.first[y] else y
            for c in range(S):
                item = (new, c) if (y, c) in in_work else (small, c)
                if item not in in_work:
                    in_work.add(item)
                    work.append(item)
    block_of = np.asarray(part.block_of)
    _, first_seen = np.unique(block_of, return_index=True)
    renumber = np.empty(len(part.first), np.int64)
    renumber[block_of[np.sort(first_seen)]] = np.arange(len(first_seen))
    classes: np.ndarray = renumber[block_of]
    return classes
