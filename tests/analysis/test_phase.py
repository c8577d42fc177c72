"""The phase-carry measure and the mechanism classifier on constructed networks with known
answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

from torch import nn  # noqa: E402

from analysis.mechanism import classify  # noqa: E402
from analysis.phase import phase_carry  # noqa: E402
from ta_envs import temporal_flipflop  # noqa: E402

P = 12


class Clock(nn.Module):
    """A state turning 2π/P per step in a plane, whatever the input (``reset_on_b``: the symbol
    b sends it back to phase 0: a clock that does not survive switches)."""

    def __init__(self, reset_on_b: bool = False) -> None:
        super().__init__()
        a = 2 * math.pi / P
        self.R = nn.Parameter(torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a),
                                                                           math.cos(a)]]),
                              requires_grad=False)
        self.head = nn.Linear(2, 1)
        self.reset_on_b = reset_on_b
        self.state_size = 2

    def initial_state(self, batch_size):
        h = torch.zeros(batch_size, 2, dtype=self.R.dtype)
        h[:, 0] = 1.0
        return h

    def step(self, h, x):
        nxt = h @ self.R.T
        if self.reset_on_b:
            e1 = self.initial_state(len(h)) @ self.R.T
            nxt = torch.where(x[:, 1:2] > 0.5, e1, nxt)
        return nxt

    def readout(self, h, x=None):
        return self.head(h)

    def forward(self, inputs):
        h, hs = self.initial_state(inputs.shape[0]), []
        for t in range(inputs.shape[1]):
            h = self.step(h, inputs[:, t])
            hs.append(h)
        states = torch.stack(hs, 1)
        return self.head(states), states


def test_a_clock_that_ignores_the_input_carries_its_phase_across_switches():
    pc = phase_carry(Clock(), temporal_flipflop(period=P))
    assert pc.switches > 100
    assert pc.error_median < 1e-6 and pc.before_switch < 1e-6 and pc.after_switch < 1e-6
    assert pc.decoded_accuracy == 1.0


def test_a_clock_reset_by_an_input_loses_its_phase_at_switches():
    pc = phase_carry(Clock(reset_on_b=True), temporal_flipflop(period=P))
    assert pc.after_switch > 0.5 and pc.decoded_accuracy < 0.5


def test_phase_carry_needs_a_time_of_day():
    from ta_envs import relative_timing_flipflop

    with pytest.raises(ValueError, match="periodic clock"):
        phase_carry(Clock(), relative_timing_flipflop())


class Circle(Clock):
    """An attracting invariant circle turning an irrational 0.1234 turns per step: a torus."""

    def step(self, h, x):
        a = 2 * math.pi * 0.1234
        R = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]],
                         dtype=h.dtype)
        return (h @ R.T) / h.norm(dim=1, keepdim=True).clamp(min=1e-12).sqrt()


def test_mechanism_of_a_circle_is_a_torus_and_of_a_contraction_a_fixed_point():
    circle = classify(Circle(), temporal_flipflop(period=P))
    for sym in ("a", "b"):
        assert circle["symbols"][sym]["attractor"] == "torus"
        assert circle["symbols"][sym]["rotation"] == pytest.approx(0.1234, abs=0.01)
    from baselines.models import build_model

    mingru = build_model("mingru", 2, 8, 1, generator=torch.Generator().manual_seed(0))
    m = classify(mingru, temporal_flipflop(period=P))
    assert all(v["attractor"] == "fixed point" for v in m["symbols"].values())
    assert m["summary"].startswith("a: fixed point")
    assert np.isfinite(m["symbols"]["a"]["slowest_abs_eigenvalue"])


class Drift(Clock):
    """A state that slides along a line, whatever the input: no fixed point, no orbit, no
    rotation (its angle in its own principal plane flips once, which reads as ~1/(2T) turns per
    step)."""

    def step(self, h, x):
        return h + torch.tensor([0.01, 0.0], dtype=h.dtype)


def test_a_slow_drift_is_not_called_a_torus():
    m = classify(Drift(), temporal_flipflop(period=P))
    for sym in ("a", "b"):
        assert m["symbols"][sym]["attractor"] == "drift", m["summary"]
        assert m["symbols"][sym]["stable_fixed_points"] == 0
    assert "slow drift" in m["summary"] and "torus" not in m["summary"]


def _spiral(W):
    """A 2-unit tanh RNN with recurrent weights ``W``, no input weights and no bias: the origin
    is its one fixed point, with the eigenvalues of ``W``."""
    from baselines.models import build_model

    m = build_model("rnn", 2, 2, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        m.rnn.weight_hh_l0.copy_(torch.tensor(W, dtype=torch.float32))
        m.rnn.weight_ih_l0.zero_()
        m.rnn.bias_ih_l0.zero_()
        m.rnn.bias_hh_l0.zero_()
    return m


def test_a_decaying_rotation_is_told_from_a_real_contraction():
    th = 2 * np.pi / 24
    rot = 0.97 * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    m = classify(_spiral(rot), temporal_flipflop(period=P))
    a = m["symbols"]["a"]["approach"]
    assert m["symbols"]["a"]["attractor"] == "fixed point" and a["kind"] == "rotation"
    assert a["period"] == pytest.approx(24.0, rel=1e-3) and a["abs"] == pytest.approx(0.97, 1e-4)
    assert a["decay"] == pytest.approx(1 / 0.03, rel=1e-2)
    assert "decaying rotation" in m["summary"] and "~period 24.0" in m["summary"]
    c = classify(_spiral(np.diag([0.97, 0.5])), temporal_flipflop(period=P))
    assert c["symbols"]["b"]["approach"]["kind"] == "contraction"
    assert c["symbols"]["b"]["approach"]["period"] is None and "contraction" in c["summary"]
