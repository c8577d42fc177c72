"""Periodic orbits: a map with a known attracting cycle, its multipliers, and quasi-periodicity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from analysis.orbits import find_periodic_orbits  # noqa: E402


def circle_map(P: float, a: float, e: float, lock: int):
    """r -> r + a(1 - r); θ -> θ + 2π/P - e sin(lock θ)."""
    def step(h, x):
        r = torch.sqrt(h[:, 0] ** 2 + h[:, 1] ** 2)
        th = torch.atan2(h[:, 1], h[:, 0])
        r2, th2 = r + a * (1 - r), th + 2 * math.pi / P - e * torch.sin(lock * th)
        return torch.stack([r2 * torch.cos(th2), r2 * torch.sin(th2)], 1)
    return step


@settings(max_examples=12, deadline=None)
@given(st.integers(2, 12), st.floats(0.1, 0.8), st.floats(0.2, 1.5), st.integers(0, 2**31))
def test_attracting_cycle_period_points_and_multipliers(P, a, eP, seed):
    e = eP / P  # tangential multiplier per step 1 - eP, stable
    H0 = np.random.default_rng(seed).normal(size=(8, 2)) + 0.1
    orb = find_periodic_orbits(circle_map(P, a, e, P), np.zeros((1, 1)), H0, max_period=16,
                               transient=600)
    assert orb.periods() == [P]
    o = orb.orbits[0]
    assert o.residual < 1e-10 and o.stability == "stable"
    np.testing.assert_allclose(np.sort(np.abs(o.multipliers)),
                               np.sort([(1 - a) ** P, abs(1 - eP) ** P]), rtol=1e-6, atol=1e-14)
    # the cycle sits on the unit circle at angles 2πk/P, visited in order
    np.testing.assert_allclose(np.linalg.norm(o.points, axis=1), 1, atol=1e-10)
    ang = np.mod(np.arctan2(o.points[:, 1], o.points[:, 0]) * P / (2 * np.pi), P)
    np.testing.assert_allclose(ang, np.round(ang), atol=1e-8)
    steps = np.mod(np.diff(np.round(ang)), P)
    assert (steps == 1).all()


def test_quasi_periodic_trajectories_report_their_rotation_number():
    omega = (math.sqrt(5) - 1) / 2  # irrational: no period
    step = circle_map(1 / omega, 0.5, 0.0, 1)
    H0 = np.random.default_rng(0).normal(size=(4, 2))
    orb = find_periodic_orbits(step, np.zeros((1, 1)), H0, max_period=40, transient=200)
    assert len(orb) == 0 and len(orb.rotation_numbers) == 4
    # signed turning per step is omega - 1 (mod 1); its sign depends on the PC orientation
    np.testing.assert_allclose(np.abs(orb.rotation_numbers), 1 - omega, atol=1e-3)  # O(1/T)


def test_fixed_points_are_not_orbits():
    A = torch.tensor([[0.5, 0.1], [0.0, 0.3]], dtype=torch.float64)
    orb = find_periodic_orbits(lambda h, x: h @ A.T, np.zeros((1, 1)), np.ones((3, 2)),
                               transient=100)
    assert len(orb) == 0 and len(orb.rotation_numbers) == 0


@pytest.mark.parametrize("P", [5, 9])
def test_single_shooting_refines_the_same_cycle(P, monkeypatch):
    import analysis.orbits as orbits

    H0 = np.random.default_rng(P).normal(size=(6, 2)) + 0.1
    step = circle_map(P, 0.4, 0.6 / P, P)
    multi = find_periodic_orbits(step, np.zeros((1, 1)), H0, max_period=16, transient=100)
    monkeypatch.setattr(orbits, "MULTIPLE_SHOOTING_MAX", 0)  # force single shooting
    single = find_periodic_orbits(step, np.zeros((1, 1)), H0, max_period=16, transient=100)
    assert multi.periods() == single.periods() == [P]
    assert single.orbits[0].residual < 1e-10
    np.testing.assert_allclose(np.sort(np.abs(single.orbits[0].multipliers)),
                               [(1 - 0.6) ** P, (1 - 0.4) ** P], rtol=1e-6)


@settings(max_examples=10, deadline=None)
@given(st.integers(2, 5), st.integers(1, 4), st.integers(0, 2**31))
def test_periodic_input_drives_the_known_cycle(q, n, seed):
    """h' = A h + u_t with a q-periodic input: one attracting cycle of period q, with
    x_0 = (I − A^q)^{-1} Σ_i A^{q−1−i} u_i and multipliers eig(A^q)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    A *= 0.7 / np.linalg.norm(A, 2)
    seq = rng.normal(size=(q, n))
    At = torch.as_tensor(A)
    orb = find_periodic_orbits(lambda h, x: h @ At.T + x, seq, rng.normal(size=(4, n)),
                               periodic_input=True, max_period=12, transient=200)
    assert orb.periods() == [q]
    o = orb.orbits[0]
    Aq = np.linalg.matrix_power(A, q)
    x0 = np.linalg.solve(np.eye(n) - Aq, sum(np.linalg.matrix_power(A, q - 1 - i) @ seq[i]
                                             for i in range(q)))
    np.testing.assert_allclose(o.points[0], x0, atol=1e-9)  # points[0] is at input phase 0
    for j in range(q):  # and the cycle follows the inputs in order
        np.testing.assert_allclose(o.points[(j + 1) % q], A @ o.points[j] + seq[j], atol=1e-9)
    np.testing.assert_allclose(np.sort(np.abs(o.multipliers)), np.sort(np.abs(np.linalg.eigvals(Aq))),
                               atol=1e-9)
    assert o.stability == "stable"


def test_a_constant_sequence_gives_the_constant_input_cycle():
    step = circle_map(6, 0.5, 0.1, 6)
    H0 = np.random.default_rng(0).normal(size=(4, 2)) + 0.1
    const = find_periodic_orbits(step, np.zeros((1, 1)), H0, max_period=16, transient=300)
    seq = find_periodic_orbits(step, np.zeros((3, 1)), H0, periodic_input=True, max_period=16,
                               transient=300)
    assert const.periods() == [6]
    # seen with a drive of period 3, the 6-cycle is 3 distinct solutions: shifts by 0, 1, 2 steps
    # (a shift by 3 keeps the phase and is the same solution)
    assert seq.periods() == [6, 6, 6]
    ref = const.orbits[0].points
    starts = []
    for o in seq.orbits:
        np.testing.assert_allclose(np.sort(np.abs(o.multipliers)),
                                   np.sort(np.abs(const.orbits[0].multipliers)), rtol=1e-8)
        k = int(np.argmin(np.abs(ref - o.points[0]).max(1)))
        np.testing.assert_allclose(o.points, np.roll(ref, -k, axis=0), atol=1e-9)
        starts.append(k % 3)
    assert sorted(starts) == [0, 1, 2]
    with pytest.raises(ValueError, match="max_period"):
        find_periodic_orbits(step, np.zeros((20, 1)), H0, periodic_input=True, max_period=16)
