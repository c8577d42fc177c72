"""Bounded work and the fixed defects: the compile bound, Hopcroft against Moore, masked resets
during an autoreset, seeds, large output spaces, fresh-array limits."""

from __future__ import annotations

import tracemalloc

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from strategies import automata

from ta_envs import (
    TimedAutomaton,
    make_dataset,
    relative_timing_flipflop,
    temporal_flipflop,
)
from ta_envs.compile import configuration_bound, minimal_size


def _moore(next_config, output):
    """Moore's partition refinement, written plainly (quadratic; a reference)."""
    _, block = np.unique(output, axis=0, return_inverse=True)
    block = block.reshape(-1)
    while True:
        sig = np.concatenate([block[:, None], block[next_config]], axis=1)
        _, new = np.unique(sig, axis=0, return_inverse=True)
        new = new.reshape(-1)
        if new.max() == block.max():
            return int(new.max()) + 1
        block = new


@settings(max_examples=60, deadline=None)
@given(automata())
def test_hopcroft_counts_the_same_minimal_machine_as_moore(a):
    comp = a.compiled
    assert minimal_size(comp.next_config, comp.output) == _moore(comp.next_config, comp.output)


def test_minimal_sizes_of_the_factories():
    assert temporal_flipflop(period=20000).automaton.compiled.num_minimal == 20000
    assert relative_timing_flipflop(tau=5000).automaton.compiled.num_minimal == 10001


def test_large_automata_are_refused_before_any_work(monkeypatch):
    with pytest.raises(ValueError, match=r"up to 2,000,000,000 configurations .*max_configs"):
        temporal_flipflop(period=10**9)
    with pytest.raises(ValueError, match="TA_ENVS_MAX_CONFIGS"):
        relative_timing_flipflop(tau=10**7)
    monkeypatch.setenv("TA_ENVS_MAX_CONFIGS", "100")
    with pytest.raises(ValueError, match="max_configs=100"):
        temporal_flipflop(period=60)
    assert configuration_bound(temporal_flipflop(period=40).automaton) == 80
    monkeypatch.setenv("TA_ENVS_MAX_CONFIGS", "lots")
    with pytest.raises(ValueError, match="TA_ENVS_MAX_CONFIGS must be an int"):
        temporal_flipflop(period=6)


def test_masked_reset_while_another_env_awaits_its_autoreset():
    v = gym.make_vec("TemporalFlipFlop-v0", 2, vectorization_mode="vector_entry_point", period=2,
                     episode_length=3)
    v.reset(seed=0)
    for _ in range(3):
        term = v.step(np.zeros(2, np.int64))[2]
    assert term.all()  # both wait for their autoreset
    obs, info = v.reset(options={"reset_mask": [True, False]})  # a list is accepted too
    assert info["_theta"].tolist() == [True, False] and info["theta"][1] == -1
    _, r, term, _, info = v.step(np.zeros(2, np.int64))
    assert info["_t"].tolist() == [True, False]  # env 1 autoresets now, env 0 steps
    assert r[1] == 0.0 and not term.any()


@pytest.mark.parametrize("seed, fragment", [(1.5, "seed must be an int >= 0, got float 1.5"),
                                            (-2, "seed must be an int >= 0, got -2"),
                                            ([1], "a list of num_envs=2 seeds"),
                                            ("x", "seed must be an int")])
def test_vector_reset_seeds_are_checked(seed, fragment):
    v = gym.make_vec("TemporalFlipFlop-v0", 2, vectorization_mode="vector_entry_point")
    with pytest.raises((TypeError, ValueError), match=fragment.replace("(", r"\(")):
        v.reset(seed=seed)


def test_many_output_classes_allocate_no_square_table():
    a = TimedAutomaton.from_dict(
        {"locations": ["s"], "initial": "s", "alphabet": ["a"], "output": {"s": 199_999},
         "num_outputs": 200_000, "edges": [{"source": "s", "symbol": "a", "target": "s"}]})
    tracemalloc.start()
    v = gym.make_vec("TimedAutomaton-v0", 8, vectorization_mode="vector_entry_point", automaton=a)
    v.reset(seed=0)
    _, r, *_ = v.step(np.full(8, 199_999))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (r == 1.0).all() and peak < 200 << 20


def test_batches_beyond_the_memory_limit_are_refused():
    ds = make_dataset("TemporalFlipFlop-v0", 2, 3, seed=0)
    with pytest.raises(ValueError, match="GiB, above the 8 GiB limit"):
        ds.fixed(10**9)
    for bad, err in ((2.7, TypeError), ("5", TypeError), (-1, ValueError), (0, ValueError)):
        with pytest.raises(err, match="n must be an int >= 1"):
            ds.fixed(bad)
    with pytest.raises(ValueError, match="index must be an int >= 0"):
        ds.split(-1)
