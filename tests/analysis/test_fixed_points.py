"""Fixed points: exact on systems with known answers, never reports slow points."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from analysis.fixed_points import FixedPoints, find_fixed_points  # noqa: E402

ZERO = np.zeros((1, 1))


def _affine(A, b):
    At, bt = torch.as_tensor(A), torch.as_tensor(b)
    return lambda h, x: h @ At.T + bt + 0 * x[:, :1]


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31), st.floats(0.2, 2.0))
def test_affine_maps_have_their_one_fixed_point_classified(n, seed, scale):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n)) * scale / np.sqrt(n)
    b = rng.normal(size=n)
    ev = np.abs(np.linalg.eigvals(A))
    assume(np.abs(ev - 1).min() > 0.01)  # not marginal, and I - A invertible
    fp = find_fixed_points(_affine(A, b), ZERO, rng.normal(size=(32, n)) * 3)
    assert len(fp) == 1 and len(fp.slow_points) == 0
    np.testing.assert_allclose(fp.points[0], np.linalg.solve(np.eye(n) - A, b), atol=1e-8)
    assert fp.residual[0] < 1e-10
    n_unst = int((ev > 1).sum())
    assert fp.n_unstable[0] == n_unst
    want = "stable" if n_unst == 0 else ("unstable" if n_unst == n else "saddle")
    assert fp.stability[0] == want
    np.testing.assert_allclose(np.sort(np.abs(fp.eigenvalues[0])), np.sort(ev), atol=1e-9)
    assert fp.max_abs_eigenvalue[0] == pytest.approx(ev.max(), abs=1e-9)


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 8), st.integers(0, 2**31))
def test_contracting_tanh_networks_have_one_stable_point(n, seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n))
    W *= 0.8 / np.linalg.norm(W, 2)
    b = rng.normal(size=n)
    Wt, bt = torch.as_tensor(W), torch.as_tensor(b)
    fp = find_fixed_points(lambda h, x: torch.tanh(h @ Wt.T + bt), ZERO,
                           rng.uniform(-1, 1, size=(64, n)))
    assert len(fp) == 1 and fp.stability[0] == "stable"
    h = fp.points[0]
    assert np.linalg.norm(np.tanh(W @ h + b) - h) < 1e-10  # checked outside the finder


@pytest.mark.parametrize("n, expected", [(2, 3), (3, 3), (4, 9)])
def test_roll_linspace_networks_have_exactly_3_3_9_fixed_points(n, expected):
    W = np.stack([-np.roll(np.linspace(-1, 1, n), -i) for i in range(n)])
    Wt = torch.as_tensor(W)
    H0 = np.random.default_rng(0).uniform(-2, 2, size=(512, n))
    fp = find_fixed_points(lambda h, x: torch.tanh(h @ Wt.T), ZERO, H0)
    assert len(fp) == expected
    for h in fp.points:
        assert np.linalg.norm(np.tanh(W @ h) - h) < 1e-10
    # distinct points
    d = np.abs(fp.points[:, None] - fp.points[None]).max(-1) + np.eye(expected)
    assert d.min() > 1e-6


def test_chaotic_network_reports_no_slow_point_as_fixed():
    N, g = 64, 1.5
    rng = np.random.default_rng(1)
    W = rng.normal(scale=g / np.sqrt(N), size=(N, N))
    Wt = torch.as_tensor(W)
    fp = find_fixed_points(lambda h, x: torch.tanh(h @ Wt.T), ZERO,
                           rng.uniform(-1, 1, size=(256, N)), adam_steps=300, lm_steps=30)
    for h in fp.points:  # every reported point is a true fixed point, checked independently
        assert np.linalg.norm(np.tanh(W @ h) - h) < 1e-10
    assert (fp.slow_residual >= fp.tol).all()
    assert len(fp) <= 50  # a handful of true points; the rest are rejected slow points
    assert np.any(np.all(np.abs(fp.points) < 1e-12, axis=1))  # the origin is always one


def test_several_inputs_slicing_and_save_load(tmp_path):
    A = np.array([[0.5, 0.2], [0.1, 0.3]])
    At = torch.as_tensor(A)
    step = lambda h, x: h @ At.T + x  # noqa: E731
    U = np.array([[1.0, 0.0], [0.0, 2.0]])
    fp = find_fixed_points(step, U, np.zeros((8, 2)))
    assert len(fp) == 2 and list(fp.input_index) == [0, 1]
    for u in range(2):
        np.testing.assert_allclose(fp.for_input(u).points[0],
                                   np.linalg.solve(np.eye(2) - A, U[u]), atol=1e-10)
    assert len(fp[fp.stability == "stable"]) == 2 and len(fp[0]) == 1
    path = fp.save(tmp_path / "fp.npz")
    back = FixedPoints.load(path)
    np.testing.assert_array_equal(back.points, fp.points)
    np.testing.assert_array_equal(back.stability, fp.stability)
    assert back.tol == fp.tol
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a saved FixedPoints"):
        FixedPoints.load(tmp_path / "junk.npz")
    assert "2 fixed points" in fp.summary()


def test_models_are_analysed_in_float64_through_step():
    from baselines.models import build_model

    model = build_model("rnn", 2, 16, 1, generator=torch.Generator().manual_seed(0),
                        init="orthogonal", gain=0.5)
    fp = find_fixed_points(model, np.eye(2), np.zeros((16, 16)))
    assert len(fp) == 2 and (fp.residual < 1e-10).all()
    assert next(model.parameters()).dtype == torch.float32  # the model itself is untouched


def test_network_trained_on_3_bit_flipflop_has_8_stable_points_plus_saddles(tmp_path):
    """The classic result (Sussillo & Barak 2013): one stable point per bit pattern, saddles between."""
    from baselines.config import TrainConfig
    from baselines.runs import checkpoints, load_model, read_metrics
    from baselines.train import train
    from ta_envs import make_dataset

    cfg = TrainConfig(task="FlipFlop-v0", hidden=32, optimizer="adam", lr=1e-2, iterations=600,
                      seq_len=64, checkpoint_every=600)
    train(cfg, tmp_path, progress=False)
    assert read_metrics(tmp_path)[-1]["val_ti_acc"] > 0.999  # it learnt the task
    model, task, _ = load_model(checkpoints(tmp_path)[-1])
    obs = np.asarray(task.obs_table)
    quiet = obs[np.all(obs == 0, axis=1)]  # the no-pulse input
    assert len(quiet) == 1
    batch = next(make_dataset(task, batch_size=64, seq_len=64, seed=1))
    from analysis.fixed_points import sample_states

    H0 = sample_states(model, batch.inputs, 512, noise=0.05,
                       generator=torch.Generator().manual_seed(0))
    fp = find_fixed_points(model, quiet, H0)
    stable = fp[fp.stability == "stable"]
    assert len(stable) == 8 and fp.count("saddle") >= 1
    assert (fp.residual < 1e-10).all()
    with torch.no_grad():  # each stable point stores a different bit pattern
        bits = model.readout(torch.as_tensor(stable.points, dtype=torch.float32)).numpy() > 0
    assert len({tuple(b) for b in bits}) == 8


def test_a_map_with_no_fixed_point_reports_none():
    """h -> h + 1e-11: every state has a residual below 1e-10, but I - J = 0 (not an isolated
    root): the candidates are non-isolated, never fixed points."""
    fp = find_fixed_points(lambda h, x: h + 1e-11, ZERO, np.random.default_rng(0).normal(
        size=(128, 64)))
    assert len(fp) == 0 and len(fp.non_isolated) > 0
    assert "0 fixed points" in fp.summary()


def test_a_line_of_fixed_points_is_not_reported_as_points():
    """h -> (h1, 0.5 h2): every (c, 0) is a fixed point (a line, not isolated)."""
    D = torch.tensor([1.0, 0.5], dtype=torch.float64)
    fp = find_fixed_points(lambda h, x: h * D, ZERO, np.random.default_rng(1).normal(size=(64, 2)))
    assert len(fp) == 0 and len(fp.non_isolated) > 0


@pytest.mark.slow
def test_the_three_points_of_a_random_chaotic_network_are_found():
    """A random tanh network (64 units, gain 1.5, no bias) is odd: its fixed points come in pairs
    ±h*, with the origin. From 1024 of its own states both members of the pair are found."""
    N = 64
    rng = np.random.default_rng(0)
    W = torch.as_tensor(rng.normal(scale=1.5 / np.sqrt(N), size=(N, N)))
    step = lambda h, x: torch.tanh(h @ W.T)  # noqa: E731
    h = torch.as_tensor(rng.uniform(-1, 1, size=(1024, N)))
    with torch.no_grad():
        for _ in range(200):  # states on the chaotic attractor
            h = step(h, None)
    fp = find_fixed_points(step, ZERO, h.numpy() + 0.01 * rng.normal(size=h.shape))
    pts = fp.points
    assert np.any(np.abs(pts).max(1) < 1e-12)  # the origin
    for p in pts:  # every nonzero point has its mirror image
        if np.abs(p).max() > 1e-6:
            assert np.abs(pts + p).max(1).min() < 1e-8
    assert len(pts) >= 3


def test_far_fixed_points_whose_basins_hold_only_high_speed_states_are_found():
    """The hard case of ``bench_fixed_points``: gain 1.5, seed 1, 1024 uniform states. Every
    low-speed state Adam leaves leads Newton back to the origin; the pair ±h* (|h*| = 3.45) is
    reached only from states far from those, which the default candidate choice now includes."""
    N = 64
    W = np.random.default_rng(1).normal(scale=1.5 / np.sqrt(N), size=(N, N))
    Wt = torch.as_tensor(W)
    h0 = np.random.default_rng(0).uniform(-1, 1, (1024, N))
    fp = find_fixed_points(lambda h, x: torch.tanh(h @ Wt.T), ZERO, h0)
    norms = sorted(np.round(np.linalg.norm(fp.points, axis=1), 6))
    assert len(norms) == 3 and norms[0] < 1e-12 and norms[1] == norms[2] > 3
    for h in fp.points:  # checked independently of the finder
        assert np.linalg.norm(np.tanh(W @ h) - h) < 1e-10


def test_an_odd_map_gets_both_members_of_each_pair():
    """x -> tanh(2x) per unit has the roots 0 and ±0.9575 in each coordinate; started only from
    positive states the search reaches +h*, and the mirror pass adds -h* (checked like any root)."""
    def step(h, x):
        return torch.tanh(2.0 * h)

    h0 = np.random.default_rng(0).uniform(0.5, 1.5, size=(64, 2))
    with_mirror = find_fixed_points(step, np.zeros((1, 1)), h0)
    without = find_fixed_points(step, np.zeros((1, 1)), h0, mirror=False)
    star = 0.9575040240772687  # root of x = tanh(2x)
    pts = sorted(map(tuple, np.round(with_mirror.points, 6)))
    assert pts == [(-round(star, 6),) * 2, (round(star, 6),) * 2]
    assert without.points.tolist() == [[pytest.approx(star)] * 2]
    mirrored = with_mirror.points[:, 0] < 0
    assert with_mirror.n_found[mirrored].tolist() == [0]


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm"])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), gain=st.floats(0.3, 2.0))
def test_closed_form_jacobians_and_speed_gradients_are_autograds(arch, seed, gain):
    """The closed forms that the search uses in place of autograd (``step_jacobian`` for Newton,
    ``step_speed_grad`` for Adam) agree with autograd of ``step`` in float64."""
    from baselines.models import build_model

    g = torch.Generator().manual_seed(seed)
    m = build_model(arch, 3, 12, 1, generator=g, init="orthogonal", gain=gain).double()
    h = torch.randn(9, m.state_size, generator=g, dtype=torch.float64) * 1.5
    x = torch.randn(9, 3, generator=g, dtype=torch.float64)
    J = torch.func.vmap(torch.func.jacrev(lambda a, b: m.step(a[None], b[None])[0]))(h, x)
    assert J.shape == (9, m.state_size, m.state_size)
    torch.testing.assert_close(m.step_jacobian(h, x), J, rtol=1e-12, atol=1e-12)
    hh = h.clone().requires_grad_(True)
    q = 0.5 * ((m.step(hh, x) - hh) ** 2).sum(1)
    (grad,) = torch.autograd.grad(q.sum(), hh)
    q2, grad2 = m.step_speed_grad(h, x)
    torch.testing.assert_close(q2, q.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad2, grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_the_closed_forms_find_the_same_points_as_autograd(arch):
    """A GRU and an LSTM with gain 1.3 and two inputs: the search with the closed-form gradient
    and Jacobians and the search with autograd's report the same points."""
    from baselines.models import build_model

    g = torch.Generator().manual_seed(4)
    m = build_model(arch, 2, 16, 1, generator=g, init="orthogonal", gain=1.3)
    h0 = torch.randn(64, m.state_size, generator=g, dtype=torch.float64)
    fast = find_fixed_points(m, np.eye(2), h0)
    m.step_speed_grad = m.step_jacobian = None  # the search falls back to autograd
    slow = find_fixed_points(m, np.eye(2), h0)
    assert len(fast) == len(slow) >= 2
    for u in range(2):
        a, b = fast.for_input(u).points, slow.for_input(u).points
        assert len(a) == len(b)
        assert np.abs(a[:, None] - b[None]).max(-1).min(1).max() < 1e-8


