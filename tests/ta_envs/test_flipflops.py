"""Flipflop invariants from first principles (time index and raw inputs), over random parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ta_envs import make_dataset

FF = settings(max_examples=40, deadline=None)


@st.composite
def periodic_params(draw):
    P = draw(st.integers(2, 30))
    return dict(period=P, on_steps=draw(st.integers(1, P - 1)), phase=draw(st.integers(0, 3 * P)))


@FF
@given(periodic_params(), st.integers(0, 2**31))
def test_periodic_flipflop(kw, seed):
    P, on, phase = kw["period"], kw["on_steps"], kw["phase"]
    b = next(make_dataset("TemporalFlipFlop-v0", 8, 3 * P, seed=seed, **kw))
    t = np.arange(3 * P)
    theta = ((t + phase) % P >= P - on).astype(int)
    is_a = b.symbols == 0
    np.testing.assert_array_equal(b.theta, np.broadcast_to(theta, b.theta.shape))
    np.testing.assert_array_equal(b.targets[~is_a], 0)  # b always gives state 0
    np.testing.assert_array_equal(b.targets[is_a], np.broadcast_to(theta, is_a.shape)[is_a])
    # TD per DESIGN 3: location 0 sees every x, so a is TD there; location 1 is entered only at
    # x = x' + 1 for x' in the on-region, so a is TD there iff Θ varies on that set; b is TI
    theta_x = [int((x + phase) % P >= P - on) for x in range(P)]
    at_loc1 = {(x + 1) % P for x in range(P) if theta_x[x]}
    td_at_1 = len({theta_x[x] for x in at_loc1}) > 1
    loc_before = np.concatenate([np.zeros((8, 1), int), b.targets[:, :-1]], axis=1)
    np.testing.assert_array_equal(b.mask_td, is_a & ((loc_before == 0) | td_at_1))
    np.testing.assert_array_equal(b.clocks[..., 0], np.broadcast_to(t % P, is_a.shape))
    np.testing.assert_array_equal(b.inputs.argmax(-1), b.symbols)


@FF
@given(st.integers(2, 24), st.integers(2, 4), st.integers(0, 50), st.booleans(),
       st.integers(0, 2**31))
def test_k_phase_and_state_dependent(P, K, phase, state_dep, seed):
    K = min(K, P)
    b = next(make_dataset("TemporalFlipFlop-v0", 6, 2 * P, seed=seed, period=P, num_phases=K,
                          phase=phase, state_dependent=state_dep))
    theta = ((np.arange(2 * P) + phase) % P) * K // P
    for row in range(6):
        s = 0
        for t, sym in enumerate(b.symbols[row]):
            if sym == 1:
                s = 0
            else:
                s = (s + theta[t]) % K if state_dep else theta[t]
            assert b.targets[row, t] == s
    assert b.targets.max() < K


@FF
@given(st.integers(0, 8), st.floats(0.05, 0.9), st.integers(0, 2**31),
       st.one_of(st.none(), st.integers(2, 12)), st.booleans())
def test_relative_timing(tau, p, seed, period, state_dep):
    kw = dict(tau=tau, p_event=p, state_dependent=state_dep)
    if period:
        kw["period"] = period
    T = 80
    b = next(make_dataset("RelativeTimingFlipFlop-v0", 6, T, seed=seed, **kw))
    for row in range(6):
        state, last = 0, None
        for t, sym in enumerate(b.symbols[row]):
            since = t - last if last is not None else t
            th = int(since >= tau)
            if period:
                th &= int(t % period >= period - period // 2)
            assert b.theta[row, t] == th
            if sym == 2:  # null holds the state
                assert not b.mask_td[row, t]
            elif sym == 1:
                state, last = 0, t
                assert not b.mask_td[row, t]
            else:
                state, last = (state ^ th) if state_dep else th, t
            assert b.targets[row, t] == state, (row, t)
    # a is TD at both locations once tau >= 2 (with tau = 1, location 1 only ever sees y >= 1,
    # so a is time-independent there by DESIGN 3's definition)
    if 2 <= tau < T // 4 and not period and not state_dep:
        assert b.mask_td[b.symbols == 0].all()


def test_relative_timing_symbol_frequencies():
    b = next(make_dataset("RelativeTimingFlipFlop-v0", 256, 400, seed=3))
    freq = np.bincount(b.symbols.ravel(), minlength=3) / b.symbols.size
    np.testing.assert_allclose(freq, [0.1, 0.1, 0.8], atol=0.005)


@FF
@given(st.integers(1, 5), st.floats(0.01, 0.5), st.integers(0, 2**31))
def test_classic_flipflop_holds_the_last_pulse(n_bits, p, seed):
    b = next(make_dataset("FlipFlop-v0", 4, 60, seed=seed, n_bits=n_bits, p_pulse=p))
    assert b.inputs.shape == (4, 60, n_bits) and b.targets.shape == (4, 60, n_bits)
    held = np.zeros((4, n_bits), dtype=np.int64)
    for t in range(60):
        x = b.inputs[:, t]
        held = np.where(x > 0, 1, np.where(x < 0, 0, held))
        np.testing.assert_array_equal(b.targets[:, t], held)
    assert not b.mask_td.any() and b.mask_ti.all()


@pytest.mark.parametrize("kw, field", [
    (dict(period=0), "period"), (dict(on_steps=30), "on_steps"), (dict(num_phases=1), "num_phases"),
    (dict(phase=-1), "phase"), (dict(p_a=1.5), "p_a"), (dict(period=2.5), "period"),
    (dict(num_phases=3, on_steps=4), "on_steps"), (dict(state_dependent=1), "state_dependent"),
    (dict(episode_length=0), "episode_length"),
])
def test_bad_factory_arguments(kw, field):
    with pytest.raises((ValueError, TypeError)) as err:
        make_dataset("TemporalFlipFlop-v0", 2, 4, seed=0, **kw)
    assert field in str(err.value)


@pytest.mark.parametrize("task, kw, field", [
    ("RelativeTimingFlipFlop-v0", dict(tau=-1), "tau"),
    ("RelativeTimingFlipFlop-v0", dict(p_event=-0.1), "p_event"),
    ("RelativeTimingFlipFlop-v0", dict(phase=3), "period"),
    ("FlipFlop-v0", dict(n_bits=7), "n_bits"),
    ("FlipFlop-v0", dict(p_pulse=2), "p_pulse"),
    ("FlipFlop-v0", dict(period=3), "unexpected keyword argument"),
])
def test_bad_arguments_other_tasks(task, kw, field):
    with pytest.raises((ValueError, TypeError)) as err:
        make_dataset(task, 2, 4, seed=0, **kw)
    assert field in str(err.value)
