"""Subspace, oscillator and counting probe: checked against constructions with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

from analysis.counting import counting_probe  # noqa: E402
from analysis.oscillator import Oscillator, gradient_flow  # noqa: E402
from analysis.subspace import phase_locking, subspace_basis  # noqa: E402
from baselines.models import build_model  # noqa: E402
from ta_envs import make_task  # noqa: E402


# -- subspace ------------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(st.integers(3, 48), st.floats(-math.pi, math.pi), st.sampled_from([1, -1]),
       st.integers(1, 3), st.integers(0, 2**31))
def test_phase_locking_is_one_for_a_clock_and_ignores_the_offset(P, offset, sign, m, seed):
    assume(2 * m < P)  # a winding the period can show unaliased
    k = np.random.default_rng(seed).integers(0, P, size=500)
    theta = np.angle(np.exp(1j * (offset + sign * m * 2 * np.pi * k / P)))
    R, w = phase_locking(theta, k, P)
    assert R == pytest.approx(1.0, abs=1e-9) and w == sign * m
    noisy = np.random.default_rng(seed + 1).uniform(-np.pi, np.pi, size=500)
    Rn, _ = phase_locking(noisy, k, P)
    assert 0 <= Rn < 0.3  # no clock: each mean vector is ~1/sqrt(500), max over <= 48 windings


def test_subspace_basis_is_the_input_direction_and_the_rotation_plane():
    task = make_task("TemporalFlipFlop-v0", period=12)
    model = build_model("rnn", 2, 6, 1, generator=torch.Generator().manual_seed(0))
    W = np.zeros((6, 6))
    W[3:5, 3:5] = 0.99 * np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]])
    W[1, 1] = W[2, 2] = W[5, 5] = 0.3
    Win = np.zeros((6, 2))
    Win[0] = [1.0, -1.0]  # a -> +e0, b -> -e0
    with torch.no_grad():
        model.rnn.weight_hh_l0.copy_(torch.as_tensor(W))
        model.rnn.weight_ih_l0.copy_(torch.as_tensor(Win))
        model.rnn.bias_hh_l0.zero_()
        model.rnn.bias_ih_l0.zero_()
    basis, lam = subspace_basis(model, task)
    assert abs(lam) == pytest.approx(0.99, abs=1e-6) and abs(np.angle(lam)) == pytest.approx(0.5)
    np.testing.assert_allclose(basis @ basis.T, np.eye(3), atol=1e-10)
    assert abs(basis[0, 0]) == pytest.approx(1, abs=1e-9)
    plane = basis[1:]
    np.testing.assert_allclose(np.linalg.norm(plane[:, 3:5], axis=1), 1, atol=1e-9)


def test_subspace_needs_a_rotation():
    task = make_task("TemporalFlipFlop-v0")
    model = build_model("rnn", 2, 4, 1, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.rnn.weight_hh_l0.copy_(torch.diag(torch.tensor([0.5, 0.4, 0.3, 0.2])))
    with pytest.raises(ValueError, match="no complex eigenvalue"):
        subspace_basis(model, task)


# -- oscillator ----------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(st.floats(0.2, 1.05), st.floats(0.0, 3.0), st.sampled_from([6, 12, 24]))
def test_oscillator_gradient_matches_finite_differences(mu, omega, P):
    osc = Oscillator(period=P, length=4 * P)
    _, gm, go = osc.loss_and_grad(np.array(mu), np.array(omega))
    eps = 1e-6
    fd_m = (osc.loss_and_grad(np.array(mu + eps), np.array(omega))[0]
            - osc.loss_and_grad(np.array(mu - eps), np.array(omega))[0]) / (2 * eps)
    fd_o = (osc.loss_and_grad(np.array(mu), np.array(omega + eps))[0]
            - osc.loss_and_grad(np.array(mu), np.array(omega - eps))[0]) / (2 * eps)
    assert float(gm) == pytest.approx(float(fd_m), rel=1e-5, abs=1e-7)
    assert float(go) == pytest.approx(float(fd_o), rel=1e-5, abs=1e-7)


def test_gradient_flow_plateaus_then_locks_to_the_period():
    osc = Oscillator(period=24, length=96)
    f = gradient_flow(osc, 0.5, 1.0, duration=60.0)
    assert np.all(np.diff(f.loss) <= 1e-9)  # a gradient flow never increases the loss
    tt = f.transition_time()
    assert tt is not None and tt > 10  # a long plateau first ...
    assert f.loss[f.time < tt - 5].min() > 0.95
    assert f.omega[-1] == pytest.approx(2 * np.pi / 24, rel=2e-3)  # ... then ω locks to 2π/P
    assert f.mu[-1] == pytest.approx(1.0, abs=2e-3)  # on the unit circle
    # the fundamental's best fit leaves 1 - 8/π² of the square wave's power
    assert f.loss[-1] == pytest.approx(1 - 8 / np.pi**2, abs=0.02)
    with pytest.raises(ValueError, match="mu0"):
        gradient_flow(osc, 0.0, 1.0)
    with pytest.raises(ValueError, match="period"):
        Oscillator(period=1)


# -- counting probe ------------------------------------------------------------------------------
class ExactCounter(torch.nn.Module):
    """The relative-timing automaton written as a network (symbols a, b, null; clock y)."""

    def __init__(self, tau: int) -> None:
        super().__init__()
        self.tau = tau

    def forward(self, x):
        B, T, _ = x.shape
        y = torch.zeros(B)
        s = torch.zeros(B)
        out = []
        for t in range(T):
            sym = x[:, t].argmax(1)
            s = torch.where(sym == 1, 0.0, torch.where(sym == 0, (y >= self.tau).float(), s))
            y = torch.where(sym < 2, 1.0, y + 1)
            out.append(s * 2 - 1)
        return torch.stack(out, 1)[..., None], None


@pytest.mark.parametrize("tau", [2, 5, 8])
def test_counting_probe_reads_the_threshold(tau):
    task = make_task("RelativeTimingFlipFlop-v0", tau=tau)
    r = counting_probe(ExactCounter(tau), task)
    assert r["agree"] and r["network_threshold"] == r["automaton_threshold"] == tau - 1
    never = counting_probe(lambda x: (torch.full((x.shape[0], x.shape[1], 1), -1.0), None), task)
    assert never["network_threshold"] is None and not never["agree"]
    with pytest.raises(ValueError, match="hold must be one of"):
        counting_probe(ExactCounter(tau), task, hold="wait")
