"""Synchrony of ring oscillators: phases from cycle events, Kuramoto order parameters, the spatial
phase-correlation function and correlation length, domains and domain walls.

Phases: ring r starts a cycle when its reference neuron goes low (event times ``e_0 < e_1 < ...``);
between events the phase grows linearly, ``θ(t) = 2π (t − e_k) / (e_{k+1} − e_k)`` (``nan`` before
the first and after the last event). Lattice fields are ``[rows, cols]`` arrays of phases.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

TWO_PI = 2.0 * np.pi


def ring_phases(event_step: np.ndarray, event_ring: np.ndarray, num_rings: int,
                steps: np.ndarray) -> np.ndarray:
    """``[S, R]`` phase in ``[0, 2π)`` of each ring at the query ``steps [S]`` (one batch row's
    events: ``event_step``/``event_ring`` as recorded by
    [`baselines.rings.spiking()`][baselines.rings.spiking])."""
    steps = np.asarray(steps, dtype=np.int64)
    if len(event_step) == 0:
        return np.full((len(steps), num_rings), np.nan)
    span = int(max(event_step.max(), steps.max())) + 1
    key = np.sort(event_ring.astype(np.int64) * span + event_step)
    q = np.arange(num_rings, dtype=np.int64)[None, :] * span + steps[:, None]
    k = np.searchsorted(key, q, side="right") - 1  # last event at or before the query
    ok = (k >= 0) & (k + 1 < len(key))
    k0, k1 = np.clip(k, 0, len(key) - 1), np.clip(k + 1, 0, len(key) - 1)
    same = ok & (key[k0] // span == q // span) & (key[k1] // span == q // span)
    e0, e1 = key[k0] % span, key[k1] % span
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = TWO_PI * (steps[:, None] - e0) / (e1 - e0)
    return np.where(same, theta, np.nan)


def ring_periods(event_step: np.ndarray, event_ring: np.ndarray, num_rings: int, dt: float,
                 skip: int = 2) -> np.ndarray:
    """``[R]`` mean cycle length of each ring in time units, after ``skip`` transient cycles."""
    out = np.full(num_rings, np.nan)
    order = np.lexsort((event_step, event_ring))
    s, r = event_step[order], event_ring[order]
    bounds = np.searchsorted(r, np.arange(num_rings + 1))
    for i in range(num_rings):
        e = s[bounds[i] : bounds[i + 1]]
        if len(e) > skip + 1:
            out[i] = np.diff(e[skip:]).mean() * dt
    return out


def order_parameter(theta: np.ndarray) -> np.ndarray:
    """Kuramoto ``R = |mean_r e^{iθ_r}|`` over the last axis (``nan`` phases ignored), in [0, 1]."""
    z = np.exp(1j * np.asarray(theta))
    valid = np.isfinite(theta)
    n = valid.sum(-1)
    with np.errstate(invalid="ignore"):
        return np.abs(np.where(valid, z, 0).sum(-1)) / n


def _neighbours(field: np.ndarray) -> list[np.ndarray]:
    return [np.roll(field, s, axis=a) for a in (-2, -1) for s in (1, -1)]


def staggered(theta: np.ndarray) -> np.ndarray:
    """``θ + π (row + col)`` mod 2π for lattice phases ``[..., rows, cols]``: antiphase
    (checkerboard) order becomes uniform, so in-phase measures apply to it."""
    rows, cols = theta.shape[-2:]
    parity = np.add.outer(np.arange(rows), np.arange(cols)) % 2
    return np.mod(theta + np.pi * parity, TWO_PI)


def neighbour_locking(theta: np.ndarray) -> tuple[float, float]:
    """``(|z|, arg z)`` of ``z = mean e^{i(θ_x − θ_{x+e})}`` over sites and both axes of a lattice
    field ``[rows, cols]`` (periodic): ``|z| ≈ 1`` with ``arg z ≈ 0`` is in-phase locking,
    ``≈ ±π`` antiphase."""
    zs = [np.exp(1j * (theta - np.roll(theta, -1, axis=a))) for a in (0, 1)]
    z = np.nanmean(np.concatenate([q.ravel() for q in zs]))
    return float(np.abs(z)), float(np.angle(z))


def local_order(theta: np.ndarray) -> np.ndarray:
    """Mean over sites of ``|mean of e^{iθ}| over the site and its 4 neighbours|`` (periodic) for
    lattice phases ``[..., rows, cols]``."""
    z = np.exp(1j * theta)
    tot = z + sum(_neighbours(z))
    with warnings.catch_warnings():  # fields without any phase yet (before the first cycle)
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.abs(tot) / 5.0, axis=(-2, -1))


def phase_correlation(theta: np.ndarray, max_r: int, periodic: bool = True) -> np.ndarray:
    """``[max_r + 1]`` ``C(r) = ⟨cos(θ_x − θ_{x + r e})⟩`` over sites x and both lattice axes e
    (wrapping around when ``periodic``, else only pairs inside the lattice)."""
    theta = np.asarray(theta)
    C = np.empty(max_r + 1)
    for r in range(max_r + 1):
        vals = []
        for axis in (0, 1):
            if periodic:
                other = np.roll(theta, -r, axis=axis)
                vals.append(np.cos(theta - other).ravel())
            else:
                n = theta.shape[axis]
                a = np.take(theta, np.arange(0, n - r), axis=axis)
                b = np.take(theta, np.arange(r, n), axis=axis)
                vals.append(np.cos(a - b).ravel())
        C[r] = np.nanmean(np.concatenate(vals))
    return C


def correlation_length(C: np.ndarray, floor: float = 0.05, cap: float = np.inf) -> float:
    """ξ from ``C(r) ≈ exp(−r/ξ)``: least squares of ``−log C(r)`` on ``r`` through the origin over
    the ``r ≥ 1`` before C first drops below ``floor`` (0 if C(1) is already below ``floor``),
    at most ``cap`` (a lattice of linear size L cannot resolve ξ beyond about L: pass
    ``cap=L``; an uncapped C that never decays gives ``inf``)."""
    C = np.asarray(C, dtype=float)
    r = np.arange(len(C))
    below = np.nonzero(C[1:] < floor)[0]
    stop = 1 + below[0] if len(below) else len(C)
    sel = slice(1, stop)
    if stop <= 1:
        return 0.0
    y = -np.log(C[sel])
    if np.all(y <= 1e-12):
        return float(cap)
    return float(min(cap, (r[sel] ** 2).sum() / (r[sel] * y).sum()))


def defects(theta: np.ndarray) -> np.ndarray:
    """``[rows, cols]`` integer winding number of the phase around each plaquette (x, x + e_col,
    x + e_row + e_col, x + e_row), periodic: +1 a vortex, −1 an antivortex, 0 smooth; 0 where a
    phase is unknown. On a periodic lattice the charges sum to zero."""
    def wrap(d: np.ndarray) -> np.ndarray:
        return np.angle(np.exp(1j * d))

    a = theta
    b = np.roll(theta, -1, axis=1)
    c = np.roll(b, -1, axis=0)
    d = np.roll(theta, -1, axis=0)
    total = wrap(b - a) + wrap(c - b) + wrap(d - c) + wrap(a - d)
    w = np.rint(total / TWO_PI)
    return np.where(np.isfinite(w), w, 0).astype(int)


@dataclass(frozen=True)
class Domains:
    """Connected patches of in-phase rings: ``labels [rows, cols]`` (−1 where the phase is
    unknown), ``sizes [D]`` in rings; ``wall_fraction``: neighbour pairs more than ``wall`` apart
    in phase (out-of-phase boundaries), over all neighbour pairs."""

    labels: np.ndarray
    sizes: np.ndarray
    wall_fraction: float

    @property
    def mean_size(self) -> float:
        """Mean cluster size over time steps."""
        return float(self.sizes.mean()) if len(self.sizes) else 0.0

    @property
    def largest(self) -> int:
        """Size of the largest cluster seen."""
        return int(self.sizes.max()) if len(self.sizes) else 0


def _phase_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(np.angle(np.exp(1j * (a - b))))


def domains(theta: np.ndarray, tol: float = np.pi / 4, wall: float = np.pi / 2) -> Domains:
    """Domains: rings joined to a lattice neighbour (periodic) whose phase is within ``tol``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows, cols = theta.shape
    idx = np.arange(rows * cols).reshape(rows, cols)
    valid = np.isfinite(theta)
    src, dst = [], []
    gaps = []
    for axis in (0, 1):
        nb_t, nb_i = np.roll(theta, -1, axis=axis), np.roll(idx, -1, axis=axis)
        gap = _phase_gap(theta, nb_t)
        ok = valid & np.roll(valid, -1, axis=axis)
        gaps.append(gap[ok])
        join = ok & (gap <= tol)
        src.append(idx[join])
        dst.append(nb_i[join])
    s, d = np.concatenate(src), np.concatenate(dst)
    graph = coo_matrix((np.ones(len(s)), (s, d)), shape=(rows * cols, rows * cols))
    _, lab = connected_components(graph, directed=False)
    lab = np.where(valid.ravel(), lab, -1)
    uniq, sizes = np.unique(lab[lab >= 0], return_counts=True)
    remap = np.full(lab.max() + 2, -1)
    remap[uniq] = np.arange(len(uniq))
    labels = remap[lab].reshape(rows, cols)
    allg = np.concatenate(gaps)
    return Domains(labels, sizes, float((allg > wall).mean()) if len(allg) else 0.0)
