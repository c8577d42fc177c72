"""RL throughput on TemporalFlipFlop-v0 (P = 24), side by side in one run:

1. the SB3 ``VecEnv`` API alone (random actions, ``step_async``/``step_wait``): our adapter over
   the native vector env against ``DummyVecEnv`` over single envs, 16 envs;
2. PPO (``MlpPolicy`` 64x64, n_steps 128, batch 256, 10 epochs) ``learn`` frames per second through
   each of the two;
3. RecurrentPPO frames per second with its LSTM core and with our GRU and tanh-RNN cores (hidden 64);
4. end to end (rollout + updates), interleaved round by round: ``native-ppo`` against sb3-contrib's
   RecurrentPPO with the same GRU(64) core, the same number of envs, the same rollout (one whole
   episode, 96 steps per env), the same 8 epochs of 8 minibatches; the ratio is the median over
   rounds of the two sides' seconds per frame.

    python benchmarks/bench_rl.py [--steps 16384] [--rounds 3]

One thread. Prints a Markdown table, writes ``benchmarks/results/bench_rl.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")  # JAX on one thread, like the others
sys.path.insert(0, str(Path(__file__).resolve().parent))
import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from _timing import pin_threads, rate, round_ratio, table, write_json  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

from baselines.native_ppo import NativePPOConfig, new_learner, update_once  # noqa: E402
from baselines.rl import RLConfig, SB3VecEnv, make_agent  # noqa: E402

ENV, KW, N = "TemporalFlipFlop-v0", {"period": 24}, 16


def vec_envs() -> dict[str, object]:
    return {"ta-envs SB3VecEnv (native)": SB3VecEnv(ENV, N, **KW),
            "SB3 DummyVecEnv (single envs)": DummyVecEnv([lambda: gym.make(ENV, **KW)] * N)}


def native_vs_recurrent_ppo(n_envs: int, rounds: int) -> list[dict[str, object]]:
    """Seconds per frame of native-ppo and RecurrentPPO (GRU 64), interleaved; one row each and
    the ratio."""
    L = 96
    cfg = NativePPOConfig(env_kwargs=KW, n_envs=n_envs, frames=10**9)
    learner = new_learner(cfg)
    k = [0]

    def native_update() -> None:  # one update: a rollout of one episode per env, 8 x 8 minibatches
        k[0] += 1
        update_once(learner, cfg, k[0], 10**6, k[0] * n_envs * L, False, False)

    rcfg = RLConfig(algo="recurrent-ppo", core="gru", env_kwargs=KW, n_envs=n_envs, n_steps=L,
                    batch_size=n_envs * L // 8)
    model = make_agent(rcfg, SB3VecEnv(ENV, n_envs, **KW))
    model.n_epochs = 8

    def sb3_update() -> None:
        model.learn(n_envs * L, reset_num_timesteps=False)

    native_update()
    sb3_update()
    times: dict[str, list[float]] = {"native": [], "sb3": []}
    for _ in range(rounds):
        for name, fn, reps in (("native", native_update, 5), ("sb3", sb3_update, 1)):
            t0 = time.perf_counter()
            for _ in range(reps):
                fn()
            times[name].append((time.perf_counter() - t0) / (reps * n_envs * L))
    ratio = round_ratio(times["sb3"], times["native"])
    med = {k: float(np.median(v)) for k, v in times.items()}
    return [{"what": f"end to end, {n_envs} envs x 96 steps, 8x8 minibatches", "vec env": "native",
             "algo": "native-ppo, gru core", "frames/s": 1 / med["native"],
             "x RecurrentPPO": ratio},
            {"what": f"end to end, {n_envs} envs x 96 steps, 8x8 minibatches",
             "vec env": "ta-envs SB3VecEnv (native)", "algo": "RecurrentPPO, gru core",
             "frames/s": 1 / med["sb3"], "x RecurrentPPO": 1.0}]


def jax_ppo_row(n_envs: int, rounds: int) -> list[dict[str, object]]:
    """The docs' PureJaxRL-style GRU PPO (``docs/examples/jax_ppo.py``, the same recipe: whole
    96-step episodes, 8 x 8 minibatches) on P = 24: frames/s of its jitted training, compile time
    excluded (median of ``rounds`` calls of 4 updates each). Empty when JAX is not installed."""
    try:
        import jax
    except ImportError:
        return []
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "docs" / "examples" / "jax_ppo.py"
    spec = importlib.util.spec_from_file_location("jax_ppo", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    train, frames = mod.make_train(period=24, n_envs=n_envs, updates=4)
    fn = jax.jit(train).lower(jax.random.PRNGKey(0)).compile()
    secs = []
    for r in range(rounds):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(jax.random.PRNGKey(r)))
        secs.append(time.perf_counter() - t0)
    return [{"what": f"end to end, {n_envs} envs x 96 steps, 8x8 minibatches",
             "vec env": "ta_envs.functional (JAX)", "algo": "PureJaxRL-style PPO, gru core (JAX)",
             "frames/s": frames / float(np.median(secs))}]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=16384)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--native-only", action="store_true",
                    help="only the native-ppo vs RecurrentPPO comparison")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" /
                                         "bench_rl.json"))
    a = ap.parse_args()
    pin_threads()
    rows = []
    for n in (16, 64, 256):
        rows += native_vs_recurrent_ppo(n, a.rounds)
        print(table(rows[-2:], ["what", "algo", "frames/s", "x RecurrentPPO"]), flush=True)
    jrows = jax_ppo_row(256, a.rounds)
    if jrows:
        sb3 = next(r for r in rows if r["algo"].startswith("RecurrentPPO") and "256" in r["what"])
        jrows[0]["x RecurrentPPO"] = jrows[0]["frames/s"] / sb3["frames/s"]
        rows += jrows
        print(table(jrows, ["what", "algo", "frames/s", "x RecurrentPPO"]), flush=True)
    if a.native_only:
        write_json(a.out, rows, env=ENV, env_kwargs=KW, rounds=a.rounds, threads=1)
        return
    for name, env in vec_envs().items():
        env.seed(0)
        env.reset()
        acts = np.random.default_rng(0).integers(0, 2, (64, N))
        k = [0]

        def step(env=env, acts=acts, k=k) -> None:
            env.step_async(acts[k[0] % 64])
            env.step_wait()
            k[0] += 1
        r = rate(step, N, min_time=0.3, repeats=3)
        rows.append({"what": "VecEnv step (random actions)", "vec env": name, "algo": "-",
                     "frames/s": r["median"]})
    for name, env in vec_envs().items():
        model = PPO("MlpPolicy", env, n_steps=128, batch_size=256, seed=0, device="cpu",
                    policy_kwargs={"net_arch": [64, 64]})
        model.learn(N * 128)  # warm-up
        t0 = time.perf_counter()
        model.learn(a.steps, reset_num_timesteps=False)
        rows.append({"what": "learn", "vec env": name, "algo": "PPO MlpPolicy",
                     "frames/s": a.steps / (time.perf_counter() - t0)})
    for core in ("lstm", "gru", "rnn"):
        cfg = RLConfig(algo="recurrent-ppo", core=core, env_kwargs=KW, n_envs=N)
        model = make_agent(cfg, SB3VecEnv(ENV, N, **KW))
        model.learn(N * 128)
        t0 = time.perf_counter()
        model.learn(a.steps, reset_num_timesteps=False)
        rows.append({"what": "learn", "vec env": "ta-envs SB3VecEnv (native)",
                     "algo": f"RecurrentPPO, {core} core", "frames/s": a.steps /
                     (time.perf_counter() - t0)})
    print(table(rows, ["what", "vec env", "algo", "frames/s", "x RecurrentPPO"]))
    write_json(a.out, rows, env=ENV, env_kwargs=KW, num_envs=N, learn_steps=a.steps, threads=1,
               rounds=a.rounds)


if __name__ == "__main__":
    main()
