"""SB3 agents: the VecEnv adapter replays DummyVecEnv exactly; configs, cores, resume."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("stable_baselines3")
pytest.importorskip("sb3_contrib")
torch = pytest.importorskip("torch")

from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

from baselines.rl import RLConfig, SB3VecEnv, evaluate_agent, make_agent, train_agent  # noqa: E402

IDS = [("TemporalFlipFlop-v0", {"period": 6}), ("RelativeTimingFlipFlop-v0", {"tau": 3}),
       ("FlipFlop-v0", {"n_bits": 2, "episode_length": 20}),
       ("TemporalFlipFlop-v0", {"period": 4, "observe_clock": True})]


@settings(max_examples=8, deadline=None)
@given(st.sampled_from(IDS), st.integers(1, 6), st.integers(0, 2**16))
def test_adapter_replays_dummy_vec_env(env, n, seed):
    env_id, kw = env
    ours = SB3VecEnv(env_id, n, **kw)
    ref = DummyVecEnv([lambda: gym.make(env_id, **kw) for _ in range(n)])
    ours.seed(seed)
    ref.seed(seed)
    np.testing.assert_array_equal(ours.reset(), ref.reset())
    rng = np.random.default_rng(seed)
    L = ours.get_attr("task")[0].episode_length
    for _ in range(2 * L + 3):  # across two automatic resets
        act = np.stack([ours.action_space.sample() for _ in range(n)])
        act = act if act.ndim > 1 else rng.integers(0, ours.action_space.n, n)
        ours.step_async(act)
        ref.step_async(act)
        o1, r1, d1, i1 = ours.step_wait()
        o2, r2, d2, i2 = ref.step_wait()
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(d1, d2)
        for a, b in zip(i1, i2):
            assert a["time_dependent"] == bool(b["time_dependent"])
            np.testing.assert_array_equal(a["target"], b["target"])
            assert ("terminal_observation" in a) == ("terminal_observation" in b)
            if "terminal_observation" in a:
                np.testing.assert_array_equal(a["terminal_observation"], b["terminal_observation"])


def test_multibinary_float_actions_are_taken_when_whole_and_refused_otherwise():
    env = SB3VecEnv("FlipFlop-v0", 2, n_bits=3)
    env.reset()
    env.step_async(np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]], dtype=np.float32))
    _, r, _, _ = env.step_wait()
    assert r.shape == (2,)
    with pytest.raises(ValueError, match="whole numbers"):
        env.step_async(np.array([[0.5, 0.0, 1.0], [0.0, 0.0, 0.0]]))
    assert env.action_space == gym.spaces.MultiDiscrete([2, 2, 2])
    for algo in ("ppo", "recurrent-ppo"):  # both train on the multi-bit action space
        cfg = RLConfig(algo=algo, env_id="FlipFlop-v0", n_envs=2, n_steps=32, batch_size=64)
        make_agent(cfg, cfg.make_env(2)).learn(64)


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="algo must be one of"):
        RLConfig(algo="dqn")
    with pytest.raises(ValueError, match="core='gru' needs algo='recurrent-ppo'"):
        RLConfig(algo="ppo", core="gru")
    with pytest.raises(ValueError, match="not registered"):
        RLConfig(env_id="Nope-v0")
    with pytest.raises(TypeError, match="unexpected|period|argument"):
        RLConfig(env_kwargs={"perio": 3})
    with pytest.raises(ValueError, match="steps must be an int"):
        RLConfig(steps=0)


@pytest.mark.parametrize("core", ["gru", "rnn"])
def test_custom_recurrent_core_trains_and_predicts_with_state(core):
    cfg = RLConfig(algo="recurrent-ppo", core=core, env_kwargs={"period": 4}, n_envs=4,
                   n_steps=32, batch_size=64, hidden=16)
    env = cfg.make_env(4)
    model = make_agent(cfg, env)
    assert isinstance(model.policy.lstm_actor.rnn, torch.nn.GRU if core == "gru" else torch.nn.RNN)
    before = [p.detach().clone() for p in model.policy.lstm_actor.parameters()]
    model.learn(128)
    after = list(model.policy.lstm_actor.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))  # the core is trained
    obs = env.reset()
    start = np.ones(4, dtype=bool)
    a1, s1 = model.predict(obs, state=None, episode_start=start, deterministic=True)
    assert s1[0].shape == (1, 4, 16)
    obs2, *_ = env.step(a1)
    a2, s2 = model.predict(obs2, state=s1, episode_start=np.zeros(4, bool), deterministic=True)
    assert not np.array_equal(s1[0], s2[0])  # the state moves
    # episode_start=True discards the carried state: same as starting from zeros
    a3, s3 = model.predict(obs2, state=s2, episode_start=start, deterministic=True)
    a4, s4 = model.predict(obs2, state=None, episode_start=start, deterministic=True)
    np.testing.assert_allclose(s3[0], s4[0], atol=1e-6)
    np.testing.assert_array_equal(a3, a4)


def test_train_agent_logs_evaluates_and_resumes(tmp_path):
    cfg = RLConfig(algo="ppo-framestack", frame_stack=4, env_kwargs={"period": 4}, n_envs=4,
                   n_steps=32, batch_size=64, steps=256, eval_every=128, eval_episodes=4)
    rows = train_agent(cfg, tmp_path, progress=False)
    assert [r["steps"] for r in rows] == [0, 128, 256]
    for r in rows:
        assert r["ti_acc"] >= 0 and 0 <= r["td_acc"] <= 1
    assert (tmp_path / "model.zip").exists() and any((tmp_path / "logs").iterdir())
    longer = RLConfig(**{**cfg.to_dict(), "steps": 384})
    rows2 = train_agent(longer, tmp_path, progress=False)
    assert [r["steps"] for r in rows2] == [0, 128, 256, 384]
    assert rows2[:3] == [json.loads(x) for x in
                         (tmp_path / "eval.jsonl").read_text().splitlines()[:3]]


@pytest.mark.slow
def test_ppo_with_the_clock_observed_solves_p4():
    cfg = RLConfig(algo="ppo", env_kwargs={"period": 4}, observe_clock=True, steps=30_000)
    env = cfg.make_env(cfg.n_envs)
    model = make_agent(cfg, env)
    model.learn(cfg.steps)
    assert evaluate_agent(model, cfg)["td_acc"] >= 0.95


def test_rl_command_writes_summary_and_figure(tmp_path, capsys):
    from ta_envs.cli import main

    rc = main(["rl", "--algo", "recurrent-ppo", "--core", "rnn", "--kw", "period=4", "--steps",
               "128", "--seeds", "2", "--n-envs", "4", "--n-steps", "32", "--batch-size", "64",
               "--eval-every", "128", "--eval-episodes", "4", "--hidden", "8", "--quiet",
               "--out", str(tmp_path)])
    assert rc == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["aggregate"]["seeds"] == 2 and len(s["runs"]) == 2
    assert s["label"] == "recurrent-ppo (rnn)" and s["config"]["env_kwargs"] == {"period": 4}
    assert [r["steps"] for r in s["runs"][0]["curve"]] == [0, 128]
    assert (tmp_path / "learning_curves.png").stat().st_size > 0
    assert main(["rl", "--algo", "ppo", "--core", "gru", "--out", str(tmp_path)]) == 2
    assert "needs algo='recurrent-ppo'" in capsys.readouterr().err
