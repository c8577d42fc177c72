"""Three of the four properties of linear-RNN learning (Proca et al., ICML 2025) as experiments
that return numbers: learning order (scale and temporal precedence), stability and
extrapolation set by the task dynamics, and the recurrent/feed-forward trade-off of the optimum.
(The fourth, kernel movement, is [`analysis.theory.ntk`][analysis.theory.ntk].)

Conventions: task dynamics ``s [modes, T]`` are indexed by input time ``t = 1..T``; *lag* ``T − t``
is how long before the output an input arrived (lag 0: the last input). Times are gradient-descent
steps at learning rate ``lr`` (gradient-flow time = steps × lr).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .linear_rnn import (
    explained,
    full_gd,
    half_times,
    mode_strengths,
    optimum_for_w,
    reduced_gd,
    teacher_correlations,
    train_full,
)


def orthonormal(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
    """``[n, r]`` random orthonormal columns."""
    q, _ = np.linalg.qr(rng.normal(size=(n, r)))
    return q


def random_small_init(rng: np.random.Generator, n_x: int, n_h: int, n_y: int, scale: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(F, W, H)`` with i.i.d. normal entries of std ``scale / sqrt(fan_in)``."""
    return (rng.normal(scale=scale / np.sqrt(n_x), size=(n_h, n_x)),
            rng.normal(scale=scale / np.sqrt(n_h), size=(n_h, n_h)),
            rng.normal(scale=scale / np.sqrt(n_h), size=(n_y, n_h)))


# -- (1) learning order ----------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderResult:
    """Learning order of teacher modes: ``predicted`` (reduced dynamics, aligned small init) and
    ``simulated`` (full-matrix GD from a small random init) fractions learned ``[K, r]`` per step,
    and the steps at which each mode reaches half its final value ``[r]``."""

    labels: tuple[str, ...]
    s: np.ndarray
    predicted: np.ndarray
    simulated: np.ndarray
    predicted_half: np.ndarray
    simulated_half: np.ndarray

    @property
    def agrees(self) -> bool:
        """True when both put the modes in the same order."""
        return bool(np.array_equal(np.argsort(self.predicted_half, kind="stable"),
                                   np.argsort(self.simulated_half, kind="stable")))


def order_task(T: int = 3, scales: Sequence[float] = (1.0, 0.5)) -> tuple[np.ndarray, list[str]]:
    """Modes for the order experiment: for each scale, a *late* profile (input weight rising
    towards the output, ``2^{−lag}``) and the same values reversed in time (*early*), so modes differ
    by scale at equal timing and by timing at equal scale. Returns ``s [2·len(scales), T]``."""
    late = 2.0 ** -np.arange(T - 1, -1, -1, dtype=float)  # t = 1..T: lag T−t
    rows, labels = [], []
    for c in scales:
        rows += [c * late, c * late[::-1]]
        labels += [f"late x{c:g}", f"early x{c:g}"]
    return np.stack(rows), labels


def learning_order(s: np.ndarray, labels: Sequence[str], lr: float = 0.02, steps: int = 3000,
                   init: float = 1e-3, hidden: int | None = None, seed: int = 0) -> OrderResult:
    """Predict the learning order of the modes of ``s [r, T]`` with the reduced dynamics and check it
    with full-matrix gradient descent (random teacher singular vectors and random small init)."""
    s = np.asarray(s, dtype=np.float64)
    r, T = s.shape
    rng = np.random.default_rng(seed)
    n = r + 1
    n_h = hidden or 2 * r
    red = reduced_gd(s, np.full(r, init), np.full(r, init), np.full(r, 0.0), lr, steps)
    pw = red.w[:, :, None] ** np.arange(T - 1, -1, -1)
    predicted = explained((red.h * red.f)[:, :, None] * pw, s)
    U, V = orthonormal(rng, n, r), orthonormal(rng, n, r)
    full = full_gd(teacher_correlations(U, V, s), *random_small_init(rng, n, n_h, n, init), lr,
                   steps)
    simulated = np.stack([explained(mode_strengths(full["F"][k], full["W"][k], full["H"][k],
                                                   U, V, T), s) for k in range(steps + 1)])
    return OrderResult(tuple(labels), s, predicted, simulated, half_times(predicted),
                       half_times(simulated))


# -- (2) stability and extrapolation ----------------------------------------------------------------
@dataclass(frozen=True)
class ExtrapolationResult:
    """Geometric task dynamics ``s_t = γ^{T−t}``, estimated from finite data (each of ``draws``
    estimates carries i.i.d. normal noise of std ``noise``), learned by gradient descent at length
    ``T`` and run on longer sequences. Per ``γ [G]``: median learned ``w`` and ``a = h f`` over
    draws; per length ``L [M]``: median ``error [G, M]`` (loss against the clean teacher extended to
    length L with the same dynamics, relative to its energy) and ``gain [G, M]`` (hidden-state norm
    at L over the norm at T, unit white input)."""

    gammas: np.ndarray
    T: int
    noise: float
    lengths: np.ndarray
    w: np.ndarray
    a: np.ndarray
    error: np.ndarray
    gain: np.ndarray


