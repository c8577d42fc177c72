"""Hypothesis strategies: random valid timed automata, broken specs, and a test-side reference trace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from ta_envs import Clock, Edge, Guard, ReferenceStepper, TimedAutomaton
from ta_envs.guards import Atom


@st.composite
def partitions(draw: st.DrawFn, clocks: list[Clock], max_splits: int = 3) -> list[Guard]:
    """Disjoint guards covering every clock valuation: start from ``true`` and split a region on
    ``x < c | x >= c`` or ``x < c | x == c | x > c`` a few times."""
    regions: list[tuple[Atom, ...]] = [()]
    if not clocks:
        return [Guard()]
    for _ in range(draw(st.integers(0, max_splits))):
        i = draw(st.integers(0, len(regions) - 1))
        clock = draw(st.sampled_from(clocks))
        hi = clock.period if clock.period is not None else 6
        c = draw(st.integers(0, hi))
        if draw(st.booleans()):
            parts = [(Atom(clock.name, "<", c),), (Atom(clock.name, ">=", c),)]
        else:
            parts = [(Atom(clock.name, "<", c),), (Atom(clock.name, "==", c),),
                     (Atom(clock.name, ">", c),)]
        base = regions.pop(i)
        regions[i:i] = [base + p for p in parts]
    return [Guard(r) for r in regions]


@st.composite
def automata(draw: st.DrawFn, max_locations: int = 6, max_symbols: int = 4,
             max_clocks: int = 2) -> TimedAutomaton:
    """Random deterministic, complete automata: 1-6 locations, 1-4 symbols, 0-2 clocks."""
    n_loc = draw(st.integers(1, max_locations))
    n_sym = draw(st.integers(1, max_symbols))
    n_clk = draw(st.integers(0, max_clocks))
    locs = [f"l{i}" for i in range(n_loc)]
    syms = [f"s{i}" for i in range(n_sym)]
    clocks = [Clock(f"c{i}", draw(st.one_of(st.none(), st.integers(1, 6)))) for i in range(n_clk)]
    names = [c.name for c in clocks]
    edges = []
    for loc in locs:
        for sym in syms:
            for guard in draw(partitions(clocks)):
                resets = tuple(n for n in names if draw(st.booleans()))
                edges.append(Edge(loc, sym, draw(st.sampled_from(locs)), guard, resets))
    outputs = tuple(draw(st.integers(0, 2)) for _ in locs)
    return TimedAutomaton(tuple(locs), "l0", tuple(syms), tuple(clocks), tuple(edges), outputs)


@dataclass
class Broken:
    spec: dict[str, Any]
    error: type[Exception]
    mentions: tuple[str, ...]  # substrings the error message must contain


@st.composite
def broken_specs(draw: st.DrawFn) -> Broken:
    """A valid automaton's dict with one defect; the error must name the offending part."""
    a = draw(automata(max_clocks=2))
    d = a.to_dict()
    sym = draw(st.sampled_from(a.alphabet))
    loc = a.initial
    kind = draw(st.sampled_from(["overlap", "gap", "target", "source", "symbol", "guard_clock",
                                 "reset_clock", "negative", "period", "above_period", "alphabet",
                                 "initial", "output", "duplicate", "syntax"]))
    e0 = {"source": loc, "symbol": sym, "guard": "true", "resets": [], "target": loc}
    if kind == "overlap":
        d["edges"].append(e0)
        return Broken(d, ValueError, (repr(loc), repr(sym), "2 edges are enabled"))
    if kind == "gap":
        d["edges"] = [e for e in d["edges"] if not (e["source"] == loc and e["symbol"] == sym)]
        return Broken(d, ValueError, (repr(loc), repr(sym), "no edge is enabled"))
    if kind == "target":
        d["edges"].append({**e0, "target": "nowhere"})
        return Broken(d, ValueError, ("unknown target location 'nowhere'",))
    if kind == "source":
        d["edges"].append({**e0, "source": "nowhere"})
        return Broken(d, ValueError, ("unknown source location 'nowhere'",))
    if kind == "symbol":
        d["edges"].append({**e0, "symbol": "zz"})
        return Broken(d, ValueError, ("unknown symbol 'zz'",))
    if kind == "guard_clock":
        d["edges"].append({**e0, "guard": "ghost < 3"})
        return Broken(d, ValueError, ("unknown clock 'ghost'",))
    if kind == "reset_clock":
        d["edges"].append({**e0, "resets": ["ghost"]})
        return Broken(d, ValueError, ("resets unknown clock 'ghost'",))
    if kind == "negative":
        d["clocks"].append({"name": "neg", "period": None})
        d["edges"].append({**e0, "guard": "neg >= -2"})
        return Broken(d, ValueError, ("negative constant -2", "'neg'"))
    if kind == "period":
        p = draw(st.integers(-3, 0))
        d["clocks"].append({"name": "per", "period": p})
        return Broken(d, ValueError, ("clock 'per'", f"period must be >= 1, got {p}"))
    if kind == "above_period":
        d["clocks"].append({"name": "day", "period": 4})
        d["edges"].append({**e0, "guard": "day < 9"})
        return Broken(d, ValueError, ("constant 9", "period 4", "'day'"))
    if kind == "alphabet":
        d["alphabet"] = []
        d["edges"] = []
        return Broken(d, ValueError, ("alphabet is empty",))
    if kind == "initial":
        d["initial"] = "nowhere"
        return Broken(d, ValueError, ("initial location 'nowhere'",))
    if kind == "output":
        del d["output"][loc]
        return Broken(d, ValueError, ("'output' has no value", repr(loc)))
    if kind == "duplicate":
        d["locations"].append(loc)
        return Broken(d, ValueError, (f"duplicate location name {loc!r}",))
    d["edges"].append({**e0, "guard": "x <"})  # syntax
    return Broken(d, ValueError, ("'x <'", "edges["))


