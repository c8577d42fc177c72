"""Task factories: a `Task` is an automaton plus its input distribution and episode length.

Inputs are i.i.d. symbols drawn with ``symbol_probs``. Every path (single env, vector env, dataset)
draws them the same way: one uniform double per step from a seeded ``numpy.random.Generator``, mapped
through the cumulative distribution, so one seed gives one stream everywhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from os import PathLike
from typing import Any

import numpy as np

from .automaton import Clock, Edge, TimedAutomaton, as_automaton
from .guards import Atom, Guard
from .validation import (
    InvalidValue,
    check_bool,
    check_int,
    check_prob,
)

ThetaFn = Callable[[Mapping[str, int]], int]


@dataclass(frozen=True, eq=False)
class Task:
    """An automaton with its input distribution, episode length and encodings.

    ``observations``: ``[S, D]`` input vector of each symbol (``None``: one-hot, ``D = S``).
    ``target_channels``: ``[K, N]`` target vector of each output class for multi-channel tasks
    (``None``: the target is the class itself). ``theta``: the task's hidden temporal variable as a
    function of the clock valuation (``None``: reported as -1).
    """

    automaton: TimedAutomaton
    symbol_probs: tuple[float, ...]
    episode_length: int
    name: str = ""
    rule: str = ""
    theta: ThetaFn | None = None
    observations: np.ndarray | None = field(default=None, repr=False)
    target_channels: np.ndarray | None = field(default=None, repr=False)
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        S = len(self.automaton.alphabet)
        probs = tuple(float(p) for p in self.symbol_probs)
        if len(probs) != S:
            raise InvalidValue(f"symbol_probs has {len(probs)} entries; the alphabet "
                               f"{list(self.automaton.alphabet)} has {S}")
        if any(not np.isfinite(p) or p < 0 for p in probs):
            raise InvalidValue(f"symbol_probs must be finite and >= 0, got {probs}")
        if abs(sum(probs) - 1.0) > 1e-9:
            raise InvalidValue(f"symbol_probs must sum to 1, got {sum(probs)!r}")
        object.__setattr__(self, "symbol_probs", probs)
        object.__setattr__(self, "episode_length", check_int("episode_length",
                                                             self.episode_length, 1))
        if self.observations is not None:
            obs = np.asarray(self.observations, dtype=np.float32)
            if obs.ndim != 2 or obs.shape[0] != S:
                raise InvalidValue(f"observations must have shape [{S}, D], got {obs.shape}")
            obs.setflags(write=False)
            object.__setattr__(self, "observations", obs)
        if self.target_channels is not None:
            tc = np.asarray(self.target_channels, dtype=np.int64)
            K = self.automaton.num_outputs
            if tc.ndim != 2 or tc.shape[0] != K:
                raise InvalidValue(f"target_channels must have shape [{K}, N], got {tc.shape}")
            tc.setflags(write=False)
            object.__setattr__(self, "target_channels", tc)

    # -- derived tables (built once) -----------------------------------------------------------
    @cached_property
    def obs_table(self) -> np.ndarray:
        """``[S, D]`` float32 input vector of each symbol."""
        if self.observations is not None:
            return self.observations
        eye = np.eye(len(self.automaton.alphabet), dtype=np.float32)
        eye.setflags(write=False)
        return eye

    @cached_property
    def theta_table(self) -> np.ndarray:
        """``[C]`` int64 value of Θ in each configuration (-1 where the task defines no Θ)."""
        comp = self.automaton.compiled
        if self.theta is None:
            out = np.full(comp.num_configs, -1, dtype=np.int64)
        else:
            names = [c.name for c in self.automaton.clocks]
            out = np.asarray([int(self.theta(dict(zip(names, map(int, row)))))
                              for row in comp.clocks], dtype=np.int64)
        out.setflags(write=False)
        return out

    @cached_property
    def cdf(self) -> np.ndarray:
        """``[S]`` cumulative symbol distribution, last entry exactly 1."""
        cdf = np.cumsum(np.asarray(self.symbol_probs, dtype=np.float64))
        cdf[-1] = 1.0
        cdf.setflags(write=False)
        return cdf

    def sample_symbols(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Draw i.i.d. symbol indices (``intp``) of ``shape``: one uniform double each, row-major."""
        return self.symbols_from_uniform(rng.random(shape))

    def symbols_from_uniform(self, u: np.ndarray) -> np.ndarray:
        """Map uniform doubles in [0, 1) to symbol indices: the number of cumulative-distribution
        entries ``<= u`` (``searchsorted(cdf, u, side="right")``; counted directly for small
        alphabets, which is faster and gives the same integers)."""
        cdf = self.cdf
        if len(cdf) > 4:
            return np.asarray(np.searchsorted(cdf, u, side="right"))
        out: np.ndarray = (u >= cdf[0]).astype(np.intp)
        for c in cdf[1:-1]:
            out += u >= c
        return out


