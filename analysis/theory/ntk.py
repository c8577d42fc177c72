"""The finite-width neural tangent kernel of a linear RNN, and how far it moves during training,
with and without recurrence.

``K(x, x') = J(x) J(x')ᵀ`` with ``J`` the Jacobian of the outputs ``[n·N_y]`` with respect to all
parameters. The linear RNN is ``y = H Σ_t W^{T−t} F x_t``; its counterparts *without recurrence* are the
deep linear networks on the whole sequence, ``"feedforward"`` (2 weight layers,
``y = H Σ_t G_t x_t`` with ``G [T, N_h, N_x]``) and ``"feedforward3"``/``"feedforward4"``/
``"feedforward7"`` (3, 4 or 7 untied weight layers, ``y = H A_{L−2} ⋯ A_1 Σ_t G_t x_t``), which
represent the same input-output maps: the depth control for the RNN's depth in time (7 = T + 1
for the T = 6 teacher: the RNN's longest path F, W, ..., W, H is 7 layers deep, tied).
`analytic_ntk()` is the RNN's kernel in closed form, against which the autograd kernel is
tested. Both are trained by plain gradient descent on the population loss
``½ Σ_t ‖Σ^{YX}_t − M_t‖²_F`` (``M_t`` the network's map at input time t).
Kernel movement is reported as the kernel distance ``1 − ⟨K_0, K⟩_F / (‖K_0‖ ‖K‖)`` (0: the
kernel only rescaled) and as ``‖K − K_0‖_F / ‖K_0‖_F``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .linear_rnn import gd_step

Model = Literal["rnn", "feedforward", "feedforward3", "feedforward4", "feedforward7"]
#: ``feedforward7``: 7 untied weight layers, the depth of the RNN unrolled over T = 6 steps (F,
#: five applications of W, H), so the depth control matches the RNN's depth in time.
MODELS = ("rnn", "feedforward", "feedforward3", "feedforward4", "feedforward7")


def depth(model: str) -> int:
    """Weight layers of a feed-forward model name (``"feedforward"``: 2); ``ValueError`` else."""
    if model not in MODELS or model == "rnn":
        raise ValueError(f"model must be one of {list(MODELS)}, got {model!r}")
    return 2 if model == "feedforward" else int(model[-1])


def outputs(model: Model, params: tuple[Any, ...], x: Any) -> Any:
    """``[n, N_y]`` outputs for inputs ``x [n, T, N_x]`` (torch): ``params = (F, W, H)`` for
    ``"rnn"``, ``(G, A_1, ..., H)`` for the feed-forward models."""
    if model == "rnn":
        F, W, H = params
        h = x.new_zeros(x.shape[0], F.shape[0])
        for t in range(x.shape[1]):
            h = h @ W.T + x[:, t] @ F.T
        return h @ H.T
    depth(model)
    G, *mid, H = params
    h = (x.unsqueeze(2) @ G.transpose(1, 2).unsqueeze(0)).squeeze(2).sum(1)
    for A in mid:
        h = h @ A.T
    return h @ H.T


def maps(model: Model, params: tuple[Any, ...], T: int) -> Any:
    """``[T, N_y, N_x]`` the network's linear map from the input at time t to the output."""
    if model == "rnn":
        F, W, H = params
        out, P = [], F
        for _ in range(T):
            out.append(H @ P)
            P = W @ P
        import torch

        return torch.stack(out[::-1])
    G, *mid, H = params
    M = H
    for A in reversed(mid):
        M = M @ A
    return M @ G


