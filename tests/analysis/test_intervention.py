"""The stability penalty of the intervention experiment: it follows a fixed point as the weights
move, reads its leading |λ| exactly, and its gradient pushes that |λ| down."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from analysis.intervention import Arm, StabilityPenalty, summarise_arm  # noqa: E402
from baselines.models import build_model  # noqa: E402


def _rnn(gain):
    m = build_model("rnn", 2, 2, 2, generator=torch.Generator().manual_seed(0))
    th = 2 * np.pi / 7
    with torch.no_grad():
        m.rnn.weight_hh_l0.copy_(torch.tensor(gain * np.array(
            [[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]), dtype=torch.float32))
        m.rnn.weight_ih_l0.zero_()
        m.rnn.bias_ih_l0.zero_()
        m.rnn.bias_hh_l0.zero_()
    return m


def test_the_penalty_reads_the_leading_eigenvalue_and_its_gradient_lowers_it():
    m = _rnn(1.02)  # the origin is the fixed point; its |λ| is the gain
    pen = StabilityPenalty(m, torch.zeros(2, 2), torch.full((2, 2), 0.01), weight=1.0,
                           margin=0.05)
    loss = pen(m)
    assert torch.allclose(pen.rho, torch.tensor([1.02, 1.02]), atol=1e-5)
    assert pen.points.abs().max() < 1e-6  # Newton found the origin again from 0.01
    assert float(loss) == pytest.approx(2 * (1.02 - 0.95) ** 2, rel=1e-4)
    loss.backward()
    with torch.no_grad():
        m.rnn.weight_hh_l0 -= 0.5 * m.rnn.weight_hh_l0.grad
    pen(m)
    assert float(pen.rho.max()) < 1.02 - 1e-3


def test_no_penalty_below_the_margin_and_none_at_weight_zero():
    m = _rnn(0.9)
    assert float(StabilityPenalty(m, torch.zeros(1, 2), torch.zeros(1, 2), 1.0, 0.05)(m)) == 0.0
    m = _rnn(1.3)
    assert float(StabilityPenalty(m, torch.zeros(1, 2), torch.zeros(1, 2), 0.0, 0.05)(m)) == 0.0


def test_the_arm_summary_counts_censored_seeds_and_kept_stability():
    arms = [Arm("s0", "stable", 20, None, 0.6, 0.99, 0, 0, []),
            Arm("s1", "stable", 20, 300, 1.0, 1.2, 12, 1, [])]
    s = summarise_arm(arms)
    assert (s["seeds"], s["solved"], s["censored"], s["kept_stable"]) == (2, 1, 1, 1)
    assert s["iterations_to_solve"]["median"] == 300 and s["newton_failures"] == 1
