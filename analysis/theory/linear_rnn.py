"""Linear RNN learning dynamics: the full model, the per-mode reduced dynamics, and the optimum.

Setting (convention used here): ``h_t = W h_{t-1} + F x_t``, ``h_0 = 0``, output ``y = H h_T``;
whitened inputs, so the loss is ``L = ½ Σ_{t=1..T} ‖Σ^{YX}_t − H W^{T−t} F‖²_F`` (+ const). The
teacher's input-output correlation at input time ``t`` is ``Σ^{YX}_t = U diag(s_{:,t}) Vᵀ``:
shared singular vectors ``U [N_y, r]``, ``V [N_x, r]`` and time-dependent singular values
``s [r, T]`` (the *task dynamics*).

Aligned initialisation ``F = R diag(f) Vᵀ``, ``W = R diag(w) Rᵀ``, ``H = U diag(h) Rᵀ`` (``R
[N_h, r]`` orthonormal columns) is kept by gradient descent, and each mode α then evolves alone
with ``e_t = s_t − h w^{T−t} f``:

    τ ḟ = h Σ_t w^{T−t} e_t,   τ ḣ = f Σ_t w^{T−t} e_t,   τ ẇ = h f Σ_t (T−t) w^{T−t−1} e_t,

which conserves ``f² − h²``. For fixed ``w`` the loss depends on ``a = h f`` only and is minimised by
``a*(w) = Σ_t s_t w^{T−t} / Σ_t w^{2(T−t)}``, leaving the reduced 1-D loss
``L*(w) = ½ Σ_t s_t² − ½ (Σ_t s_t w^{T−t})² / Σ_t w^{2(T−t)}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def _powers(w: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """``[r, T]`` arrays ``w^{T−t}`` and ``(T−t) w^{T−t−1}`` for ``t = 1..T`` (exact at w = 0)."""
    k = np.arange(T - 1, -1, -1, dtype=np.float64)  # T − t
    w = np.asarray(w, dtype=np.float64)[:, None]
    pw = w**k
    dpw = np.where(k > 0, k * w ** np.maximum(k - 1, 0), 0.0)
    return pw, dpw


def _check(s: np.ndarray, *vals: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"s (task dynamics) must be [modes, T], got shape {s.shape}")
    for v in vals:
        if np.shape(v) != (s.shape[0],):
            raise ValueError(f"per-mode values must have shape ({s.shape[0]},), got {np.shape(v)}")
    return s


def reduced_loss(s: np.ndarray, f: np.ndarray, h: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``[r]`` per-mode loss ``½ Σ_t (s_t − h w^{T−t} f)²``."""
    s = _check(s, f, h, w)
    pw, _ = _powers(w, s.shape[1])
    e = s - (h * f)[:, None] * pw
    return 0.5 * (e**2).sum(1)


