"""Differentiating ring oscillators: the simulators against the model as written, pulses,
lattices, the reservoir."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("scipy")

from analysis.rings.synchrony import (  # noqa: E402
    ring_periods,
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
    from baselines.rings.reservoir import ReservoirConfig, RingReservoir
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
    from baselines.rings.reservoir import ReservoirConfig, RingReservoir
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


def test_ring_reservoir_on_a_lattice():
    from baselines.rings.reservoir import ReservoirConfig, RingReservoir
    from ta_envs import make_dataset

    ds = make_dataset("TemporalFlipFlop-v0", 16, 12, seed=0, period=6)
    b = next(ds)
    res = RingReservoir(ReservoirConfig(lattice=LatticeConfig(4, 4, 8, 1), hold=10))
    assert res.net.num_rings == 16 and res.num_features == 2 * 16 * 6 + 1
    res.fit(b, ds.num_outputs)
    assert res.predict(b.inputs).shape == b.targets.shape
    assert res.score(b)["acc"] > 0.5