def _extended(gamma: np.ndarray, L: int) -> np.ndarray:
    return gamma[:, None] ** np.arange(L - 1, -1, -1, dtype=float)


def extrapolation(gammas: Sequence[float], T: int = 6, lengths: Sequence[int] = (6, 12, 24, 48),
                  noise: float = 0.01, draws: int = 20, lr: float = 0.01, steps: int = 20000,
                  init: float = 0.1, seed: int = 0) -> ExtrapolationResult:
    """Learn ``s_t = γ^{T−t}`` for each γ from ``draws`` noisy estimates (independent modes of the
    reduced dynamics from a small aligned init) and measure extrapolation to ``lengths``."""
    g = np.asarray(gammas, dtype=np.float64)
    G = len(g)
    gg = np.repeat(g, draws)
    s = _extended(gg, T) + noise * np.random.default_rng(seed).normal(size=(len(gg), T))
    n = len(gg)
    red = reduced_gd(s, np.full(n, init), np.full(n, init), np.zeros(n), lr, steps)
    w, a = red.w[-1], red.h[-1] * red.f[-1]
    L = np.asarray(lengths, dtype=int)
    err = np.zeros((n, len(L)))
    gain = np.zeros((n, len(L)))
    norm_T = np.sqrt((_extended(w, T) ** 2).sum(1))
    for j, m in enumerate(L):
        teacher, net = _extended(gg, m), a[:, None] * _extended(w, m)
        err[:, j] = ((teacher - net) ** 2).sum(1) / (teacher**2).sum(1)
        gain[:, j] = np.sqrt((_extended(w, m) ** 2).sum(1)) / norm_T

    def med(v: np.ndarray) -> np.ndarray:
        return np.median(v.reshape(G, draws, *v.shape[1:]), axis=1)

    return ExtrapolationResult(g, T, float(noise), L, med(w), med(a), med(err), med(gain))


@dataclass(frozen=True)
class FullExtrapolationResult:
    """The extrapolation experiment under full-matrix GD: per ``γ [G]`` and seed ``[S]``, the
    learned ``W``'s largest eigenvalue modulus ``eig [G, S]``, the relative ``error [G, S, M]`` of
    the network's map against the teacher extended to each length ``L [M]``, and the hidden-state
    ``gain [G, S, M]`` (norm at L over norm at T, unit white input)."""

    gammas: np.ndarray
    T: int
    hidden: int
    seeds: np.ndarray
    lengths: np.ndarray
    eig: np.ndarray
    error: np.ndarray
    gain: np.ndarray
    final_loss: np.ndarray


def full_extrapolation(gammas: Sequence[float], seeds: Sequence[int], T: int = 6,
                       lengths: Sequence[int] = (6, 12, 24, 48), noise: float = 0.01,
                       hidden: int = 8, init: float = 0.1, lr: float = 0.01, steps: int = 20000
                       ) -> FullExtrapolationResult:
    """Learn ``s_t = γ^{T−t}`` (one input, one output; each seed draws its own noisy estimate
    with std ``noise`` and its own random init) with full ``F``, ``W``, ``H`` and run the trained
    network on longer sequences."""
    g = np.asarray(gammas, dtype=float)
    L = np.asarray(lengths, dtype=int)
    eig = np.zeros((len(g), len(seeds)))
    err = np.zeros((len(g), len(seeds), len(L)))
    gain = np.zeros_like(err)
    final = np.zeros_like(eig)
    for i, gamma in enumerate(g):
        for j, sd in enumerate(seeds):
            est = _extended(np.array([gamma]), T)[0] + noise * np.random.default_rng(
                [int(sd), 11]).normal(size=T)
            res = train_full(est[:, None, None], hidden, init, lr, steps, int(sd))
            F, W, H = res["F"], res["W"], res["H"]
            eig[i, j] = np.abs(np.linalg.eigvals(W)).max()
            final[i, j] = res["loss"]
            P, maps_, norms = F, [], []
            for _ in range(int(L.max())):
                maps_.append(float((H @ P)[0, 0]))
                norms.append(float((P**2).sum()))
                P = W @ P
            m, nr = np.array(maps_), np.cumsum(norms)
            for k, n in enumerate(L):
                teacher = gamma ** np.arange(n)
                err[i, j, k] = ((teacher - m[:n]) ** 2).sum() / (teacher**2).sum()
                gain[i, j, k] = np.sqrt(nr[n - 1] / nr[T - 1])
    return FullExtrapolationResult(g, T, hidden, np.asarray(seeds), L, eig, err, gain, final)


