"""Fixed points of a recurrent update ``h -> F(h, u)`` under constant inputs.

One verb, :func:`find_fixed_points`, and a result object, :class:`FixedPoints`:

1. speed minimisation: Adam on ``q(h) = ½‖F(h, u) − h‖²`` from many initial states at once
   (constant learning rate, no hidden decay; the number of steps is the only stopping rule);
2. a batched float64 Levenberg–Marquardt polish of every candidate on ``F(h) − h = 0`` with exact
   Jacobians (``torch.func``);
3. acceptance only where ``‖F(h) − h‖ < tol`` (1e-10 by default, float64); candidates that fail are
   returned separately as *slow points*, never as fixed points;
4. de-duplication, Jacobian eigenvalues and a classification of each point: ``stable`` (all
   ``|λ| < 1``), ``saddle`` (some above 1; ``n_unstable`` counts them), ``unstable`` (all above 1),
   ``marginal`` (some ``|λ|`` within ``marginal_tol`` of 1); ``complex_leading`` marks a leading
   complex-conjugate pair.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

StepFn = Callable[[Tensor, Tensor], Tensor]

LABELS = ("stable", "saddle", "unstable", "marginal")


@dataclass(frozen=True, eq=False)
class FixedPoints:
    """Fixed points found under one or more constant inputs (``P`` points, state size ``S``).

    Index it like an array (``fp[fp.stability == "stable"]``, ``fp[:3]``); ``summary()`` prints a
    table; ``save``/``load`` use ``.npz`` without pickle."""

    points: np.ndarray  #: [P, S] float64
    input_index: np.ndarray  #: [P] int, which of the constant inputs the point belongs to
    inputs: np.ndarray  #: [U, I] float64, the constant inputs
    residual: np.ndarray  #: [P] ‖F(h) − h‖ (float64)
    jacobians: np.ndarray  #: [P, S, S]
    eigenvalues: np.ndarray  #: [P, S] complex128, sorted by decreasing modulus
    stability: np.ndarray  #: [P] str, one of LABELS
    n_unstable: np.ndarray  #: [P] int, eigenvalues with |λ| > 1 + marginal_tol
    complex_leading: np.ndarray  #: [P] bool
    n_found: np.ndarray  #: [P] int, converged initial states that reached the point
    slow_points: np.ndarray  #: [Q, S] candidates that did not converge (not fixed points)
    slow_input_index: np.ndarray  #: [Q]
    slow_residual: np.ndarray  #: [Q]
    tol: float

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @property
    def max_abs_eigenvalue(self) -> np.ndarray:
        """[P] spectral radius of each point's Jacobian."""
        return np.abs(self.eigenvalues[:, 0]) if len(self) else np.zeros(0)

    def __getitem__(self, idx: Any) -> FixedPoints:
        per_point = ("points", "input_index", "residual", "jacobians", "eigenvalues", "stability",
                     "n_unstable", "complex_leading", "n_found")
        if isinstance(idx, (int, np.integer)):
            idx = [int(idx)]  # keep the point axis
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in per_point:
            kw[name] = np.asarray(kw[name])[idx]
        return FixedPoints(**kw)

    def for_input(self, u: int) -> FixedPoints:
        """The points of constant input ``u``."""
        return self[self.input_index == u]

    def count(self, label: str) -> int:
        if label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, got {label!r}")
        return int((self.stability == label).sum())

    def summary(self) -> str:
        lines = [f"{len(self)} fixed points (residual < {self.tol:g}), {len(self.slow_points)} "
                 f"slow points rejected"]
        lines.append(f"{'#':>3} {'input':>5} {'stability':>9} {'unst':>4} {'|λ|max':>8} "
                     f"{'arg λ':>7} {'residual':>9} {'hits':>5}")
        for i in range(len(self)):
            lam = self.eigenvalues[i, 0]
            lines.append(f"{i:>3} {self.input_index[i]:>5} {self.stability[i]:>9} "
                         f"{self.n_unstable[i]:>4} {abs(lam):>8.4f} {np.angle(lam):>7.3f} "
                         f"{self.residual[i]:>9.1e} {self.n_found[i]:>5}")
        return "\n".join(lines)

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` (no pickled objects)."""
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}
        arrays["stability"] = arrays["stability"].astype("U8")
        path = Path(path)
        np.savez_compressed(path, **arrays)
        return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> FixedPoints:
        try:
            with np.load(path, allow_pickle=False) as z:
                kw = {f.name: z[f.name] for f in fields(cls)}
        except (OSError, ValueError, KeyError) as err:
            raise ValueError(f"{str(path)!r} is not a saved FixedPoints file: {err}") from None
        kw["tol"] = float(kw["tol"])
        return cls(**kw)


def _as_step(model_or_step: Any) -> StepFn:
    """A float64 step function from a model with ``.step`` (copied to float64) or a callable."""
    if hasattr(model_or_step, "step") and isinstance(model_or_step, torch.nn.Module):
        m = copy.deepcopy(model_or_step).double().eval()
        for p in m.parameters():
            p.requires_grad_(False)
        return m.step
    if callable(model_or_step):
        return model_or_step
    raise TypeError("expected a model with .step(h, x) or a callable step(h, x)")


def find_fixed_points(
    model_or_step: Any,
    inputs: Tensor | np.ndarray,
    initial_states: Tensor | np.ndarray,
    *,
    tol: float = 1e-10,
    adam_steps: int = 500,
    adam_lr: float = 1e-2,
    lm_steps: int = 50,
    unique_tol: float = 1e-6,
    marginal_tol: float = 1e-3,
) -> FixedPoints:
    """Fixed points of ``h -> step(h, u)`` for each constant input ``u``.

    ``inputs``: ``[U, I]`` (or ``[I]``) constant inputs; ``initial_states``: ``[N, S]`` starting
    states (e.g. from :func:`sample_states`), used for every input. Runs in float64.
    """
    step = _as_step(model_or_step)
    U = torch.as_tensor(np.asarray(inputs), dtype=torch.float64)
    if U.ndim == 1:
        U = U[None]
    H0 = torch.as_tensor(np.asarray(initial_states), dtype=torch.float64)
    if H0.ndim != 2 or U.ndim != 2:
        raise ValueError(f"inputs must be [U, I] and initial_states [N, S], got {tuple(U.shape)} "
                         f"and {tuple(H0.shape)}")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    pts, idx, res, nfound, slow, slow_idx, slow_res = [], [], [], [], [], [], []
    for u_i, u in enumerate(U):
        h = _minimise_speed(step, u, H0.clone(), adam_steps, adam_lr)
        h = _levenberg_marquardt(step, u, h, lm_steps)
        r = _residual(step, u, h)
        ok = r < tol
        good = h[ok]
        if len(good):
            reps, counts = _unique(good, unique_tol)
            pts.append(reps)
            nfound.append(counts)
            res.append(_residual(step, u, reps))
            idx.append(torch.full((len(reps),), u_i))
        bad = h[~ok & torch.isfinite(r)]
        if len(bad):
            sreps, _ = _unique(bad, max(unique_tol, 1e-4))
            slow.append(sreps)
            slow_res.append(_residual(step, u, sreps))
            slow_idx.append(torch.full((len(sreps),), u_i))
    S = H0.shape[1]
    P = torch.cat(pts) if pts else torch.zeros(0, S, dtype=torch.float64)
    idx_t = torch.cat(idx) if idx else torch.zeros(0, dtype=torch.long)
    J = _jacobians(step, U[idx_t], P) if len(P) else torch.zeros(0, S, S, dtype=torch.float64)
    ev = torch.linalg.eigvals(J).numpy() if len(P) else np.zeros((0, S), np.complex128)
    order = np.argsort(-np.abs(ev), axis=1, kind="stable")
    ev = np.take_along_axis(ev, order, axis=1)
    mod = np.abs(ev)
    n_unst = (mod > 1 + marginal_tol).sum(axis=1)
    marginal = (np.abs(mod - 1) <= marginal_tol).any(axis=1)
    label = np.where(marginal, "marginal", np.where(n_unst == 0, "stable",
                                                    np.where(n_unst == S, "unstable", "saddle")))
    lead_complex = (np.abs(ev[:, 0].imag) > 1e-12) if len(P) else np.zeros(0, bool)
    return FixedPoints(
        points=P.numpy(), input_index=idx_t.numpy(), inputs=U.numpy(),
        residual=torch.cat(res).numpy() if res else np.zeros(0),
        jacobians=J.numpy(), eigenvalues=ev, stability=label.astype("U8"),
        n_unstable=n_unst.astype(np.int64), complex_leading=lead_complex,
        n_found=torch.cat(nfound).numpy() if nfound else np.zeros(0, np.int64),
        slow_points=torch.cat(slow).numpy() if slow else np.zeros((0, S)),
        slow_input_index=torch.cat(slow_idx).numpy() if slow_idx else np.zeros(0, np.int64),
        slow_residual=torch.cat(slow_res).numpy() if slow_res else np.zeros(0),
        tol=float(tol),
    )


def _residual(step: StepFn, u: Tensor, h: Tensor) -> Tensor:
    with torch.no_grad():
        return (step(h, u.expand(len(h), -1)) - h).norm(dim=1)


def _minimise_speed(step: StepFn, u: Tensor, h: Tensor, steps: int, lr: float) -> Tensor:
    """Adam on the summed speeds (each point's gradient is its own: the terms are independent)."""
    if steps <= 0:
        return h
    h = h.clone().requires_grad_(True)
    opt = torch.optim.Adam([h], lr=lr)
    ux = u.expand(len(h), -1)
    for _ in range(steps):
        q = 0.5 * ((step(h, ux) - h) ** 2).sum()
        opt.zero_grad()
        q.backward()
        opt.step()
    return h.detach()


def _jacobians(step: StepFn, u: Tensor, h: Tensor) -> Tensor:
    """[P, S, S] Jacobians dF/dh at each (h, u) pair."""
    f = lambda hh, uu: step(hh[None], uu[None])[0]  # noqa: E731
    return torch.func.vmap(torch.func.jacrev(f, argnums=0))(h, u)


def _levenberg_marquardt(step: StepFn, u: Tensor, h: Tensor, steps: int) -> Tensor:
    """Batched damped Newton on r(h) = F(h) − h; the damping adapts per point. Each iteration works
    only on points whose residual is above float64 round-off and that are still converging: a point
    is dropped after 6 rejected steps in a row (no descent direction left), or when its cost fell
    less than 10-fold over the last 10 iterations (not in a root's basin)."""
    S = h.shape[1]
    eye = torch.eye(S, dtype=h.dtype)
    h = h.clone()
    lam = torch.full((len(h),), 1e-3, dtype=h.dtype)
    with torch.no_grad():
        r = step(h, u.expand(len(h), -1)) - h
    cost = (r**2).sum(1)
    stalls = torch.zeros(len(h), dtype=torch.long)
    alive = torch.ones(len(h), dtype=torch.bool)
    window_cost = cost.clone()
    for k in range(steps):
        if k and k % 10 == 0:
            alive &= cost < 0.1 * window_cost
            window_cost = cost.clone()
        act = torch.nonzero((cost > 1e-26 * (1 + (h**2).sum(1))) & (stalls < 6) & alive).flatten()
        if len(act) == 0:
            break
        ha, ra, ua = h[act], r[act], u.expand(len(act), -1)
        A = _jacobians(step, ua, ha) - eye
        At = A.transpose(1, 2)
        lhs = At @ A + lam[act, None, None] * eye
        delta = torch.linalg.solve(lhs, -(At @ ra[..., None]))[..., 0]
        cand = ha + torch.nan_to_num(delta, nan=0.0, posinf=0.0, neginf=0.0)
        with torch.no_grad():
            r_c = step(cand, ua) - cand
        cost_c = (r_c**2).sum(1)
        better = cost_c < cost[act]
        h[act] = torch.where(better[:, None], cand, ha)
        r[act] = torch.where(better[:, None], r_c, ra)
        cost[act] = torch.where(better, cost_c, cost[act])
        lam[act] = torch.where(better, lam[act] * 0.3, lam[act] * 10).clamp(1e-12, 1e12)
        stalls[act] = torch.where(better, 0, stalls[act] + 1)
    return h


def _unique(points: Tensor, tol: float) -> tuple[Tensor, Tensor]:
    """Greedy clustering: representatives at least ``tol`` apart (max-norm) and cluster sizes."""
    reps = points[:1].clone()
    counts = [1]
    for p in points[1:]:
        d = (reps - p).abs().amax(dim=1)
        k = int(d.argmin())
        if float(d[k]) < tol:
            counts[k] += 1
        else:
            reps = torch.cat([reps, p[None]])
            counts.append(1)
    return reps, torch.tensor(counts)


def sample_states(model: Any, inputs: Tensor | np.ndarray, n: int, noise: float = 0.0,
                  generator: torch.Generator | None = None) -> Tensor:
    """``n`` states drawn from the model's own trajectories on ``inputs [B, T, I]`` plus Gaussian
    noise of standard deviation ``noise``."""
    x = torch.as_tensor(np.asarray(inputs), dtype=next(model.parameters()).dtype)
    with torch.no_grad():
        _, states = model(x)
    flat = states.reshape(-1, states.shape[-1]).double()
    pick = torch.randint(0, len(flat), (n,), generator=generator)
    out = flat[pick]
    if noise:
        out = out + noise * torch.randn(out.shape, generator=generator, dtype=out.dtype)
    return out
