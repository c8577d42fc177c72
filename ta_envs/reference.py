"""The plain reference semantics: a stepper that reads the spec directly (no tables, no caps).

It defines what every fast path (compiled tables, batched simulator, envs, datasets) must reproduce
and is used by the tests; it is slow on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable

from .automaton import TimedAutomaton
from .validation import InvalidValue


class ReferenceStepper:
    """Step a `TimedAutomaton` one symbol at a time, exactly as DESIGN section 3 states."""

    def __init__(self, automaton: TimedAutomaton) -> None:
        self.a = automaton
        self.location = automaton.initial
        self.clocks = {c.name: 0 for c in automaton.clocks}

    def step(self, symbol: str) -> int:
        """Read ``symbol``; return the step's output ``out(l_{t+1})``."""
        enabled = [e for e in self.a.edges
                   if e.source == self.location and e.symbol == symbol and e.guard.holds(self.clocks)]
        if len(enabled) != 1:
            raise InvalidValue(f"location {self.location!r}, symbol {symbol!r}, clocks {self.clocks}: "
                               f"{len(enabled)} edges enabled")
        edge = enabled[0]
        self.location = edge.target
        for name in edge.resets:
            self.clocks[name] = 0
        for c in self.a.clocks:
            v = self.clocks[c.name] + 1
            self.clocks[c.name] = v % c.period if c.period is not None else v
        return self.a.output_of(self.location)


def reference_outputs(automaton: TimedAutomaton, symbols: Iterable[str]) -> list[int]:
    """Outputs of the reference stepper along ``symbols`` from the initial configuration.

    Args:
        automaton: the automaton (stepped edge by edge, guard by guard: the definition).
        symbols: symbol names, one per step.

    Returns:
        One output class per step.

    Raises:
        ValueError: a symbol outside the alphabet, or no/several enabled edges at some step.
    """
    stepper = ReferenceStepper(automaton)
    return [stepper.step(s) for s in symbols]


def reference_time_dependent(automaton: TimedAutomaton) -> set[tuple[str, str]]:
    """The (location, symbol) pairs whose output differs between reachable clock valuations.

    Explores reachable configurations with every unbounded clock held at ``2 +`` the largest
    constant in the whole automaton (any cap above the largest constant is exact).

    Args:
        automaton: the automaton.

    Returns:
        The time-dependent ``(location, symbol)`` pairs.

    Raises:
        ValueError: no or several enabled edges in a reachable configuration.
    """
    consts = [a.const for e in automaton.edges for a in e.guard.atoms]
    cap = (max(consts) if consts else 0) + 2
    start = (automaton.initial, tuple(0 for _ in automaton.clocks))
    seen = {start}
    todo = [start]
    outputs: dict[tuple[str, str], set[int]] = {}
    while todo:
        loc, vals = todo.pop()
        for sym in automaton.alphabet:
            s = ReferenceStepper(automaton)
            s.location, s.clocks = loc, {c.name: v for c, v in zip(automaton.clocks, vals)}
            outputs.setdefault((loc, sym), set()).add(s.step(sym))
            nxt = (s.location, tuple(s.clocks[c.name] if c.period is not None
                                     else min(s.clocks[c.name], cap) for c in automaton.clocks))
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return {key for key, outs in outputs.items() if len(outs) > 1}
