"""Standard reservoir benchmarks and the echo-state network, against what they must give."""

from __future__ import annotations

import numpy as np
import pytest

from baselines.echo_state import EchoStateConfig, EchoStateNetwork
from baselines.reservoir_readout import ridge_fit, ridge_select
from baselines.reservoir_tasks import DelayLine, Spans, memory_capacity, narma10, narma10_nrmse


@pytest.mark.parametrize("length", [1, 7, 25])
def test_memory_capacity_of_a_delay_line_is_its_length(length):
    mc, per = memory_capacity(DelayLine(length).features, max_delay=40,
                              spans=Spans(washout=100, train=3000, val=500, test=4000))
    assert abs(mc - length) < 0.1
    assert np.all(per[:length] > 0.999) and np.all(per[length:] < 0.01)


def test_narma10_satisfies_its_recurrence():
    """Every step of the generated series obeys the NARMA-10 recurrence, checked vectorised."""
    u = np.random.default_rng(3).uniform(0, 0.5, 500)
    y = narma10(u)
    t = np.arange(9, len(u) - 1)
    window = np.stack([y[t - i] for i in range(10)]).sum(0)
    expected = 0.3 * y[t] + 0.05 * y[t] * window + 1.5 * u[t - 9] * u[t] + 0.1
    np.testing.assert_allclose(y[t + 1], expected, rtol=0, atol=1e-15)
    assert np.all(y[:10] == 0) and 0.1 < y[10:].mean() < 0.6


def test_ridge_selection_is_the_ridge_fit_of_the_chosen_penalty():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12))
    Y = X @ rng.normal(size=(12, 3)) + 0.1 * rng.normal(size=(300, 3))
    Xv, Xt = rng.normal(size=(100, 12)), rng.normal(size=(50, 12))
    Yv = Xv @ np.linalg.lstsq(X, Y, rcond=None)[0]
    pred, chosen = ridge_select(X, Y, Xv, Yv, Xt, alphas=(1e-3, 10.0, 1e3))
    for k in range(3):
        direct = ridge_fit(X, Y[:, k], chosen[k]).predict(Xt)[:, 0]
        np.testing.assert_allclose(pred[:, k], direct, atol=1e-9)
    assert set(chosen) == {1e-3}  # noise-free validation targets want the least penalty


def test_echo_state_network_forgets_its_start_and_beats_a_short_delay_line_on_narma():
    esn = EchoStateNetwork(EchoStateConfig(units=100, seed=1))
    u = np.random.default_rng(0).uniform(-1, 1, (2, 300, 1))
    u[1, 150:] = u[0, 150:]  # same recent input, different past
    x = esn.features(u)
    assert x.shape == (2, 300, 101) and np.all(np.abs(x[..., :-1]) < 1)
    assert np.abs(x[0, -1] - x[1, -1]).max() < 1e-6  # echo-state property (radius 0.9)
    spans = Spans(washout=100, train=1500, val=300, test=500)
    assert narma10_nrmse(esn.features, spans) < narma10_nrmse(DelayLine(2).features, spans)
    np.testing.assert_array_equal(x, EchoStateNetwork(EchoStateConfig(units=100, seed=1))
                                  .features(u))