def clock_caps(a: TimedAutomaton) -> dict[str, int]:
    """DESIGN 3: an unbounded clock may saturate at 1 + the largest constant it is compared with."""
    caps = {}
    for c in a.clocks:
        consts = [at.const for e in a.edges for at in e.guard.atoms if at.clock == c.name]
        caps[c.name] = max(consts) + 1 if consts else 0
    return caps


def reference_trace(a: TimedAutomaton, symbols: list[str]) -> list[dict[str, Any]]:
    """Per step: location and (saturated) clocks before the step, and the step's output."""
    stepper = ReferenceStepper(a)
    caps = clock_caps(a)
    out = []
    for s in symbols:
        loc = stepper.location
        clocks = [v if c.period is not None else min(v, caps[c.name])
                  for c, v in zip(a.clocks, stepper.clocks.values())]
        out.append({"location": loc, "clocks": clocks, "output": stepper.step(s)})
    return out


def reference_arrays(a: TimedAutomaton, symbol_idx: Any) -> tuple[Any, Any, Any]:
    """The reference stepper's targets, TD flags and clocks ``[T, X]`` for symbol indices."""
    import numpy as np

    from ta_envs import reference_time_dependent

    syms = [a.alphabet[i] for i in symbol_idx]
    trace = reference_trace(a, syms)
    td = reference_time_dependent(a)
    return (np.array([s["output"] for s in trace]),
            np.array([(s["location"], u) in td for s, u in zip(trace, syms)]),
            np.array([s["clocks"] for s in trace]).reshape(len(syms), len(a.clocks)))


def assert_rollout_matches_reference(task: Any, symbols: Any) -> None:
    """``rollout(task, symbols [B, T])`` equals the reference stepper row by row: targets, TD
    flags, clocks and the inputs' symbols."""
    import numpy as np

    from ta_envs import rollout

    r = rollout(task, symbols)
    for b in range(len(symbols)):
        out, td, clocks = reference_arrays(task.automaton, symbols[b])
        np.testing.assert_array_equal(r.targets[b], out)
        np.testing.assert_array_equal(r.mask_td[b], td)
        np.testing.assert_array_equal(r.clocks[b], clocks)
        np.testing.assert_array_equal(r.inputs[b].argmax(-1), symbols[b])
