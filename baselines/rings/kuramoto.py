"""Kuramoto phase oscillators on a periodic square lattice with nearest-neighbour coupling: the
baseline that tests the "Kuramoto-like" reading of ring-oscillator lattices.

``dθ_i/dt = ω_i + K Σ_{j ∈ nn(i)} sin(θ_j − θ_i)`` on a ``rows × cols`` torus, integrated with
classical Runge-Kutta (step ``dt``, time in the same units as the rings: neuron time constants).
Natural frequencies ``ω_i ~ N(omega, omega_std²)``. On a bipartite lattice (even rows and cols)
the staggered phases ``θ + π(row + col)`` turn coupling ``−K`` into ``+K`` exactly, so antiphase
ring lattices compare with ``K > 0`` after the same staggering
[`analysis.rings.synchrony`][analysis.rings.synchrony]
applies. `two_oscillator_difference()` is the closed-form solution for two oscillators that the
stepper is tested against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ta_envs.validation import InvalidValue, check_float, check_int, check_int_fields

TWO_PI = 2.0 * np.pi


@dataclass(frozen=True)
class KuramotoConfig:
    """A lattice of phase oscillators: size, coupling ``K`` (1/time), mean natural frequency
    ``omega`` and its spread ``omega_std`` (rad/time), RK4 step ``dt``."""

    rows: int = 40
    cols: int = 40
    coupling: float = 0.1
    omega: float = 2 * np.pi / 10.0
    omega_std: float = 0.0
    dt: float = 0.05

    def __post_init__(self) -> None:
        check_int_fields(self, ("rows", "cols"), 2)
        check_float("coupling", self.coupling)
        check_float("omega", self.omega)
        check_float("omega_std", self.omega_std, 0.0)
        check_float("dt", self.dt, above=0.0)


def lattice_velocity(theta: np.ndarray, omega: np.ndarray, coupling: float) -> np.ndarray:
    """``dθ/dt`` for phases ``theta [..., rows, cols]`` (periodic nearest neighbours)."""
    s, c = np.sin(theta), np.cos(theta)
    sum_s = sum(np.roll(s, k, axis=a) for a in (-2, -1) for k in (1, -1))
    sum_c = sum(np.roll(c, k, axis=a) for a in (-2, -1) for k in (1, -1))
    # Σ sin(θ_j − θ_i) = cos θ_i Σ sin θ_j − sin θ_i Σ cos θ_j
    return omega + coupling * (c * sum_s - s * sum_c)


def rk4(theta: np.ndarray, velocity: Callable[[np.ndarray], np.ndarray], dt: float) -> np.ndarray:
    """One classical Runge-Kutta step of ``dθ/dt = velocity(θ)``."""
    k1 = velocity(theta)
    k2 = velocity(theta + 0.5 * dt * k1)
    k3 = velocity(theta + 0.5 * dt * k2)
    k4 = velocity(theta + dt * k3)
    return theta + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


def simulate_lattice(cfg: KuramotoConfig, duration: float, sample: float, seeds: list[int]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Phases ``[S, B, rows, cols]`` in ``[0, 2π)`` at ``times [S]`` (every ``sample`` time units
    up to ``duration``) for each seed (random initial phases and frequencies drawn from
    ``default_rng(seed)``; the seeds run side by side)."""
    check_float("duration", duration, above=0.0)
    check_float("sample", sample, above=0.0)
    if not seeds:
        raise InvalidValue("seeds must name at least one seed")
    R, C = cfg.rows, cfg.cols
    th, om = [], []
    for s in seeds:
        rng = np.random.default_rng(s)
        th.append(rng.uniform(0, TWO_PI, (R, C)))
        om.append(cfg.omega + cfg.omega_std * rng.normal(size=(R, C)))
    theta, omega = np.stack(th), np.stack(om)
    every = check_int("sample / dt", int(round(sample / cfg.dt)), 1)
    total = int(round(duration / cfg.dt))
    times, out = [], []
    for k in range(1, total + 1):
        theta = rk4(theta, lambda x: lattice_velocity(x, omega, cfg.coupling), cfg.dt)
        if k % every == 0:
            times.append(k * cfg.dt)
            out.append(np.mod(theta, TWO_PI))
    return np.stack(out), np.asarray(times)


def two_oscillator_difference(phi0: float, d_omega: float, coupling: float,
                              t: np.ndarray) -> np.ndarray:
    """Closed-form ``φ(t) = θ_2 − θ_1`` of two coupled oscillators,
    ``dφ/dt = Δω − 2K sin φ`` (``a = Δω``, ``b = 2K``), for ``a ≠ 0`` and ``|a| ≠ |b|``.

    With ``u = tan(φ/2)``: ``du/dt = (a/2)((u − r)² + 1 − r²)``, ``r = b/a``. Drift (``r² < 1``), with
    ``c = sqrt(1 − r²)``: ``u = r + c tan(a c t / 2 + C)``. Locking (``r² > 1``), with
    ``g = sqrt(r² − 1)``: ``u = r − g tanh(a g t / 2 + C)`` if ``|u0 − r| < g``, else
    ``u = r − g coth(a g t / 2 + C)``. ``C`` from ``φ(0) = φ0``. ``t [K]`` starts at 0 and is
    sampled finely enough to unwrap: the result is continuous, starting at ``φ0`` wrapped into
    ``(−π, π]``."""
    a, b = float(d_omega), 2.0 * float(coupling)
    if a == 0 or abs(abs(a) - abs(b)) < 1e-12:
        raise InvalidValue("the closed form needs d_omega != 0 and |d_omega| != 2 |coupling|")
    t = np.asarray(t, dtype=np.float64)
    u0, r = np.tan(phi0 / 2.0), b / a
    if r * r < 1.0:
        c = np.sqrt(1.0 - r * r)
        u = r + c * np.tan(np.arctan((u0 - r) / c) + a * c * t / 2.0)
    else:
        g = np.sqrt(r * r - 1.0)
        if abs(u0 - r) < g:
            u = r - g * np.tanh(np.arctanh((r - u0) / g) + a * g * t / 2.0)
        else:
            u = r - g / np.tanh(np.arctanh(g / (r - u0)) + a * g * t / 2.0)
    return np.unwrap(2.0 * np.arctan(u))
