"""What kind of bifurcation each loss of stability in a [`Tracking`][analysis.tracking.Tracking] is.

A *loss of stability* is a checkpoint where the tracked fixed point of a symbol, stable at the
previous checkpoint, is unstable or gone (no fixed point within ``JUMP`` of its last position:
continuation then resumes on another branch; a fixed point that is the only one before and after
is the same branch however far it moved). Its type, from the tracked eigenvalues and the attractors
around it (standard normal forms of maps):

- **Neimark-Sacker**: the point survives, and the eigenvalues that left the unit circle are a
  complex pair (``|arg λ|`` away from 0 and π); an invariant circle (a torus, or a locked periodic
  orbit) is born. Its rotation per step at birth is close to ``arg λ / 2π``.
- **period doubling**: the point survives and a real eigenvalue left through −1; a period-2 orbit
  appears.
- **pitchfork**: the point survives, a real eigenvalue left through +1, and two new fixed points
  appear (the symmetric branches).
- **saddle-node**: the point is gone (no fixed point near its last position) and the number of
  fixed points fell: a stable point and a saddle collided, its last eigenvalue real and near +1.
- **jump** (not a bifurcation of the tracked point): the point is gone but the number of fixed
  points did not fall, so continuation moved to another branch between checkpoints; kept apart
  from the losses of stability proper.
- anything else is ``other`` (the point survives, a real eigenvalue crossed +1, and no pair of
  new points appeared).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .tracking import Tracking

KINDS = ("neimark-sacker", "period-doubling", "pitchfork", "saddle-node", "other", "jump")
#: Type of a bifurcation with no tracked loss of stability at its checkpoint.
UNTRACKED = "untracked"
#: One-line definition of each kind, for reports.
DEFINITIONS = {
    "neimark-sacker": "a complex pair of eigenvalues left the unit circle; a torus or locked orbit "
                      "was born",
    "period-doubling": "a real eigenvalue left through -1; a period-2 orbit appeared",
    "pitchfork": "a real eigenvalue left through +1 and two new fixed points appeared",
    "saddle-node": "the stable point collided with a saddle and both vanished",
    "other": "a real eigenvalue left through +1 with no new pair of points",
    "jump": "the tracked point vanished while the count of fixed points did not fall: tracking "
            "moved to another branch (not a loss of stability)",
    "untracked": "the last stable point that vanished was not the tracked one; type unknown",
}
#: A tracked point that moved farther than this (max-norm) between checkpoints is another branch.
JUMP = 0.25
#: Below this |arg λ| (or above π minus it) an eigenvalue counts as real.
REAL_ARG = 0.05


@dataclass(frozen=True)
class StabilityLoss:
    """One loss of stability of a tracked fixed point and its type."""

    symbol: int
    iteration: int  #: first checkpoint where the tracked point is unstable or gone
    kind: str  #: one of KINDS
    eigenvalue_before: complex  #: leading eigenvalue at the last stable checkpoint
    eigenvalue_after: complex | None  #: leading eigenvalue after (None: the point is gone)
    fixed_before: int
    fixed_after: int
    attractor_after: str  #: orbit / torus / fixed / none, within ``window`` checkpoints
    rotation_at_birth: float | None  #: turns per step of the born torus (or 1/period of the orbit)
    predicted_rotation: float | None  #: |arg λ| / 2π of the eigenvalue that crossed
    winding_estimate: float | None  #: |arg λ| · P / 2π (the m of a ring turned m times a period)
    permanent: bool  #: the tracked point never becomes stable again

    def to_dict(self) -> dict[str, Any]:
        """Plain data (complex numbers as ``[abs, arg]``)."""
        d = asdict(self)
        for k in ("eigenvalue_before", "eigenvalue_after"):
            z = d[k]
            d[k] = None if z is None else [abs(z), float(np.angle(z))]
        return d


def _kind(lam_b: complex, lam_a: complex | None, gone: bool, d_fixed: int) -> str:
    if gone:
        return "saddle-node" if d_fixed < 0 else "jump"
    assert lam_a is not None
    arg = abs(np.angle(lam_a))
    if REAL_ARG < arg < np.pi - REAL_ARG:
        return "neimark-sacker"
    if arg >= np.pi - REAL_ARG:
        return "period-doubling"
    return "pitchfork" if d_fixed >= 2 else "other"


def losses_of_stability(tr: Tracking, window: int = 3) -> list[StabilityLoss]:
    """Every loss of stability in ``tr``, in order, each classified (see the module).

    Args:
        tr: a tracking of a run's checkpoints.
        window: checkpoints after a loss in which the attractor that replaced it is looked for.

    Returns:
        The losses, by iteration then symbol; tracking jumps have kind ``"jump"``.
    """
    C, U = tr.n_fixed.shape
    out = [_loss(tr, u, c, window) for u in range(U) for c in range(1, C) if _lost(tr, u, c)]
    out.sort(key=lambda s: (s.iteration, s.symbol))
    return out


def _gone(tr: Tracking, u: int, c: int) -> bool:
    """The tracked branch of symbol ``u`` vanished between checkpoints ``c - 1`` and ``c``. A
    unique fixed point before and after is the same branch however far it moved (early in
    training one step of the weights moves it a lot); otherwise a jump farther than `JUMP` means
    the branch vanished and continuation went elsewhere."""
    unique = tr.n_fixed[c - 1, u] == 1 and tr.n_fixed[c, u] == 1
    return (not np.isfinite(tr.eigenvalues[c, u, 0]) or not np.isfinite(tr.tracked_jump[c, u])
            or (tr.tracked_jump[c, u] > JUMP and not unique))


def _lost(tr: Tracking, u: int, c: int) -> bool:
    """The tracked point of symbol ``u`` was stable at ``c - 1`` and is not (or is gone) at ``c``."""
    return bool(tr.tracked_stable[c - 1, u]) and \
        (not tr.tracked_stable[c, u] or _gone(tr, u, c))


def _rotation_after(tr: Tracking, u: int, c: int, window: int) -> float | None:
    """The rotation number of the attractor within ``window`` checkpoints from ``c``: a measured
    torus rotation, or one over the shortest orbit period."""
    for k in range(c, min(tr.n_fixed.shape[0], c + window)):
        if np.isfinite(tr.rotation[k, u]):
            return float(tr.rotation[k, u])
        if tr.orbit_periods[k][u]:
            return 1.0 / min(tr.orbit_periods[k][u])
    return None


def _loss(tr: Tracking, u: int, c: int, window: int) -> StabilityLoss:
    """The loss of stability of symbol ``u``'s tracked point at checkpoint ``c``, classified."""
    gone = _gone(tr, u, c)
    lam_b = complex(tr.eigenvalues[c - 1, u, 0])
    lam_a = None if gone else complex(tr.eigenvalues[c, u, 0])
    d_fixed = int(tr.n_fixed[c, u] - tr.n_fixed[c - 1, u])
    seen = [tr.attractor(k, u) for k in range(c, min(tr.n_fixed.shape[0], c + window))]
    attractor = next((a for a in ("orbit", "torus") if a in seen), seen[0])
    arg = None if lam_a is None else abs(float(np.angle(lam_a)))
    pred = None if arg is None else arg / (2 * np.pi)
    m_est = None if arg is None or not tr.period else arg * tr.period / (2 * np.pi)
    return StabilityLoss(u, int(tr.iterations[c]), _kind(lam_b, lam_a, gone, d_fixed), lam_b,
                         lam_a, int(tr.n_fixed[c - 1, u]), int(tr.n_fixed[c, u]), attractor,
                         _rotation_after(tr, u, c, window), pred, m_est,
                         not tr.tracked_stable[c:, u].any())


