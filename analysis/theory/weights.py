"""Property 3 measured under full-matrix gradient descent: what the recurrent weights end up as.

What the reduced loss implies, precisely. For one mode, optimising the read-in/read-out product
``a = h f`` for a fixed recurrent weight ``w`` leaves ``L*(w) = ½‖s‖² − ½⟨s, p(w)⟩² / ‖p(w)‖²`` with
``p_k(w) = w^k``. ``L*`` depends on ``w`` only through the *direction* of ``p(w)``: it has no term
that grows with ``|w|``, so no preference for small weights by itself. Its slope at ``w = 0`` is
``dL*/dw(0) = −s_0 s_1`` (``p'(0)`` is the lag-1 unit vector, orthogonal to ``p(0)``), so ``w = 0``
is a critical point exactly when the task has nothing at lag 1 (or at lag 0); for the echo task
(nothing at lags 1 and 2) it is a local minimum, and gradient descent from a small recurrent weight
stays feed-forward although recurrence would lower the loss (the ``tradeoff`` experiment). A
"small-weight preference" is therefore a property of the dynamics from a small start, not of the
loss. Two measurements under full-matrix GD (``F``, ``W``, ``H`` of
width ``hidden``, small random init):

1. **Small weights** (`echo_weights()`): the echo task at strengths ``c`` below and above the
   critical one, with and without a *feed-forward route* (a direct matrix ``D`` from the last input
   to the output, trained alongside). Reported: ``‖W‖₂`` at the end, and the final loss against the
   feed-forward optimum and the global optimum of the reduced problem.
2. **Low rank** (`rank_of_w()`): teachers of ``r`` modes with geometric task dynamics
   ``s_{α,t} = c_α γ_α^{T−t}``; reported: singular values of the learned ``W`` (normalised by the
   largest), its effective rank (singular values above 5% of the largest) and participation ratio
   ``(Σσ)² / Σσ²``, the same for the change ``W − W_0`` that training made (what was learned,
   without the untouched part of the random start), and for ``W_0``, against the number of modes
   ``r``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .linear_rnn import optimum_for_w, teacher_correlations, train_full
from .properties import echo_task, global_optimum, orthonormal


def effective_rank(W: np.ndarray, rel: float = 0.05) -> tuple[int, float, np.ndarray]:
    """``(rank, participation ratio, σ / σ_max)`` of ``W``: singular values above ``rel`` of the
    largest, and ``(Σσ)² / Σσ²``."""
    sv = np.linalg.svd(W, compute_uv=False)
    if sv[0] <= 0:
        return 0, 0.0, sv
    return int((sv > rel * sv[0]).sum()), float(sv.sum() ** 2 / (sv**2).sum()), sv / sv[0]


@dataclass(frozen=True)
class EchoWeights:
    """Per echo strength ``c [C]`` and route (``routes``: without / with a skip): ``norm_w
    [2, C, S]`` final ``‖W‖₂`` per seed, ``loss [2, C, S]``; the reduced problem's feed-forward
    loss ``loss_ff [C]`` and global optimum ``loss_star [C]`` with its ``w_star [C]``."""

    c: np.ndarray
    routes: tuple[str, ...]
    seeds: np.ndarray
    norm_w: np.ndarray
    norm_w0: np.ndarray
    loss: np.ndarray
    loss_ff: np.ndarray
    loss_star: np.ndarray
    w_star: np.ndarray


def echo_weights(c: Sequence[float], seeds: Sequence[int], hidden: int = 8, init: float = 0.1,
                 lr: float = 0.01, steps: int = 6000, T: int = 7) -> EchoWeights:
    """Measurement 1 of the module docstring (one input and one output channel)."""
    cs = np.asarray(c, dtype=float)
    s = echo_task(cs, T)
    w_star, loss_star = global_optimum(s, 1.5)
    loss_ff = optimum_for_w(s, np.zeros(len(cs)))[1]
    norm = np.zeros((2, len(cs), len(seeds)))
    norm0 = np.zeros((len(cs), len(seeds)))
    loss = np.zeros_like(norm)
    for i in range(len(cs)):
        sigma = s[i][:, None, None]  # [T, 1, 1]
        for j, sd in enumerate(seeds):
            for r, skip in enumerate((False, True)):
                res = train_full(sigma, hidden, init, lr, steps, int(sd), skip)
                norm[r, i, j] = np.linalg.norm(res["W"], 2)
                loss[r, i, j] = res["loss"]
                norm0[i, j] = np.linalg.norm(res["W0"], 2)
    return EchoWeights(cs, ("no skip", "skip"), np.asarray(seeds), norm, norm0, loss, loss_ff,
                       loss_star, w_star)


@dataclass(frozen=True)
class RankResult:
    """Per task-dynamics setting (``names [G]``, decays ``gammas [G, r]``) and seed: effective rank
    and participation ratio of the learned ``W`` (``rank``, ``pr`` ``[G, S]``), of the change
    ``W − W_0`` training made (``rank_delta``, ``pr_delta``) and of the initial ``W_0`` (``rank0``,
    ``pr0``), normalised singular values ``sv`` and ``sv_delta`` ``[G, S, hidden]``, final relative
    loss ``loss [G, S]``; ``modes`` = r."""

    names: tuple[str, ...]
    gammas: np.ndarray
    modes: int
    hidden: int
    rank: np.ndarray
    pr: np.ndarray
    rank0: np.ndarray
    pr0: np.ndarray
    rank_delta: np.ndarray
    pr_delta: np.ndarray
    sv: np.ndarray
    sv_delta: np.ndarray
    loss: np.ndarray


def rank_of_w(settings: dict[str, Sequence[float]], seeds: Sequence[int], hidden: int = 16,
              init: float = 0.1, lr: float = 0.02, steps: int = 6000, T: int = 6,
              scales: Sequence[float] = (2.0, 1.0, 0.5)) -> RankResult:
    """Measurement 2 of the module docstring: ``settings`` maps a name to the ``r`` decays."""
    names = tuple(settings)
    r = len(scales)
    G = np.array([settings[n] for n in names], dtype=float)
    if G.shape[1] != r:
        raise ValueError(f"each setting needs {r} decays (one per mode), got {G.shape}")
    keys = ("rank", "pr", "rank0", "pr0", "rank_delta", "pr_delta", "loss")
    out = {k: np.zeros((len(names), len(seeds))) for k in keys}
    sv = np.zeros((len(names), len(seeds), hidden))
    sv_d = np.zeros_like(sv)
    for i in range(len(names)):
        for j, sd in enumerate(seeds):
            rng = np.random.default_rng([int(sd), 7])
            U, V = orthonormal(rng, r + 1, r), orthonormal(rng, r + 1, r)
            s = np.asarray(scales)[:, None] * G[i][:, None] ** np.arange(T - 1, -1, -1)
            sigma = teacher_correlations(U, V, s)
            res = train_full(sigma, hidden, init, lr, steps, int(sd))
            out["rank"][i, j], out["pr"][i, j], sv[i, j] = effective_rank(res["W"])
            out["rank0"][i, j], out["pr0"][i, j], _ = effective_rank(res["W0"])
            out["rank_delta"][i, j], out["pr_delta"][i, j], sv_d[i, j] = effective_rank(
                res["W"] - res["W0"])
            out["loss"][i, j] = res["loss"] / (0.5 * (sigma**2).sum())
    return RankResult(names, G, r, hidden, out["rank"], out["pr"], out["rank0"], out["pr0"],
                      out["rank_delta"], out["pr_delta"], sv, sv_d, out["loss"])
