"""Differentiating ring oscillators: the simulator against the model as written, ring periods,
pulses, lattices, and the synchrony measures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("scipy")

from analysis.synchrony import (  # noqa: E402
    correlation_length,
    domains,
    local_order,
    neighbour_locking,
    order_parameter,
    phase_correlation,
    ring_periods,
    ring_phases,
    staggered,
)
from baselines.rings import (  # noqa: E402
    LatticeConfig,
    NeuronParams,
    RingState,
    Stepper,
    from_rings,
    initial_state,
    lattice,
    reference_step,
    simulate,
    single_rings,
)


@st.composite
def ring_graphs(draw):
    n = draw(st.integers(2, 9))
    rings = []
    for _ in range(draw(st.integers(1, 3))):
        size = draw(st.integers(2, n))
        rings.append(draw(st.permutations(range(n)))[:size])
    covered = set().union(*map(set, rings))
    missing = [i for i in range(n) if i not in covered]
    if missing:
        rings.append(missing + [rings[0][0]] if len(missing) == 1 else missing)
    return rings


@settings(max_examples=40, deadline=None)
@given(ring_graphs(), st.integers(0, 2**31), st.booleans())
def test_vectorised_stepper_is_the_model_as_written(rings, seed, with_drive):
    net = from_rings(rings)
    rng = np.random.default_rng(seed)
    B, n = 2, net.num_neurons
    params = NeuronParams()
    v0 = rng.uniform(0, 2, size=(B, n))
    low0 = rng.random((B, n)) < 0.3
    fast, ref = RingState(v0.copy(), low0.copy()), RingState(v0.copy(), low0.copy())
    drive = rng.uniform(0, 0.6, size=(B, n)) * (rng.random((B, n)) < 0.2) if with_drive else 0.0
    stepper = Stepper(net, params, B, np.float64)
    for _ in range(300):
        stepper(fast, drive)
        reference_step(net, ref, params, drive)
        np.testing.assert_array_equal(fast.low, ref.low)
        np.testing.assert_allclose(fast.v, ref.v, rtol=0, atol=1e-12)


def test_one_pulse_ring_period_follows_the_linear_law():
    sizes = list(range(2, 9))
    tr = simulate(single_rings(sizes), 20000)
    P = ring_periods(tr.event_step, tr.event_ring, len(sizes), tr.dt)
    law = 1.26 * np.array(sizes) + 0.27
    np.testing.assert_allclose(P, law, rtol=0.03)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_a_k_pulse_ring_keeps_k_pulses(k):
    net = single_rings([12])
    tr = simulate(net, 20000, initial_state(net, pulses=k), sample_every=7)
    counts = tr.low_count[:, 0, 0]
    assert counts.max() == k  # never more pulses than started
    assert np.mean(counts == k) > 0.9  # between hand-overs every pulse is one low neuron
    # k evenly spaced pulses on 12 neurons: each neuron sees the cycle of a one-pulse ring of 12/k
    P = ring_periods(tr.event_step, tr.event_ring, 1, tr.dt)[0]
    one = simulate(single_rings([12 // k]), 20000)
    assert P == pytest.approx(ring_periods(one.event_step, one.event_ring, 1, one.dt)[0],
                              rel=0.01)


def test_sharing_zero_decouples_the_rings_exactly():
    cfg = LatticeConfig(rows=3, cols=4, ring_size=8, sharing=0)
    net = lattice(cfg)
    state = initial_state(net, rng=np.random.default_rng(5), dtype=np.float64)
    start = RingState(state.v.copy(), state.low.copy())
    simulate(net, 3000, state)
    for r, ring in enumerate(net.rings):
        alone = from_rings([list(range(8))])
        s = RingState(start.v[:, ring].copy(), start.low[:, ring].copy())
        simulate(alone, 3000, s)
        np.testing.assert_array_equal(s.low, state.low[:, ring])
        np.testing.assert_array_equal(s.v, state.v[:, ring])
        assert r < net.num_rings


def test_shared_neurons_sum_both_rings_and_neighbouring_rings_phase_lock():
    net = lattice(LatticeConfig(rows=12, cols=12, ring_size=8, sharing=1))
    assert net.num_neurons == 144 * 6  # 4 private + the right and bottom shared neurons per ring
    two = np.nonzero((net.pred < net.num_neurons).sum(1) == 2)[0]
    assert len(two) == 2 * 144  # the first neuron of each shared run has two predecessors
    tr = simulate(net, 40000, initial_state(net, rng=np.random.default_rng(0)))
    th = ring_phases(tr.event_step, tr.event_ring, net.num_rings, np.array([35000]))[0]
    strength, angle = neighbour_locking(th.reshape(12, 12))
    # locked, in phase or in antiphase (which one depends on the start)
    assert strength > 0.8 and min(abs(angle), abs(abs(angle) - np.pi)) < 0.3
    alone = simulate(lattice(LatticeConfig(rows=12, cols=12, ring_size=8, sharing=0)), 40000,
                     initial_state(lattice(LatticeConfig(12, 12, 8, 0)),
                                   rng=np.random.default_rng(0)))
    th0 = ring_phases(alone.event_step, alone.event_ring, 144, np.array([35000]))[0]
    assert neighbour_locking(th0.reshape(12, 12))[0] < 0.3  # without sharing: no locking


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="sharing"):
        LatticeConfig(ring_size=8, sharing=3)
    with pytest.raises(ValueError, match="rows"):
        LatticeConfig(rows=1)
    with pytest.raises(ValueError, match="twice"):
        from_rings([[0, 1, 0]])
    with pytest.raises(ValueError, match="no ring"):
        from_rings([[0, 2]])
    with pytest.raises(ValueError, match="pulses"):
        initial_state(single_rings([6]), pulses=4)
    with pytest.raises(ValueError, match="low"):
        NeuronParams(low=0.5, high=0.4)
    with pytest.raises(ValueError, match="reference"):
        from_rings([[0, 1]], reference=[2])


def test_phases_from_events_are_linear_between_cycle_starts():
    ev_s = np.array([100, 300, 500, 50, 150])
    ev_r = np.array([0, 0, 0, 1, 1])
    th = ring_phases(ev_s, ev_r, 2, np.array([100, 200, 450, 100, 600]))
    np.testing.assert_allclose(th[:3, 0], [0.0, np.pi, 1.5 * np.pi])
    assert np.isnan(th[4, 0])  # after the last event
    np.testing.assert_allclose(th[3, 1], np.pi)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31), st.floats(-10, 10))
def test_order_parameters_are_in_unit_interval_and_ignore_a_global_shift(seed, shift):
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0, 2 * np.pi, size=(5, 6)) * rng.uniform(0, 1)
    for f in (lambda t: order_parameter(t.ravel()), local_order):
        a, b = f(theta), f(theta + shift)
        assert 0.0 <= a <= 1.0 + 1e-12
        assert a == pytest.approx(b, abs=1e-12)
    np.testing.assert_allclose(np.exp(1j * staggered(staggered(theta))), np.exp(1j * theta),
                               atol=1e-12)


@pytest.mark.parametrize("xi", [3.0, 8.0])
def test_correlation_length_of_a_field_with_known_xi(xi):
    """Separable random-walk phases: ``θ = A_row + B_col`` with steps of variance σ² give
    ``⟨cos(θ_x − θ_{x+r})⟩ = exp(−r σ²/2)``, i.e. ξ = 2/σ²."""
    rng = np.random.default_rng(0)
    sigma = np.sqrt(2.0 / xi)
    L = 400
    A = np.cumsum(rng.normal(scale=sigma, size=(200, L)), axis=1)  # 200 independent fields
    B = np.cumsum(rng.normal(scale=sigma, size=(200, L)), axis=1)
    est = []
    for a, b in zip(A[:20], B[:20]):
        C = phase_correlation(a[:, None] + b[None, :], int(3 * xi), periodic=False)
        est.append(correlation_length(C))
    assert np.median(est) == pytest.approx(xi, rel=0.1)


def test_domains_and_walls_of_a_two_domain_field():
    L = 10
    theta = np.zeros((L, L))
    theta[:, 5:] = np.pi
    d = domains(theta)
    assert sorted(d.sizes.tolist()) == [50, 50]
    assert d.wall_fraction == pytest.approx(2 * L / (2 * L * L))
    assert set(np.unique(d.labels[:, :5])) != set(np.unique(d.labels[:, 5:]))


def test_coupled_lattice_stepper_is_the_model_as_written():
    net = lattice(LatticeConfig(rows=3, cols=3, ring_size=8, sharing=0, coupling=0.1))
    assert net.pred.shape[1] == 5  # its ring predecessor plus four neighbours
    params = NeuronParams()
    fast = initial_state(net, params, batch=2, rng=np.random.default_rng(1), dtype=np.float64)
    ref = RingState(fast.v.copy(), fast.low.copy())
    stepper = Stepper(net, params, 2, np.float64)
    for _ in range(400):
        stepper(fast)
        reference_step(net, ref, params)
    np.testing.assert_array_equal(fast.low, ref.low)
    np.testing.assert_allclose(fast.v, ref.v, rtol=0, atol=1e-12)


def test_ring_reservoir_keeps_time_for_the_readout():
    """On TemporalFlipFlop (P = 6) the target on an ``a`` step is Θ(t mod 6): the current input
    alone gets TD accuracy 0.5, so a TD accuracy near 1 means the free-running rings keep time."""
    from baselines.reservoir import ReservoirConfig, RingReservoir
    from ta_envs import make_dataset

    ds = make_dataset("TemporalFlipFlop-v0", 64, 24, seed=0, period=6)
    train, test = next(ds), ds.fixed(64)
    res = RingReservoir(ReservoirConfig(rings=32, hold=50, seed=0)).fit(train, ds.num_outputs)
    score = res.score(test)
    assert score["td"] > 0.9 and score["ti"] > 0.9
    again = RingReservoir(ReservoirConfig(rings=32, hold=50, seed=0))
    np.testing.assert_array_equal(again.features(test.inputs[:4]), res.features(test.inputs[:4]))
    # rings without input are the same clock in every sequence
    f = res.features(test.inputs[:2])
    n = res.net.num_neurons
    driven = {int(i) for w in res._wiring(2) for i in w}
    free = [i for i in range(n) if not any(i in set(r.tolist()) for r in res.net.rings
                                           if int(r[0]) in driven)]
    assert free and np.array_equal(f[0, :, free], f[1, :, free])


def test_ring_reservoir_handles_multichannel_targets_and_refuses_bad_use():
    from baselines.reservoir import ReservoirConfig, RingReservoir
    from ta_envs import make_dataset

    ds = make_dataset("FlipFlop-v0", 16, 20, seed=0)
    b = next(ds)
    res = RingReservoir(ReservoirConfig(rings=12, hold=5))
    with pytest.raises(RuntimeError, match="fit"):
        res.predict(b.inputs)
    res.fit(b, ds.num_outputs)
    assert res.predict(b.inputs).shape == b.targets.shape
    assert np.isnan(res.score(b)["td"])  # FlipFlop has no time-dependent steps
    with pytest.raises(ValueError, match="channels"):
        res.predict(b.inputs[..., :2])
    with pytest.raises(ValueError, match="classes"):
        RingReservoir(ReservoirConfig(rings=4, hold=2)).fit(b, 1)
    with pytest.raises(ValueError, match="input_fraction"):
        ReservoirConfig(input_fraction=0.0)
    with pytest.raises(ValueError, match="max_size"):
        ReservoirConfig(min_size=5, max_size=4)


def test_rings_cli_writes_results_and_reuses_them(tmp_path):
    import json

    from ta_envs.cli import main

    args = ["rings", "lattice", "--rows", "6", "--cols", "6", "--sharing", "0", "1",
            "--duration", "80", "--sample", "5", "--quiet", "--out", str(tmp_path)]
    assert main(args) == 0
    run = json.loads((tmp_path / "lattice_m1.json").read_text())
    assert run["config"]["sharing"] == 1 and len(run["xi"]) == len(run["times"])
    assert (tmp_path / "lattice.png").stat().st_size > 10_000
    stamp = (tmp_path / "lattice_m1.json").stat().st_mtime_ns
    assert main(args) == 0
    assert (tmp_path / "lattice_m1.json").stat().st_mtime_ns == stamp
    assert main(["rings", "reservoir", "--tasks", "periodic P=6", "--rings", "16", "--train",
                 "32", "--hold", "20", "--quiet", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "reservoir.json").read_text())
    assert 0.5 < res["runs"]["periodic P=6/seed0"]["test"]["td"] <= 1.0
    assert main(["rings", "reservoir", "--tasks", "nope", "--out", str(tmp_path)]) == 2


def test_torch_stepper_matches_the_numpy_stepper():
    torch = pytest.importorskip("torch")
    from baselines.rings import TorchStepper

    net = lattice(LatticeConfig(rows=4, cols=4, ring_size=8, sharing=1, coupling=0.05))
    params = NeuronParams()
    s = initial_state(net, params, batch=2, rng=np.random.default_rng(0), dtype=np.float64)
    ts = TorchStepper(net, params, 2, dtype=torch.float64)
    ts.load(s)
    st = Stepper(net, params, 2, np.float64)
    for _ in range(1500):
        st(s)
        ts()
    got = ts.state()
    np.testing.assert_array_equal(got.low, s.low)
    np.testing.assert_allclose(got.v, s.v, rtol=0, atol=1e-12)


def test_defects_find_a_vortex_antivortex_pair():
    from analysis.synchrony import defects

    L = 24
    y, x = np.mgrid[0:L, 0:L]
    theta = np.arctan2(y - 8.5, x - 6.5) - np.arctan2(y - 15.5, x - 17.5)
    w = defects(theta)
    assert np.abs(w).sum() == 2 and w.sum() == 0  # one vortex, one antivortex
    assert w[8, 6] == 1 and w[15, 17] == -1
    assert np.abs(defects(np.full((L, L), 1.3))).sum() == 0


def test_ring_reservoir_on_a_lattice():
    from baselines.reservoir import ReservoirConfig, RingReservoir
    from ta_envs import make_dataset

    ds = make_dataset("TemporalFlipFlop-v0", 16, 12, seed=0, period=6)
    b = next(ds)
    res = RingReservoir(ReservoirConfig(lattice=LatticeConfig(4, 4, 8, 1), hold=10))
    assert res.net.num_rings == 16 and res.num_features == 2 * 16 * 6 + 1
    res.fit(b, ds.num_outputs)
    assert res.predict(b.inputs).shape == b.targets.shape
    assert res.score(b)["acc"] > 0.5
