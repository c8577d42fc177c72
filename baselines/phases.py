"""Learning phases from accuracy curves: TI solved, the TD plateau, the transition and the jump.

Definitions (on the held-out TD/TI accuracy, iterations as logged, after a centred running median
over ``window`` evaluations, 5 by default, so a single noisy evaluation makes no phase; the window
shrinks symmetrically at the ends, which leaves a monotone curve unchanged):

- ``ti_solved_at``: first iteration with TI accuracy >= ``ti_solved`` (0.99);
- ``transition_at``: first iteration with TD accuracy >= ``transition`` (0.75);
  ``raw_transition_at``: the same on the raw (unsmoothed) curve;
- the jump runs from ``jump_start`` (last iteration before the transition with TD < ``jump_lo``,
  0.6) to ``jump_end`` (first iteration from the transition on with TD >= ``jump_hi``, 0.9);
  ``jump_width = jump_end - jump_start``;
- the plateau runs from ``ti_solved_at`` to ``jump_start`` (to the end if there is no transition);
  ``plateau_td`` is the mean TD accuracy on it;
- ``solved``: TD accuracy reached ``solved`` (0.99) at some iteration.

For a task without time-dependent steps (``FlipFlop-v0``) the accuracy on all steps plays the role
of the TD accuracy (``phases_from_metrics`` picks ``val_acc`` then).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ta_envs.validation import InvalidValue

from .runs import read_metrics


@dataclass(frozen=True)
class Phases:
    """Learning phases read off an evaluation log: when TI and TD accuracy were reached."""
    ti_solved_at: int | None
    plateau_start: int | None
    plateau_end: int | None
    plateau_td: float | None
    transition_at: int | None
    raw_transition_at: int | None
    jump_start: int | None
    jump_end: int | None
    jump_width: int | None
    solved: bool
    solved_at: int | None
    final_td: float | None
    final_ti: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def running_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centred running median; near the ends the window shrinks symmetrically."""
    half = max(0, (window - 1) // 2)
    n = len(x)
    out = np.empty(n)
    for i in range(n):
        h = min(half, i, n - 1 - i)
        out[i] = np.median(x[i - h : i + h + 1])
    return out


def _series(its: Sequence[int], td: Sequence[float], ti: Sequence[float]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three series as arrays, checked: 1-D, equal length, non-empty, iterations increasing."""
    it = np.asarray(its, dtype=np.int64)
    td_a = np.asarray(td, dtype=np.float64)
    ti_a = np.asarray(ti, dtype=np.float64)
    if not (it.shape == td_a.shape == ti_a.shape) or it.ndim != 1:
        raise InvalidValue(f"its, td and ti must be 1-D of equal length, got {it.shape}, "
                           f"{td_a.shape}, {ti_a.shape}")
    if len(it) == 0:
        raise InvalidValue("empty accuracy series")
    if np.any(np.diff(it) <= 0):
        raise InvalidValue("iterations must be strictly increasing")
    return it, td_a, ti_a


def _first(mask: np.ndarray) -> int | None:
    """The first index where ``mask`` holds (None: nowhere)."""
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def _jump(td: np.ndarray, i_tr: int | None, lo: float, hi: float
          ) -> tuple[int | None, int | None]:
    """``(start, end)`` indices of the jump through the transition ``i_tr``: the last point
    below ``lo`` before it (0 if none) and the first at or above ``hi`` from it."""
    if i_tr is None:
        return None, None
    below = np.flatnonzero(td[:i_tr] < lo)
    j = _first(td[i_tr:] >= hi)
    return (int(below[-1]) if below.size else 0), (None if j is None else i_tr + j)


def detect_phases(its: Sequence[int], td: Sequence[float], ti: Sequence[float], *,
                  ti_solved: float = 0.99, transition: float = 0.75, jump_lo: float = 0.6,
                  jump_hi: float = 0.9, solved: float = 0.99, window: int = 5) -> Phases:
    """Phases of one run from aligned iteration / TD accuracy / TI accuracy series."""
    it, td_a, ti_a = _series(its, td, ti)
    final_td, final_ti = float(td_a[-1]), float(ti_a[-1])
    raw_td = td_a
    td_a, ti_a = running_median(td_a, window), running_median(ti_a, window)

    i_ti = _first(ti_a >= ti_solved)
    i_tr = _first(td_a >= transition)
    i_js, i_je = _jump(td_a, i_tr, jump_lo, jump_hi)
    p_start = i_ti
    p_end = i_js if i_tr is not None else len(it) - 1
    if p_start is None or p_end is None or p_end < p_start:
        p_start = p_end = None
    i_sol = _first(td_a >= solved)
    at = lambda i: None if i is None else int(it[i])  # noqa: E731
    return Phases(
        ti_solved_at=at(i_ti),
        plateau_start=at(p_start),
        plateau_end=at(p_end),
        plateau_td=(None if p_start is None or p_end is None
                    else float(td_a[p_start : p_end + 1].mean())),
        transition_at=at(i_tr),
        raw_transition_at=at(_first(raw_td >= transition)),
        jump_start=at(i_js),
        jump_end=at(i_je),
        jump_width=None if i_je is None or i_js is None else int(it[i_je] - it[i_js]),
        solved=i_sol is not None,
        solved_at=at(i_sol),
        final_td=final_td,
        final_ti=final_ti,
    )


def phases_from_metrics(metrics: Sequence[dict[str, Any]] | str | Path, **kw: Any) -> Phases:
    """Phases from a run's ``metrics.jsonl`` (path, run directory, or parsed lines), using the
    held-out ``val_td_acc`` / ``val_ti_acc`` entries."""
    if isinstance(metrics, (str, Path)):

        p = Path(metrics)
        metrics = read_metrics(p if p.is_dir() else p.parent)
    key = "val_td_acc" if any(m.get("val_td_acc") is not None for m in metrics) else "val_acc"
    rows = [m for m in metrics if m.get(key) is not None and m.get("val_ti_acc") is not None]
    if not rows:
        raise InvalidValue("metrics have no held-out accuracy (val_td_acc or val_acc, val_ti_acc)")
    return detect_phases([m["it"] for m in rows], [m[key] for m in rows],
                         [m["val_ti_acc"] for m in rows], **kw)


def summarize(phases: Sequence[Phases], wall_per_1000: Sequence[float] = ()) -> dict[str, Any]:
    """Aggregate over seeds: counts, median and spread of the transition, plateau and jump."""

    def stats(vals: list[float]) -> dict[str, float] | None:
        if not vals:
            return None
        a = np.asarray(vals, dtype=np.float64)
        q1, med, q3 = np.percentile(a, [25, 50, 75])
        return {"median": float(med), "q1": float(q1), "q3": float(q3), "min": float(a.min()),
                "max": float(a.max()), "n": int(a.size)}

    return {
        "seeds": len(phases),
        "solved": sum(p.solved for p in phases),
        "reached_90": sum(p.jump_end is not None for p in phases),
        "transitioned": sum(p.transition_at is not None for p in phases),
        "transition_at": stats([p.transition_at for p in phases if p.transition_at is not None]),
        "plateau_td": stats([p.plateau_td for p in phases if p.plateau_td is not None]),
        "jump_width": stats([p.jump_width for p in phases if p.jump_width is not None]),
        "ti_solved_at": stats([p.ti_solved_at for p in phases if p.ti_solved_at is not None]),
        "wall_s_per_1000_it": stats(list(wall_per_1000)),
    }
