"""Every fast path agrees with the plain reference stepper on random automata and inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import assert_rollout_matches_reference, automata, reference_arrays

from ta_envs import make_dataset, run_configs
from ta_envs.envs import TimedAutomatonEnv, TimedAutomatonVectorEnv
from ta_envs.tasks import automaton_task

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(a=automata(), seed=st.integers(0, 2**31), T=st.integers(1, 40))
def test_rollout_matches_reference(a, seed, T):
    task = automaton_task(a)
    symbols = np.random.default_rng(seed).integers(0, len(a.alphabet), size=(4, T))
    assert_rollout_matches_reference(task, symbols)
    # the k-step block tables agree with stepping one symbol at a time
    comp = a.compiled
    c = np.zeros(4, dtype=np.intp)
    cfg = run_configs(comp, symbols)
    for t in range(T):
        np.testing.assert_array_equal(cfg[:, t], c)
        c = comp.next_config[c, symbols[:, t]]


@SETTINGS
@given(a=automata(), seed=st.integers(0, 2**31), T=st.integers(1, 30), data=st.data())
def test_envs_and_dataset_match_reference(a, seed, T, data):
    n_envs = 3
    env = TimedAutomatonEnv(automaton=a, episode_length=T, observe_clock=True)
    venv = TimedAutomatonVectorEnv(n_envs, automaton=a, episode_length=T, observe_clock=True)
    obs_v, _ = venv.reset(seed=seed)
    ds = make_dataset(a, batch_size=n_envs, seq_len=T, seed=seed)
    batch = next(ds)
    actions = data.draw(st.lists(st.lists(st.integers(0, a.num_outputs - 1), min_size=n_envs,
                                          max_size=n_envs), min_size=T, max_size=T))
    caps = np.maximum(np.asarray(a.compiled.clock_max, np.float32), 1)
    S = len(a.alphabet)
    v_obs, v_rew, v_tgt, v_td, v_term = [obs_v], [], [], [], []
    for t in range(T):
        o, r, term, trunc, info = venv.step(np.asarray(actions[t]))
        assert not trunc.any() and info["_target"].all()
        v_obs.append(o)
        v_rew.append(r)
        v_tgt.append(info["target"])
        v_td.append(info["time_dependent"])
        v_term.append(term)
    for i in range(n_envs):
        # single env seeded s+i == vector env i; both == reference on the symbols they show
        obs, _ = env.reset(seed=seed + i)
        np.testing.assert_array_equal(obs, v_obs[0][i])
        symbols = [int(obs[:S].argmax())]
        rows = []
        for t in range(T):
            o, r, term, trunc, info = env.step(actions[t][i])
            assert isinstance(term, bool) and isinstance(trunc, bool) and not trunc
            assert term == (t == T - 1) and bool(v_term[t][i]) == term
            np.testing.assert_array_equal(o, v_obs[t + 1][i])
            assert r == v_rew[t][i] == float(actions[t][i] == info["target"])
            assert info["target"] == v_tgt[t][i] and info["time_dependent"] == v_td[t][i]
            rows.append(info)
            if t < T - 1:
                symbols.append(int(o[:S].argmax()))
        assert not o.any()  # terminal observation
        out, td, clocks = reference_arrays(a, symbols)
        np.testing.assert_array_equal([x["target"] for x in rows], out)
        np.testing.assert_array_equal([x["time_dependent"] for x in rows], td)
        np.testing.assert_array_equal([list(x["clocks"].values()) for x in rows],
                                      clocks.reshape(T, -1))
        # observe_clock: the clocks the guards read, scaled by their largest value
        first_obs = v_obs[0][i]
        np.testing.assert_allclose(first_obs[S:], np.zeros(len(a.clocks)))
        if T > 1:
            np.testing.assert_allclose(v_obs[1][i][S:], clocks[1] / caps, rtol=1e-6)
    # dataset row i == episode i+1 of a single env reset once with the seed, then without
    env.reset(seed=seed)
    for i in range(n_envs):
        if i:
            env.reset()
        o = env._obs[:T]  # the episode's inputs
        np.testing.assert_array_equal(o[:, :S], batch.inputs[i])
        out, td, clocks = reference_arrays(a, batch.symbols[i])
        np.testing.assert_array_equal(batch.targets[i], out)
        np.testing.assert_array_equal(batch.mask_td[i], td)
        np.testing.assert_array_equal(batch.mask_ti[i], ~td)
        np.testing.assert_array_equal(batch.clocks[i], clocks)


class _SmallBank(TimedAutomatonVectorEnv):
    """Two episodes simulated ahead, four banked: the bank is redrawn during the test."""

    lookahead_steps = 2 * 3 * 5
    bank_bytes = 4 * 3 * 5


@pytest.mark.parametrize("cls", [TimedAutomatonVectorEnv, _SmallBank])
@settings(max_examples=25, deadline=None)
@given(a=automata(max_clocks=1), seed=st.integers(0, 2**31))
def test_vector_env_autoreset_and_masked_reset(cls, a, seed):
    """NEXT_STEP autoreset and masked resets keep each env identical to its own single env,
    also when the symbol bank is redrawn and episodes are refilled for some envs only."""
    T, n = 5, 3
    venv = cls(n, automaton=a, episode_length=T)
    env = TimedAutomatonEnv(automaton=a, episode_length=T)
    venv.reset(seed=seed)
    singles = []
    for i in range(n):
        o, _ = env.reset(seed=seed + i)
        eps = [[o]]
        for _ in range(4):  # four episodes of env i
            for t in range(T):
                o, *_ = env.step(0)
                if t < T - 1:
                    eps[-1].append(o)
            o, _ = env.reset()
            eps.append([o])
        singles.append(eps)
    zeros = np.zeros(n, dtype=np.int64)
    # episode 0 and 1 through autoreset: T steps, then one reset step that scores nothing
    for ep in range(2):
        for t in range(T):
            o, r, term, _, info = venv.step(zeros)
            if t < T - 1:
                for i in range(n):
                    np.testing.assert_array_equal(o[i], singles[i][ep][t + 1])
        assert term.all()
        o, r, term, _, info = venv.step(zeros)
        assert not info["_target"].any() and not r.any() and not term.any()
        for i in range(n):
            np.testing.assert_array_equal(o[i], singles[i][ep + 1][0])
    # a masked reset moves env 1 alone to its next episode (no seed: its stream continues)
    mask = np.array([False, True, False])
    o, _ = venv.reset(options={"reset_mask": mask})
    np.testing.assert_array_equal(o[1], singles[1][3][0])
    np.testing.assert_array_equal(o[0], singles[0][2][0])
    o, r, term, _, info = venv.step(zeros)
    np.testing.assert_array_equal(o[1], singles[1][3][1] if T > 1 else o[1])
    np.testing.assert_array_equal(o[0], singles[0][2][1] if T > 1 else o[0])
    for _ in range(T - 1):  # finish env 1's episode 3 and env 0's episode 2 together
        o, r, term, _, info = venv.step(zeros)
    assert term.all()
    o, *_ = venv.step(zeros)  # env 1 alone needs new episodes (a bank redraw under _SmallBank)
    np.testing.assert_array_equal(o[1], singles[1][4][0])
    np.testing.assert_array_equal(o[0], singles[0][3][0])
    np.testing.assert_array_equal(o[2], singles[2][3][0])
