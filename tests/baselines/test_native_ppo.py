"""Native recurrent PPO: the whole-episode rollout equals the step-by-step one, it learns P = 6,
resumes exactly after SIGKILL and SIGINT, its checkpoints load for the analysis, bad options get
one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from baselines.native_ppo import (  # noqa: E402
    NativePPOConfig,
    advantages,
    build_agent,
    evaluate,
    frames_to_solve,
    log_prob_entropy,
    rollout_episode,
    sample,
    train_native,
)
from baselines.runs import checkpoints, load_checkpoint, load_model, read_metrics  # noqa: E402
from ta_envs.envs import TaskVectorEnv  # noqa: E402

TINY = dict(env_kwargs={"period": 4}, hidden=16, n_envs=16, minibatches=2, epochs=2,
            eval_every=2, eval_episodes=16)


@pytest.mark.parametrize("core", ["gru", "rnn", "lstm", "linear", "lru", "mingru", "mamba", "mlp"])
@pytest.mark.parametrize("env", [("TemporalFlipFlop-v0", {"period": 4}),
                                 ("FlipFlop-v0", {"n_bits": 2, "episode_length": 12}),
                                 ("TimedAutomaton-v0", {"automaton": {  # three classes
                                     "alphabet": ["x", "y", "z"], "locations": ["p", "q", "r"],
                                     "initial": "p", "output": {"p": 0, "q": 1, "r": 2},
                                     "edges": [{"source": s, "symbol": u, "guard": "true",
                                                "resets": [], "target": t}
                                               for s in "pqr" for u, t in zip("xyz", "pqr")]},
                                     "episode_length": 10})])
def test_whole_episode_rollout_equals_the_step_by_step_one(core, env):
    env_id, kw = env
    cfg = NativePPOConfig(env_id=env_id, env_kwargs=kw, core=core, hidden=8, n_envs=8,
                          minibatches=1)
    agent = build_agent(cfg)
    outs = []
    for by_step in (False, True):
        venv = cfg.make_env(8)
        first, _ = venv.reset(seed=5)
        g = torch.Generator().manual_seed(11)
        outs.append(rollout_episode(agent, venv, first, g, by_step))
    a, b = outs
    assert torch.equal(a.obs, b.obs)
    assert torch.equal(a.actions, b.actions)
    assert torch.equal(a.rewards, b.rewards) and torch.equal(a.td, b.td)
    torch.testing.assert_close(a.logp, b.logp, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.values, b.values, atol=1e-5, rtol=0)
    # the rewards are the env's: 1 exactly where the action matches the target class
    assert set(a.rewards.unique().tolist()) <= {0.0, 1.0}


def test_episode_observations_are_what_stepping_shows_and_need_a_fresh_reset():
    venv = TaskVectorEnv(4, "TemporalFlipFlop-v0", period=6)
    with pytest.raises(RuntimeError, match="reset"):
        venv.episode_observations()
    obs0, _ = venv.reset(seed=1)
    ep = venv.episode_observations()
    assert ep.shape == (24, 4, 2)
    np.testing.assert_array_equal(ep[0], obs0)
    rng = np.random.default_rng(0)
    for t in range(1, 24):
        obs, *_ = venv.step(rng.integers(0, 2, 4))  # any actions: the same observations
        np.testing.assert_array_equal(ep[t], obs)
    with pytest.raises(RuntimeError, match="first step"):
        venv.episode_observations()
    assert TaskVectorEnv.observations_depend_on_actions is False


def test_a_lying_declaration_is_caught(monkeypatch):
    cfg = NativePPOConfig(**TINY)
    agent = build_agent(cfg)
    venv = cfg.make_env(16)
    first, _ = venv.reset(seed=0)
    real = venv.episode_observations
    monkeypatch.setattr(venv, "episode_observations", lambda: real()[::-1].copy())
    with pytest.raises(RuntimeError, match="declaration is wrong"):
        rollout_episode(agent, venv, first, torch.Generator().manual_seed(0), False)


def test_sampling_follows_the_distribution_and_log_probs_are_normalised():
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([[0.0, 1.0, -1.0]]).repeat(20000, 1)
    a = sample("ce", logits, torch.rand(20000, 3, generator=g))
    freq = torch.bincount(a, minlength=3).float() / 20000
    torch.testing.assert_close(freq, torch.softmax(logits[0], -1), atol=0.015, rtol=0)
    lb = torch.tensor([[1.5]]).repeat(20000, 1)
    ab = sample("bce", lb, torch.rand(20000, 1, generator=g))
    assert abs(ab.float().mean().item() - torch.sigmoid(torch.tensor(1.5)).item()) < 0.015
    for kind, lg, acts in (("ce", torch.randn(5, 4), torch.arange(4)),
                           ("bce", torch.randn(5, 2), torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]))):
        total = torch.zeros(5)
        for act in acts:
            lp, ent = log_prob_entropy(kind, lg, act.expand(5, *act.shape))
            total += lp.exp()
            assert (ent > 0).all()
        torch.testing.assert_close(total, torch.ones(5))


def test_gae_against_a_hand_computed_episode():
    r = torch.tensor([[1.0, 0.0, 1.0]])
    v = torch.tensor([[0.5, 0.2, 0.4]])
    adv, ret = advantages(r, v, gamma=0.5, lam=1.0)
    # lam = 1: returns are discounted sums of rewards to the episode's end
    torch.testing.assert_close(ret, torch.tensor([[1.25, 0.5, 1.0]]))
    adv0, ret0 = advantages(r, v, gamma=0.0, lam=0.95)
    torch.testing.assert_close(ret0, r)
    torch.testing.assert_close(adv0, r - v)


def test_frames_to_solve_is_the_first_evaluation_at_the_threshold():
    rows = [{"it": 0, "frames": 0, "val_td_acc": 0.5, "val_acc": 0.7},
            {"it": 1, "frames": 10},
            {"it": 2, "frames": 20, "val_td_acc": 0.995, "val_acc": 0.99},
            {"it": 4, "frames": 40, "val_td_acc": 0.9, "val_acc": 0.95}]
    assert frames_to_solve(rows) == 20
    assert frames_to_solve(rows, 0.999) is None
    assert frames_to_solve([{"frames": 5, "val_td_acc": None, "val_acc": 1.0}]) == 5


def test_native_ppo_learns_p6_from_reward(tmp_path):
    cfg = NativePPOConfig(env_kwargs={"period": 6}, frames=400_000, stop_at=0.99)
    res = train_native(cfg, tmp_path / "run", progress=False)
    rows = read_metrics(tmp_path / "run")
    assert rows[0]["val_td_acc"] < 0.7  # the untrained policy is at chance on TD steps
    assert frames_to_solve(rows) is not None, [r.get("val_td_acc") for r in rows]
    assert res.final["val_ti_acc"] >= 0.99
    # the core of the last checkpoint loads as a supervised model and is as good on the task
    model, task, tcfg = load_model(checkpoints(tmp_path / "run")[-1])
    assert tcfg.arch == "gru" and task.params["period"] == 6
    from ta_envs import make_dataset

    b = make_dataset(task, 64, 24, seed=123).fixed(64)
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(b.inputs))
    ok = (logits[..., 0] > 0).numpy() == (b.targets == 1)
    assert ok[b.mask_td].mean() >= 0.95


def test_the_no_memory_control_stays_at_chance_on_td_steps(tmp_path):
    cfg = NativePPOConfig(env_kwargs={"period": 6}, frames=150_000, core="mlp")
    res = train_native(cfg, tmp_path / "run", progress=False)
    assert res.final["val_ti_acc"] >= 0.99  # it learns what needs no memory
    assert 0.4 <= res.final["val_td_acc"] <= 0.6


RUNNER = """
import json, sys
import torch
from baselines.native_ppo import NativePPOConfig, train_native
train_native(NativePPOConfig.from_dict(json.loads(sys.argv[1])), sys.argv[2], progress=False)
"""


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def _same(a, b):
    assert _strip(read_metrics(a)) == _strip(read_metrics(b))
    ca, cb = load_checkpoint(checkpoints(a)[-1]), load_checkpoint(checkpoints(b)[-1])
    assert all(torch.equal(ca.model[k], cb.model[k]) for k in ca.model)
    assert all(torch.equal(ca.extra["value"][k], cb.extra["value"][k]) for k in ca.extra["value"])
    assert all(torch.equal(ca.optimizer["state"][i]["exp_avg_sq"],
                           cb.optimizer["state"][i]["exp_avg_sq"]) for i in ca.optimizer["state"])


def _run(cfg, run_dir):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", RUNNER, json.dumps(cfg.to_dict()),
                             str(run_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)


@pytest.mark.slow
@pytest.mark.faults
@pytest.mark.parametrize("framework", ["torch", "jax"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_a_signal_then_resume_reproduces_the_run(sig, framework, tmp_path):
    # every run in a fresh process, as a resumed run is (XLA reads its flags once per process)
    if framework == "jax":
        pytest.importorskip("jax")
    cfg = NativePPOConfig(**TINY, frames=16 * 16 * 40, seed=2, framework=framework)
    ref, run = tmp_path / "ref", tmp_path / "cut"
    out = _run(cfg, ref).communicate(timeout=300)
    assert read_metrics(ref)[-1]["it"] == 40, out[1].decode()[-2000:]
    proc = _run(cfg, run)
    path = run / "metrics.jsonl"
    t0 = time.time()
    while time.time() - t0 < 120 and proc.poll() is None:
        if path.exists() and path.read_text().count("\n") >= 13:
            break
        time.sleep(0.005)
    proc.send_signal(sig)
    proc.communicate(timeout=120)
    rows = read_metrics(run)
    assert rows[-1]["it"] < 40, "the run finished before the signal: nothing was tested"
    if sig == signal.SIGINT:  # the interrupt checkpointed the last completed update
        assert load_checkpoint(checkpoints(run)[-1]).iteration == rows[-1]["it"]
    assert _run(cfg, run).wait(timeout=300) == 0  # resume
    _same(run, ref)


def test_a_resume_with_other_settings_is_refused(tmp_path):
    cfg = NativePPOConfig(**TINY, frames=16 * 16 * 4)
    train_native(cfg, tmp_path / "r", progress=False)
    from dataclasses import replace

    with pytest.raises(ValueError, match=r"different run: fields \['lr'\]"):
        train_native(replace(cfg, lr=0.1), tmp_path / "r", progress=False)
    # a longer budget resumes (the learning rate schedule then follows the new budget)
    train_native(replace(cfg, frames=16 * 16 * 6), tmp_path / "r", progress=False)
    assert read_metrics(tmp_path / "r")[-1]["it"] == 6


def test_a_training_run_cannot_resume_from_a_native_ppo_checkpoint(tmp_path):
    from baselines.config import TrainConfig
    from baselines.train import train

    cfg = NativePPOConfig(**TINY, frames=16 * 16 * 2)
    train_native(cfg, tmp_path / "r", progress=False)
    ck = checkpoints(tmp_path / "r")[-1]
    assert load_checkpoint(ck).kind == "native-ppo"
    twin = cfg.twin()
    with pytest.raises(ValueError, match="native-ppo checkpoint"):
        load_checkpoint(ck, twin)
    # but it can start a supervised run from the RL-trained weights
    t = TrainConfig.from_dict({**twin.to_dict(), "init_from": str(ck), "iterations": 2,
                               "eval_every": 1, "batch": 8, "eval_size": 8})
    train(t, tmp_path / "sup", progress=False)


@pytest.mark.parametrize("kw,match", [
    ({"core": "transformer"}, "carries no state"),
    ({"n_envs": 10, "minibatches": 4}, "multiple of minibatches"),
    ({"env_id": "CartPole-v1"}, "env_id must be a ta_envs id"),
    ({"gamma": 1.5}, "gamma"),
    ({"lr": 0}, "lr"),
    ({"env_kwargs": {"period": 6, "episode_length": 10**7}, "n_envs": 4096}, "GiB"),
    ({"core": "nope"}, "arch must be one of"),
])
def test_bad_configs_get_one_line(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        NativePPOConfig(**kw)


@pytest.mark.slow
def test_cli_native_ppo_end_to_end_and_refuses_sb3_options(tmp_path):
    from ta_envs.cli import main

    out = tmp_path / "rl"
    assert main(["rl", "--algo", "native-ppo", "--kw", "period=4", "--steps", "4096",
                 "--n-envs", "32", "--seeds", "2", "--quiet", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert [r["seed"] for r in s["runs"]] == [0, 1]
    assert (out / "learning_curves.png").stat().st_size > 1000
    cfg = json.loads((out / "seed_001" / "config.json").read_text())
    assert cfg["algo"] == "native-ppo" and cfg["seed"] == 1 and cfg["n_envs"] == 32
    assert main(["rl", "--algo", "native-ppo", "--n-steps", "64", "--out",
                 str(tmp_path / "x")]) == 2
    assert main(["rl", "--algo", "ppo", "--gamma", "0.9", "--out", str(tmp_path / "y")]) == 2


def test_evaluation_counts_td_steps_from_the_env():
    cfg = NativePPOConfig(**TINY)
    agent = build_agent(cfg)
    ev = evaluate(agent, cfg)
    assert 0 <= ev["val_td_acc"] <= 1 and 0 <= ev["val_ti_acc"] <= 1
    td_share = 0.5  # half the steps of a period-4 flipflop with uniform symbols are TD ('a')
    assert abs(ev["val_acc"] - (td_share * ev["val_td_acc"] + (1 - td_share) * ev["val_ti_acc"])) \
        < 0.1


@pytest.mark.slow
def test_seeds_in_worker_processes_and_on_ray_give_the_same_runs(tmp_path):
    """--workers and --backend ray run the same seeds to the same metrics as one process."""
    ray = pytest.importorskip("ray")
    from baselines.native_ppo import train_seeds_native

    cfg = NativePPOConfig(**TINY, frames=16 * 16 * 4)
    a = train_seeds_native(cfg, [0, 1], tmp_path / "one", progress=False)
    b = train_seeds_native(cfg, [0, 1], tmp_path / "two", workers=2, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        c = train_seeds_native(cfg, [0, 1], tmp_path / "ray", backend="ray", progress=False)
    finally:
        ray.shutdown()
    for s in (0, 1):
        ref = _strip(read_metrics(tmp_path / "one" / f"seed_{s:03d}"))
        assert _strip(read_metrics(tmp_path / "two" / f"seed_{s:03d}")) == ref
        assert _strip(read_metrics(tmp_path / "ray" / f"seed_{s:03d}")) == ref
    assert [r["frames_to_solve"] for r in a["runs"]] == [r["frames_to_solve"] for r in c["runs"]]
    assert b["runs"][1]["seed"] == 1
