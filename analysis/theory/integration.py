"""Sensory integration on ``ta_envs`` data: the theory's prediction for a linear RNN trained on
samples, where the assumptions (population loss, aligned init, exactly shared singular vectors)
are relaxed.

Inputs are the symbol streams of a ``ta_envs`` task (default ``FlipFlop-v0``: sparse ±1 pulses on
3 channels), centred and whitened with the training set's covariance. The target integrates each
channel with leak ``gamma`` and weight ``scales[i]``: ``y = diag(scales) Σ_t γ^{T−t} x̃_t``, so the
task dynamics are ``s_{α,t} ≈ scales[α] γ^{T−t}``. A full linear RNN is trained by full-batch
gradient descent on the samples (float64) from a small random init; the reduced dynamics of the
task's dynamics ``scales ⊗ γ^{T−t}`` predict when each channel is learned and its recurrent gain.
The sample correlations' own singular values (``s_empirical``) are reported next to them: with
sparse pulses they scatter around the designed values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ta_envs import make_dataset

from .linear_rnn import explained, gd_step, half_times, mode_strengths, reduced_gd
from .properties import random_small_init


@dataclass(frozen=True)
class IntegrationData:
    """Whitened inputs ``x [n, T, D]``, targets ``y [n, D]``, and the whitening ``(mean, P)`` so
    that ``x̃ = (x − mean) P``."""

    x: np.ndarray
    y: np.ndarray
    mean: np.ndarray
    P: np.ndarray


def integration_targets(x: np.ndarray, gamma: float | Sequence[float], scales: np.ndarray
                        ) -> np.ndarray:
    """``[n, D]`` ``diag(scales) Σ_t γ^{T−t} x_t`` for whitened ``x [n, T, D]``; ``gamma`` is one
    leak for every channel or one per channel."""
    T = x.shape[1]
    g = np.broadcast_to(np.asarray(gamma, dtype=np.float64), (x.shape[2],))
    lags = np.arange(T - 1, -1, -1)[:, None]
    return ((g[None, :] ** lags)[None] * x).sum(1) * scales


def designed_dynamics(gamma: float | Sequence[float], scales: Sequence[float], T: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(s [D, T], order [D])``: each channel's task dynamics ``scale · γ^{T−t}``, sorted like the
    singular values of the summed correlations (by ``Σ_t s_t``, largest first); ``order[k]`` is
    the channel of row k."""
    sc = np.asarray(scales, dtype=np.float64)
    g = np.broadcast_to(np.asarray(gamma, dtype=np.float64), sc.shape)
    s = sc[:, None] * g[:, None] ** np.arange(T - 1, -1, -1)
    order = np.argsort(-s.sum(1), kind="stable")
    return s[order], order


def integration_data(task: str, n: int, T: int, gamma: float | Sequence[float],
                     scales: Sequence[float],
                     seed: int, whitening: tuple[np.ndarray, np.ndarray] | None = None,
                     stream: int = 0) -> IntegrationData:
    """Draw ``n`` sequences of length ``T`` from ``task``'s dataset (stream ``stream`` of the seed),
    whiten them (with ``whitening`` when given, else with their own covariance), and integrate."""
    ds = make_dataset(task, batch_size=n, seq_len=T, seed=seed).split(stream)
    raw = next(ds).inputs.astype(np.float64)
    scale = np.asarray(scales, dtype=np.float64)
    if raw.shape[-1] != len(scale):
        raise ValueError(f"scales must have one entry per input channel ({raw.shape[-1]} for "
                         f"{task}), got {len(scale)}")
    if whitening is None:
        flat = raw.reshape(-1, raw.shape[-1])
        mean = flat.mean(0)
        evals, evecs = np.linalg.eigh(np.cov(flat.T))
        if evals.min() <= 1e-12:
            raise ValueError(f"{task}'s inputs are degenerate (covariance eigenvalues {evals}); "
                             "choose a task whose input channels vary independently")
        P = evecs @ np.diag(evals**-0.5) @ evecs.T
    else:
        mean, P = whitening
    x = (raw - mean) @ P
    return IntegrationData(x, integration_targets(x, gamma, scale), mean, P)


