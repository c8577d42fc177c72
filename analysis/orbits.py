"""Periodic orbits of ``h -> F(h, u)`` under a constant input.

:func:`find_periodic_orbits` simulates the initial states past a transient, takes each trajectory's
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

from .fixed_points import _as_step, _jacobians

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
    orbits: list[PeriodicOrbit]
    rotation_numbers: np.ndarray  #: [R] for trajectories without a period (quasi-periodic)
    rotation_input_index: np.ndarray  #: [R]

    def __len__(self) -> int:
        return len(self.orbits)

    def periods(self) -> list[int]:
        return [o.period for o in self.orbits]

    def summary(self) -> str:
        rot = np.median(self.rotation_numbers) if len(self.rotation_numbers) else float("nan")
        lines = [f"{len(self)} periodic orbits; {len(self.rotation_numbers)} aperiodic "
                 f"trajectories (median rotation number {rot:.4f})"]
        for i, o in enumerate(self.orbits):
            lines.append(f"{i:>3} input {o.input_index} period {o.period:>3} {o.stability:>8} "
                         f"|μ|max {abs(o.multipliers[0]):.4f} residual {o.residual:.1e}")
        return "\n".join(lines)


def _simulate(step: Any, u: Tensor, h: Tensor, n: int) -> Tensor:
    """[n, N, S] states after each of n steps."""
    out = []
    ux = u.expand(len(h), -1)
    with torch.no_grad():
        for _ in range(n):
            h = step(h, ux)
            out.append(h)
    return torch.stack(out)


def _refine(step: Any, u: Tensor, x: Tensor, steps: int) -> tuple[Tensor, float]:
    """Refine the cycle ``x [p, S]``; returns (cycle, max residual). Multiple shooting while the
    system is small (``p·S <= MULTIPLE_SHOOTING_MAX``), single shooting beyond."""
    if x.shape[0] * x.shape[1] > MULTIPLE_SHOOTING_MAX:
        return _refine_single(step, u, x, steps)
    return _refine_multiple(step, u, x, steps)


def _cycle_residual(step: Any, u: Tensor, x: Tensor) -> Tensor:
    with torch.no_grad():
        return step(x, u.expand(len(x), -1)) - torch.roll(x, -1, dims=0)


def _refine_single(step: Any, u: Tensor, x: Tensor, steps: int) -> tuple[Tensor, float]:
    """Damped single-shooting Newton on ``F^p(x_0) = x_0`` with the monodromy matrix (an
    ``S x S`` system; well conditioned for the attracting or weakly repelling cycles that
    simulation finds)."""
    p, S = x.shape
    eye = torch.eye(S, dtype=x.dtype)

    def orbit(x0: Tensor) -> tuple[Tensor, Tensor]:
        pts = [x0]
        with torch.no_grad():
            for _ in range(p):
                pts.append(step(pts[-1][None], u[None])[0])
        return torch.stack(pts[:-1]), pts[-1] - x0

    pts, r = orbit(x[0])
    cost = float((r**2).sum())
    lam = 1e-6
    for _ in range(steps):
        if cost < 1e-28:
            break
        J = _jacobians(step, u.expand(p, -1), pts)
        M = eye
        for j in range(p):
            M = J[j] @ M
        A = M - eye
        delta = torch.linalg.solve(A.T @ A + lam * eye, -(A.T @ r))
        cand_pts, r_c = orbit(pts[0] + delta)
        cost_c = float((r_c**2).sum())
        if cost_c < cost:
            pts, r, cost, lam = cand_pts, r_c, cost_c, max(lam * 0.3, 1e-15)
        else:
            lam *= 10
            if lam > 1e8:
                break
    return pts, float(_cycle_residual(step, u, pts).norm(dim=1).max())


def _refine_multiple(step: Any, u: Tensor, x: Tensor, steps: int) -> tuple[Tensor, float]:
    """Damped multiple-shooting Newton on ``F(x_j) = x_{j+1 mod p}`` (a ``p·S`` system)."""
    p, S = x.shape
    ux = u.expand(p, -1)
    eye = torch.eye(S, dtype=x.dtype)
    lam = 1e-6

    def res(xx: Tensor) -> Tensor:
        with torch.no_grad():
            return step(xx, ux) - torch.roll(xx, -1, dims=0)

    r = res(x)
    cost = float((r**2).sum())
    for _ in range(steps):
        if cost < 1e-28:
            break
        J = _jacobians(step, ux, x)  # [p, S, S]
        A = torch.zeros(p * S, p * S, dtype=x.dtype)
        for j in range(p):
            A[j * S : (j + 1) * S, j * S : (j + 1) * S] = J[j]
            k = (j + 1) % p
            A[j * S : (j + 1) * S, k * S : (k + 1) * S] -= eye
        At = A.T
        delta = torch.linalg.solve(At @ A + lam * torch.eye(p * S, dtype=x.dtype),
                                   -(At @ r.reshape(-1)))
        cand = x + delta.reshape(p, S)
        r_c = res(cand)
        cost_c = float((r_c**2).sum())
        if cost_c < cost:
            x, r, cost, lam = cand, r_c, cost_c, max(lam * 0.3, 1e-15)
        else:
            lam *= 10
            if lam > 1e8:
                break
    return x, float(r.norm(dim=1).max())


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
    max_period: int = 64,
    transient: int = 1000,
    recurrence_tol: float = 1e-6,
    tol: float = 1e-10,
    newton_steps: int = 30,
    marginal_tol: float = 1e-3,
) -> Orbits:
    """Periodic orbits (period 2..``max_period``) reached from ``initial_states [N, S]`` under each
    constant input (``[U, I]``); fixed points (period 1) are :func:`find_fixed_points`' job."""
    step = _as_step(model_or_step)
    U = torch.as_tensor(np.asarray(inputs), dtype=torch.float64)
    U = U[None] if U.ndim == 1 else U
    H0 = torch.as_tensor(np.asarray(initial_states), dtype=torch.float64)
    orbits: list[PeriodicOrbit] = []
    rots, rot_idx = [], []
    for ui, u in enumerate(U):
        h = _simulate(step, u, H0, transient)[-1] if transient else H0
        traj = _simulate(step, u, h, 2 * max_period + 1)  # [2m+1, N, S]
        last = traj[-1]
        dist = (traj[-1 - np.arange(1, max_period + 1)] - last).abs().amax(-1)  # [m, N]
        scale = 1 + last.abs().amax(-1)
        for n in range(len(H0)):
            hits = torch.nonzero(dist[:, n] < recurrence_tol * scale[n]).flatten()
            if len(hits) == 0:
                if not bool((traj[-1, n] - traj[-2, n]).abs().max() < recurrence_tol):
                    rots.append(_rotation_number(traj[:, n]))
                    rot_idx.append(ui)
                continue
            p = int(hits[0]) + 1
            if p == 1:
                continue
            cyc = traj[-p:, n]  # consecutive states: cyc[j+1] = F(cyc[j])
            if any(_same_cycle(cyc, o.points, o.period) for o in orbits if o.input_index == ui):
                continue
            cyc, res = _refine(step, u, cyc, newton_steps)
            if res >= tol:
                continue
            for d in range(1, p):  # the true period may divide p
                if p % d == 0 and float((cyc[d] - cyc[0]).abs().max()) < 1e-8 * float(scale[n]):
                    cyc, p = cyc[:d], d
                    break
            if p == 1 or any(_same_cycle(cyc, o.points, o.period) for o in orbits
                             if o.input_index == ui):
                continue
            J = _jacobians(step, u.expand(p, -1), cyc)
            M = torch.eye(cyc.shape[1], dtype=cyc.dtype)
            for j in range(p):
                M = J[j] @ M
            mu = torch.linalg.eigvals(M).numpy()
            mu = mu[np.argsort(-np.abs(mu), kind="stable")]
            mod = np.abs(mu)
            label = ("marginal" if (np.abs(mod - 1) <= marginal_tol).any()
                     else "stable" if mod[0] < 1 else "unstable")
            orbits.append(PeriodicOrbit(p, cyc.numpy(), ui, res, mu, label))
    return Orbits(orbits, np.asarray(rots), np.asarray(rot_idx, dtype=np.int64))


def _same_cycle(cyc: Tensor, points: np.ndarray, period: int, tol: float = 1e-6) -> bool:
    """Whether ``cyc`` is the stored cycle up to cyclic shift (it contains its first point)."""
    if len(cyc) % period and period % len(cyc):
        return False
    ref = torch.as_tensor(points[0])
    return bool(((cyc - ref).abs().amax(-1) < tol * (1 + ref.abs().max())).any())
