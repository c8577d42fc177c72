"""Real clients, driven for real: SB3's make_vec_env + PPO.learn on every id, Gymnasium's vector
envs and wrappers, RecordVideo on rgb_array frames, TorchRL's GymEnv."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import ta_envs
from ta_envs import temporal_flipflop

CUSTOM = temporal_flipflop(period=6).automaton.to_dict()
IDS = {"TemporalFlipFlop-v0": {"period": 6}, "RelativeTimingFlipFlop-v0": {},
       "FlipFlop-v0": {}, "TimedAutomaton-v0": {"automaton": CUSTOM},
       "WordProblem-v0": {"group": "A4", "period": 4},
       "RandomAutomaton-v0": {"configurations": 12, "seed": 5}}


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_make_vec_env_and_ppo_learn_on_every_id(env_id):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(env_id, n_envs=2, seed=0, env_kwargs=IDS[env_id])
    assert venv.render_mode == "rgb_array"  # SB3 asks for frames by default
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    obs = venv.reset()
    action, _ = model.predict(obs, deterministic=True)
    obs, reward, done, info = venv.step(action)
    assert obs.shape[0] == 2 and set(np.unique(reward)) <= {0.0, 1.0}
    frames = venv.get_images()
    assert len(frames) == 2 and frames[0].dtype == np.uint8 and frames[0].shape[2] == 3


@pytest.mark.parametrize("vector_cls", ["SyncVectorEnv", "AsyncVectorEnv"])
def test_gymnasium_vector_envs_of_the_single_env_match_the_native_one(vector_cls):
    n, steps = 3, 40
    fns = [lambda: gym.make("TemporalFlipFlop-v0", period=4) for _ in range(n)]
    vec = getattr(gym.vector, vector_cls)(fns)
    native = gym.make_vec("TemporalFlipFlop-v0", n, vectorization_mode="vector_entry_point",
                          period=4)
    try:
        o1, _ = vec.reset(seed=5)
        o2, _ = native.reset(seed=5)
        np.testing.assert_array_equal(o1, o2)
        rng = np.random.default_rng(0)
        for _ in range(steps):  # both autoreset on the next step: identical streams
            a = rng.integers(0, 2, n)
            r1, r2 = vec.step(a), native.step(a)
            for x, y in zip(r1[:4], r2[:4]):
                np.testing.assert_array_equal(x, y)
            if "target" in r1[4] and "target" in r2[4]:
                m = r1[4]["_target"] & r2[4]["_target"]
                np.testing.assert_array_equal(r1[4]["target"][m], r2[4]["target"][m])
    finally:
        vec.close()


def test_gymnasium_wrappers_see_the_episodes_they_should():
    from gymnasium.wrappers import (
        FlattenObservation,
        FrameStackObservation,
        RecordEpisodeStatistics,
        TimeLimit,
    )

    env = RecordEpisodeStatistics(TimeLimit(FrameStackObservation(FlattenObservation(
        gym.make("TemporalFlipFlop-v0", period=4)), 3, padding_type="zero"), max_episode_steps=10))
    obs, info = env.reset(seed=0)
    assert obs.shape == (3, 2) and (obs[:2] == 0).all()  # padded history, then the first symbol
    total, steps = 0.0, 0
    while True:
        obs, r, term, trunc, info = env.step(int(info.get("target", 0)) if steps else 0)
        total, steps = total + r, steps + 1
        if term or trunc:
            break
    assert steps == 10 and trunc and not term  # TimeLimit cut the 16-step episode
    assert info["episode"]["l"] == 10 and info["episode"]["r"] == pytest.approx(total)


def test_rgb_frames_draw_the_episode(tmp_path):
    env = gym.make("TemporalFlipFlop-v0", render_mode="rgb_array", period=4)
    env.reset(seed=0)
    infos = [env.step(1)[4] for _ in range(6)]
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    cell = 8
    from ta_envs.render import LEGEND_WIDTH, PALETTE

    x0 = LEGEND_WIDTH  # the legend margin comes first
    for j, i in enumerate(infos):  # row 2 (targets): one palette colour per class
        np.testing.assert_array_equal(frame[2 + 2 * (cell + 2) + 1, x0 + j * cell + 1],
                                      PALETTE[i["target"]])
        np.testing.assert_array_equal(frame[2 + 3 * (cell + 2) + 1, x0 + j * cell + 1],
                                      PALETTE[1])
    v = gym.make_vec("TemporalFlipFlop-v0", 2, vectorization_mode="vector_entry_point",
                     render_mode="rgb_array")
    v.reset(seed=0)
    v.step(np.zeros(2, np.int64))
    frames = v.render()
    assert len(frames) == 2 and frames[0].shape == frame.shape


def test_record_video_writes_a_video(tmp_path):
    pytest.importorskip("moviepy")
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(gym.make("TemporalFlipFlop-v0", render_mode="rgb_array", period=4),
                      str(tmp_path), episode_trigger=lambda e: True, disable_logger=True)
    env.reset(seed=0)
    done = False
    while not done:
        _, _, term, trunc, _ = env.step(0)
        done = term or trunc
    env.close()
    videos = list(tmp_path.glob("*.mp4"))
    assert videos and videos[0].stat().st_size > 0


def test_torchrl_gym_env_rolls_out_an_id():
    pytest.importorskip("torchrl")
    from torchrl.envs import GymEnv

    env = GymEnv("TemporalFlipFlop-v0", period=4)  # TorchRL passes frameskip and retries
    td = env.rollout(20)
    assert td.batch_size[0] == 16  # one 4P-step episode, then done
    assert td["next", "done"][-1].item() and not td["next", "done"][:-1].any()
    rew = td["next", "reward"].squeeze(-1)
    assert set(rew.unique().tolist()) <= {0.0, 1.0}
    assert ta_envs.__version__


def test_torchrl_carries_time_dependent_with_info_arrays():
    """Issue 24: TorchRL's GymEnv dropped time_dependent; with info_arrays=True its own info
    reader carries it (and the target), step for step as the env reports them."""
    pytest.importorskip("torchrl")
    from torchrl.envs import GymEnv
    from torchrl.envs.libs.gym import default_info_dict_reader

    env = GymEnv("TemporalFlipFlop-v0", period=4, info_arrays=True)
    env.set_info_dict_reader(default_info_dict_reader(["time_dependent", "target"]))
    env.set_seed(3)
    td = env.rollout(16)
    flags = td["next", "time_dependent"].flatten().tolist()
    obs = td["observation"]  # the symbol shown at each step: 'a' (TD) is [1, 0]
    assert flags == (obs[:, 0] > 0.5).tolist()  # TD exactly on the 'a' steps
    assert 0 < sum(flags) < 16