# -- (3) recurrent vs feed-forward trade-off ---------------------------------------------------------
def echo_task(c: np.ndarray, T: int = 7, delay: int = 3, decay: float = 0.7) -> np.ndarray:
    """``s [len(c), T]``: weight 1 on the last input (feed-forward part) plus an echo of strength
    ``c`` at lags ``≥ delay`` decaying by ``decay`` per step (the part only recurrence can carry);
    no lag between 1 and ``delay − 1`` matters, so no zero-loss solution exists for ``c > 0``."""
    c = np.asarray(c, dtype=np.float64)
    lag = np.arange(T - 1, -1, -1)
    prof = np.where(lag >= delay, decay ** np.maximum(lag - delay, 0), 0.0)
    s = c[:, None] * prof[None, :]
    s[:, -1] += 1.0
    return s


@dataclass(frozen=True)
class TradeoffResult:
    """The optimum of the reduced loss as the echo strength ``c [C]`` varies: ``w_star``, ``a_star``
    and ``loss_star`` of the global minimum over ``|w| ≤ w_max``, the feed-forward loss ``loss_ff``
    (w = 0), the critical ``c`` where the optimum turns recurrent, and where gradient descent
    from each initial recurrent weight ``w0 [Q]`` ends (``w_gd [Q, C]``)."""

    c: np.ndarray
    w_star: np.ndarray
    a_star: np.ndarray
    loss_star: np.ndarray
    loss_ff: np.ndarray
    c_critical: float
    w0: np.ndarray
    w_gd: np.ndarray
    landscape_w: np.ndarray
    landscape: np.ndarray  #: [C, len(landscape_w)] reduced loss L*(w)


def global_optimum(s: np.ndarray, w_max: float, grid: int = 3001) -> tuple[np.ndarray, np.ndarray]:
    """Per mode, the global minimiser of ``L*(w)`` on ``|w| ≤ w_max``: dense grid, then a bounded
    scalar refinement around the best grid point. Returns ``(w*, L*(w*))``."""
    from scipy.optimize import minimize_scalar

    ws = np.linspace(-w_max, w_max, grid)
    L = np.stack([optimum_for_w(s, np.full(len(s), w))[1] for w in ws], axis=1)  # [C, grid]
    step = ws[1] - ws[0]
    w_best, L_best = np.empty(len(s)), np.empty(len(s))
    for i, j in enumerate(L.argmin(1)):
        res = minimize_scalar(lambda w, si=s[i : i + 1]: float(optimum_for_w(si, np.array([w]))[1][0]),
                              bounds=(max(ws[j] - step, -w_max), min(ws[j] + step, w_max)),
                              method="bounded", options={"xatol": 1e-12})
        w_best[i], L_best[i] = (res.x, res.fun) if res.fun < L[i, j] else (ws[j], L[i, j])
    return w_best, L_best


def critical_echo(T: int = 7, delay: int = 3, decay: float = 0.7, w_max: float = 1.5,
                  c_max: float = 10.0, tol: float = 1e-9) -> float:
    """The echo strength at which the optimum of `echo_task()` stops being feed-forward
    (``w* = 0``), by bisection (``nan`` if it stays feed-forward up to ``c_max``)."""

    def recurrent(c: float) -> bool:
        s = echo_task(np.array([c]), T, delay, decay)
        _, L = global_optimum(s, w_max)
        return bool(L[0] < optimum_for_w(s, np.zeros(1))[1][0] - 1e-13)

    lo, hi = 0.0, float(c_max)
    if not recurrent(hi):
        return float("nan")
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if recurrent(mid) else (mid, hi)
    return hi


def tradeoff(c: Sequence[float] | np.ndarray, T: int = 7, delay: int = 3, decay: float = 0.7,
             w0: Sequence[float] = (0.0, 0.5, 0.9), w_max: float = 1.5, lr: float = 0.01,
             steps: int = 20000, init: float = 0.3) -> TradeoffResult:
    """Scan the echo strength: the recurrent weight of the optimum, the critical strength, and the
    end point of gradient descent from a small ``f = h = init`` and each ``w0``."""
    cs = np.asarray(c, dtype=np.float64)
    s = echo_task(cs, T, delay, decay)
    w_star, loss_star = global_optimum(s, w_max)
    a_star, _ = optimum_for_w(s, w_star)
    loss_ff = optimum_for_w(s, np.zeros(len(cs)))[1]
    c_crit = critical_echo(T, delay, decay, w_max)
    w_gd = np.stack([reduced_gd(s, np.full(len(cs), init), np.full(len(cs), init),
                                np.full(len(cs), float(q)), lr, steps).w[-1] for q in w0])
    lw = np.linspace(-w_max, w_max, 301)
    land = np.stack([optimum_for_w(s, np.full(len(cs), w))[1] for w in lw], axis=1)
    return TradeoffResult(cs, w_star, a_star, loss_star, loss_ff, c_crit,
                          np.asarray(w0, dtype=float), w_gd, lw, land)
