"""Argument checks shared by the configs of ta_envs, baselines and analysis."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def check_ints(fields: Iterable[tuple[str, Any]], minimum: int) -> None:
    """``ValueError`` naming the first ``(name, value)`` whose value is not an int >= ``minimum``
    (``bool`` is refused: ``True`` is not a count)."""
    for name, v in fields:
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise ValueError(f"{name} must be an int >= {minimum}, got {v!r}")


def check_int_fields(owner: Any, names: Iterable[str], minimum: int) -> None:
    """:func:`check_ints` on the attributes ``names`` of ``owner`` (a config dataclass)."""
    check_ints(((n, getattr(owner, n)) for n in names), minimum)
