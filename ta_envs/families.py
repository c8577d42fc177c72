"""Ladder v3 task families, each a [`TimedAutomaton`][ta_envs.automaton.TimedAutomaton] underneath.

- `word_problem()` (``WordProblem-v0``): track a running product in a finite group (state
  tracking, as in "The Illusion of State in State-Space Models"); optionally a temporal word problem
  whose generators depend on the hidden time of day.
- `random_automaton()` (``RandomAutomaton-v0``): a random discrete-time timed automaton with
  exactly the requested number of minimal configurations: complexity as a number.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from .automaton import Clock, Edge, TimedAutomaton
from .guards import Atom, Guard
from .tasks import Day, Task, Theta
from .validation import InvalidValue, check_int, check_prob

Perm = tuple[int, ...]

#: Groups of `word_problem()`: (degree, generators as permutations of ``0..degree-1``).
#: Products compose left to right: ``(p * q)[i] = q[p[i]]`` (apply p, then q).
GROUPS: dict[str, tuple[int, dict[str, Perm]]] = {
    "Z2": (2, {"a": (1, 0)}),
    "Z3": (3, {"a": (1, 2, 0)}),
    "S3": (3, {"s": (1, 0, 2), "r": (1, 2, 0)}),
    "A4": (4, {"a": (1, 2, 0, 3), "b": (1, 0, 3, 2)}),
    "A5": (5, {"a": (1, 2, 3, 4, 0), "b": (1, 2, 0, 3, 4)}),
    "S5": (5, {"a": (1, 2, 3, 4, 0), "s": (1, 0, 2, 3, 4)}),
}
#: Accepted aliases of the group names.
ALIASES = {"parity": "Z2"}


def compose(p: Perm, q: Perm) -> Perm:
    """``p * q``: apply ``p``, then ``q``."""
    return tuple(q[i] for i in p)


def group_elements(degree: int, generators: Sequence[Perm]) -> list[Perm]:
    """Every element of the group the ``generators`` generate, identity first, then in breadth-first
    order of right multiplication by the generators (so the order is fixed by the generators)."""
    identity = tuple(range(degree))
    seen = {identity: 0}
    order = [identity]
    for g in order:  # grows while iterating: breadth-first closure
        for s in generators:
            h = compose(g, s)
            if h not in seen:
                seen[h] = len(order)
                order.append(h)
    return order


def word_problem(group: str = "S3", period: int | None = None, episode_length: int = 64
                 ) -> Task:
    """Running product in a finite group (``WordProblem-v0``).

    ``group``: ``parity`` (= ``Z2``), ``Z3``, ``S3``, ``A4``, ``A5`` or ``S5``. Alphabet: ``e``
    (the identity) and one symbol per generator (`GROUPS`), i.i.d. uniform. Locations: the
    group's elements (``g0`` = identity); reading symbol ``s`` moves ``g -> g * s``; the target is
    the current element's index (``|G|`` classes: 2, 3, 6, 12, 60, 120). With ``period=P`` a hidden
    time of day splits every period in two halves: in the second half (``t mod P >= P // 2``) each
    symbol applies its generator followed by the first generator ``c`` (``g -> g * s * c``), a
    temporal word problem (for parity: the parity of the ``a`` count plus the number of steps
    spent in second halves). Θ is the half of the day (0 or 1) when ``period`` is given.

    Args:
        group: the group (or ``parity``).
        period: the hidden day's length for the temporal variant (None: plain word problem).
        episode_length: steps per episode.

    Returns:
        The task (``|G|`` locations, or ``|G| x P`` configurations with a period).

    Raises:
        ValueError: an unknown group, or a period or episode length out of range.
    """
    if not isinstance(group, str):
        raise InvalidValue(f"group must be one of {[*ALIASES, *GROUPS]}, got {group!r}")
    name = ALIASES.get(group, group)
    if name not in GROUPS:
        raise InvalidValue(f"group must be one of {[*ALIASES, *GROUPS]}, got {group!r}")
    if period is not None:
        check_int("period", period, 2)
    L = check_int("episode_length", episode_length, 1)
    degree, gens = GROUPS[name]
    elements = group_elements(degree, list(gens.values()))
    index = {g: i for i, g in enumerate(elements)}
    identity = elements[0]
    symbols = {"e": identity, **gens}
    c = next(iter(gens.values()))
    locs = tuple(f"g{i}" for i in range(len(elements)))
    first, second = Guard(()), Guard(())
    clocks: tuple[Clock, ...] = ()
    day = None
    if period is not None:
        half = period // 2
        first, second = Guard((Atom("x", "<", half),)), Guard((Atom("x", ">=", half),))
        clocks = (Clock("x", period),)
        day = Day(period, period - half, 0, 2)
    edges = []
    for g in elements:
        for sym, s in symbols.items():
            edges.append(Edge(locs[index[g]], sym, locs[index[compose(g, s)]], first))
            if period is not None:
                edges.append(Edge(locs[index[g]], sym,
                                  locs[index[compose(compose(g, s), c)]], second))
    a = TimedAutomaton(locations=locs, initial=locs[0], alphabet=tuple(symbols), clocks=clocks,
                       edges=tuple(edges), outputs=tuple(range(len(locs))),
                       num_outputs=len(locs), name=f"word_problem_{name}")
    rule = f"g -> g * s in {name} (|G| = {len(elements)})"
    if period is not None:
        rule += f"; for t mod {period} >= {period // 2}: g -> g * s * c"
    return Task(a, tuple([1.0 / len(symbols)] * len(symbols)), L, "WordProblem-v0", rule=rule,
                theta=None if day is None else Theta(day_clock="x", day=day),
                params=dict(group=name, period=period, episode_length=L))


def _draw(rng: np.random.Generator, locations: int, symbols: int, outputs: int,
          periods: Sequence[int], guarded: float) -> TimedAutomaton:
    """One random complete deterministic automaton: every (location, symbol) pair either moves
    unconditionally or, with probability ``guarded``, splits on one clock at a random threshold
    into two targets (each edge resetting each clock with probability 1/4)."""
    locs = tuple(f"q{i}" for i in range(locations))
    alphabet = tuple(f"s{i}" for i in range(symbols))
    names = [f"x{i}" for i in range(len(periods))]
    outs = [int(o) for o in rng.integers(0, outputs, size=locations)]
    outs[:outputs] = list(range(min(outputs, locations)))  # every output class occurs

    def resets() -> tuple[str, ...]:
        return tuple(n for n in names if rng.random() < 0.25)

    edges = []
    for src, sym in itertools.product(locs, alphabet):
        if names and rng.random() < guarded:
            k = int(rng.integers(0, len(names)))
            cut = int(rng.integers(1, periods[k]))
            lo, hi = rng.integers(0, locations, size=2)
            edges.append(Edge(src, sym, locs[lo], Guard((Atom(names[k], "<", cut),)), resets()))
            edges.append(Edge(src, sym, locs[hi], Guard((Atom(names[k], ">=", cut),)), resets()))
        else:
            edges.append(Edge(src, sym, locs[int(rng.integers(0, locations))], Guard(()),
                              resets()))
    return TimedAutomaton(locations=locs, initial=locs[0], alphabet=alphabet,
                          clocks=tuple(Clock(n, p) for n, p in zip(names, periods)),
                          edges=tuple(edges), outputs=tuple(outs), num_outputs=outputs,
                          name="random_automaton")


#: Draws tried before `random_automaton()` gives up on an exact configuration count.
MAX_DRAWS = 4000


def random_automaton(configurations: int = 16, seed: int = 0, clocks: int = 1,
                     symbols: int = 2, outputs: int = 2, guarded: float = 0.5,
                     episode_length: int = 100) -> Task:
    """A random discrete-time timed automaton with exactly ``configurations`` minimal
    configurations (``RandomAutomaton-v0``), drawn from ``seed``.

    Knobs: ``clocks`` (0-2 periodic clocks), ``symbols`` (alphabet size, i.i.d. uniform),
    ``outputs`` (target classes), ``guarded`` (probability that a location-symbol step reads a
    clock). Draws are made from ``numpy.random.default_rng(seed)`` with sizes (locations, clock
    periods) adapted to the target, and the first whose minimal machine (Hopcroft on the compiled
    configuration table) has exactly ``configurations`` states is returned: the same arguments give
    the same automaton everywhere. ``configurations`` is 2 to 256; a count not reached within
    `MAX_DRAWS` draws is refused.

    Args:
        configurations: the exact number of minimal configurations (2 to 256).
        seed: the draw's seed.
        clocks: periodic clocks (0 to 2; 0 gives a random Moore machine).
        symbols: alphabet size (i.i.d. uniform symbols).
        outputs: output classes.
        guarded: probability that a location-symbol step reads a clock.
        episode_length: steps per episode.

    Returns:
        The task; its ``rule`` names the locations and clock periods drawn.

    Raises:
        TypeError: a non-integer count.
        ValueError: an argument out of range, or no exact draw within ``MAX_DRAWS``.
    """
    K = check_int("configurations", configurations, 2, 256)
    seed = check_int("seed", seed, 0)
    n_clocks = check_int("clocks", clocks, 0, 2)
    S = check_int("symbols", symbols, 1, 16)
    n_out = check_int("outputs", outputs, 2, 16)
    guarded = check_prob("guarded", guarded)
    L = check_int("episode_length", episode_length, 1)
    if n_clocks == 0 and guarded > 0:
        guarded = 0.0  # nothing to read: every step is unconditional
    rng = np.random.default_rng([seed, K, n_clocks, S, n_out])
    fill = 0.7  # running estimate of minimal configurations per (location x clock value)
    for _ in range(MAX_DRAWS):
        if n_clocks:
            period = int(rng.integers(2, max(3, int(np.sqrt(K)) + 2)))
            periods = [period] + [int(rng.integers(2, 4)) for _ in range(n_clocks - 1)]
            span = int(np.prod(periods))
        else:
            periods, span = [], 1
        want = K / (span * fill)
        locations = max(n_out, 2, int(rng.integers(int(want * 0.8), int(want * 1.25) + 2)))
        a = _draw(rng, locations, S, n_out, periods, guarded)
        m = a.compiled.num_minimal
        if m == K:
            return Task(a, tuple([1.0 / S] * S), L, "RandomAutomaton-v0",
                        rule=f"random automaton: {K} minimal configurations, "
                             f"{locations} locations, clock periods {periods}",
                        params=dict(configurations=K, seed=seed, clocks=n_clocks, symbols=S,
                                    outputs=n_out, guarded=guarded, episode_length=L))
        fill = float(np.clip(0.8 * fill + 0.2 * m / (locations * span), 0.05, 1.0))
    raise InvalidValue(f"no automaton with exactly {K} minimal configurations in {MAX_DRAWS} "
                       f"draws for clocks={n_clocks}, symbols={S}, outputs={n_out}; try another "
                       "seed or more symbols")
