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