def reduced_gradients(s: np.ndarray, f: np.ndarray, h: np.ndarray, w: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dL/df, dL/dh, dL/dw)`` per mode."""
    s = _check(s, f, h, w)
    pw, dpw = _powers(w, s.shape[1])
    e = s - (h * f)[:, None] * pw
    g = (pw * e).sum(1)
    return -h * g, -f * g, -h * f * (dpw * e).sum(1)


@dataclass(frozen=True)
class ModeTrajectory:
    """``[K, r]`` values of each mode at the recorded times ``[K]`` (steps or flow time)."""

    time: np.ndarray
    f: np.ndarray
    h: np.ndarray
    w: np.ndarray
    loss: np.ndarray  #: [K, r] per-mode loss


def reduced_gd(s: np.ndarray, f0: np.ndarray, h0: np.ndarray, w0: np.ndarray, lr: float,
               steps: int) -> ModeTrajectory:
    """Exact discrete dynamics: plain gradient descent with learning rate ``lr`` on each mode."""
    s = _check(s, f0, h0, w0)
    f, h, w = (np.array(v, dtype=np.float64) for v in (f0, h0, w0))
    rec = [(f.copy(), h.copy(), w.copy(), reduced_loss(s, f, h, w))]
    for _ in range(int(steps)):
        gf, gh, gw = reduced_gradients(s, f, h, w)
        f, h, w = f - lr * gf, h - lr * gh, w - lr * gw
        rec.append((f.copy(), h.copy(), w.copy(), reduced_loss(s, f, h, w)))
    F, Hh, Ww, L = (np.stack(x) for x in zip(*rec))
    return ModeTrajectory(np.arange(len(rec), dtype=np.float64), F, Hh, Ww, L)


def reduced_flow(s: np.ndarray, f0: np.ndarray, h0: np.ndarray, w0: np.ndarray, duration: float,
                 samples: int = 201, tau: float = 1.0, rtol: float = 1e-10) -> ModeTrajectory:
    """Gradient flow ``τ d(f, h, w)/dt = −∇L`` (scipy ``solve_ivp``, LSODA) sampled at ``samples``
    times in ``[0, duration]``."""
    from scipy.integrate import solve_ivp

    s = _check(s, f0, h0, w0)
    r = s.shape[0]

    def rhs(_: float, y: np.ndarray) -> np.ndarray:
        gf, gh, gw = reduced_gradients(s, y[:r], y[r : 2 * r], y[2 * r :])
        return -np.concatenate([gf, gh, gw]) / tau

    ts = np.linspace(0.0, float(duration), int(samples))
    sol = solve_ivp(rhs, (0.0, float(duration)), np.concatenate([f0, h0, w0]).astype(float),
                    method="LSODA", t_eval=ts, rtol=rtol, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"reduced flow failed: {sol.message}")
    f, h, w = sol.y[:r].T, sol.y[r : 2 * r].T, sol.y[2 * r :].T
    loss = np.stack([reduced_loss(s, f[k], h[k], w[k]) for k in range(len(ts))])
    return ModeTrajectory(sol.t, f, h, w, loss)


def optimum_for_w(s: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a*(w), L*(w))`` per mode: the best product ``h f`` for fixed ``w`` and the loss left."""
    s = _check(s, w)
    pw, _ = _powers(w, s.shape[1])
    num = (s * pw).sum(1)
    den = (pw**2).sum(1)
    return num / den, 0.5 * (s**2).sum(1) - 0.5 * num**2 / den