@dataclass(frozen=True)
class Day:
    """A time of day: Θ as a function of the periodic clock value ``x``. With ``phases = 2``,
    ``Θ(x) = [(x + phase) mod P >= P - on]``; with K phases, ``Θ(x) = ((x + phase) mod P) K // P``.
    Stored as its parameters, so a period of millions costs nothing until compiled."""

    period: int
    on: int
    phase: int
    phases: int = 2

    def __call__(self, x: int) -> int:
        """Time of day for step ``x``: index of the interval holding ``x mod P``."""
        y = (x + self.phase) % self.period
        if self.phases == 2:
            return int(y >= self.period - self.on)
        return y * self.phases // self.period

    def runs(self) -> list[tuple[int, int, int]]:
        """Maximal runs ``(first x, last x, Θ)`` of equal Θ over ``x = 0..P-1``, from the
        breakpoints alone (``O(K)``, not ``O(P)``)."""
        P, K = self.period, self.phases
        if K == 2:
            cuts = {0, (P - self.on - self.phase) % P, (-self.phase) % P}
        else:
            cuts = {0} | {(-(-j * P // K) - self.phase) % P for j in range(K)}
        starts = sorted(c for c in cuts if 0 <= c < P)
        out: list[tuple[int, int, int]] = []
        for i, lo in enumerate(starts):
            hi = (starts[i + 1] if i + 1 < len(starts) else P) - 1
            v = self(lo)
            if out and out[-1][2] == v:
                out[-1] = (out[-1][0], hi, v)
            else:
                out.append((lo, hi, v))
        return out


@dataclass(frozen=True)
class Theta:
    """The factories' Θ as a picklable function of the clock valuation: ``day(v[day_clock])`` (a
    time of day) times ``[v[since_clock] >= tau]`` (a relative threshold); a part whose clock is
    None is 1."""

    day_clock: str | None = None
    day: Day | None = None
    since_clock: str | None = None
    tau: int = 0

    def __call__(self, v: Mapping[str, int]) -> int:
        """Θ for clock valuation ``v``."""
        out = self.day(v[self.day_clock]) if self.day_clock is not None and self.day else 1
        if self.since_clock is not None:
            out *= int(v[self.since_clock] >= self.tau)
        return int(out)


# -- guard helpers -----------------------------------------------------------------------------
def _runs(clock: str, day: Day) -> list[tuple[int, Guard]]:
    """One guard per maximal run of equal Θ over the clock's values ``0..P-1``."""
    P = day.period
    runs = []
    for lo, hi, v in day.runs():
        if lo == hi:
            atoms: tuple[Atom, ...] = (Atom(clock, "==", lo),) if P > 1 else ()
        else:
            atoms = tuple(a for a, keep in ((Atom(clock, ">=", lo), lo > 0),
                                            (Atom(clock, "<=", hi), hi < P - 1)) if keep)
        runs.append((v, Guard(atoms)))
    return runs


def _conj(*guards: Guard) -> Guard:
    return Guard(tuple(a for g in guards for a in g.atoms))


def _day(period: int, on_steps: int | None, phase: int, num_phases: int) -> Day:
    """The time of day of the factories' arguments (checked)."""
    P = period
    if num_phases == 2:
        on = P // 2 if on_steps is None else check_int("on_steps", on_steps, 0, P)
        return Day(P, on, phase, 2)
    if on_steps is not None:
        raise InvalidValue("on_steps applies only to num_phases=2; with K phases the day is split "
                           "into K equal parts")
    return Day(P, 0, phase, num_phases)


# -- factories ---------------------------------------------------------------------------------
def temporal_flipflop(
    period: int = 24,
    on_steps: int | None = None,
    phase: int = 0,
    num_phases: int = 2,
    state_dependent: bool = False,
    episode_length: int | None = None,
    p_a: float = 0.5,
) -> Task:
    """Periodic temporal flipflop (``TemporalFlipFlop-v0``).

    Alphabet ``(a, b)``; states ``0..K-1`` (K = ``num_phases``), output = state, start in 0; one
    periodic clock ``x = t mod P``. Θ(t) = 1 iff ``(t + phase) mod P >= P - on_steps`` (K = 2,
    ``on_steps`` defaults to ``P // 2``); with K > 2, Θ(t) = ``((t + phase) mod P) * K // P``.
    ``b`` -> state 0; ``a`` -> state Θ(t). With ``state_dependent=True``, ``a`` -> ``(s + Θ(t)) mod
    K`` (for K = 2, ``a`` toggles the state when Θ = 1 and holds it otherwise: memory *and* time).
    Symbols i.i.d., ``P(a) = p_a``. Episode length defaults to ``4 P``.

    Args:
        period: P, the day's length in steps (at least ``num_phases``).
        on_steps: the steps per day with Θ = 1 (K = 2; default ``P // 2``).
        phase: shifts the day: Θ reads ``(t + phase) mod P``.
        num_phases: K, the number of states and of phases of the day.
        state_dependent: ``a`` adds Θ to the state instead of setting it.
        episode_length: steps per episode (default ``4 P``).
        p_a: the probability of ``a`` at each step.

    Returns:
        The task: its automaton, symbol probabilities, episode length and Θ.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: an argument out of range (named, with the allowed range).
    """
    K = check_int("num_phases", num_phases, 2)
    P = check_int("period", period, K)  # K phases need at least K steps per period
    phase = check_int("phase", phase, 0)
    p_a = check_prob("p_a", p_a)
    state_dependent = check_bool("state_dependent", state_dependent)
    L = 4 * P if episode_length is None else episode_length
    day_of = _day(P, on_steps, phase, K)
    locs = tuple(str(s) for s in range(K))
    edges = []
    for s in range(K):
        edges.append(Edge(locs[s], "b", "0"))
        for th, g in _runs("x", day_of):
            tgt = (s + th) % K if state_dependent else th
            edges.append(Edge(locs[s], "a", locs[tgt], g))
    a = TimedAutomaton(locations=locs, initial="0", alphabet=("a", "b"),
                       clocks=(Clock("x", P),), edges=tuple(edges), outputs=tuple(range(K)),
                       num_outputs=K, name="temporal_flipflop")
    on = P // 2 if on_steps is None else on_steps
    day = (f"Θ(t)=1 iff (t+{phase}) mod {P} >= {P - on}" if K == 2
           else f"Θ(t)=((t+{phase}) mod {P})*{K}//{P}")
    act = f"a -> (s+Θ(t)) mod {K}" if state_dependent else "a -> Θ(t)"
    return Task(a, (p_a, 1 - p_a), L, "TemporalFlipFlop-v0",
                rule=f"b -> 0; {act}; {day}", theta=Theta(day_clock="x", day=day_of),
                params=dict(period=P, on_steps=on_steps, phase=phase, num_phases=K,
                            state_dependent=state_dependent, episode_length=L, p_a=p_a))


def relative_timing_flipflop(
    tau: int = 5,
    p_event: float = 0.2,
    period: int | None = None,
    on_steps: int | None = None,
    phase: int = 0,
    state_dependent: bool = False,
    episode_length: int = 100,
) -> Task:
    """Relative-timing flipflop (``RelativeTimingFlipFlop-v0``).

    Alphabet ``(a, b, null)``, ``P(a) = P(b) = p_event / 2``; states {0, 1}, output = state, start in
    0; clock ``y`` (unbounded) reset by ``a`` and ``b``, so at step t it holds the steps since the last
    non-null symbol (or t if none). Θ(t) = 1 iff ``y >= tau``. ``b`` -> 0; ``a`` -> Θ(t); ``null``
    holds the state. ``state_dependent=True``: ``a`` toggles the state when Θ = 1 and holds it
    otherwise. Composition with a time of day: with ``period=P`` a periodic clock ``x`` is added and
    Θ(t) = ``[y >= tau] and [(t + phase) mod P >= P - on_steps]`` (``on_steps`` default ``P // 2``).

    Args:
        tau: steps since the last event from which ``a`` sets the state to 1.
        p_event: the probability of an event (``a`` or ``b``) at each step.
        period: adds a time of day of this period (None: relative timing only).
        on_steps: the steps per day with the day's gate open (needs ``period``).
        phase: shifts the day (needs ``period``).
        state_dependent: ``a`` toggles the state when Θ = 1 instead of setting it.
        episode_length: steps per episode.

    Returns:
        The task.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: an argument out of range, or ``on_steps``/``phase`` without ``period``.
    """
    tau = check_int("tau", tau, 0)
    p = check_prob("p_event", p_event)
    phase = check_int("phase", phase, 0)
    state_dependent = check_bool("state_dependent", state_dependent)
    clocks = [Clock("y")]
    day: list[tuple[int, Guard]] = [(1, Guard())]
    if period is not None:
        P = check_int("period", period, 1)
        clocks.append(Clock("x", P))
        day_of = _day(P, on_steps, phase, 2)
        day = _runs("x", day_of)
    elif on_steps is not None or phase != 0:
        raise InvalidValue("on_steps and phase need period=P (the periodic + relative composition)")
    late = Guard((Atom("y", ">=", tau),)) if tau > 0 else Guard()
    edges = []
    for s in (0, 1):
        src = str(s)
        edges.append(Edge(src, "null", src))
        edges.append(Edge(src, "b", "0", resets=("y",)))
        regions = [(0, Guard((Atom("y", "<", tau),)))] if tau > 0 else []
        regions += [(th, _conj(late, g)) for th, g in day]
        for th, g in regions:
            tgt = (s ^ th) if state_dependent else th
            edges.append(Edge(src, "a", str(tgt), g, resets=("y",)))
    a = TimedAutomaton(locations=("0", "1"), initial="0", alphabet=("a", "b", "null"),
                       clocks=tuple(clocks), edges=tuple(edges), outputs=(0, 1), num_outputs=2,
                       name="relative_timing_flipflop")
    if period is None:
        theta = Theta(since_clock="y", tau=tau)
        th_text = f"Θ(t)=[y>={tau}]"
    else:
        theta = Theta(day_clock="x", day=day_of, since_clock="y", tau=tau)
        th_text = f"Θ(t)=[y>={tau}] and [(t+{phase}) mod {P} >= {P - (on_steps or P // 2)}]"
    act = "a -> s xor Θ(t)" if state_dependent else "a -> Θ(t)"
    return Task(a, (p / 2, p / 2, 1 - p), check_int("episode_length", episode_length, 1),
                "RelativeTimingFlipFlop-v0",
                rule=f"b -> 0; {act}; null holds; y = steps since last a/b; {th_text}",
                theta=theta,
                params=dict(tau=tau, p_event=p, period=period, on_steps=on_steps, phase=phase,
                            state_dependent=state_dependent, episode_length=episode_length))


_PULSE = {"0": 0.0, "+": 1.0, "-": -1.0}


def flipflop(n_bits: int = 3, p_pulse: float = 0.05, episode_length: int = 100) -> Task:
    """Classic N-bit flip-flop of Sussillo & Barak (``FlipFlop-v0``); no clocks.

    Each of ``N`` input channels carries a pulse with probability ``p_pulse`` per step, +1 or -1
    with equal probability, else 0. Target channel i holds bit 1 if channel i's last pulse was +1 and
    0 if it was -1 (0 before any pulse). As an automaton: locations = the ``2**N`` bit vectors
    (output class = the bits read as a base-2 number, channel 0 first), symbols = the ``3**N`` joint
    pulse patterns (``'0'``, ``'+'``, ``'-'`` per channel). N is limited to 6.

    Args:
        n_bits: N, the number of channels (1 to 6).
        p_pulse: the probability of a pulse per channel and step.
        episode_length: steps per episode.

    Returns:
        The task; its targets are ``N`` binary channels.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: an argument out of range.
    """
    N = check_int("n_bits", n_bits, 1, 6)
    p = check_prob("p_pulse", p_pulse)
    patterns = ["".join(t) for t in itertools.product("0+-", repeat=N)]
    states = ["".join(t) for t in itertools.product("01", repeat=N)]
    edges = [Edge(st, pat, _flip(st, pat)) for st in states for pat in patterns]
    probs = [_pattern_prob(pat, p) for pat in patterns]
    total = sum(probs)
    probs = [q / total for q in probs]
    a = TimedAutomaton(locations=tuple(states), initial="0" * N, alphabet=tuple(patterns),
                       clocks=(), edges=tuple(edges), outputs=tuple(range(2**N)),
                       num_outputs=2**N, name=f"flipflop_{N}bit")
    obs = np.asarray([[_PULSE[c] for c in pat] for pat in patterns], dtype=np.float32)
    bits = np.asarray([[int(c) for c in st] for st in states], dtype=np.int64)
    return Task(a, tuple(probs), check_int("episode_length", episode_length, 1), "FlipFlop-v0",
                rule=f"{N} channels; target_i = [last pulse on channel i was +1]; "
                     f"pulse prob {p} per channel and step",
                observations=obs, target_channels=bits,
                params=dict(n_bits=N, p_pulse=p, episode_length=episode_length))


def _flip(bits: str, pattern: str) -> str:
    """The flip-flop's bits after one joint pulse pattern (``'+'`` sets, ``'-'`` clears)."""
    return "".join(b if c == "0" else ("1" if c == "+" else "0") for b, c in zip(bits, pattern))


def _pattern_prob(pattern: str, p: float) -> float:
    """Probability of a joint pulse pattern: each channel pulses with ``p``, either sign."""
    return float(np.prod([1 - p if c == "0" else p / 2 for c in pattern]))


def automaton_task(
    automaton: TimedAutomaton | Mapping[str, Any] | str | PathLike[str],
    symbol_probs: Sequence[float] | None = None,
    episode_length: int = 100,
) -> Task:
    """Any automaton (``TimedAutomaton-v0``): an object, its dict form or a JSON path.

    Symbols i.i.d. with ``symbol_probs`` (uniform by default). Θ is not defined (reported as -1).

    Args:
        automaton: a `TimedAutomaton`, its dict form, or a JSON path or text.
        symbol_probs: one probability per symbol, in alphabet order (default: uniform).
        episode_length: steps per episode.

    Returns:
        The task.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a malformed automaton, or probabilities that are not a distribution over
            the alphabet.
    """
    a = as_automaton(automaton)
    S = len(a.alphabet)
    probs = tuple([1.0 / S] * S) if symbol_probs is None else tuple(symbol_probs)
    return Task(a, probs, check_int("episode_length", episode_length, 1), "TimedAutomaton-v0",
                rule="custom automaton", params=dict(episode_length=episode_length))