def bifurcation_loss(tr: Tracking, losses: list[StabilityLoss]) -> StabilityLoss | None:
    """The loss of stability behind
    [`Tracking.bifurcation_at()`][analysis.tracking.Tracking.bifurcation_at]: the tracked
    point of that
    symbol losing stability at the bifurcation checkpoint itself. None when there is no
    bifurcation, or when the last stable point to vanish there was not the tracked one (the type
    is then `UNTRACKED`)."""
    bif = tr.bifurcation_at()
    if bif is None:
        return None
    u = next(u for u in range(len(tr.symbols)) if tr.stable_points_lost_at(u) == bif)
    cand = [s for s in losses if s.symbol == u and s.iteration == bif and s.kind != "jump"]
    return cand[-1] if cand else None


def bifurcation_kind(tr: Tracking, losses: list[StabilityLoss]) -> str | None:
    """The type of [`Tracking.bifurcation_at()`][analysis.tracking.Tracking.bifurcation_at] (None: no
    bifurcation;
    `UNTRACKED`).

    Args:
        tr: a tracking.
        losses: its `losses_of_stability`.

    Returns:
        The kind of the tracked loss at the bifurcation checkpoint, `UNTRACKED`, or None.
    """
    if tr.bifurcation_at() is None:
        return None
    loss = bifurcation_loss(tr, losses)
    return UNTRACKED if loss is None else loss.kind


def counts(losses: list[StabilityLoss]) -> dict[str, int]:
    """How many losses of each kind."""
    return {k: sum(s.kind == k for s in losses) for k in KINDS}
