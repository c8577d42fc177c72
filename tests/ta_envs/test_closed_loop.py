"""IntervalReproduction-v0: the env steps the automaton exactly as the reference stepper does on
the cue|action stream, the expert always hits, a go at any other step misses, the vector env
matches single envs, and the checkers pass."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ta_envs import ReferenceStepper, make_task
from ta_envs.closed_loop import (
    ACTIONS,
    CUES,
    IntervalReproductionEnv,
    IntervalReproductionVectorEnv,
    expert_batches,
    interval_reproduction,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(seed=st.integers(0, 2**31), tol=st.integers(0, 2),
       actions=st.lists(st.sampled_from([0, 0, 0, 0, 1]), min_size=40, max_size=40))
def test_the_env_is_the_automaton_read_on_cue_and_action(seed, tol, actions):
    env = IntervalReproductionEnv(min_interval=3, max_interval=6, max_ready=4, tolerance=tol)
    obs, info = env.reset(seed=seed)
    ref = ReferenceStepper(env.task.automaton)
    for a in actions:
        cue = CUES[int(np.argmax(obs))]
        out = ref.step(f"{cue}|{ACTIONS[a]}")
        obs, reward, term, trunc, info = env.step(a)
        assert reward == out  # output 1 only in the hit location
        assert term == (ref.location in ("hit", "miss"))
        if term or trunc:
            break
    # independent of the automaton: a hit is a go within tol of the interval after set
    go = [t for t, a in enumerate(actions[: info["t"] + 1]) if a == 1]
    expect = bool(go) and abs(go[0] - (info["set_at"] + info["interval"])) <= tol
    assert bool(reward) == expect


@pytest.mark.parametrize("offset", [-2, -1, 0, 1, 2])
def test_only_the_exact_go_step_hits(offset):
    env = IntervalReproductionEnv(min_interval=4, max_interval=9, max_ready=5)
    for seed in range(20):
        _, info = env.reset(seed=seed)
        go_at = info["set_at"] + info["interval"] + offset
        for t in range(env.task.episode_length):
            obs, reward, term, trunc, info = env.step(int(t == go_at))
            if term or trunc:
                break
        assert term and reward == (1.0 if offset == 0 else 0.0)
        assert info["hit"] == (offset == 0)


def test_the_expert_batches_replay_to_hits_and_mark_the_timed_steps():
    task = interval_reproduction(3, 7, 4)
    b = next(expert_batches(task, 32, seed=0))
    assert b.inputs.shape == (32, task.episode_length, 3) and (b.targets.sum(1) == 1).all()
    for row in range(32):
        ref = ReferenceStepper(task.automaton)
        outs = [ref.step(task.automaton.alphabet[s]) for s in b.symbols[row]]
        go = int(np.argmax(b.targets[row]))
        assert outs[go] == 1 and ref.location == "hit"
        set_at = int(np.argmax(b.inputs[row, :, 2]))
        assert b.mask_td[row].sum() == go - set_at and not b.mask_td[row, : set_at + 1].any()


def test_the_vector_env_matches_single_envs_and_autoresets():
    venv = IntervalReproductionVectorEnv(3, min_interval=3, max_interval=5, max_ready=3)
    envs = [IntervalReproductionEnv(3, 5, 3) for _ in range(3)]
    obs, _ = venv.reset(seed=7)
    singles = [e.reset(seed=7 + i)[0] for i, e in enumerate(envs)]
    np.testing.assert_array_equal(obs, np.stack(singles))
    rng = np.random.default_rng(0)
    pending = [False] * 3
    for _ in range(60):
        a = (rng.random(3) < 0.2).astype(np.int64)
        o, r, te, tr, _ = venv.step(a)
        for i, e in enumerate(envs):
            if pending[i]:  # NEXT_STEP autoreset: this step only resets
                oi, ri, tei, tri = e.reset()[0], 0.0, False, False
                pending[i] = False
                # the vector env draws the next episode from the same per-env stream
            else:
                oi, ri, tei, tri, _ = e.step(int(a[i]))
                pending[i] = tei or tri
            np.testing.assert_array_equal(o[i], oi)
            assert (r[i], te[i], tr[i]) == (ri, tei, tri)


def test_checkers_pass_and_open_loop_use_is_refused():
    check_env(gym.make("IntervalReproduction-v0").unwrapped, skip_render_check=True)
    sb3 = pytest.importorskip("stable_baselines3.common.env_checker")
    sb3.check_env(gym.make("IntervalReproduction-v0").unwrapped, warn=True)
    assert gym.make("IntervalReproduction-v0").unwrapped.observations_depend_on_actions
    with pytest.raises(ValueError, match="closed-loop"):
        make_task("IntervalReproduction-v0")
    with pytest.raises(ValueError, match="tolerance must be an int in"):
        interval_reproduction(2, 5, tolerance=3)
    env = IntervalReproductionEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be 0 .wait. or 1 .go."):
        env.step(2)
