"""What a trained recurrent network keeps time with under constant input: per input symbol, the
attractors reached from its own states, classified as a stable periodic orbit (with its period), a
torus (aperiodic rotation, with its rotation number; at least one full turn in the window watched),
a slow drift (aperiodic, less than one turn: no attractor established) or fixed points only. A
fixed point is approached either as a *decaying rotation* (the slowest attracting point's leading
eigenvalue is a complex pair with |λ| < 1: the state spirals in, turning ``arg λ / 2π`` per step,
a clock that runs down over ``1 / (1 − |λ|)`` steps) or as a *contraction* (a real leading
eigenvalue: no rotation at all).

This is the suite's *mechanism* column: a score with its explanation (e.g. a minGRU's gates read
only the input, so under constant input it settles to one stable point and cannot oscillate).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from baselines.models import require_recurrent
from ta_envs import Task, make_dataset

from .fixed_points import find_fixed_points, sample_states
from .orbits import find_periodic_orbits
from .tracking import settle


def classify(model: torch.nn.Module, task: Task, *, states: int = 64, orbit_states: int = 16,
             seed: int = 0) -> dict[str, Any]:
    """``{"symbols": {sym: {...}}, "summary": "a: orbit 24; b: fixed point"}`` for each input
    symbol held constant (``task``'s one-hot or pulse inputs)."""
    rec = require_recurrent(model, "the mechanism classifier")
    gen = torch.Generator().manual_seed(seed)
    period = int(task.params.get("period") or 24)
    batch = next(make_dataset(task, batch_size=16, seq_len=2 * period, seed=seed))
    h0 = sample_states(model, batch.inputs, states, noise=0.01, generator=gen)
    inputs = np.asarray(task.obs_table, dtype=np.float64)
    big = rec.state_size > 256  # Jacobians cost S backward passes each: fewer candidates
    ends = settle(model, inputs, h0[:orbit_states], 800)  # where trajectories settle
    fp = find_fixed_points(model, inputs, torch.cat([h0, ends]), adam_steps=200,
                           far_candidates=4 if big else 32)
    # a point just inside the unit circle (|λ| < 1, "marginal") still attracts, slowly
    attracting = (fp.stability == "stable") | ((fp.stability == "marginal")
                                               & (fp.max_abs_eigenvalue < 1))
    out: dict[str, Any] = {}
    parts = []
    max_period = max(64, 2 * period + 4)
    window = 2 * max_period  # steps find_periodic_orbits watches after its transient
    for u, sym in enumerate(task.automaton.alphabet):
        orb = find_periodic_orbits(model, inputs[u : u + 1], h0[:orbit_states],
                                   max_period=max_period, transient=800)
        stable = sorted({o.period for o in orb.orbits if o.stability == "stable"})
        rot = orb.rotation_numbers
        mine = fp.input_index == u
        n_stable_fp = int((mine & attracting).sum())
        slowest = float(fp.max_abs_eigenvalue[mine & attracting].max()) if n_stable_fp else None
        if stable:
            kind, text = "orbit", "orbit " + "/".join(map(str, stable))
        elif len(rot):
            r = float(np.median(np.abs(rot)))
            if r * window >= 1:
                kind, text = "torus", f"torus (rotation {r:.3f}, ~period {1 / r:.1f})"
            else:  # less than one turn in the window: a slow drift, not a rotation
                kind, text = "drift", f"slow drift ({r * window:.2f} turns in {window} steps)"
        elif n_stable_fp:
            kind = "fixed point"
            text = ("fixed point" if n_stable_fp == 1 else f"{n_stable_fp} fixed points") + \
                f" ({approach_text(_leading(fp, mine & attracting))})"
        else:
            kind, text = "none", "no attractor found"
        out[str(sym)] = {"attractor": kind, "orbit_periods": stable,
                         "rotation": float(np.median(np.abs(rot))) if len(rot) else None,
                         "stable_fixed_points": n_stable_fp, "slowest_abs_eigenvalue": slowest,
                         "approach": (approach(_leading(fp, mine & attracting))
                                      if n_stable_fp else None),
                         "fixed_points": int((fp.input_index == u).sum())}
        parts.append(f"{sym}: {text}")
    return {"symbols": out, "summary": "; ".join(parts)}


def _leading(fp: Any, mask: np.ndarray) -> complex:
    """The leading eigenvalue of the slowest (largest |λ|max) point among ``mask``."""
    idx = np.flatnonzero(mask)
    return complex(fp.eigenvalues[idx[np.argmax(fp.max_abs_eigenvalue[idx])], 0])


def approach(lam: complex, tol: float = 1e-6) -> dict[str, Any]:
    """How trajectories approach a stable point with leading eigenvalue ``lam``: ``rotation``
    (a complex pair: ``turns`` per step, ``period`` = 1 / turns steps, ``decay`` steps =
    1 / (1 − |λ|)) or ``contraction`` (real)."""
    mod = abs(lam)
    turns = abs(float(np.angle(lam))) / (2 * np.pi)
    decay = float("inf") if mod >= 1 else 1.0 / (1.0 - mod)
    if abs(lam.imag) > tol and 0 < turns < 0.5:
        return {"kind": "rotation", "abs": mod, "turns": turns, "period": 1 / turns,
                "decay": decay}
    return {"kind": "contraction", "abs": mod, "turns": 0.0, "period": None, "decay": decay}


def approach_text(lam: complex) -> str:
    """e.g. ``decaying rotation |λ| 0.9977, ~period 24.1`` or ``contraction |λ| 0.98``."""
    a = approach(lam)
    if a["kind"] == "rotation":
        return f"decaying rotation |λ| {a['abs']:.4f}, ~period {a['period']:.1f}"
    return f"contraction |λ| {a['abs']:.4f}"
