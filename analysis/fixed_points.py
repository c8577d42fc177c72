"""Fixed points of a recurrent update ``h -> F(h, u)`` under constant inputs.

One verb, `find_fixed_points()`, and a result object, `FixedPoints`:

1. speed minimisation: Adam on ``q(h) = ½‖F(h, u) − h‖²`` from many initial states at once; each
   state stops as soon as its ``q`` is below ``q_stop`` (Newton takes over) or stalls (its ``q``
   did not halve over the last 50 steps: a slow point, a far basin, or Adam's noise floor); the
   gradient is in closed form for a model with ``step_speed_grad`` (tanh RNN, GRU, LSTM), else
   autograd's;
2. candidates with ``q < q_polish`` are clustered (the many states that reach one point polish
   once), then polished by a batched float64 Levenberg–Marquardt on ``F(h) − h = 0`` with exact
   Jacobians; of the states Adam left farther away, at most ``far_candidates`` (1,024 by default; after
   clustering, half with the lowest ``q`` and half farthest from every state already picked) get
   a short Newton attempt that continues only while it converges (Newton finds the far fixed
   points of nearly linear maps in a few steps, where Adam crawls); the rest
   are *slow points*, with no Jacobian work spent on them;
3. a point is accepted only when it is an **isolated root**: ``‖F(h) − h‖ < tol`` (1e-10),
   ``I − J`` is well conditioned (smallest singular value above ``isolation_tol`` relative to
   ``2 + ‖I − J‖``, which bounds ``1 + ‖J‖``) and one more Newton step moves it by less than
   ``step_tol``. Candidates with a tiny residual that fail this (a line or plane of near-fixed
   points, ``I − J`` singular) are returned
   separately as ``non_isolated``, never as fixed points; the rest are ``slow_points``;
4. de-duplication, Jacobian eigenvalues and a classification of each point: ``stable`` (all
   ``|λ| < 1``), ``saddle`` (some above 1; ``n_unstable`` counts them), ``unstable`` (all above 1),
   ``marginal`` (some ``|λ|`` within ``marginal_tol`` of 1); ``complex_leading`` marks a leading
   complex-conjugate pair.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from baselines.models import require_recurrent
from ta_envs.validation import InvalidValue, check_float, check_int

from .maps import StepFn, as_step, jacobians

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
    n_found: np.ndarray  #: [P] int, initial states that reached the point
    slow_points: np.ndarray  #: [Q, S] candidates that did not converge (not fixed points)
    slow_input_index: np.ndarray  #: [Q]
    slow_residual: np.ndarray  #: [Q]
    tol: float
    non_isolated: np.ndarray | None = None  #: [R, S] tiny residual but I - J (near) singular
    non_isolated_input_index: np.ndarray | None = None  #: [R]

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
        """Number of points with stability ``label``."""
        if label not in LABELS:
            raise InvalidValue(f"label must be one of {LABELS}, got {label!r}")
        return int((self.stability == label).sum())

    def summary(self) -> str:
        """A table of the points: input, stability, leading eigenvalue, residual, hits."""
        n_iso = 0 if self.non_isolated is None else len(self.non_isolated)
        lines = [f"{len(self)} fixed points (residual < {self.tol:g}, isolated), "
                 f"{len(self.slow_points)} slow points and {n_iso} non-isolated candidates "
                 "rejected"]
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
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)
                  if getattr(self, f.name) is not None}
        arrays["stability"] = arrays["stability"].astype("U8")
        path = Path(path)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # the stub's allow_pickle
        return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> FixedPoints:
        """Read what `save()` wrote; ``ValueError`` naming the file otherwise."""
        try:
            with np.load(path, allow_pickle=False) as z:
                kw = {f.name: z[f.name] for f in fields(cls) if f.name in z.files}
                missing = [f.name for f in fields(cls) if f.default is not None and
                           f.name not in z.files and f.name != "non_isolated"]
                if missing:
                    raise KeyError(missing)
        except (OSError, ValueError, KeyError) as err:
            raise InvalidValue(f"{str(path)!r} is not a saved FixedPoints file: {err}") from None
        kw["tol"] = float(kw["tol"])
        return cls(**kw)


def _residual(step: StepFn, u: Tensor, h: Tensor) -> Tensor:
    with torch.no_grad():
        return (step(h, u.expand(len(h), -1)) - h).norm(dim=1)


def _minimise_speed(step: StepFn, u: Tensor, h: Tensor, steps: int, lr: float, q_stop: float,
                    window: int = 50, factor: float = 0.5) -> tuple[Tensor, Tensor]:
    """Adam on each state's ``q`` (independent terms), stopping a state when ``q < q_stop`` or when
    its ``q`` did not fall below ``factor`` times its value ``window`` steps earlier (stalled). Runs
    in float32 when the step has a ``fast`` variant (a model's); returns float64 ``(states, q)``."""
    fast = getattr(step, "fast", None)
    f, dtype = (fast, torch.float32) if fast is not None else (step, h.dtype)
    speed = getattr(step, "fast_speed", None) if fast is not None else None
    x64 = h
    h = h.to(dtype).clone()
    n = len(h)
    uu = u.to(dtype)
    b1, b2, eps = 0.9, 0.999, 1e-8
    # the active states' working copies, dense; written back and compacted only when one stops
    active = torch.arange(n)
    ha, ma, va = h.clone(), torch.zeros_like(h), torch.zeros_like(h)
    ref = torch.full((n,), float("inf"), dtype=dtype)
    for k in range(1, steps + 1):
        ua = uu.expand(len(ha), -1)
        if speed is not None:
            qa, g = speed(ha, ua)
        else:
            x = ha.clone().requires_grad_(True)
            r = f(x, ua) - x
            qa = 0.5 * (r**2).sum(1)
            (g,) = torch.autograd.grad(qa.sum(), x)
        with torch.no_grad():
            qa = qa.detach()
            ma.mul_(b1).add_(g, alpha=1 - b1)
            va.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = va.div(1 - b2**k).sqrt_().add_(eps)
            ha.addcdiv_(ma, denom, value=-lr / (1 - b1**k))
            keep = qa >= q_stop
            if k % window == 0:
                keep &= qa < factor * ref
                ref = qa.clone()
            if not bool(keep.all()):
                h[active] = ha
                active, ha, ma, va, ref = (active[keep], ha[keep], ma[keep], va[keep],
                                           ref[keep])
        if len(active) == 0:
            break
    if len(active):
        h[active] = ha
    h = h.to(x64.dtype) if steps > 0 else x64.clone()
    with torch.no_grad():
        q = 0.5 * ((step(h, u.expand(n, -1)) - h) ** 2).sum(1)
    return h, q


def _levenberg_marquardt(step: StepFn, u: Tensor, h: Tensor, steps: int) -> Tensor:
    """Batched damped Newton on ``r(h) = F(h) − h``; the damping adapts per point. Each iteration
    works only on points whose residual is above float64 round-off and that are still converging:
    a point is dropped after 6 rejected steps in a row, or when its cost fell less than 10-fold
    over the last 10 iterations (not in a root's basin)."""
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
        A = jacobians(step, ua, ha) - eye
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


def _cluster(points: Tensor, tol: float) -> tuple[Tensor, Tensor, Tensor]:
    """Greedy clustering in max-norm: ``(representatives, cluster of each point, sizes)``."""
    n = len(points)
    label = torch.full((n,), -1, dtype=torch.long)
    reps: list[int] = []
    for i in range(n):
        if label[i] >= 0:
            continue
        near = (points - points[i]).abs().amax(dim=1) < tol
        near &= label < 0
        label[near] = len(reps)
        reps.append(i)
    idx = torch.as_tensor(reps, dtype=torch.long)
    return points[idx], label, torch.bincount(label, minlength=len(reps))


def _isolated(step: StepFn, u: Tensor, h: Tensor, tol_sigma: float, tol_step: float
              ) -> tuple[Tensor, Tensor]:
    """``(isolated [P] bool, Jacobians [P, S, S])``: ``I − J`` well conditioned and a Newton step
    from ``h`` shorter than ``tol_step · (1 + ‖h‖)``."""
    J = jacobians(step, u.expand(len(h), -1), h)
    A = torch.eye(h.shape[1], dtype=h.dtype) - J
    sv = torch.linalg.svdvals(A)
    well = sv[:, -1] > tol_sigma * (2 + sv[:, 0])  # 1 + ‖J‖ <= 2 + ‖I − J‖: no second SVD
    with torch.no_grad():
        r = step(h, u.expand(len(h), -1)) - h
    delta = torch.linalg.lstsq(A, r[..., None]).solution[..., 0]
    small = delta.norm(dim=1) < tol_step * (1 + h.norm(dim=1))
    return well & small & torch.isfinite(delta).all(1), J


def _mirrored(step: StepFn, u: Tensor, found: Tensor, lm_steps: int, tol: float,
              isolation_tol: float, step_tol: float, unique_tol: float) -> Tensor:
    """Isolated roots polished from ``−found`` that are not already among ``found``."""
    cand = -found[found.abs().amax(1) > unique_tol]
    if len(cand) == 0:
        return cand
    pol = _levenberg_marquardt(step, u, cand, lm_steps)
    keep = _residual(step, u, pol) < tol
    if not bool(keep.any()):
        return pol[:0]
    pol = pol[keep]
    good, _ = _isolated(step, u, pol, isolation_tol, step_tol)
    pol = pol[good]
    dist = (pol[:, None, :] - found[None, :, :]).abs().amax(-1)
    return pol[(dist >= unique_tol).all(1)]


def _far_pick(far: Tensor, near: Tensor, k: int) -> Tensor:
    """Which of the ``far`` candidates (sorted by ``q``, lowest first) get a Newton attempt: the
    ``k − k // 2`` lowest ``q``, and the ``k // 2`` farthest from all of those and from every
    ``near`` candidate. A far fixed point's basin can hold only states with a large ``q`` (as in a
    chaotic network, whose low-``q`` states all lead back to the origin), so half the attempts go
    to the states least like the ones already tried."""
    pick = torch.zeros(len(far), dtype=torch.bool)
    if len(far) <= k:
        pick[:] = True
        return pick
    pick[: k - k // 2] = True
    if k // 2:
        dist = torch.cdist(far, torch.cat([near, far[pick]])).amin(1)
        dist[pick] = -1.0
        pick[torch.topk(dist, k // 2).indices] = True
    return pick


def find_fixed_points(
    model_or_step: Any,
    inputs: Tensor | np.ndarray,
    initial_states: Tensor | np.ndarray,
    *,
    tol: float = 1e-10,
    adam_steps: int = 500,
    adam_lr: float = 1e-2,
    q_stop: float = 1e-10,
    q_polish: float = 1e-6,
    far_candidates: int = 1024,
    lm_steps: int = 50,
    unique_tol: float = 1e-6,
    marginal_tol: float = 1e-3,
    isolation_tol: float = 1e-10,
    step_tol: float = 1e-8,
    mirror: bool = True,
) -> FixedPoints:
    """Fixed points of ``h -> step(h, u)`` for each constant input ``u``.

    ``inputs``: ``[U, I]`` (or ``[I]``) constant inputs; ``initial_states``: ``[N, S]`` starting
    states (e.g. from `sample_states()`), used for every input. Runs in float64. A model needs
    the recurrent interface (``step``). ``mirror``: also try ``−h`` for every point found (an odd
    map, such as a tanh network without biases under zero input, has its fixed points in ± pairs,
    and the two members of a pair can have very different basins); a mirrored candidate is kept
    only when it is an isolated root like any other, with 0 hits.

    Args:
        model_or_step: a model with the recurrent interface, or a callable ``step(h, x)``.
        inputs: ``[U, I]`` constant inputs (one search per row).
        initial_states: ``[N, S]`` starting states, used for every input.
        tol: residual ``‖F(h) − h‖`` below which a point is a root.
        adam_steps: Adam steps on the speed ``q = ½‖F(h) − h‖²`` before Newton.
        adam_lr: Adam's learning rate.
        q_stop: Adam stops for a state once its speed is below this.
        q_polish: a state slower than this goes to Newton polishing.
        far_candidates: the slowest far-from-any-root states also given to Newton (recall first:
            see ``tests/analysis/test_fixed_point_recall*.py``).
        lm_steps: Levenberg-Marquardt steps for candidates Newton does not converge from.
        unique_tol: roots closer than this (max-norm) are one point.
        marginal_tol: ``|λ|`` within this of 1 is called marginal.
        isolation_tol: the smallest singular value of ``J − I`` below which a root is not isolated.
        step_tol: Newton stops when its step is below this.
        mirror: also try ``−h`` for every point found.

    Returns:
        The points (stable, saddles, marginal), their inputs, eigenvalues, basin counts and the
        slow points that were not roots.

    Raises:
        TypeError: a model without the recurrent interface.
        ValueError: bad shapes or settings.
    """
    step = as_step(model_or_step, "find_fixed_points")
    U = torch.as_tensor(np.asarray(inputs), dtype=torch.float64)
    if U.ndim == 1:
        U = U[None]
    H0 = torch.as_tensor(np.asarray(initial_states), dtype=torch.float64)
    if H0.ndim != 2 or U.ndim != 2 or len(H0) == 0:
        raise InvalidValue(f"inputs must be [U, I] and initial_states [N, S] with N >= 1, got "
                           f"{tuple(U.shape)} and {tuple(H0.shape)}")
    _check_settings(U, H0, tol=tol, adam_steps=adam_steps, adam_lr=adam_lr, q_stop=q_stop,
                    q_polish=q_polish, far_candidates=far_candidates, lm_steps=lm_steps,
                    unique_tol=unique_tol, marginal_tol=marginal_tol, isolation_tol=isolation_tol,
                    step_tol=step_tol)
    S = H0.shape[1]
    cfg = _Search(tol, adam_steps, adam_lr, q_stop, q_polish, far_candidates, lm_steps, unique_tol,
                  isolation_tol, step_tol, mirror)
    found: list[_InputPoints] = []
    for u_i, u in enumerate(U):  # a loop, not a comprehension: the warning's stacklevel
        found.append(_search_input(step, u, u_i, H0, cfg))

    def cat(field: str, shape: tuple[int, ...], dtype: Any = torch.float64) -> np.ndarray:
        parts = [getattr(f, field) for f in found]
        return torch.cat(parts).numpy() if parts else torch.zeros(shape, dtype=dtype).numpy()

    P = torch.cat([f.points for f in found]) if found else torch.zeros(0, S, dtype=torch.float64)
    idx_t = torch.cat([torch.full((len(f.points),), i) for i, f in enumerate(found)]) \
        if found else torch.zeros(0, dtype=torch.long)
    J = jacobians(step, U[idx_t], P) if len(P) else torch.zeros(0, S, S, dtype=torch.float64)
    ev, label, n_unst, lead_complex = _classify(J, S, marginal_tol)
    return FixedPoints(
        points=P.numpy(), input_index=idx_t.numpy(), inputs=U.numpy(),
        residual=_stack_residuals(step, U, idx_t, P), jacobians=J.numpy(), eigenvalues=ev,
        stability=label.astype("U8"), n_unstable=n_unst.astype(np.int64),
        complex_leading=lead_complex, n_found=cat("counts", (0,), torch.long),
        slow_points=cat("slow", (0, S)),
        slow_input_index=np.concatenate([np.full(len(f.slow), i, np.int64)
                                         for i, f in enumerate(found)] or [np.zeros(0, np.int64)]),
        slow_residual=cat("slow_residual", (0,)), tol=float(tol),
        non_isolated=cat("non_isolated", (0, S)),
        non_isolated_input_index=np.concatenate(
            [np.full(len(f.non_isolated), i, np.int64) for i, f in enumerate(found)]
            or [np.zeros(0, np.int64)]),
    )


@dataclass(frozen=True)
class _Search:
    """`find_fixed_points`' settings (see its Args)."""

    tol: float
    adam_steps: int
    adam_lr: float
    q_stop: float
    q_polish: float
    far_candidates: int
    lm_steps: int
    unique_tol: float
    isolation_tol: float
    step_tol: float
    mirror: bool


@dataclass(frozen=True, eq=False)
class _InputPoints:
    """What one input's search found: roots with their basin counts, non-isolated roots, and the
    slow points that were not roots with their residuals."""

    points: Tensor
    counts: Tensor
    non_isolated: Tensor
    slow: Tensor
    slow_residual: Tensor


def _newton_candidates(h: Tensor, q: Tensor, cfg: _Search) -> tuple[Tensor, Tensor, Tensor]:
    """``(candidates, their basin sizes, unpolished far states)``: the near points, then the
    ``far_candidates`` best (lowest q) of the states still converging when Adam stopped and as
    many of the stalled ones."""
    near = q < cfg.q_polish
    reps, _, sizes = _cluster(h[near], 1e-3)
    far = (~near) & torch.isfinite(q)
    if not bool(far.any()):
        return reps, sizes, h[:0]
    order = torch.argsort(q[far])
    far_reps, _, far_sizes = _cluster(h[far][order], 1e-2)
    pick = _far_pick(far_reps, reps, cfg.far_candidates)
    return (torch.cat([reps, far_reps[pick]]), torch.cat([sizes, far_sizes[pick]]),
            far_reps[~pick])


def _search_input(step: StepFn, u: Tensor, u_i: int, H0: Tensor, cfg: _Search) -> _InputPoints:
    """Adam on the speed from every initial state, then Newton on the candidates, for input ``u``."""
    h, q = _minimise_speed(step, u, H0, cfg.adam_steps, cfg.adam_lr, cfg.q_stop)
    if not bool(torch.isfinite(q).any()):
        warnings.warn(f"find_fixed_points: the step returned non-finite values from every "
                      f"initial state under input {u_i} ({u.tolist()}); no point can be "
                      "found there (is the model's step NaN?)", RuntimeWarning, stacklevel=3)
    reps, sizes, unpolished = _newton_candidates(h, q, cfg)
    polished = _levenberg_marquardt(step, u, reps, cfg.lm_steps) if len(reps) else reps
    small = _residual(step, u, polished) < cfg.tol
    ok = torch.zeros_like(small)
    if bool(small.any()):
        ok[small] = _isolated(step, u, polished[small], cfg.isolation_tol, cfg.step_tol)[0]
    if cfg.mirror and bool(ok.any()):
        new = _mirrored(step, u, polished[ok], cfg.lm_steps, cfg.tol, cfg.isolation_tol,
                        cfg.step_tol, cfg.unique_tol)
        polished = torch.cat([polished, new])
        small = torch.cat([small, torch.ones(len(new), dtype=torch.bool)])
        ok = torch.cat([ok, torch.ones(len(new), dtype=torch.bool)])
        sizes = torch.cat([sizes, torch.zeros(len(new), dtype=sizes.dtype)])
    S = H0.shape[1]
    points, counts = polished[:0], torch.zeros(0, dtype=torch.long)
    if bool(ok.any()):
        points, label, _ = _cluster(polished[ok], cfg.unique_tol)
        counts = torch.zeros(len(points), dtype=torch.long).index_add_(0, label, sizes[ok])
    bad_small = small & ~ok
    non_isolated = _cluster(polished[bad_small], 1e-4)[0] if bool(bad_small.any()) else \
        torch.zeros(0, S, dtype=torch.float64)
    rest = torch.cat([unpolished, polished[~small]])
    rest = rest[torch.isfinite(rest).all(1)]
    slow = _cluster(rest, max(cfg.unique_tol, 1e-4))[0] if len(rest) else \
        torch.zeros(0, S, dtype=torch.float64)
    return _InputPoints(points, counts, non_isolated, slow,
                        _residual(step, u, slow) if len(slow) else torch.zeros(0, dtype=torch.float64))


def _classify(J: Tensor, S: int, marginal_tol: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(eigenvalues [P, S] by decreasing modulus, stability label, unstable count, leading
    eigenvalue complex)`` of the Jacobians ``J [P, S, S]``."""
    ev = torch.linalg.eigvals(J).numpy() if len(J) else np.zeros((0, S), np.complex128)
    by_size = np.argsort(-np.abs(ev), axis=1, kind="stable")
    ev = np.take_along_axis(ev, by_size, axis=1)
    mod = np.abs(ev)
    n_unst = (mod > 1 + marginal_tol).sum(axis=1)
    marginal = (np.abs(mod - 1) <= marginal_tol).any(axis=1)
    label = np.where(marginal, "marginal", np.where(n_unst == 0, "stable",
                                                    np.where(n_unst == S, "unstable", "saddle")))
    lead_complex = (np.abs(ev[:, 0].imag) > 1e-12) if len(J) else np.zeros(0, bool)
    return ev, label, n_unst, lead_complex


def _check_settings(U: Tensor, H0: Tensor, **kw: Any) -> None:
    """One clear line for a bad setting or non-finite inputs / initial states."""
    for name in ("tol", "adam_lr", "q_stop", "q_polish", "unique_tol", "isolation_tol",
                 "step_tol"):
        check_float(name, kw[name], above=0.0)
    check_float("marginal_tol", kw["marginal_tol"], 0.0)
    for name in ("adam_steps", "lm_steps", "far_candidates"):
        check_int(name, kw[name], 0)
    if not bool(torch.isfinite(U).all()):
        raise InvalidValue("inputs must be finite (they hold NaN or infinite values)")
    if not bool(torch.isfinite(H0).all()):
        raise InvalidValue("initial_states must be finite (they hold NaN or infinite values)")


def _stack_residuals(step: StepFn, U: Tensor, idx: Tensor, P: Tensor) -> np.ndarray:
    if len(P) == 0:
        return np.zeros(0)
    with torch.no_grad():
        return (step(P, U[idx]) - P).norm(dim=1).numpy()


def sample_states(model: Any, inputs: Tensor | np.ndarray, n: int, noise: float = 0.0,
                  generator: torch.Generator | None = None, spread: float = 0.0) -> Tensor:
    """``n`` states drawn from the model's own trajectories on ``inputs [B, T, I]`` plus Gaussian
    noise of standard deviation ``noise``. ``spread`` (a fraction in [0, 1]) of them are drawn
    uniformly from the trajectories' bounding box, widened by half its size (plus 0.1) on every
    side: trajectories settle at attractors and rarely pass the saddles between them or the
    attractors they never reach, which these states do.

    Args:
        model: a model with the recurrent interface.
        inputs: ``[B, T, I]`` input sequences the model is run on.
        n: states to draw.
        noise: the standard deviation of the Gaussian noise added.
        generator: the seeded generator every draw comes from.
        spread: the fraction drawn from the widened bounding box.

    Returns:
        ``[n, S]`` float64 states.

    Raises:
        TypeError: a model without the recurrent interface.
        ValueError: ``n`` below 1, negative ``noise``, or ``spread`` outside [0, 1].
    """
    require_recurrent(model, "sample_states")
    check_int("n", n, 1)
    check_float("spread", spread, 0.0, 1.0)
    check_float("noise", noise, 0.0)
    x = torch.as_tensor(np.asarray(inputs), dtype=next(model.parameters()).dtype)
    with torch.no_grad():
        out = model(x)
    if not isinstance(out, tuple):
        raise InvalidValue("sample_states needs forward to return (logits, states)")
    states = out[1]
    flat = states.reshape(-1, states.shape[-1]).double()
    k = int(round(spread * n))
    pick = torch.randint(0, len(flat), (n - k,), generator=generator)
    out_s = flat[pick]
    if noise:
        out_s = out_s + noise * torch.randn(out_s.shape, generator=generator, dtype=out_s.dtype)
    if k:
        lo, hi = flat.min(0).values, flat.max(0).values
        pad = 0.5 * (hi - lo) + 0.1
        u = torch.rand((k, flat.shape[1]), generator=generator, dtype=flat.dtype)
        out_s = torch.cat([out_s, lo - pad + u * (hi - lo + 2 * pad)])
    return out_s
