"""Gymnasium API: registration, checkers, seeding, termination, errors, rendering, vector env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import ta_envs
from ta_envs import temporal_flipflop

CUSTOM = temporal_flipflop(period=6).automaton.to_dict()
IDS = {
    "TemporalFlipFlop-v0": {},
    "RelativeTimingFlipFlop-v0": {},
    "FlipFlop-v0": {},
    "TimedAutomaton-v0": {"automaton": CUSTOM},
    "WordProblem-v0": {"group": "A5", "period": 6},
    "RandomAutomaton-v0": {"configurations": 24, "seed": 1},
}


def make(env_id, **kw):
    return gym.make(env_id, **{**IDS[env_id], **kw})


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("observe_clock", [False, True])
def test_checkers_pass(env_id, observe_clock):
    env = make(env_id, observe_clock=observe_clock)
    check_env(env.unwrapped, skip_render_check=True)
    sb3 = pytest.importorskip("stable_baselines3.common.env_checker")  # the rl extra
    sb3.check_env(make(env_id, observe_clock=observe_clock).unwrapped, warn=True)


@pytest.mark.parametrize("env_id", IDS)
def test_all_ids_registered_with_vector_entry_point(env_id):
    spec = gym.spec(env_id)
    assert spec.vector_entry_point is not None and spec.max_episode_steps is None
    v = gym.make_vec(env_id, 4, vectorization_mode="vector_entry_point", **IDS[env_id])
    assert v.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    assert v.observation_space.shape[0] == 4


def _stream(env, seed, steps, actions):
    out = []
    obs, info = env.reset(seed=seed)
    out.append(obs.tobytes())
    for t in range(steps):
        obs, r, term, trunc, info = env.step(actions[t])
        out.append((obs.tobytes(), r, term, repr(info)))
        if term:
            obs, info = env.reset()
            out.append(obs.tobytes())
    return out


@pytest.mark.parametrize("env_id", IDS)
def test_seed_reproduces_a_500_step_stream_across_fresh_instances(env_id):
    env = make(env_id)
    actions = [env.action_space.sample() for _ in range(500)]
    a = _stream(make(env_id), 7, 500, actions)
    b = _stream(make(env_id), 7, 500, actions)
    c = _stream(make(env_id), 8, 500, actions)
    assert a == b
    assert a != c


def test_episode_terminates_after_episode_length_with_python_bools():
    env = gym.make("TemporalFlipFlop-v0", period=4)  # episode_length = 4P = 16
    env.reset(seed=0)
    for t in range(16):
        obs, r, term, trunc, info = env.step(0)
        assert type(term) is bool and type(trunc) is bool and type(r) is float
        assert term == (t == 15) and not trunc
        assert info["t"] == t
    with pytest.raises(RuntimeError, match="terminated"):
        env.unwrapped.step(0)


def test_info_is_fresh_per_call_and_complete():
    env = gym.make("RelativeTimingFlipFlop-v0", tau=3)
    _, info0 = env.reset(seed=1)
    assert set(info0) == {"t", "theta", "clocks"}
    _, _, _, _, i1 = env.step(0)
    _, _, _, _, i2 = env.step(0)
    assert i1 is not i2 and i1["clocks"] is not i2["clocks"]
    assert set(i1) == {"t", "target", "time_dependent", "theta", "clocks"}
    i1["clocks"]["y"] = 99  # editing a returned info must not leak into the env's next one
    _, _, _, _, i3 = env.step(0)
    twin = gym.make("RelativeTimingFlipFlop-v0", tau=3)  # the same episode, untouched
    twin.reset(seed=1)
    j3 = [twin.step(0)[4] for _ in range(3)][-1]
    assert i3 == j3 and i3["t"] == 2
    assert i3["clocks"]["y"] <= 3  # the relative clock saturates at tau = 3, never 99


@pytest.mark.filterwarnings("ignore:.*render_mode")
@pytest.mark.parametrize("kw, err, fragment", [
    (dict(bogus=1), TypeError, "unexpected keyword argument 'bogus'"),
    (dict(period=-3), ValueError, "period"),
    (dict(render_mode="rgb"), ValueError, "render_mode must be one of"),
    (dict(observe_clock="yes"), TypeError, "observe_clock"),
])
def test_bad_env_kwargs(kw, err, fragment):
    with pytest.raises(err) as e:
        gym.make("TemporalFlipFlop-v0", **kw)
    assert fragment in str(e.value)


def test_custom_automaton_from_json_path(tmp_path):
    path = tmp_path / "spec.json"
    temporal_flipflop(period=5).automaton.to_json(path)
    env = gym.make("TimedAutomaton-v0", automaton=str(path), episode_length=7)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2,)
    with pytest.raises(ValueError, match="not found"):
        gym.make("TimedAutomaton-v0", automaton=str(tmp_path / "missing.json"))


@pytest.mark.parametrize("action", [2, -1, 1.0, "a", np.array([0, 1])])
def test_invalid_actions_rejected(action):
    env = gym.make("TemporalFlipFlop-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_invalid_vector_actions_rejected():
    v = gym.make_vec("TemporalFlipFlop-v0", 3, vectorization_mode="vector_entry_point")
    v.reset(seed=0)
    for bad in (np.array([0, 1]), np.array([0, 2, 1]), np.array([0, -1, 1]),
                np.array([0.0, 1.0, 1.0])):
        with pytest.raises(ValueError, match="actions"):
            v.step(bad)
    with pytest.raises(ValueError, match="reset_mask"):
        v.reset(options={"reset_mask": np.array([1, 0, 1])})


def test_flipflop_multibinary_reward():
    env = gym.make("FlipFlop-v0", n_bits=2).unwrapped
    env.reset(seed=0)
    _, r, _, _, info = env.step(np.array([0, 0], dtype=np.int8))
    assert r == float((info["target"] == 0).all())
    with pytest.raises(ValueError):
        env.step(np.array([0, 2]))


def test_ansi_render_shows_the_timeline():
    env = gym.make("TemporalFlipFlop-v0", render_mode="ansi", period=4)
    env.reset(seed=0)
    infos = [env.step(1)[4] for _ in range(6)]
    text = env.render()
    lines = {line.split()[0]: line.split()[1:] for line in text.strip().splitlines() if line}
    assert lines["target"] == [str(i["target"]) for i in infos]
    assert lines["action"] == ["1"] * 6
    assert lines["TD/TI"] == ["D" if i["time_dependent"] else "." for i in infos]


def test_observe_clock_appends_scaled_clocks():
    env = gym.make("TemporalFlipFlop-v0", period=5, observe_clock=True)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == (3,)
    for t in range(1, 5):
        obs, *_ = env.step(0)
        assert obs[2] == pytest.approx((t % 5) / 4)


def test_vector_info_arrays_do_not_change_later():
    v = gym.make_vec("TemporalFlipFlop-v0", 4, vectorization_mode="vector_entry_point", period=2)
    v.reset(seed=0)
    _, _, _, _, info = v.step(np.zeros(4, np.int64))
    kept = {k: np.array(x) for k, x in info.items()}
    for _ in range(40):  # several episodes and autoresets later
        v.step(np.zeros(4, np.int64))
    for k in kept:
        np.testing.assert_array_equal(info[k], kept[k])


def test_package_exports_register_on_import():
    assert "TemporalFlipFlop-v0" in gym.registry
    assert ta_envs.FACTORIES.keys() == {k for k in IDS}


def test_flipflop_vector_env_matches_single_envs_with_random_bit_actions():
    n, T = 3, 12
    v = gym.make_vec("FlipFlop-v0", n, vectorization_mode="vector_entry_point", n_bits=2,
                     p_pulse=0.4, episode_length=T)
    v.reset(seed=11)
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 2, size=(T, n, 2)).astype(np.int8)
    steps = [v.step(acts[t]) for t in range(T)]
    for i in range(n):
        env = gym.make("FlipFlop-v0", n_bits=2, p_pulse=0.4, episode_length=T).unwrapped
        env.reset(seed=11 + i)
        for t in range(T):
            o, r, term, _, info = env.step(acts[t, i])
            np.testing.assert_array_equal(o, steps[t][0][i])
            np.testing.assert_array_equal(info["target"], steps[t][4]["target"][i])
            assert r == steps[t][1][i] == float((acts[t, i] == info["target"]).all())
    with pytest.raises(ValueError, match="action"):
        v.step(np.full((n, 2), 2))
    with pytest.raises(ValueError, match="action"):
        v.step(-np.ones((n, 2), dtype=np.int64))


def test_info_keys_give_a_lighter_info():
    env = gym.make("TemporalFlipFlop-v0", info_keys=("target",))
    _, info = env.reset(seed=0)
    assert info == {}
    _, _, _, _, info = env.step(0)
    assert set(info) == {"target"}
    v = gym.make_vec("TemporalFlipFlop-v0", 3, vectorization_mode="vector_entry_point",
                     info_keys=("target", "t"))
    v.reset(seed=0)
    _, _, _, _, info = v.step(np.zeros(3, np.int64))
    assert set(info) == {"target", "_target", "t", "_t"}
    with pytest.raises(ValueError, match="info_keys must be None or a list of keys among"):
        gym.make("TemporalFlipFlop-v0", info_keys=("bogus",))


def test_an_autoreset_step_is_never_counted_as_time_dependent():
    """Issue 24: on the native vector env's autoreset step info["time_dependent"] could be True
    while _target was False, so counting it without the mask overcounted."""
    import gymnasium as gym

    venv = gym.make_vec("TemporalFlipFlop-v0", 64, vectorization_mode="vector_entry_point",
                        period=4)
    venv.reset(seed=0)
    seen_reset = 0
    for _ in range(3 * 16 + 2):
        _, _, _, _, info = venv.step(np.zeros(64, np.int64))
        unscored = ~info["_target"]
        seen_reset += int(unscored.sum())
        assert not info["time_dependent"][unscored].any()
    assert seen_reset >= 64  # the autoreset steps happened


def test_rgb_array_frames_carry_a_legend_naming_each_row():
    """Issue 24 friction: rgb_array frames had no legend."""
    import gymnasium as gym

    from ta_envs.render import LEGEND_WIDTH, ROW_LABELS, frame

    env = gym.make("TemporalFlipFlop-v0", render_mode="rgb_array", period=6)
    env.reset(seed=0)
    env.step(0)
    img = env.render()
    margin = img[:, :LEGEND_WIDTH]
    assert len(ROW_LABELS) == 5 and (margin < 255).any()
    for r in range(5):  # every row has its label's ink in the margin
        assert (margin[2 + r * 10 : 2 + r * 10 + 8] < 255).any()
    plain = frame([0, 1], [0, 1], [False, True])
    assert plain.shape == img.shape and (plain[:, LEGEND_WIDTH:] == img[:, LEGEND_WIDTH:]).shape
