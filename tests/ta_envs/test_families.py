"""Ladder v3 families: the word problem tracks the group product computed here from permutations;
a random automaton has exactly the requested minimal configurations; both agree with the reference
stepper on every fast path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import assert_rollout_matches_reference

from ta_envs import make_dataset, make_task, random_automaton, word_problem

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORDERS = {"parity": 2, "Z3": 3, "S3": 6, "A4": 12, "A5": 60, "S5": 120}


def perm_product(word: list[tuple[int, ...]], degree: int) -> tuple[int, ...]:
    """Apply the permutations left to right: g = w_0 then w_1 ... (g[i] = w_k[...w_0[i]])."""
    g = list(range(degree))
    for w in word:
        g = [w[i] for i in g]
    return tuple(g)


@pytest.mark.parametrize("group, order", ORDERS.items())
def test_groups_have_their_orders_and_minimal_machines(group, order):
    comp = word_problem(group).automaton.compiled
    assert comp.num_configs == order and comp.num_minimal == order
    # the temporal variant needs the time of day too: |G| x P configurations, none merged
    assert word_problem(group, period=4).automaton.compiled.num_minimal == order * 4


@SETTINGS
@given(group=st.sampled_from(sorted(ORDERS)), period=st.sampled_from([None, 2, 5, 8]),
       seed=st.integers(0, 2**31))
def test_the_target_is_the_running_product(group, period, seed):
    from ta_envs.families import ALIASES, GROUPS, group_elements

    task = word_problem(group, period=period, episode_length=30)
    degree, gens = GROUPS[ALIASES.get(group, group)]
    perms = [tuple(range(degree)), *gens.values()]
    first = next(iter(gens.values()))
    elements = group_elements(degree, list(gens.values()))
    batch = next(make_dataset(task, batch_size=4, seq_len=30, seed=seed))
    for b in range(4):
        word: list[tuple[int, ...]] = []
        for t in range(30):
            word.append(perms[int(batch.inputs[b, t].argmax())])
            if period is not None and t % period >= period // 2:
                word.append(first)
            assert elements[int(batch.targets[b, t])] == perm_product(word, degree)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(K=st.integers(2, 64), seed=st.integers(0, 1000), clocks=st.integers(0, 2),
       symbols=st.integers(1, 4))
@pytest.mark.slow
def test_random_automata_have_exactly_the_requested_configurations(K, seed, clocks, symbols):
    task = random_automaton(K, seed=seed, clocks=clocks, symbols=symbols)
    a = task.automaton
    assert a.compiled.num_minimal == K
    assert len(a.clocks) == clocks and len(a.alphabet) == symbols
    again = random_automaton(K, seed=seed, clocks=clocks, symbols=symbols).automaton
    assert again.to_dict() == a.to_dict()  # one seed, one automaton


@SETTINGS
@given(which=st.sampled_from(["S3", "A4", "rand1", "rand2"]), seed=st.integers(0, 2**31),
       T=st.integers(1, 40))
def test_family_rollouts_match_the_reference_stepper(which, seed, T):
    task = (word_problem(which, period=6) if not which.startswith("rand")
            else random_automaton(20, seed=3, clocks=int(which[-1])))
    symbols = np.random.default_rng(seed).integers(0, len(task.automaton.alphabet), size=(3, T))
    assert_rollout_matches_reference(task, symbols)


def test_bad_arguments_get_one_clear_line():
    with pytest.raises(ValueError, match="group must be one of"):
        make_task("WordProblem-v0", group="S7")
    with pytest.raises(ValueError, match="configurations must be an int in"):
        make_task("RandomAutomaton-v0", configurations=1000)
    with pytest.raises(TypeError, match="unexpected keyword argument .groups.; allowed: group"):
        make_task("WordProblem-v0", groups="S3")


def test_the_word_problem_is_uniform_over_its_symbols():
    task = word_problem("S5")
    assert task.symbol_probs == pytest.approx((1 / 3,) * 3) and math.isclose(sum(task.symbol_probs), 1)
