"""native-ppo's JAX engine: its cores, policy and advantages compute what the torch engine's do,
it learns P = 6 into checkpoints the analysis loads, and what it cannot run is refused in one line
(its exact resume after SIGKILL and SIGINT is tested beside the torch engine's, in
``test_native_ppo.py``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from baselines.native_ppo import (  # noqa: E402
    NativePPOConfig,
    advantages,
    frames_to_solve,
    log_prob_entropy,
    sample,
    train_native,
)
from baselines.native_ppo_jax import (  # noqa: E402
    JAX_CORES,
    JaxEngine,
    correct,
    distribution,
    gae,
    make_unroll,
)
from baselines.runs import checkpoints, load_model, read_metrics  # noqa: E402
from ta_envs import functional as F  # noqa: E402

TINY = dict(env_kwargs={"period": 4}, hidden=16, n_envs=16, minibatches=2, epochs=2,
            eval_every=2, eval_episodes=16, framework="jax")
ENVS = [("TemporalFlipFlop-v0", {"period": 4}),
        ("FlipFlop-v0", {"n_bits": 2, "episode_length": 12}),
        ("TimedAutomaton-v0", {"automaton": {  # three classes
            "alphabet": ["x", "y", "z"], "locations": ["p", "q", "r"], "initial": "p",
            "output": {"p": 0, "q": 1, "r": 2},
            "edges": [{"source": s, "symbol": u, "guard": "true", "resets": [], "target": t}
                      for s in "pqr" for u, t in zip("xyz", "pqr")]}, "episode_length": 10})]


@pytest.mark.parametrize("core", JAX_CORES)
@pytest.mark.parametrize("env", ENVS, ids=[e[0] for e in ENVS])
def test_jax_cores_compute_what_the_torch_agent_computes(core, env):
    cfg = NativePPOConfig(**{**TINY, "env_id": env[0], "env_kwargs": env[1], "core": core})
    eng = JaxEngine(cfg)
    n_in = eng.eval_data["inputs"].shape[-1]
    x = np.random.default_rng(0).normal(size=(5, 9, n_in)).astype(np.float32)
    with torch.no_grad():
        logits, values = eng.agent(torch.from_numpy(x))
    lj, vj = make_unroll(core, 16, eng.agent.cell.state_size)(eng.params,
                                                              jnp.asarray(x.transpose(1, 0, 2)))
    np.testing.assert_allclose(np.asarray(lj).transpose(1, 0, 2), logits.numpy(), atol=2e-6)
    np.testing.assert_allclose(np.asarray(vj).T, values.numpy(), atol=2e-6)
    # and the gradients of a loss through the whole unroll are torch autograd's
    rng = np.random.default_rng(5)
    c1 = rng.normal(size=logits.shape).astype(np.float32)
    c2 = rng.normal(size=values.shape).astype(np.float32)
    lt, vt = eng.agent(torch.from_numpy(x))
    ((lt * torch.from_numpy(c1)).sum() + (vt * torch.from_numpy(c2)).sum()).backward()
    unroll = make_unroll(core, 16, eng.agent.cell.state_size)

    def loss(p):
        lg, v = unroll(p, jnp.asarray(x.transpose(1, 0, 2)))
        return (lg * c1.transpose(1, 0, 2)).sum() + (v * c2.T).sum()

    grads = jax.grad(loss)(eng.params)
    for name, prm in eng.agent.named_parameters():
        np.testing.assert_allclose(np.asarray(grads[name]), prm.grad.numpy(), atol=2e-5,
                                   rtol=1e-4, err_msg=name)


@pytest.mark.parametrize("kind,width", [("bce", 1), ("bce", 3), ("ce", 4)])
def test_the_jax_policy_is_the_torch_policy(kind, width):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(200, width)).astype(np.float32) * 2
    u = rng.random((200, width)).astype(np.float32)
    samp, lpe, greedy = distribution(kind)
    a_t = sample(kind, torch.from_numpy(logits), torch.from_numpy(u))
    a_j = np.asarray(samp(jnp.asarray(logits), jnp.asarray(u)))
    np.testing.assert_array_equal(a_j, a_t.numpy())
    lp_t, ent_t = log_prob_entropy(kind, torch.from_numpy(logits), a_t)
    lp_j, ent_j = lpe(jnp.asarray(logits), jnp.asarray(a_j))
    np.testing.assert_allclose(np.asarray(lp_j), lp_t.numpy(), atol=1e-6)
    np.testing.assert_allclose(np.asarray(ent_j), ent_t.numpy(), atol=1e-6)
    want = (logits > 0).astype(int) if kind == "bce" else logits.argmax(-1)
    np.testing.assert_array_equal(np.asarray(greedy(jnp.asarray(logits))), want)


@pytest.mark.parametrize("gamma", [0.0, 0.9])
def test_jax_gae_is_the_torch_gae(gamma):
    rng = np.random.default_rng(2)
    r, v = rng.random((6, 11)).astype(np.float32), rng.random((6, 11)).astype(np.float32)
    adv_t, ret_t = advantages(torch.from_numpy(r), torch.from_numpy(v), gamma, 0.95)
    adv_j, ret_j = gae(jnp.asarray(r.T), jnp.asarray(v.T), gamma, 0.95)  # time major
    np.testing.assert_allclose(np.asarray(adv_j).T, adv_t.numpy(), atol=1e-6)
    np.testing.assert_allclose(np.asarray(ret_j).T, ret_t.numpy(), atol=1e-6)


@pytest.mark.parametrize("env,kind", [(ENVS[0], "bce"), (ENVS[1], "bce"), (ENVS[2], "ce")])
def test_the_reward_rule_is_the_kernels(env, kind):
    p = F.make_params(env[0], "jax", **env[1])
    key = jax.random.PRNGKey(3)
    s = F.initial(jax.random.uniform(key, (64,)), p)
    C = int(p.targets.shape[-1])
    K = int(p.output.max()) + 1
    if kind == "bce":
        a = jax.random.bernoulli(key, 0.5, (64, max(C, 1))).astype(jnp.int32)
        env_action = a if C else a[:, 0]
    else:
        a = env_action = jax.random.randint(key, (64,), 0, K)
    target = p.targets[F.target_class(s, p)] if C else F.target_class(s, p)
    ok = np.asarray(correct(kind, C, a, target))
    np.testing.assert_array_equal(ok, np.asarray(F.reward(s, env_action, p)) == 1.0)
    assert 0 < ok.mean() < 1  # both outcomes were tested


@pytest.mark.slow
def test_the_jax_engine_learns_p6_into_checkpoints_the_analysis_loads(tmp_path):
    cfg = NativePPOConfig(env_kwargs={"period": 6}, frames=400_000, stop_at=0.99,
                          framework="jax")
    res = train_native(cfg, tmp_path / "run", progress=False)
    rows = read_metrics(tmp_path / "run")
    assert rows[0]["val_td_acc"] < 0.7  # the untrained policy is at chance on TD steps
    assert frames_to_solve(rows) is not None, [r.get("val_td_acc") for r in rows]
    assert res.final["val_ti_acc"] >= 0.99
    model, task, tcfg = load_model(checkpoints(tmp_path / "run")[-1])
    assert tcfg.arch == "gru" and task.params["period"] == 6
    from ta_envs import make_dataset

    b = make_dataset(task, 64, 24, seed=123).fixed(64)  # the numpy env's episodes, not the kernel's
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(b.inputs))
    ok = (logits[..., 0] > 0).numpy() == (b.targets == 1)
    assert ok[b.mask_td].mean() >= 0.95


def test_a_torch_run_does_not_resume_as_a_jax_one(tmp_path):
    cfg = NativePPOConfig(**{**TINY, "framework": "torch"}, frames=16 * 16 * 2)
    train_native(cfg, tmp_path / "r", progress=False)
    from dataclasses import replace

    with pytest.raises(ValueError, match=r"fields \['framework'\]"):
        train_native(replace(cfg, framework="jax"), tmp_path / "r", progress=False)


@pytest.mark.parametrize("kw,match", [
    ({"core": "lru"}, "framework 'jax': it runs the cores"),
    ({"step_by_step": True}, "framework 'jax': it reads each episode"),
    ({"framework": "tf"}, "framework must be one of"),
])
def test_what_the_jax_engine_cannot_run_is_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        NativePPOConfig(**{**TINY, **kw})


@pytest.mark.slow
def test_cli_native_ppo_with_the_jax_engine(tmp_path, capsys):
    from ta_envs.cli import main

    out = tmp_path / "rl"
    assert main(["rl", "--algo", "native-ppo", "--framework", "jax", "--kw", "period=4",
                 "--steps", "4096", "--n-envs", "32", "--seeds", "1", "--quiet", "--out",
                 str(out)]) == 0
    cfg = json.loads((out / "seed_000" / "config.json").read_text())
    assert cfg["framework"] == "jax" and cfg["n_envs"] == 32
    rows = read_metrics(out / "seed_000")
    assert [r["it"] for r in rows] == list(range(len(rows))) and rows[-1]["frames"] == 4096
    capsys.readouterr()
    assert main(["rl", "--algo", "native-ppo", "--framework", "jax", "--core", "lru", "--out",
                 str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "framework 'jax'" in err[0]
    assert main(["rl", "--algo", "ppo", "--framework", "jax", "--out", str(tmp_path / "y")]) == 2
