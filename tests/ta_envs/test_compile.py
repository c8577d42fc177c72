"""Compiled tables: configuration counts and minimisation against what the theory says."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import automata

from ta_envs import flipflop, make_task, relative_timing_flipflop, temporal_flipflop


@pytest.mark.parametrize("P", [2, 3, 6, 12, 24, 48])
def test_periodic_flipflop_minimises_to_the_period(P):
    # outputs depend on x = t mod P only, and Θ has least period P: exactly P classes
    assert temporal_flipflop(period=P).automaton.compiled.num_minimal == P


@pytest.mark.parametrize("tau", [1, 2, 5, 10])
def test_relative_timing_minimises_to_2tau_plus_1(tau):
    # location 0 with y in 0..tau (tau = "at least tau"), location 1 with y in 1..tau
    assert relative_timing_flipflop(tau=tau).automaton.compiled.num_minimal == 2 * tau + 1


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_flipflop_has_2_to_the_n_states(n):
    comp = flipflop(n_bits=n).automaton.compiled
    assert comp.num_configs == comp.num_minimal == 2**n


@settings(max_examples=40, deadline=None)
@given(automata())
def test_minimal_size_is_an_invariant_of_behaviour(a):
    """Duplicating every location (a bisimilar copy) leaves the minimal size unchanged."""
    from ta_envs import Edge, TimedAutomaton

    locs = a.locations + tuple(f"{x}_copy" for x in a.locations)
    edges = []
    for e in a.edges:  # the original half jumps into the copy half and the copy into the original
        edges.append(Edge(e.source, e.symbol, f"{e.target}_copy", e.guard, e.resets))
        edges.append(Edge(f"{e.source}_copy", e.symbol, e.target, e.guard, e.resets))
    b = TimedAutomaton(locs, a.initial, a.alphabet, a.clocks, tuple(edges), a.outputs * 2,
                       a.num_outputs)
    assert b.compiled.num_minimal == a.compiled.num_minimal
    assert b.compiled.num_minimal <= a.compiled.num_configs


def test_tables_are_read_only():
    comp = make_task("TemporalFlipFlop-v0").automaton.compiled
    with pytest.raises(ValueError):
        comp.next_config[0, 0] = 1


@settings(max_examples=30, deadline=None)
@given(automata(), st.integers(0, 2**31))
def test_k_step_block_table_composes_single_steps(a, seed):
    comp = a.compiled
    k, before, after, before_t = comp.block
    np.testing.assert_array_equal(before_t, before.T)
    S = comp.num_symbols
    rng = np.random.default_rng(seed)
    for _ in range(5):
        c = int(rng.integers(comp.num_configs))
        word = rng.integers(0, S, size=k)
        z = int(sum(int(w) * S ** (k - 1 - j) for j, w in enumerate(word)))
        cur = c
        for j, w in enumerate(word):
            assert before[c * S**k + z, j] == cur
            cur = comp.next_config[cur, w]
        assert after[c * S**k + z] == cur
