"""Clock guards: conjunctions of atoms ``x ~ c``, and a small parser for their text form.

Grammar (whitespace between tokens is ignored)::

    guard := "true" | atom ("&&" atom)*
    atom  := CLOCK OP INT
    OP    := "<" | "<=" | "==" | ">=" | ">"

``CLOCK`` is an identifier (``[A-Za-z_][A-Za-z0-9_]*``) and ``INT`` a decimal integer. A negative
constant is rejected with a message naming it. There is no ``eval`` anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .validation import InvalidType, InvalidValue

OPS: tuple[str, ...] = ("<", "<=", "==", ">=", ">")

_TOKEN = re.compile(r"\s*(?:(?P<op><=|>=|==|<|>)|(?P<and>&&)|(?P<int>-?\d+)|(?P<name>[A-Za-z_]\w*))")


@dataclass(frozen=True)
class Atom:
    """One clock constraint ``clock op const`` with an integer ``const >= 0``."""

    clock: str
    op: str
    const: int

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise InvalidValue(f"guard atom {self.clock!r}: op must be one of {OPS}, got {self.op!r}")
        if isinstance(self.const, bool) or not isinstance(self.const, int):
            raise InvalidType(f"guard atom on clock {self.clock!r}: constant must be an int, "
                              f"got {type(self.const).__name__}")
        if self.const < 0:
            raise InvalidValue(f"guard atom on clock {self.clock!r}: negative constant {self.const} "
                               "(constants must be >= 0)")

    def holds(self, value: int) -> bool:
        """Truth of the atom when its clock has ``value``."""
        c = self.const
        if self.op == "<":
            return value < c
        if self.op == "<=":
            return value <= c
        if self.op == "==":
            return value == c
        if self.op == ">=":
            return value >= c
        return value > c

    def __str__(self) -> str:
        return f"{self.clock} {self.op} {self.const}"


@dataclass(frozen=True)
class Guard:
    """A conjunction of atoms; the empty conjunction is ``true``."""

    atoms: tuple[Atom, ...] = ()

    def holds(self, clocks: Mapping[str, int]) -> bool:
        """Truth of the guard under the clock valuation ``clocks`` (name -> value)."""
        return all(a.holds(clocks[a.clock]) for a in self.atoms)

    @property
    def clocks(self) -> frozenset[str]:
        """Names of the clocks the guard reads."""
        return frozenset(a.clock for a in self.atoms)

    def __str__(self) -> str:
        return " && ".join(str(a) for a in self.atoms) if self.atoms else "true"

    @classmethod
    def parse(cls, text: str) -> Guard:
        """Parse ``"x < 12 && y >= 5"`` (or ``"true"`` / ``""``) into a `Guard`."""
        if not isinstance(text, str):
            raise InvalidType(f"guard must be a string, got {type(text).__name__}")
        tokens = _tokenize(text)
        if not tokens or tokens == [("name", "true")]:
            return cls()
        atoms: list[Atom] = []
        i = 0
        while True:
            if i + 3 > len(tokens):
                raise InvalidValue(f"guard {text!r}: incomplete atom at the end; expected "
                                   "'CLOCK OP INT'")
            (k1, clock), (k2, op), (k3, const) = tokens[i : i + 3]
            if k1 != "name" or clock == "true":
                raise InvalidValue(f"guard {text!r}: expected a clock name, got {clock!r}")
            if k2 != "op":
                raise InvalidValue(f"guard {text!r}: expected one of {OPS} after {clock!r}, "
                                   f"got {op!r}")
            if k3 != "int":
                raise InvalidValue(f"guard {text!r}: expected an integer after '{clock} {op}', "
                                   f"got {const!r}")
            atoms.append(Atom(clock, op, int(const)))
            i += 3
            if i == len(tokens):
                return cls(tuple(atoms))
            if tokens[i][0] != "and":
                raise InvalidValue(f"guard {text!r}: expected '&&' after '{atoms[-1]}', "
                                   f"got {tokens[i][1]!r}")
            i += 1


def _tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if m is None or m.end() == pos:
            raise InvalidValue(f"guard {text!r}: unexpected character {stripped[pos:].lstrip()[:1]!r} "
                               f"at position {pos}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out
