"""The two-parameter oscillator: the smallest model of learning a time of day.

State ``z_t = (μ e^{iω})^t`` (``z_0 = 1``; growth ``μ``, frequency ``ω`` in rad/step), output
``A·Re z_t`` with ``A = 4/π`` (the square wave's fundamental amplitude), target the periodic
flipflop's Θ in ±1 form, ``s_t = sign(cos(2π t / P))`` (on for half the period, centred on t = 0),
loss ``L(μ, ω) = (1/T) Σ_{t=1..T} (A μ^t cos(ωt) − s_t)²``. `gradient_flow()` integrates
``d(μ, ω)/dτ = −∇L`` with the exact gradient (scipy's LSODA). While ``μ`` is small
the output dies out within a few steps and the loss barely depends on ``ω`` (the plateau); as ``μ``
approaches 1 the ``ω`` gradient grows and ``ω`` locks to ``2π/P`` (the jump).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ta_envs.validation import check_int_fields


@dataclass(frozen=True)
class Oscillator:
    """The task: period ``P`` and sequence length ``T`` (steps 1..T)."""

    period: int = 24
    length: int = 96

    def __post_init__(self) -> None:
        check_int_fields(self, ("period", "length"), 2)

    @property
    def t(self) -> np.ndarray:
        """Time in units of the learning rate (shape (steps,))."""
        return np.arange(1, self.length + 1, dtype=np.float64)

    @property
    def target(self) -> np.ndarray:
        """[T] s_t in {-1, +1}."""
        return np.where(np.cos(2 * np.pi * self.t / self.period) >= 0, 1.0, -1.0)

    def loss_and_grad(self, mu: np.ndarray, omega: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Loss and its exact gradient at arrays of ``(μ, ω)`` (any common shape)."""
        mu, omega = np.broadcast_arrays(np.asarray(mu, float), np.asarray(omega, float))
        t = self.t.reshape((-1,) + (1,) * mu.ndim)
        A = 4 / np.pi
        pw = mu[None] ** t
        c, s = np.cos(omega[None] * t), np.sin(omega[None] * t)
        err = A * pw * c - self.target.reshape(t.shape)
        T = self.length
        loss = (err**2).sum(0) / T
        g_mu = (2 / T) * (err * A * t * pw / mu[None] * c).sum(0)
        g_om = (2 / T) * (err * A * pw * (-t) * s).sum(0)
        return loss, g_mu, g_om


@dataclass(frozen=True)
class Flow:
    """One gradient-flow trajectory, sampled every ``record`` steps of size ``dt``."""

    time: np.ndarray  #: [K] flow time τ
    mu: np.ndarray  #: [K]
    omega: np.ndarray  #: [K]
    loss: np.ndarray  #: [K]

    def transition_time(self) -> float | None:
        """First τ where the loss falls below the midpoint of its first and last value."""
        mid = 0.5 * (self.loss[0] + self.loss[-1])
        hit = np.flatnonzero(self.loss < mid)
        return float(self.time[hit[0]]) if len(hit) else None

    def time_mu_reaches(self, level: float) -> float | None:
        """First time mu reaches ``level`` (None if never)."""
        hit = np.flatnonzero(self.mu >= level)
        return float(self.time[hit[0]]) if len(hit) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"mu0": float(self.mu[0]), "omega0": float(self.omega[0]),
                "mu_final": float(self.mu[-1]), "omega_final": float(self.omega[-1]),
                "loss0": float(self.loss[0]), "loss_final": float(self.loss[-1]),
                "transition_time": self.transition_time(),
                "time_mu_0.95": self.time_mu_reaches(0.95)}


def gradient_flow(osc: Oscillator, mu0: float, omega0: float, *, duration: float = 60.0,
                  samples: int = 1201, rtol: float = 1e-8) -> Flow:
    """Integrate ``d(μ, ω)/dτ = −∇L`` from ``(mu0, omega0)`` for ``duration`` units of flow time
    (scipy ``solve_ivp``, LSODA: the flow is stiff near ``μ = 1``), sampled at ``samples`` times."""
    from scipy.integrate import solve_ivp

    if not mu0 > 0:
        raise ValueError(f"mu0 must be > 0, got {mu0!r}")
    if not duration > 0:
        raise ValueError(f"duration must be > 0, got {duration!r}")

    def rhs(_: float, y: np.ndarray) -> np.ndarray:
        _loss, gm, go = osc.loss_and_grad(np.array(y[0]), np.array(y[1]))
        return -np.array([float(gm), float(go)])

    ts = np.linspace(0, duration, samples)
    sol = solve_ivp(rhs, (0, duration), [mu0, omega0], method="LSODA", t_eval=ts, rtol=rtol,
                    atol=1e-10)
    if not sol.success:
        raise RuntimeError(f"gradient flow failed: {sol.message}")
    loss = osc.loss_and_grad(sol.y[0], sol.y[1])[0]
    return Flow(sol.t, sol.y[0], sol.y[1], loss)