@pytest.mark.parametrize("kw,match", [({"marginal_tol": -1}, "marginal_tol"),
                                      ({"far_candidates": -1}, "far_candidates"),
                                      ({"adam_lr": 0}, "adam_lr"),
                                      ({"unique_tol": float("nan")}, "unique_tol")])
def test_bad_settings_are_refused_in_one_line(kw, match):
    """Issue 24: marginal_tol=-1 labelled a stable point unstable; far_candidates=-1 gave a raw
    numpy error."""
    with pytest.raises(ValueError, match=match):
        find_fixed_points(_affine(np.eye(1) * 0.5, np.zeros(1)), ZERO, np.zeros((4, 1)), **kw)


def test_non_finite_inputs_states_or_steps_are_not_silently_empty():
    step = _affine(np.eye(2) * 0.5, np.zeros(2))
    with pytest.raises(ValueError, match="inputs must be finite"):
        find_fixed_points(step, np.full((1, 1), np.nan), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="initial_states must be finite"):
        find_fixed_points(step, ZERO, np.full((4, 2), np.inf))
    nan_step = lambda h, x: h * float("nan")  # noqa: E731
    with pytest.warns(RuntimeWarning, match="non-finite values from every initial state"):
        fp = find_fixed_points(nan_step, ZERO, np.ones((4, 2)))
    assert len(fp) == 0