def analytic_ntk(F: np.ndarray, W: np.ndarray, H: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``[n·N_y, n·N_y]`` NTK of the linear RNN in closed form, for probes ``x [n, T, N_x]``.

    With ``M_k = H W^k`` and the hidden states ``h_t`` (``h_{T}`` the last):
    ``K = δ_ij ⟨h_T, h'_T⟩`` (from H) ``+ Σ_{k,l} (M_k M_lᵀ)_ij ⟨x_{T−k}, x'_{T−l}⟩`` (from F)
    ``+ Σ_{p,q} (M_p M_qᵀ)_ij ⟨h_{T−1−p}, h'_{T−1−q}⟩`` (from W: ``∂W^k = Σ_p W^p dW W^{k−1−p}``).
    """
    x = np.asarray(x, dtype=np.float64)
    n, T, _ = x.shape
    n_y, n_h = H.shape
    M, P = [], np.eye(n_h)
    for _ in range(T):
        M.append(H @ P)
        P = W @ P
    Mk = np.stack(M)  # [T, N_y, N_h], lag k
    hs, h = [], np.zeros((n, n_h))
    for t in range(T):
        h = h @ W.T + x[:, t] @ F.T
        hs.append(h)
    hs_arr = np.stack(hs, axis=1)  # [n, T, N_h], h_1 .. h_T
    x_lag = x[:, ::-1]  # lag k = 0 .. T-1
    h_lag = hs_arr[:, ::-1][:, 1:]  # h_{T-1-p}, p = 0 .. T-2
    K = np.einsum("ij,nh,mh->nimj", np.eye(n_y), hs_arr[:, -1], hs_arr[:, -1])
    K += np.einsum("kia,lja,nkx,mlx->nimj", Mk, Mk, x_lag, x_lag, optimize=True)
    if T > 1:
        K += np.einsum("pia,qja,nph,mqh->nimj", Mk[:-1], Mk[:-1], h_lag, h_lag, optimize=True)
    return K.reshape(n * n_y, n * n_y)


def ntk(model: Model, params: tuple[Any, ...], x: Any) -> np.ndarray:
    """``[n·N_y, n·N_y]`` empirical NTK at ``params`` on probe inputs ``x [n, T, N_x]``."""
    import torch
    from torch.func import jacrev

    jac = jacrev(lambda *p: outputs(model, p, x), argnums=tuple(range(len(params))))(*params)
    n_out = x.shape[0] * jac[0].shape[1]
    J = torch.cat([j.reshape(n_out, -1) for j in jac], dim=1)
    return (J @ J.T).detach().numpy()


def kernel_distance(K0: np.ndarray, K: np.ndarray) -> float:
    """``1 − ⟨K0, K⟩_F / (‖K0‖_F ‖K‖_F)``: 0 when ``K`` is a rescaling of ``K0``."""
    return float(1.0 - (K0 * K).sum() / (np.linalg.norm(K0) * np.linalg.norm(K)))


def init_params(model: Model, rng: np.random.Generator, T: int, n_x: int, n_h: int, n_y: int,
                scale: float) -> tuple[np.ndarray, ...]:
    """Normal init with std ``scale / sqrt(fan_in)`` (fan-in of each ``G_t`` is ``N_x``)."""
    H = rng.normal(scale=scale / np.sqrt(n_h), size=(n_y, n_h))
    if model == "rnn":
        return (rng.normal(scale=scale / np.sqrt(n_x), size=(n_h, n_x)),
                rng.normal(scale=scale / np.sqrt(n_h), size=(n_h, n_h)), H)
    mid = [rng.normal(scale=scale / np.sqrt(n_h), size=(n_h, n_h))
           for _ in range(depth(model) - 2)]
    return (rng.normal(scale=scale / np.sqrt(n_x), size=(T, n_h, n_x)), *mid, H)


@dataclass(frozen=True)
class KernelMovement:
    """Training record of one model: ``steps [K]``, population ``loss [K]`` (relative to the
    teacher's energy), ``distance [K]`` and ``relative_change [K]`` of the NTK from its start."""

    model: str
    scale: float
    steps: np.ndarray
    loss: np.ndarray
    distance: np.ndarray
    relative_change: np.ndarray


def kernel_movement(model: Model, sigma: np.ndarray, scale: float, hidden: int = 16,
                    lr: float = 0.02, steps: int = 2000, probes: int = 32, records: int = 21,
                    seed: int = 0) -> KernelMovement:
    """Train ``model`` by gradient descent on the teacher ``sigma [T, N_y, N_x]`` from an init of
    std ``scale / sqrt(fan_in)``; record the NTK on ``probes`` white-noise sequences."""
    import torch

    if model not in MODELS:
        raise ValueError(f"model must be one of {list(MODELS)}, got {model!r}")
    T, n_y, n_x = sigma.shape
    rng = np.random.default_rng(seed)
    params = tuple(torch.tensor(p, requires_grad=True)
                   for p in init_params(model, rng, T, n_x, hidden, n_y, scale))
    x = torch.as_tensor(rng.normal(size=(probes, T, n_x)))
    S = torch.as_tensor(sigma, dtype=torch.float64)
    energy = 0.5 * float((S**2).sum())
    at = set(np.linspace(0, steps, records).round().astype(int).tolist())
    K0 = ntk(model, params, x)
    rec_steps, loss_rec, dist, rel = [], [], [], []
    for k in range(int(steps) + 1):
        loss = 0.5 * ((S - maps(model, params, T)) ** 2).sum()
        if k in at:
            K = K0 if k == 0 else ntk(model, params, x)
            rec_steps.append(k)
            loss_rec.append(float(loss.detach()) / energy)
            dist.append(kernel_distance(K0, K))
            rel.append(float(np.linalg.norm(K - K0) / np.linalg.norm(K0)))
        if k == steps:
            break
        gd_step(loss, params, lr)
    return KernelMovement(model, float(scale), np.array(rec_steps), np.array(loss_rec),
                          np.array(dist), np.array(rel))
