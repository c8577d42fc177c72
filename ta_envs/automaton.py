"""Discrete-time timed automata: the spec (frozen dataclasses), its validation and its dict/JSON form.

Semantics (DESIGN section 3). At step ``t``, from location ``l_t`` and clock valuation ``v_t``,
reading symbol ``u_t``: exactly one edge leaving ``l_t`` on ``u_t`` has a true guard; ``l_{t+1}``
is its target and the step's output is ``out(l_{t+1})``; the clocks it resets become 0, then every
clock advances by 1 (a periodic clock modulo its period). Initially ``l_0`` is the initial location
and every clock is 0. A spec where zero or several edges are enabled in a reachable configuration is
rejected when it is built, with the location, symbol and clock values named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .guards import Guard
from .validation import InvalidType, InvalidValue, UsageError

if TYPE_CHECKING:
    from .compile import CompiledAutomaton

_NAME = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True)
class Clock:
    """An integer clock. ``period=None``: unbounded (time since its last reset); ``period=P``: counts
    ``0..P-1`` and wraps (a time-of-day clock)."""

    name: str
    period: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InvalidValue(f"clock name must be an identifier ([A-Za-z_][A-Za-z0-9_]*), "
                               f"got {self.name!r}")
        if self.period is not None:
            if isinstance(self.period, bool) or not isinstance(self.period, int):
                raise InvalidType(f"clock {self.name!r}: period must be an int or None, "
                                  f"got {type(self.period).__name__}")
            if self.period < 1:
                raise InvalidValue(f"clock {self.name!r}: period must be >= 1, got {self.period}")


@dataclass(frozen=True)
class Edge:
    """``source --symbol, guard / resets--> target``. ``guard`` may be given as text."""

    source: str
    symbol: str
    target: str
    guard: Guard = field(default_factory=Guard)
    resets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.guard, str):
            object.__setattr__(self, "guard", Guard.parse(self.guard))
        elif not isinstance(self.guard, Guard):
            raise InvalidType(f"edge {self.source!r} --{self.symbol!r}-->: guard must be a Guard or "
                              f"a string, got {type(self.guard).__name__}")
        if isinstance(self.resets, str):
            raise InvalidType(f"edge {self.source!r} --{self.symbol!r}-->: resets must be a sequence "
                              f"of clock names, not the string {self.resets!r}")
        object.__setattr__(self, "resets", tuple(self.resets))

    def describe(self) -> str:
        """One-line text form, e.g. ``s0 --a [x < 12] / {y}--> s1``."""
        r = f" / {{{', '.join(self.resets)}}}" if self.resets else ""
        return f"{self.source} --{self.symbol} [{self.guard}]{r}--> {self.target}"


@dataclass(frozen=True)
class TimedAutomaton:
    """A deterministic, complete discrete-time timed automaton with an output per location.

    ``outputs[i]`` is the output class (``0..num_outputs-1``) of ``locations[i]``. Building one
    validates it completely: names, constants, and determinism/completeness in every reachable
    configuration (via `compiled`).
    """

    locations: tuple[str, ...]
    initial: str
    alphabet: tuple[str, ...]
    clocks: tuple[Clock, ...]
    edges: tuple[Edge, ...]
    outputs: tuple[int, ...]
    num_outputs: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        for f in ("locations", "alphabet", "clocks", "edges", "outputs"):
            v = getattr(self, f)
            if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
                raise InvalidType(f"automaton field {f!r} must be a sequence, got {type(v).__name__}")
            object.__setattr__(self, f, tuple(v))
        self._check_static()
        _ = self.compiled  # reachable-configuration validation

    # -- validation --------------------------------------------------------------------------
    def _check_static(self) -> None:
        _unique_names("location", self.locations)
        _unique_names("symbol", self.alphabet)
        if not self.alphabet:
            raise InvalidValue("automaton alphabet is empty; give at least one symbol")
        if not self.locations:
            raise InvalidValue("automaton has no locations")
        for c in self.clocks:
            if not isinstance(c, Clock):
                raise InvalidType(f"clocks must be Clock objects, got {type(c).__name__}")
        _unique_names("clock", [c.name for c in self.clocks])
        if self.initial not in self.locations:
            raise InvalidValue(f"initial location {self.initial!r} is not one of the locations "
                               f"{list(self.locations)}")
        if len(self.outputs) != len(self.locations):
            raise InvalidValue(f"outputs has {len(self.outputs)} entries but there are "
                               f"{len(self.locations)} locations")
        self._check_outputs()
        self._check_edges()

    def _check_outputs(self) -> None:
        for loc, o in zip(self.locations, self.outputs):
            if isinstance(o, bool) or not isinstance(o, int) or o < 0:
                raise InvalidValue(f"output of location {loc!r} must be an int >= 0, got {o!r}")
        k = max(self.outputs) + 1
        if self.num_outputs is None:
            object.__setattr__(self, "num_outputs", max(k, 2))
        elif isinstance(self.num_outputs, bool) or not isinstance(self.num_outputs, int):
            raise InvalidType(f"num_outputs must be an int, got {type(self.num_outputs).__name__}")
        elif self.num_outputs < k:
            raise InvalidValue(f"num_outputs={self.num_outputs} but a location outputs {k - 1}")

    def _check_edges(self) -> None:
        locs, syms = set(self.locations), set(self.alphabet)
        periods = {c.name: c.period for c in self.clocks}
        for i, e in enumerate(self.edges):
            if not isinstance(e, Edge):
                raise InvalidType(f"edges[{i}] must be an Edge, got {type(e).__name__}")
            where = f"edge #{i} ({e.describe()})"
            if e.source not in locs:
                raise InvalidValue(f"{where}: unknown source location {e.source!r}")
            if e.target not in locs:
                raise InvalidValue(f"{where}: unknown target location {e.target!r}")
            if e.symbol not in syms:
                raise InvalidValue(f"{where}: unknown symbol {e.symbol!r}; alphabet is "
                                   f"{list(self.alphabet)}")
            for a in e.guard.atoms:
                if a.clock not in periods:
                    raise InvalidValue(f"{where}: guard reads unknown clock {a.clock!r}")
                p = periods[a.clock]
                if p is not None and a.const > p:
                    raise InvalidValue(f"{where}: constant {a.const} in '{a}' exceeds the period "
                                       f"{p} of clock {a.clock!r}")
            for r in e.resets:
                if r not in periods:
                    raise InvalidValue(f"{where}: resets unknown clock {r!r}")

    @cached_property
    def compiled(self) -> CompiledAutomaton:
        """The configuration-level transition tables (built once; validates determinism)."""
        from .compile import compile_automaton

        return compile_automaton(self)

    # -- convenience -------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        """The number of output classes (``num_outputs`` once validated: never None)."""
        assert self.num_outputs is not None  # set in __post_init__
        return self.num_outputs

    def output_of(self, location: str) -> int:
        """Output class of ``location``."""
        return self.outputs[self.locations.index(location)]

    # -- dict / JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable); ``from_dict(a.to_dict()) == a``."""
        return {
            "name": self.name,
            "locations": list(self.locations),
            "initial": self.initial,
            "alphabet": list(self.alphabet),
            "clocks": [{"name": c.name, "period": c.period} for c in self.clocks],
            "output": {loc: o for loc, o in zip(self.locations, self.outputs)},
            "num_outputs": self.num_outputs,
            "edges": [
                {"source": e.source, "symbol": e.symbol, "guard": str(e.guard),
                 "resets": list(e.resets), "target": e.target}
                for e in self.edges
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TimedAutomaton:
        """Build (and validate) from the `to_dict()` form. Unknown keys are an error."""
        if not isinstance(d, Mapping):
            raise InvalidType(f"automaton spec must be a mapping, got {type(d).__name__}")
        allowed = {"name", "locations", "initial", "alphabet", "clocks", "output", "num_outputs",
                   "edges"}
        unknown = set(d) - allowed
        if unknown:
            raise InvalidValue(f"automaton spec: unknown keys {sorted(unknown)}; allowed: "
                               f"{sorted(allowed)}")
        missing = {"locations", "initial", "alphabet", "output", "edges"} - set(d)
        if missing:
            raise InvalidValue(f"automaton spec: missing keys {sorted(missing)}")
        locations = _str_list("locations", d["locations"])
        out = _spec_outputs(d["output"], locations)
        clocks = [_spec_clock(i, c) for i, c in enumerate(_list("clocks", d.get("clocks", [])))]
        edges = [_spec_edge(i, e) for i, e in enumerate(_list("edges", d["edges"]))]
        return cls(
            locations=tuple(locations),
            initial=d["initial"],
            alphabet=tuple(_str_list("alphabet", d["alphabet"])),
            clocks=tuple(clocks),
            edges=tuple(edges),
            outputs=tuple(out[loc] for loc in locations),
            num_outputs=d.get("num_outputs"),
            name=d.get("name", ""),
        )

    def to_json(self, path: str | PathLike[str] | None = None) -> str:
        """JSON text of `to_dict()`; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    @classmethod
    def from_json(cls, source: str | PathLike[str]) -> TimedAutomaton:
        """Load from a JSON file path, or from JSON text (a string starting with ``{``)."""
        where = "automaton JSON"
        if isinstance(source, str) and source.lstrip().startswith("{"):
            text = source
        else:
            where = f"automaton JSON file {str(source)!r}"
            p = Path(source)
            if not p.is_file():
                raise InvalidValue(f"automaton JSON file not found: {str(p)!r}")
            try:
                text = p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise InvalidValue(f"automaton JSON file {str(p)!r} is not UTF-8 text (a binary "
                                   "file?)") from None
        try:
            d = json.loads(text)
        except json.JSONDecodeError as err:
            raise InvalidValue(f"{where} is malformed: {err}") from None
        except (ValueError, RecursionError) as err:  # a 5,000-digit integer, nesting too deep
            raise InvalidValue(f"{where} cannot be read: {type(err).__name__}: "
                               f"{str(err)[:120]}") from None
        try:
            return cls.from_dict(d)
        except UsageError as err:
            raise type(err)(f"{where}: {err}") from None
        except RecursionError:
            raise InvalidValue(f"{where}: nested too deeply to be an automaton spec") from None


def as_automaton(obj: TimedAutomaton | Mapping[str, Any] | str | PathLike[str]) -> TimedAutomaton:
    """Accept an automaton, its dict form, a JSON path or JSON text.

    Args:
        obj: a `TimedAutomaton` (returned as it is), its `TimedAutomaton.to_dict()` form, or a
            path to (or the text of) its JSON.

    Returns:
        The automaton, validated.

    Raises:
        TypeError: ``obj`` is none of these.
        ValueError: the spec is malformed (the offending part is named).
    """
    if isinstance(obj, TimedAutomaton):
        return obj
    if isinstance(obj, Mapping):
        return TimedAutomaton.from_dict(obj)
    if isinstance(obj, (str, PathLike)):
        return TimedAutomaton.from_json(obj)
    raise InvalidType(f"automaton must be a TimedAutomaton, a dict or a JSON path, "
                      f"got {type(obj).__name__}")


def _unique_names(kind: str, names: Sequence[str]) -> None:
    seen: set[str] = set()
    for n in names:
        if not isinstance(n, str) or not n:
            raise InvalidValue(f"{kind} names must be non-empty strings, got {n!r}")
        if n in seen:
            raise InvalidValue(f"duplicate {kind} name {n!r}")
        seen.add(n)


def _str_list(key: str, v: Any) -> list[str]:
    if isinstance(v, str) or not isinstance(v, Sequence):
        raise InvalidType(f"automaton spec: {key!r} must be a list of strings, got "
                          f"{type(v).__name__}")
    return list(v)


def _list(key: str, v: Any) -> list[Any]:
    if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
        raise InvalidType(f"automaton spec: {key!r} must be a list, got {type(v).__name__} {v!r}")
    return list(v)


def _spec_outputs(out: Any, locations: list[str]) -> Mapping[str, Any]:
    if not isinstance(out, Mapping):
        raise InvalidType("automaton spec: 'output' must map location -> int")
    extra = set(out) - set(locations)
    if extra:
        raise InvalidValue(f"automaton spec: 'output' names unknown locations {sorted(extra)}")
    lacking = [loc for loc in locations if loc not in out]
    if lacking:
        raise InvalidValue(f"automaton spec: 'output' has no value for locations {lacking}")
    return out


def _spec_clock(i: int, c: Any) -> Clock:
    if not isinstance(c, Mapping) or "name" not in c or set(c) - {"name", "period"}:
        raise InvalidValue(f"automaton spec: clocks[{i}] must be {{'name': str, "
                           f"'period': int | null}}, got {c!r}")
    return Clock(c["name"], c.get("period"))


def _spec_edge(i: int, e: Any) -> Edge:
    need = {"source", "symbol", "target"}
    if not isinstance(e, Mapping) or not need <= set(e):
        raise InvalidValue(f"automaton spec: edges[{i}] needs keys {sorted(need)}, got {e!r}")
    bad = set(e) - need - {"guard", "resets"}
    if bad:
        raise InvalidValue(f"automaton spec: edges[{i}] has unknown keys {sorted(bad)}")
    resets = e.get("resets", ())
    if isinstance(resets, str) or not isinstance(resets, Sequence):
        raise InvalidType(f"automaton spec: edges[{i}]: 'resets' must be a list of clock "
                          f"names, got {type(resets).__name__} {resets!r}")
    try:
        return Edge(e["source"], e["symbol"], e["target"], e.get("guard", "true"), tuple(resets))
    except (ValueError, TypeError) as err:
        raise type(err)(f"automaton spec: edges[{i}]: {err}") from None
