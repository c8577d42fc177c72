"""The four properties of linear-RNN learning, the NTK, the integration task and ``ta-envs theory``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

from analysis.theory.linear_rnn import (  # noqa: E402
    explained,
    half_times,
    optimum_for_w,
    reduced_gd,
    reduced_loss,
)
from analysis.theory.ntk import kernel_distance, maps, ntk, outputs  # noqa: E402
from analysis.theory.properties import (  # noqa: E402
    critical_echo,
    echo_task,
    extrapolation,
    learning_order,
    order_task,
    tradeoff,
)


def _predicted_half(s: np.ndarray, steps: int = 4000) -> np.ndarray:
    r, T = s.shape
    red = reduced_gd(s, np.full(r, 1e-3), np.full(r, 1e-3), np.zeros(r), 0.02, steps)
    pw = red.w[:, :, None] ** np.arange(T - 1, -1, -1)
    return half_times(explained((red.h * red.f)[:, :, None] * pw, s))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.2, 1.0), min_size=2, max_size=4), st.floats(1.5, 3.0))
def test_theory_learns_later_and_larger_modes_first(values, factor):
    """Temporal precedence: a profile rising towards the output beats its time reversal; scale:
    the same profile times ``factor`` beats the original."""
    late = np.sort(np.array(values))  # t = 1..T, largest at the last input
    if late[-1] - late[0] < 0.1:
        late[-1] += 0.1
    s = np.stack([late, late[::-1], factor * late])
    half = _predicted_half(s)
    assert half[0] < half[1]
    assert half[2] < half[0]


def test_full_gradient_descent_shows_the_predicted_order():
    s, labels = order_task(3)
    res = learning_order(s, labels, steps=3000, seed=3)
    assert res.agrees
    # late x1 first, early x0.5 last, in both
    for half in (res.predicted_half, res.simulated_half):
        assert np.argmin(half) == 0 and np.argmax(half) == 3
    np.testing.assert_allclose(res.simulated_half, res.predicted_half, rtol=0.25)


def test_extrapolation_recovers_gamma_without_noise_and_degrades_only_when_unstable():
    clean = extrapolation([0.5, 0.9, 1.1], noise=0.0, draws=1, steps=20000)
    np.testing.assert_allclose(clean.w, [0.5, 0.9, 1.1], atol=1e-6)
    assert np.all(clean.error < 1e-12)
    noisy = extrapolation([0.5, 1.1], noise=0.01, draws=10, lengths=(6, 48), steps=20000)
    growth = noisy.error[:, 1] / noisy.error[:, 0]
    assert growth[0] < 2.0 and growth[1] > 20 * growth[0]
    # hidden-state growth: bounded for |w| < 1, exponential for |w| > 1
    assert noisy.gain[0, 1] < 1.2 and noisy.gain[1, 1] > 10


@pytest.mark.slow
def test_echo_task_trades_feedforward_for_recurrence_at_a_first_order_transition():
    c_crit = critical_echo()
    res = tradeoff([c_crit - 0.01, c_crit + 0.01, 1.5], w0=(0.05, 0.9), steps=20000)
    assert res.w_star[0] == 0.0 and res.w_star[1] > 0.5  # w* jumps: a first-order transition
    # the global optimum is confirmed by a joint search over (a, w) from many starts
    from scipy.optimize import minimize

    s = echo_task(res.c)
    for i in range(3):
        si = s[i:i + 1]
        best = min(minimize(lambda p, si=si: float(reduced_loss(si, p[:1], np.ones(1), p[1:])[0]),
                            x0=[a0, w0]).fun
                   for a0 in (0.5, 1.0) for w0 in np.linspace(-1.4, 1.4, 15))
        assert res.loss_star[i] == pytest.approx(best, abs=1e-7)
    # gradient descent from a small recurrent weight stays feed-forward past c_crit (w = 0 is a
    # local minimum because no input at lags 1..delay-1 matters); from w0 = 0.9 it finds w*
    assert np.all(np.abs(res.w_gd[0]) < 1e-6)
    np.testing.assert_allclose(res.w_gd[1, 1:], res.w_star[1:], atol=2e-3)
    _, L0 = optimum_for_w(s, np.zeros(3))
    assert res.loss_star[2] < 0.5 * L0[2]


@pytest.mark.parametrize("model", ["rnn", "feedforward"])
def test_ntk_predicts_the_first_order_change_of_the_outputs(model):
    from analysis.theory.ntk import init_params

    rng = np.random.default_rng(0)
    T, nx, nh, ny = 4, 3, 5, 2
    params = tuple(torch.tensor(p, requires_grad=True)
                   for p in init_params(model, rng, T, nx, nh, ny, 1.0))
    x = torch.as_tensor(rng.normal(size=(6, T, nx)))
    y = torch.as_tensor(rng.normal(size=(6, ny)))
    K = ntk(model, params, x)
    assert np.allclose(K, K.T) and np.linalg.eigvalsh(K).min() > -1e-9
    # the network's maps reproduce its outputs
    M = maps(model, params, T)
    np.testing.assert_allclose(outputs(model, params, x).detach(),
                               torch.einsum("tyx,ntx->ny", M, x).detach(), atol=1e-12)
    f0 = outputs(model, params, x)
    resid = (f0 - y).detach().numpy().reshape(-1)
    loss = 0.5 * ((f0 - y) ** 2).sum()
    grads = torch.autograd.grad(loss, params)
    rel = []
    for eta in (1e-3, 1e-4, 1e-5):
        with torch.no_grad():
            moved = tuple(p - eta * g for p, g in zip(params, grads))
            df = (outputs(model, moved, x) - f0).numpy().reshape(-1)
        pred = -eta * K @ resid
        rel.append(np.linalg.norm(df - pred) / np.linalg.norm(pred))
    # the kernel is the first-order term: what is left shrinks in proportion to the step
    assert rel[1] < 0.15 * rel[0] and rel[2] < 0.15 * rel[1] and rel[2] < 1e-3


def test_kernel_distance_ignores_scale_and_sees_rotation():
    K = np.diag([3.0, 1.0])
    assert kernel_distance(K, 5 * K) == pytest.approx(0.0, abs=1e-15)
    assert kernel_distance(K, np.diag([1.0, 3.0])) > 0.1


def test_recurrence_moves_the_kernel_more_than_the_feedforward_counterpart():
    from analysis.theory.linear_rnn import teacher_correlations
    from analysis.theory.ntk import kernel_movement

    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.normal(size=(3, 2)))
    s = np.array([1.5, 0.7])[:, None] * 0.8 ** np.arange(3, -1, -1)
    sigma = teacher_correlations(U, U, s)
    rnn = kernel_movement("rnn", sigma, 0.5, hidden=8, steps=1500, probes=8)
    ff = kernel_movement("feedforward", sigma, 0.5, hidden=8, steps=1500, probes=8)
    assert rnn.loss[-1] < 1e-3 and ff.loss[-1] < 1e-3  # both learned the task
    assert rnn.distance[-1] > 2 * ff.distance[-1]
    with pytest.raises(ValueError, match="model must be"):
        kernel_movement("cnn", sigma, 0.5)


def test_integration_data_is_whitened_and_bad_settings_are_refused():
    from analysis.theory.integration import empirical_task_dynamics, integration_data

    d = integration_data("FlipFlop-v0", 2048, 8, 0.8, (1.0, 0.5, 0.25), seed=0)
    flat = d.x.reshape(-1, 3)
    np.testing.assert_allclose(np.cov(flat.T), np.eye(3), atol=1e-9)
    np.testing.assert_allclose(flat.mean(0), 0, atol=1e-12)
    _, _, s = empirical_task_dynamics(d)
    designed = np.array([1.0, 0.5, 0.25])[:, None] * 0.8 ** np.arange(7, -1, -1)
    assert np.abs(s - designed).max() < 0.25  # sampling noise of sparse pulses
    with pytest.raises(ValueError, match="scales must have one entry"):
        integration_data("FlipFlop-v0", 16, 4, 0.8, (1.0, 0.5), seed=0)
    with pytest.raises(ValueError, match="degenerate"):
        integration_data("TemporalFlipFlop-v0", 64, 4, 0.8, (1.0, 0.5), seed=0)


def test_linear_rnn_trained_on_integration_learns_the_leak_in_the_predicted_order():
    from analysis.theory.integration import integration_experiment

    res = integration_experiment(T=8, n=1024, gamma=0.8, steps=2500, lengths=(8, 32), seed=0)
    np.testing.assert_allclose(res.eig_abs, 0.8, atol=0.02)
    np.testing.assert_allclose(res.w_simulated, res.w_predicted, atol=0.02)
    assert list(np.argsort(res.simulated_half)) == list(np.argsort(res.predicted_half))
    assert res.test_error.max() < 1e-2


@pytest.mark.slow
def test_theory_cli_writes_results_and_resumes(tmp_path):
    from ta_envs.cli import main

    assert main(["theory", "tradeoff", "--quick", "--quiet", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "tradeoff.json").read_text())
    assert data["c_critical"] == pytest.approx(critical_echo(), abs=1e-6)
    assert (tmp_path / "tradeoff.png").stat().st_size > 10_000
    summary = json.loads((tmp_path / "theory.json").read_text())
    assert set(summary) == {"tradeoff", "provenance"} and summary["provenance"]["versions"]["numpy"]
    stamp = (tmp_path / "tradeoff.json").stat().st_mtime_ns
    assert main(["theory", "tradeoff", "--quick", "--quiet", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "tradeoff.json").stat().st_mtime_ns == stamp  # reused, not rerun
    assert main(["theory", "nonsense", "--out", str(tmp_path)]) == 2


@pytest.mark.parametrize("T", [1, 2, 5])
def test_closed_form_ntk_of_the_linear_rnn_is_the_autograd_kernel(T):
    from analysis.theory.ntk import analytic_ntk, init_params

    rng = np.random.default_rng(T)
    F, W, H = init_params("rnn", rng, T, 3, 6, 2, 1.0)
    x = rng.normal(size=(5, T, 3))
    Ka = analytic_ntk(F, W, H, x)
    Ke = ntk("rnn", tuple(torch.as_tensor(p) for p in (F, W, H)), torch.as_tensor(x))
    assert np.abs(Ka - Ke).max() <= 1e-12 * np.abs(Ke).max()
    # dropping the recurrent term (what a feed-forward kernel would keep) is visibly different
    if T > 1:
        assert np.abs(analytic_ntk(F, 0 * W, H, x) - Ke).max() > 1e-3 * np.abs(Ke).max()


@pytest.mark.parametrize("model", ["feedforward3", "feedforward4"])
def test_deep_feedforward_controls_represent_the_same_maps(model):
    from analysis.theory.ntk import depth, init_params

    rng = np.random.default_rng(0)
    params = tuple(torch.as_tensor(p) for p in init_params(model, rng, 4, 3, 5, 2, 1.0))
    assert len(params) == depth(model)
    x = torch.as_tensor(rng.normal(size=(6, 4, 3)))
    np.testing.assert_allclose(outputs(model, params, x),
                               torch.einsum("tyx,ntx->ny", maps(model, params, 4), x), atol=1e-12)


def test_effective_rank_counts_singular_values_above_the_threshold():
    from analysis.theory.weights import effective_rank

    U, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 6)))
    W = U @ np.diag([1.0, 0.5, 0.2, 0.04, 0.0, 0.0]) @ U.T
    rank, pr, sv = effective_rank(W)
    assert rank == 3 and sv[0] == pytest.approx(1.0)
    assert pr == pytest.approx(1.74**2 / 1.2916)


def test_what_full_gd_adds_to_w_has_the_rank_of_the_teacher_and_a_skip_keeps_w_small():
    from analysis.theory.weights import echo_weights, rank_of_w

    res = rank_of_w({"fast": (0.3, 0.3, 0.3)}, [0], hidden=10, steps=1500)
    assert res.rank_delta[0, 0] == 3 and res.rank0[0, 0] >= 8
    echo = echo_weights([2.0], [0], hidden=6, steps=1500)
    no_skip, skip = echo.norm_w[0, 0, 0], echo.norm_w[1, 0, 0]
    assert no_skip > 3 * echo.norm_w0[0, 0]  # recurrence grew where it pays (c > c_crit)
    assert skip < 1.05 * echo.norm_w0[0, 0]  # with the feed-forward route it never left init


@pytest.mark.slow
def test_full_matrices_learn_gamma_and_extrapolate_only_when_stable():
    from analysis.theory.properties import full_extrapolation

    res = full_extrapolation([0.5, 1.1], [0], lengths=(6, 24), steps=6000)
    np.testing.assert_allclose(res.eig[:, 0], [0.5, 1.1], atol=0.03)
    growth = res.error[:, 0, -1] / res.error[:, 0, 0]
    assert growth[0] < 2 and growth[1] > 10


def test_integration_targets_take_one_leak_per_channel():
    from analysis.theory.integration import designed_dynamics, integration_targets

    x = np.random.default_rng(0).normal(size=(4, 5, 3))
    y = integration_targets(x, (0.5, 0.8, 0.95), np.ones(3))
    for c, g in enumerate((0.5, 0.8, 0.95)):
        np.testing.assert_allclose(y[:, c], (g ** np.arange(4, -1, -1) * x[:, :, c]).sum(1))
    s, order = designed_dynamics((0.5, 0.8, 0.95), (1.0, 1.0, 1.0), 5)
    assert order.tolist() == [2, 1, 0] and np.all(np.diff(s.sum(1)) < 0)
