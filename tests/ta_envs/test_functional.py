"""The functional kernel: NumPy and JAX agree step by step with the reference stepper on random
automata; the FuncEnv, gymnax-style env and rollout keep the native envs' semantics; task
parameters vmap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import automata, reference_arrays

from ta_envs import functional as F
from ta_envs.envs import TaskVectorEnv
from ta_envs.tasks import automaton_task

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
jax = pytest.importorskip("jax")
jnp = jax.numpy


@SETTINGS
@given(a=automata(), seed=st.integers(0, 2**31), T=st.integers(1, 30),
       backend=st.sampled_from(["numpy", "jax"]))
def test_kernel_matches_the_reference_stepper(a, seed, T, backend):
    task = automaton_task(a, episode_length=max(T, 1))
    symbols = np.random.default_rng(seed).integers(0, len(a.alphabet), size=(3, T))
    out = F.stream(task, symbols, backend)
    for b in range(3):
        tgt, td, clocks = reference_arrays(a, symbols[b])
        np.testing.assert_array_equal(out["targets"][b], tgt)
        np.testing.assert_array_equal(out["mask_td"][b], td)
        np.testing.assert_array_equal(out["clocks"][b], clocks)
        np.testing.assert_array_equal(out["inputs"][b].argmax(-1), symbols[b])


@pytest.mark.parametrize("task_id,kw", [("TemporalFlipFlop-v0", {"period": 6}),
                                        ("RelativeTimingFlipFlop-v0", {"tau": 3}),
                                        ("FlipFlop-v0", {"n_bits": 2, "episode_length": 15})])
def test_numpy_kernel_with_the_envs_uniforms_replays_the_native_env(task_id, kw):
    """Given the uniforms the native env draws (seeded generator), the NumPy kernel shows the same
    observations, targets, TD flags, Θ and rewards, including the terminal zero observation."""
    n, seed = 3, 7
    venv = TaskVectorEnv(n, task_id, **kw)
    obs0, _ = venv.reset(seed=seed)
    L = venv.task.episode_length
    p = F.make_params(task_id, **kw)
    # the env draws its bank of episodes per env: the first episode is the first L uniforms
    u = np.stack([np.random.default_rng(seed + i).random(L) for i in range(n)])
    s = F.initial(u[:, 0], p)
    np.testing.assert_array_equal(F.observation(s, p), obs0)
    rng = np.random.default_rng(0)
    for t in range(L):
        a = rng.integers(0, 2, (n, 2)) if task_id == "FlipFlop-v0" else rng.integers(0, 2, n)
        o, r, term, _, info = venv.step(a)
        np.testing.assert_array_equal(F.reward(s, a, p), r)
        ki = F.info(s, p)
        np.testing.assert_array_equal(ki["target"], info["target"])
        np.testing.assert_array_equal(ki["time_dependent"], info["time_dependent"])
        np.testing.assert_array_equal(ki["theta"], info["theta"])
        s = F.transition(s, u[:, t + 1] if t + 1 < L else np.zeros(n), p)
        np.testing.assert_array_equal(F.terminal(s, p), term)
        np.testing.assert_array_equal(F.observation(s, p), o)


def test_gymnax_style_loop_runs_unchanged():
    """The PureJaxRL pattern: vmapped reset/step over keys, a scanned loop, auto-reset."""
    env = F.GymnaxEnv("TemporalFlipFlop-v0", period=4)
    params = env.default_params
    n = 8
    assert env.action_space(params).n == 2
    assert env.observation_space(params).shape == (2,)
    rng = jax.random.PRNGKey(0)
    rng, k = jax.random.split(rng)
    obsv, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k, n), params)

    def body(carry, _):
        obsv, state, rng = carry
        rng, k_act, k_step = jax.random.split(rng, 3)
        action = jax.vmap(env.action_space(params).sample)(jax.random.split(k_act, n))
        obsv, state, reward, done, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(k_step, n), state, action, params)
        return (obsv, state, rng), (reward, done, info["time_dependent"], state.t)

    _, (rew, done, td, t) = jax.lax.scan(body, (obsv, state, rng), None, 40)
    L = 16  # 4 periods of 4
    assert done.shape == (40, n) and done[L - 1].all() and not done[: L - 1].any()
    assert (t[L - 1] == 0).all()  # auto-reset: the next episode starts at t = 0
    # random actions: TI steps right half the time, like TD ones; rewards are 0/1
    assert set(np.unique(np.asarray(rew)).tolist()) <= {0.0, 1.0}
    assert 0.3 < float(rew.mean()) < 0.7


def test_rollout_returns_the_datasets_fields_and_the_policy_is_scored():
    p = F.make_params("TemporalFlipFlop-v0", "jax", period=6)
    key = jax.random.PRNGKey(3)
    roll = jax.jit(F.rollout, static_argnums=(2, 3, 4, 5))

    def oracle(k, obs):  # not an oracle: 'b' -> 0, 'a' -> 1 is right on TI and half of TD
        return (obs[:, 0] > 0.5).astype(jnp.int32)

    out = roll(key, p, oracle, 16, 60)
    assert out["inputs"].shape == (16, 60, 2) and out["targets"].shape == (16, 60)
    assert out["clocks"].shape == (16, 60, 1)
    starts = np.asarray(out["episode_start"])
    assert starts[:, 0].all() and starts[:, 24].all() and starts[:, 48].all()
    assert starts.sum() == 16 * 3
    clock = np.asarray(out["clocks"])[..., 0]
    np.testing.assert_array_equal(clock[0, :24], np.arange(24) % 6)  # time of day, from 0
    np.testing.assert_array_equal(clock[0, 24:30], np.arange(6))  # restarts with the episode
    td, r = np.asarray(out["mask_td"]), np.asarray(out["rewards"])
    assert (r[~td] == 1).all()  # 'b' (TI) always sends the flipflop to 0 and the policy says 0
    assert 0.3 < r[td].mean() < 0.7
    # the same targets as the reference on the symbols the rollout drew
    sym = np.asarray(out["inputs"]).argmax(-1)
    from ta_envs import make_task
    from ta_envs import rollout as np_rollout

    ref = np_rollout(make_task("TemporalFlipFlop-v0", period=6), sym[:, :24])
    np.testing.assert_array_equal(ref.targets, np.asarray(out["targets"])[:, :24])
    np.testing.assert_array_equal(ref.mask_td, td[:, :24])


def test_task_parameters_vmap():
    periods = (4, 6, 12)
    ps = F.stack_params([F.make_params("TemporalFlipFlop-v0", "jax", period=P,
                                       episode_length=48) for P in periods])
    key = jax.random.PRNGKey(0)
    out = jax.jit(jax.vmap(lambda p: F.rollout(key, p, None, 4, 48)))(ps)
    clocks = np.asarray(out["clocks"])[..., 0]
    for i, P in enumerate(periods):
        np.testing.assert_array_equal(clocks[i, 0], np.arange(48) % P)
    # and the symbol probability vmaps (no padding needed): p_event of relative timing
    rel = F.stack_params([F.make_params("RelativeTimingFlipFlop-v0", "jax", p_event=q)
                          for q in (0.1, 0.9)])
    o = jax.vmap(lambda p: F.rollout(key, p, None, 64, 100))(rel)
    non_null = (np.asarray(o["inputs"]).argmax(-1) != 2).mean(axis=(1, 2))
    assert abs(non_null[0] - 0.1) < 0.02 and abs(non_null[1] - 0.9) < 0.02


def test_stack_params_refuses_different_families():
    with pytest.raises(ValueError, match="alphabet"):
        F.stack_params([F.make_params("TemporalFlipFlop-v0"),
                        F.make_params("RelativeTimingFlipFlop-v0")])
    with pytest.raises(ValueError, match="backend"):
        F.make_params("TemporalFlipFlop-v0", backend="torch")


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_func_env_follows_gymnasiums_protocol(backend):
    env = F.TemporalFlipFlopFuncEnv(backend=backend, period=4)
    rng = np.random.default_rng(0) if backend == "numpy" else jax.random.PRNGKey(0)
    s = env.initial(rng)
    assert env.observation_space.contains(np.asarray(env.observation(s, rng), np.float32))
    total = 0
    for t in range(16):
        k = rng if backend == "numpy" else jax.random.fold_in(rng, t)
        a = 0
        nxt = env.transition(s, a, k)
        total += float(env.reward(s, a, nxt, k))
        assert bool(env.terminal(nxt, k)) == (t == 15)
        s = nxt
    assert 0 < total <= 16
    assert env.action_space.n == 2


def test_gymnasium_functional_jax_env_wraps_the_func_env():
    """Gymnasium's own FunctionalJaxEnv drives the FuncEnv as an ordinary env."""
    from gymnasium.envs.functional_jax_env import FunctionalJaxEnv

    fenv = F.TemporalFlipFlopFuncEnv(backend="jax", period=4)
    env = FunctionalJaxEnv(fenv)
    obs, info = env.reset(seed=0)
    assert np.asarray(obs).shape == (2,)
    steps = 0
    while True:
        obs, r, term, trunc, info = env.step(0)
        steps += 1
        if term or trunc:
            break
    assert steps == 16
