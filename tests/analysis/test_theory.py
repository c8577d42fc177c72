"""Linear-RNN theory: reduced dynamics against full-matrix gradient descent, invariants, optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

pytest.importorskip("torch")
pytest.importorskip("scipy")

from analysis.theory.linear_rnn import (  # noqa: E402
    aligned_init,
    full_gd,
    mode_strengths,
    optimum_for_w,
    reduced_flow,
    reduced_gd,
    reduced_gradients,
    reduced_loss,
    teacher_correlations,
)
from analysis.theory.properties import orthonormal  # noqa: E402


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(0, 2**31))
def test_full_gradient_descent_from_aligned_init_follows_the_reduced_dynamics(r, T, seed):
    rng = np.random.default_rng(seed)
    Nx, Nh, Ny = r + 1, r + 2, r + 1
    U, V, R = orthonormal(rng, Ny, r), orthonormal(rng, Nx, r), orthonormal(rng, Nh, r)
    s = rng.uniform(0.2, 1.5, size=(r, T))
    f0, h0, w0 = rng.uniform(0.05, 0.3, r), rng.uniform(0.05, 0.3, r), rng.uniform(-0.5, 0.9, r)
    # lr small enough that discrete GD is stable here (monotone loss): at larger lr it oscillates at
    # the edge of stability and amplifies round-off, so no two implementations agree to 1e-12.
    lr, steps = 0.01, 100
    full = full_gd(teacher_correlations(U, V, s), *aligned_init(U, V, R, f0, h0, w0), lr, steps)
    red = reduced_gd(s, f0, h0, w0, lr, steps)
    for k in range(steps + 1):  # every step, every matrix
        F, W, H = aligned_init(U, V, R, red.f[k], red.h[k], red.w[k])
        np.testing.assert_allclose(full["F"][k], F, rtol=0, atol=1e-12)
        np.testing.assert_allclose(full["W"][k], W, rtol=0, atol=1e-12)
        np.testing.assert_allclose(full["H"][k], H, rtol=0, atol=1e-12)
        assert full["loss"][k] == pytest.approx(red.loss[k].sum(), rel=1e-11, abs=1e-12)
    assert np.all(np.diff(red.loss.sum(1)) <= 1e-12)
    # and the network's strength along each teacher mode is h w^{T-t} f
    strengths = mode_strengths(full["F"][-1], full["W"][-1], full["H"][-1], U, V, T)
    pw = red.w[-1][:, None] ** np.arange(T - 1, -1, -1)
    np.testing.assert_allclose(strengths, (red.h[-1] * red.f[-1])[:, None] * pw, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 3), st.integers(2, 8), st.integers(0, 2**31))
def test_gradient_flow_conserves_f2_minus_h2_and_lowers_the_loss(r, T, seed):
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.2, 1.0, size=(r, T))
    f0, h0, w0 = rng.uniform(0.05, 0.5, r), rng.uniform(0.05, 0.5, r), rng.uniform(0.0, 0.8, r)
    flow = reduced_flow(s, f0, h0, w0, duration=20.0, samples=41)
    np.testing.assert_allclose(flow.f**2 - flow.h**2, np.broadcast_to(f0**2 - h0**2, flow.f.shape),
                               atol=1e-7)
    assert np.all(np.diff(flow.loss.sum(1)) <= 1e-9)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 10), st.floats(-1.2, 1.2), st.integers(0, 2**31))
def test_analytic_optimum_matches_numerical_minimisation(T, w, seed):
    from scipy.optimize import minimize_scalar

    s = np.random.default_rng(seed).normal(size=(1, T))
    a_star, L_star = optimum_for_w(s, np.array([w]))
    res = minimize_scalar(lambda a: float(reduced_loss(s, np.array([a]), np.array([1.0]),
                                                       np.array([w]))[0]))
    assert a_star[0] == pytest.approx(res.x, rel=1e-5, abs=1e-6)
    assert L_star[0] == pytest.approx(res.fun, rel=1e-8, abs=1e-10)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31))
def test_reduced_gradients_match_finite_differences(T, seed):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(2, T))
    x = rng.uniform(-1, 1, size=(3, 2))
    g = reduced_gradients(s, *x)
    eps = 1e-6
    for i in range(3):
        for a in range(2):
            d = np.zeros((3, 2))
            d[i, a] = eps
            fd = (reduced_loss(s, *(x + d))[a] - reduced_loss(s, *(x - d))[a]) / (2 * eps)
            assert g[i][a] == pytest.approx(fd, rel=1e-5, abs=1e-7)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="task dynamics"):
        reduced_loss(np.ones(3), np.ones(1), np.ones(1), np.ones(1))
    with pytest.raises(ValueError, match="per-mode values"):
        reduced_loss(np.ones((2, 3)), np.ones(1), np.ones(2), np.ones(2))


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**31))
def test_predicted_learning_order_matches_full_gradient_descent_from_random_init(seed):
    """Modes are learned in order of scale and of temporal precedence (late, large first): the
    reduced dynamics from a small aligned start predict the order that full-matrix gradient descent
    from a small *random* start shows."""
    from analysis.theory.linear_rnn import explained, half_times

    rng = np.random.default_rng(seed)
    r, T, Nx, Nh, Ny = 3, 4, 4, 6, 4
    U, V = orthonormal(rng, Ny, r), orthonormal(rng, Nx, r)
    scale = rng.permutation([0.5, 1.0, 2.0])
    late = rng.uniform(0.2, 1.0, size=(r, 1)) ** np.arange(T - 1, -1, -1)  # weight on late inputs
    s = scale[:, None] * late
    lr, steps = 0.02, 1500
    small = 1e-3
    red = reduced_gd(s, np.full(r, small), np.full(r, small), np.full(r, 0.01), lr, steps)
    pw = red.w[:, :, None] ** np.arange(T - 1, -1, -1)
    predicted = half_times(explained((red.h * red.f)[:, :, None] * pw, s))
    order = np.argsort(predicted)
    gaps = np.diff(np.sort(predicted))
    assume(gaps.min() >= 0.2 * np.sort(predicted)[1:].min())  # not too close to call
    init = [rng.normal(scale=small / np.sqrt(n), size=shape)
            for n, shape in ((Nx, (Nh, Nx)), (Nh, (Nh, Nh)), (Nh, (Ny, Nh)))]
    full = full_gd(teacher_correlations(U, V, s), *init, lr, steps)
    sim = np.stack([explained(mode_strengths(full["F"][k], full["W"][k], full["H"][k], U, V, T), s)
                    for k in range(0, steps + 1)])
    assert list(np.argsort(half_times(sim))) == list(order)
