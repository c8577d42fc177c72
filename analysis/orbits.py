"""Periodic orbits of ``h -> F(h, u)`` under a constant input, or under a periodic input sequence.

`find_periodic_orbits()` simulates the initial states past a transient, takes each trajectory's
smallest recurrence period (``2..max_period``) as a candidate, refines the whole cycle by damped
multiple-shooting Newton on ``F(x_j) = x_{j+1 mod p}`` in float64 (single shooting on
``F^p(x_0) = x_0`` with the monodromy matrix when ``p·S > 1024``), accepts it when every residual is
below ``tol``, replaces a period by its true (divisor) period when the refined cycle repeats sooner,
computes the Floquet multipliers (eigenvalues of the monodromy ``J_{p-1} ... J_0``) and removes
duplicates up to cyclic shift. Trajectories with no period are reported with their rotation number
(mean turning per step, in turns, in the plane of their two leading principal components; an
estimate with O(1/T) error over the 2·max_period recorded steps), the signature of a torus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ta_envs.validation import InvalidValue

from .maps import StepFn, as_step, jacobians

#: Largest multiple-shooting system (p·S unknowns) solved densely; longer cycles use single shooting.
MULTIPLE_SHOOTING_MAX = 1024


@dataclass(frozen=True, eq=False)
class PeriodicOrbit:
    """One cycle: ``points[j+1] = F(points[j])`` (cyclically)."""

    period: int
    points: np.ndarray  #: [p, S] float64
    input_index: int
    residual: float  #: max_j ‖F(x_j) − x_{j+1}‖
    multipliers: np.ndarray  #: [S] complex, Floquet multipliers by decreasing modulus
    stability: str  #: "stable" (all |μ| < 1), "unstable", or "marginal" (some |μ| ≈ 1)


@dataclass(frozen=True, eq=False)
class Orbits:
    """Periodic orbits found under one input: the orbits and how many starts converged to none."""
    orbits: list[PeriodicOrbit]
    rotation_numbers: np.ndarray  #: [R] for trajectories without a period (quasi-periodic)
    rotation_input_index: np.ndarray  #: [R]

    def __len__(self) -> int:
        return len(self.orbits)

    def periods(self) -> list[int]:
        """The period of each orbit, in steps."""
        return [o.period for o in self.orbits]

    def summary(self) -> str:
        """One line: how many orbits of which periods."""
        rot = np.median(self.rotation_numbers) if len(self.rotation_numbers) else float("nan")
        lines = [f"{len(self)} periodic orbits; {len(self.rotation_numbers)} aperiodic "
                 f"trajectories (median rotation number {rot:.4f})"]
        for i, o in enumerate(self.orbits):
            lines.append(f"{i:>3} input {o.input_index} period {o.period:>3} {o.stability:>8} "
                         f"|μ|max {abs(o.multipliers[0]):.4f} residual {o.residual:.1e}")
        return "\n".join(lines)


def _simulate(step: Any, seq: Tensor, h: Tensor, n: int) -> Tensor:
    """[n, N, S] states after each of n steps; step t reads ``seq[t mod q]`` (``seq [q, I]``)."""
    out = []
    q = len(seq)
    with torch.no_grad():
        for t in range(n):
            h = step(h, seq[t % q].expand(len(h), -1))
            out.append(h)
    return torch.stack(out)


def _refine(step: Any, ux: Tensor, x: Tensor, steps: int) -> tuple[Tensor, float]:
    """Refine the cycle ``x [p, S]`` (``x_{j+1} = F(x_j, ux_j)``, ``ux [p, I]``); returns (cycle,
    max residual). Multiple shooting while the system is small (``p·S <= MULTIPLE_SHOOTING_MAX``),
    single shooting beyond."""
    if x.shape[0] * x.shape[1] > MULTIPLE_SHOOTING_MAX:
        return _refine_single(step, ux, x, steps)
    return _refine_multiple(step, ux, x, steps)


def _cycle_residual(step: Any, ux: Tensor, x: Tensor) -> Tensor:
    with torch.no_grad():
        return step(x, ux) - torch.roll(x, -1, dims=0)


def _levenberg_marquardt(x: Tensor, residual: Any, solve: Any, steps: int) -> Tensor:
    """Damped Gauss-Newton on ``residual(x) = 0``: ``solve(x, r, lam)`` returns the step; the
    damping ``lam`` shrinks after an accepted step and grows after a rejected one."""
    r = residual(x)
    cost, lam = float((r**2).sum()), 1e-6
    for _ in range(steps):
        if cost < 1e-28:
            break
        cand = x + solve(x, r, lam)
        r_c = residual(cand)
        cost_c = float((r_c**2).sum())
        if cost_c < cost:
            x, r, cost, lam = cand, r_c, cost_c, max(lam * 0.3, 1e-15)
        else:
            lam *= 10
            if lam > 1e8:
                break
    return x


def _refine_single(step: Any, ux: Tensor, x: Tensor, steps: int) -> tuple[Tensor, float]:
    """Single shooting on ``F^p(x_0) = x_0`` with the monodromy matrix (an ``S x S`` system;
    well conditioned for the attracting or weakly repelling cycles that simulation finds)."""
    p, S = x.shape
    eye = torch.eye(S, dtype=x.dtype)

    def orbit(x0: Tensor) -> Tensor:
        pts = [x0]
        with torch.no_grad():
            for j in range(p):
                pts.append(step(pts[-1][None], ux[j : j + 1])[0])
        return torch.stack(pts)  # [p + 1, S]

    def solve(x0: Tensor, r: Tensor, lam: float) -> Tensor:
        J = jacobians(step, ux, orbit(x0)[:-1])
        M = eye
        for j in range(p):
            M = J[j] @ M
        A = M - eye
        return torch.linalg.solve(A.T @ A + lam * eye, -(A.T @ r))

    def closing(x0: Tensor) -> Tensor:
        o = orbit(x0)
        return o[-1] - o[0]

    x0 = _levenberg_marquardt(x[0], closing, solve, steps)
    pts = orbit(x0)[:-1]
    return pts, float(_cycle_residual(step, ux, pts).norm(dim=1).max())


def _refine_multiple(step: Any, ux: Tensor, x: Tensor, steps: int) -> tuple[Tensor, float]:
    """Multiple shooting on ``F(x_j, ux_j) = x_{j+1 mod p}`` (a ``p·S`` system)."""
    p, S = x.shape
    eye = torch.eye(S, dtype=x.dtype)

    def solve(xx: Tensor, r: Tensor, lam: float) -> Tensor:
        J = jacobians(step, ux, xx)  # [p, S, S]
        A = torch.zeros(p * S, p * S, dtype=x.dtype)
        for j in range(p):
            A[j * S : (j + 1) * S, j * S : (j + 1) * S] = J[j]
            k = (j + 1) % p
            A[j * S : (j + 1) * S, k * S : (k + 1) * S] -= eye
        At = A.T
        return torch.linalg.solve(At @ A + lam * torch.eye(p * S, dtype=x.dtype),
                                  -(At @ r.reshape(-1))).reshape(p, S)

    x = _levenberg_marquardt(x, lambda xx: _cycle_residual(step, ux, xx), solve, steps)
    return x, float(_cycle_residual(step, ux, x).norm(dim=1).max())


def _converging(traj: Tensor, ratio: float = 0.97) -> bool:
    """Whether ``traj [T, S]`` still contracts: the spread of its second half is below ``ratio``
    times that of its first half (a slow approach to a fixed point, not a torus)."""
    half = len(traj) // 2
    a, b = traj[:half], traj[half:]
    s1 = (a - a.mean(0)).norm(dim=1).max()
    s2 = (b - b.mean(0)).norm(dim=1).max()
    return bool(s2 < ratio * s1)


def _rotation_number(traj: Tensor) -> float:
    """Mean signed turning per step, in turns, in the plane of the two leading principal
    components of ``traj [T, S]``."""
    z = traj - traj.mean(0)
    _, _, v = torch.linalg.svd(z, full_matrices=False)
    xy = z @ v[:2].T
    ang = torch.atan2(xy[:, 1], xy[:, 0])
    d = torch.remainder(ang[1:] - ang[:-1] + np.pi, 2 * np.pi) - np.pi
    return float(d.mean() / (2 * np.pi))


def find_periodic_orbits(
    model_or_step: Any,
    inputs: Tensor | np.ndarray,
    initial_states: Tensor | np.ndarray,
    *,
    periodic_input: bool = False,
    max_period: int = 64,
    transient: int = 1000,
    recurrence_tol: float = 1e-6,
    tol: float = 1e-10,
    newton_steps: int = 30,
    marginal_tol: float = 1e-3,
) -> Orbits:
    """Periodic orbits (period up to ``max_period``) reached from ``initial_states [N, S]``.

    ``periodic_input=False``: each row of ``inputs [U, I]`` is held constant in turn (period >= 2;
    fixed points are `find_fixed_points()`' job). ``periodic_input=True``: ``inputs [q, I]``
    is one input sequence applied cyclically (step t reads row ``t mod q``); the orbits then have
    periods that are multiples of q, and ``points[0]`` is the state at input phase 0.

    Args:
        model_or_step: a model with the recurrent interface, or a callable ``step(h, x)``.
        inputs: ``[U, I]`` constant inputs, or one ``[q, I]`` periodic input sequence.
        initial_states: ``[N, S]`` starting states.
        periodic_input: read ``inputs`` as one periodic sequence.
        max_period: the longest period searched.
        transient: steps run before looking for a recurrence.
        recurrence_tol: a state this close to one ``p`` steps earlier closes an orbit.
        tol: Newton's residual for an exact orbit.
        newton_steps: Newton steps on the period-``p`` map.
        marginal_tol: Floquet multipliers within this of 1 are marginal.

    Returns:
        The distinct orbits: points, periods, Floquet multipliers, stability and hits.

    Raises:
        TypeError: a model without the recurrent interface.
        ValueError: bad shapes or settings.
    """
    step = as_step(model_or_step, "find_periodic_orbits")
    drives, H0 = _drives(inputs, initial_states, periodic_input, max_period)
    orbits: list[PeriodicOrbit] = []
    rots, rot_idx = [], []
    for ui, seq in enumerate(drives):
        q = len(seq)
        warm = -(-transient // q) * q  # a whole number of input periods: phase 0 again
        h = _simulate(step, seq, H0, warm)[-1] if warm else H0
        traj = _simulate(step, seq, h, 2 * max_period + 1)  # traj[i]: after step i (seq[i % q])
        last = traj[-1]
        lags = np.arange(q, max_period + 1, q)  # only whole input periods can close a cycle
        dist = (traj[-1 - lags] - last).abs().amax(-1)  # [len(lags), N]
        scale = 1 + last.abs().amax(-1)
        for n in range(len(H0)):
            hits = torch.nonzero(dist[:, n] < recurrence_tol * scale[n]).flatten()
            if len(hits) == 0:
                if _quasi_periodic(traj[:, n], q, recurrence_tol):
                    rots.append(_rotation_number(traj[:, n]))
                    rot_idx.append(ui)
                continue
            known = [o for o in orbits if o.input_index == ui]
            orbit = _closed_orbit(step, seq, traj[:, n], int(lags[int(hits[0])]), ui, known,
                                  float(scale[n]), tol, newton_steps, marginal_tol)
            if orbit is not None:
                orbits.append(orbit)
    return Orbits(orbits, np.asarray(rots), np.asarray(rot_idx, dtype=np.int64))


def _drives(inputs: Tensor | np.ndarray, initial_states: Tensor | np.ndarray,
            periodic_input: bool, max_period: int) -> tuple[list[Tensor], Tensor]:
    """`find_periodic_orbits`' input sequences (``[q, I]`` each) and initial states, checked."""
    U = torch.as_tensor(np.asarray(inputs), dtype=torch.float64)
    U = U[None] if U.ndim == 1 else U
    H0 = torch.as_tensor(np.asarray(initial_states), dtype=torch.float64)
    if U.ndim != 2 or H0.ndim != 2:
        raise InvalidValue(f"inputs must be [U, I] and initial_states [N, S], got {tuple(U.shape)} "
                         f"and {tuple(H0.shape)}")
    drives = [U] if periodic_input else [U[i : i + 1] for i in range(len(U))]
    if periodic_input and len(U) > max_period:
        raise InvalidValue(f"max_period ({max_period}) must be >= the input period ({len(U)})")
    return drives, H0


def _quasi_periodic(traj: Tensor, q: int, recurrence_tol: float) -> bool:
    """A trajectory ``[n, S]`` that closed no orbit: neither settled on a fixed point (of the
    ``q``-step map) nor still converging, so it is measured as a rotation."""
    settled = bool((traj[-1] - traj[-1 - q]).abs().max() < recurrence_tol)
    return not settled and not _converging(traj)


def _closed_orbit(step: StepFn, seq: Tensor, traj: Tensor, p: int, ui: int,
                  known: list[PeriodicOrbit], scale: float, tol: float, newton_steps: int,
                  marginal_tol: float) -> PeriodicOrbit | None:
    """The orbit of period ``p`` that trajectory ``traj [n_rec + 1, S]`` closed, refined by
    Newton and reduced to its true period; None for a fixed point, a known orbit or a cycle
    Newton does not make exact."""
    if p == 1:
        return None
    q, n_rec = len(seq), len(traj)
    # cyc[j] = state before step n_rec - p + j; rotate so that cyc[0] sits at phase 0
    cyc = torch.roll(traj[-p - 1 : -1], -((-(n_rec - p)) % q), dims=0)
    ux = seq[torch.arange(p) % q]
    if any(_same_cycle(cyc, o.points, o.period, q) for o in known):
        return None
    cyc, res = _refine(step, ux, cyc, newton_steps)
    if res >= tol:
        return None
    for d in range(q, p, q):  # the true period may divide p (and is a multiple of q)
        if p % d == 0 and float((cyc[d] - cyc[0]).abs().max()) < 1e-8 * scale:
            cyc, p, ux = cyc[:d], d, ux[:d]
            break
    if p == 1 or any(_same_cycle(cyc, o.points, o.period, q) for o in known):
        return None
    mu, label = _floquet(step, ux, cyc, marginal_tol)
    return PeriodicOrbit(p, cyc.numpy(), ui, res, mu, label)


def _floquet(step: StepFn, ux: Tensor, cyc: Tensor, marginal_tol: float
             ) -> tuple[np.ndarray, str]:
    """The Floquet multipliers of cycle ``cyc [p, S]`` under inputs ``ux [p, I]`` (by decreasing
    modulus) and its stability label."""
    J = jacobians(step, ux, cyc)
    M = torch.eye(cyc.shape[1], dtype=cyc.dtype)
    for j in range(len(cyc)):
        M = J[j] @ M
    mu = torch.linalg.eigvals(M).numpy()
    mu = mu[np.argsort(-np.abs(mu), kind="stable")]
    mod = np.abs(mu)
    label = ("marginal" if (np.abs(mod - 1) <= marginal_tol).any()
             else "stable" if mod[0] < 1 else "unstable")
    return mu, label


def _same_cycle(cyc: Tensor, points: np.ndarray, period: int, q: int = 1, tol: float = 1e-6
                ) -> bool:
    """Whether ``cyc`` is the stored cycle up to a cyclic shift by whole input periods ``q`` (it
    contains the stored first point at a phase-0 position)."""
    if len(cyc) % period and period % len(cyc):
        return False
    ref = torch.as_tensor(points[0])
    return bool(((cyc[::q] - ref).abs().amax(-1) < tol * (1 + ref.abs().max())).any())