# -- the full model ------------------------------------------------------------------------------
def teacher_correlations(U: np.ndarray, V: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``[T, N_y, N_x]`` ``Σ^{YX}_t = U diag(s_{:,t}) Vᵀ``."""
    s = _check(s)
    return np.einsum("ya,at,xa->tyx", U, s, V)


def aligned_init(U: np.ndarray, V: np.ndarray, R: np.ndarray, f: np.ndarray, h: np.ndarray,
                 w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(F [N_h, N_x], W [N_h, N_h], H [N_y, N_h])`` aligned with the teacher's modes."""
    return R @ np.diag(f) @ V.T, R @ np.diag(w) @ R.T, U @ np.diag(h) @ R.T


def full_loss(sigma: Any, F: Any, W: Any, H: Any) -> Any:
    """``½ Σ_t ‖Σ_t − H W^{T−t} F‖²_F`` in torch (differentiable) or NumPy."""
    T = sigma.shape[0]
    total = 0.0
    P = F  # W^0 F, then W^k F for k = 1.., matching t = T, T−1, ...
    for k in range(T):
        total = total + 0.5 * ((sigma[T - 1 - k] - H @ P) ** 2).sum()
        P = W @ P
    return total


def gd_step(loss: Any, params: Sequence[Any], lr: float) -> None:
    """One plain gradient-descent step of ``loss`` on the torch tensors ``params``, in place
    (a parameter the loss does not use is left alone)."""
    import torch

    grads = torch.autograd.grad(loss, list(params), allow_unused=True)
    with torch.no_grad():
        for p, g in zip(params, grads):
            if g is not None:
                p -= lr * g


def full_gd(sigma: np.ndarray, F0: np.ndarray, W0: np.ndarray, H0: np.ndarray, lr: float,
            steps: int) -> dict[str, np.ndarray]:
    """Plain gradient descent on the full matrices (torch autograd, float64); returns the loss and
    ``F``, ``W``, ``H`` after every step (index 0: the start)."""
    import torch

    S = torch.as_tensor(sigma, dtype=torch.float64)
    params = [torch.tensor(np.asarray(m, dtype=np.float64), requires_grad=True)
              for m in (F0, W0, H0)]
    out: dict[str, list[np.ndarray]] = {"loss": [], "F": [], "W": [], "H": []}
    for k in range(int(steps) + 1):
        loss = full_loss(S, *params)
        for name, p in zip(("F", "W", "H"), params):
            out[name].append(p.detach().numpy().copy())
        out["loss"].append(np.array(float(loss.detach())))
        if k == steps:
            break
        gd_step(loss, params, lr)  # T = 1 leaves W unused
    return {k: np.stack(v) for k, v in out.items()}


def train_full(sigma: np.ndarray, hidden: int, init: float, lr: float, steps: int, seed: int,
               skip: bool = False) -> dict[str, Any]:
    """Full-matrix GD on teacher ``sigma [T, N_y, N_x]`` from a random init of std
    ``init / sqrt(fan_in)`` (``default_rng(seed)``); with ``skip`` a direct matrix ``D`` adds
    ``D x_T`` to the output (it learns the lag-0 map alongside ``H F``). Returns the final ``F``,
    ``W``, ``H`` (and ``D``), the initial ``W`` and the final loss."""
    import torch

    T, n_y, n_x = sigma.shape
    rng = np.random.default_rng(seed)
    F0 = rng.normal(scale=init / np.sqrt(n_x), size=(hidden, n_x))
    W0 = rng.normal(scale=init / np.sqrt(hidden), size=(hidden, hidden))
    H0 = rng.normal(scale=init / np.sqrt(hidden), size=(n_y, hidden))
    params = [torch.tensor(m, requires_grad=True) for m in (F0, W0, H0)]
    if skip:
        params.append(torch.tensor(rng.normal(scale=init / np.sqrt(n_x), size=(n_y, n_x)),
                                   requires_grad=True))
    S = torch.as_tensor(sigma, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        F, W, H = params[:3]
        total, P = torch.zeros((), dtype=F.dtype), F
        for k in range(T):
            M = H @ P
            if skip and k == 0:
                M = M + params[3]
            total = total + 0.5 * ((S[T - 1 - k] - M) ** 2).sum()
            P = W @ P
        return total

    for _ in range(int(steps)):
        gd_step(loss_fn(), params, lr)
    out: dict[str, np.ndarray | float] = {n: p.detach().numpy().copy()
                                          for n, p in zip(("F", "W", "H", "D"), params)}
    out["W0"] = W0
    out["loss"] = float(loss_fn().detach())
    return out


def mode_strengths(F: np.ndarray, W: np.ndarray, H: np.ndarray, U: np.ndarray, V: np.ndarray,
                   T: int) -> np.ndarray:
    """``[r, T]`` the network's singular value along each teacher mode at each input time,
    ``u_αᵀ H W^{T−t} F v_α``."""
    out = np.zeros((U.shape[1], T))
    P = F
    for k in range(T):
        out[:, T - 1 - k] = np.einsum("ya,yx,xa->a", U, H @ P, V)
        P = W @ P
    return out


def explained(strengths: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``[..., r]`` fraction of each teacher mode learned: ``Σ_t s_t m_t / Σ_t s_t²`` for network
    strengths ``m [..., r, T]`` (1 when the mode is learned exactly)."""
    s = _check(s)
    return (strengths * s).sum(-1) / (s**2).sum(-1)


def half_times(progress: np.ndarray, level: float = 0.5) -> np.ndarray:
    """``[r]`` first index at which each mode's ``progress [K, r]`` reaches ``level`` of its final
    value (``K`` if never): the learning order is ``argsort`` of these."""
    final = progress[-1]
    hit = progress >= level * final
    return np.where(hit.any(0), hit.argmax(0), len(progress))