def empirical_task_dynamics(data: IntegrationData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(U, V, s [D, T])``: singular vectors of ``Σ_t Σ̂^{YX}_t`` and the per-time singular values
    ``u_αᵀ Σ̂^{YX}_t v_α`` of the sample correlations ``Σ̂^{YX}_t = mean(y x_tᵀ)``."""
    sig = np.einsum("ny,ntx->tyx", data.y, data.x) / len(data.x)
    U, _, Vt = np.linalg.svd(sig.sum(0))
    s = np.einsum("ya,tyx,xa->at", U, sig, Vt.T)
    sign = np.sign(s.sum(1))
    return U * sign, Vt.T, s * sign[:, None]


@dataclass(frozen=True)
class IntegrationResult:
    """Per channel/mode ``[D]``: predicted and simulated half-learning steps, the recurrent gain
    predicted by the reduced dynamics and the one the trained network shows along that mode; the
    top eigenvalue moduli of the learned ``W``; and the relative test error at ``lengths``
    (the integration rule applied over the whole longer sequence)."""

    gamma: np.ndarray  #: [D] leak per channel
    scales: np.ndarray
    order: np.ndarray  #: [D] the channel of each mode (modes sorted by strength)
    s: np.ndarray  #: [D, T] designed task dynamics (the prediction's input)
    s_empirical: np.ndarray  #: [D, T] singular values of the sample correlations
    predicted: np.ndarray
    simulated: np.ndarray
    predicted_half: np.ndarray
    simulated_half: np.ndarray
    w_predicted: np.ndarray
    w_simulated: np.ndarray
    eig_abs: np.ndarray
    lengths: np.ndarray
    test_error: np.ndarray
    train_loss: np.ndarray


def _gain(strengths: np.ndarray) -> np.ndarray:
    """Least-squares ratio of each mode's strength at lag k+1 to lag k (``[.., r, T]``, t = 1..T)."""
    m = strengths[..., ::-1]  # lag order
    return (m[..., 1:] * m[..., :-1]).sum(-1) / (m[..., :-1] ** 2).sum(-1)


def integration_experiment(task: str = "FlipFlop-v0", T: int = 10, n: int = 2048,
                           gamma: float | Sequence[float] = 0.9,
                           scales: Sequence[float] = (1.0, 0.6, 0.3),
                           hidden: int = 12, init: float = 0.05, lr: float = 0.01,
                           steps: int = 3000, lengths: Sequence[int] = (10, 20, 40),
                           seed: int = 0) -> IntegrationResult:
    """Train a linear RNN on the integration task and compare with the theory (see module doc)."""
    import torch

    data = integration_data(task, n, T, gamma, scales, seed)
    U, V, s_emp = empirical_task_dynamics(data)
    D = s_emp.shape[0]
    s, order = designed_dynamics(gamma, scales, T)
    rng = np.random.default_rng(seed)
    params = [torch.tensor(p, requires_grad=True)
              for p in random_small_init(rng, D, hidden, D, init)]
    x, y = torch.as_tensor(data.x), torch.as_tensor(data.y)
    sim, losses = [], []
    for k in range(int(steps) + 1):
        F, W, H = params
        h = x.new_zeros(n, hidden)
        for t in range(T):
            h = h @ W.T + x[:, t] @ F.T
        loss = 0.5 * ((h @ H.T - y) ** 2).sum(1).mean()
        losses.append(float(loss.detach()))
        Fn, Wn, Hn = (p.detach().numpy() for p in params)
        sim.append(mode_strengths(Fn, Wn, Hn, U, V, T))
        if k == steps:
            break
        gd_step(loss, params, lr)
    strengths = np.stack(sim)
    simulated = explained(strengths, s)
    a0 = init**2 * np.sqrt(hidden / D) / hidden  # typical |u H F v| at the random start
    red = reduced_gd(s, np.full(D, np.sqrt(a0)), np.full(D, np.sqrt(a0)), np.zeros(D), lr, steps)
    pw = red.w[:, :, None] ** np.arange(T - 1, -1, -1)
    predicted = explained((red.h * red.f)[:, :, None] * pw, s)
    Fn, Wn, Hn = (p.detach().numpy() for p in params)
    errs = []
    for L in lengths:
        test = integration_data(task, 512, int(L), gamma, scales, seed, (data.mean, data.P), 1)
        hn = np.zeros((len(test.x), hidden))
        for t in range(int(L)):
            hn = hn @ Wn.T + test.x[:, t] @ Fn.T
        errs.append(float(((hn @ Hn.T - test.y) ** 2).sum() / (test.y**2).sum()))
    return IntegrationResult(
        gamma=np.broadcast_to(np.asarray(gamma, dtype=float), (D,)).copy(),
        scales=np.asarray(scales, dtype=float), order=order, s=s, s_empirical=s_emp,
        predicted=predicted,
        simulated=simulated, predicted_half=half_times(predicted),
        simulated_half=half_times(simulated), w_predicted=red.w[-1],
        w_simulated=_gain(strengths[-1]),
        eig_abs=np.sort(np.abs(np.linalg.eigvals(Wn)))[::-1][:D], lengths=np.asarray(lengths),
        test_error=np.array(errs), train_loss=np.array(losses))
