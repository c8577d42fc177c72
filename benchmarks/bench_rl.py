"""RL throughput on TemporalFlipFlop-v0 (P = 24), side by side in one run:

1. the SB3 ``VecEnv`` API alone (random actions, ``step_async``/``step_wait``): our adapter over
   the native vector env against ``DummyVecEnv`` over single envs, 16 envs;
2. PPO (``MlpPolicy`` 64x64, n_steps 128, batch 256, 10 epochs) ``learn`` frames per second through
   each of the two;
3. RecurrentPPO frames per second with its LSTM core and with our GRU and tanh-RNN cores (hidden 64);
4. end to end (rollout + updates), interleaved round by round: ``native-ppo`` with its torch
   engine and with its JAX engine (``framework="jax"``: one compiled call per 5 updates and the
   evaluation that follows them) against sb3-contrib's RecurrentPPO with the same GRU(64) core, the
   same number of envs, the same rollout (one whole episode, 96 steps per env), the same 8 epochs
   of 8 minibatches; the ratio is the median over rounds of the per-round ratios of seconds per
   frame. The JAX engine's compile time (its first call) is reported apart, not in its rate.

    python benchmarks/bench_rl.py [--steps 16384] [--rounds 3] [--n-envs 16 64 256] [--native-only]

One thread. Prints a Markdown table, writes ``benchmarks/results/bench_rl.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")  # JAX on one thread, like the others
sys.path.insert(0, str(Path(__file__).resolve().parent))
import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from _timing import pin_threads, rate, round_ratio, table, write_json  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.logger import Logger  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

from baselines.native_ppo import NativePPOConfig, new_learner, update_once  # noqa: E402
from baselines.native_ppo_jax import JaxEngine  # noqa: E402
from baselines.rl import RLConfig, SB3VecEnv, make_agent  # noqa: E402

ENV, KW, N = "TemporalFlipFlop-v0", {"period": 24}, 16


def vec_envs() -> dict[str, object]:
    return {"ta-envs SB3VecEnv (native)": SB3VecEnv(ENV, N, **KW),
            "SB3 DummyVecEnv (single envs)": DummyVecEnv([lambda: gym.make(ENV, **KW)] * N)}


def quiet(model: object) -> object:
    """An SB3 model whose logger writes nothing (a bare ``learn`` makes a folder in /tmp)."""
    model.set_logger(Logger(None, []))
    return model


def native_vs_recurrent_ppo(n_envs: int, rounds: int) -> list[dict[str, object]]:
    """Seconds per frame of native-ppo (torch engine, and JAX engine where JAX is installed) and
    RecurrentPPO (GRU 64), interleaved round by round; one row each with the ratio to
    RecurrentPPO (the median over rounds of the per-round ratios)."""
    L = 96
    cfg = NativePPOConfig(env_kwargs=KW, n_envs=n_envs, frames=10**9)
    learner = new_learner(cfg)
    k = [0]

    def native_update() -> int:  # one update: a rollout of one episode per env, 8 x 8 minibatches
        k[0] += 1
        update_once(learner, cfg, k[0], 10**6, k[0] * n_envs * L, False, False)
        return n_envs * L

    rcfg = RLConfig(algo="recurrent-ppo", core="gru", env_kwargs=KW, n_envs=n_envs, n_steps=L,
                    batch_size=n_envs * L // 8)
    model = quiet(make_agent(rcfg, SB3VecEnv(ENV, n_envs, **KW)))
    model.n_epochs = 8

    def sb3_update() -> int:
        model.learn(n_envs * L, reset_num_timesteps=False)
        return n_envs * L

    sides: dict[str, tuple[str, object, int]] = {
        "torch": ("native-ppo, gru core (torch engine)", native_update, 5),
        "sb3": ("RecurrentPPO, gru core", sb3_update, 1)}
    first_call = None
    try:
        import jax  # noqa: F401
    except ImportError:
        pass
    else:  # the JAX engine: one compiled call per stretch of eval_every (5) updates + evaluation
        eng = JaxEngine(replace(cfg, framework="jax"))
        j = [0]

        def jax_stretch() -> int:
            n = eng.chunk(j[0], 10**6)
            eng.advance(j[0], n, 10**6, 0)
            j[0] += n
            return n * n_envs * L

        t0 = time.perf_counter()
        jax_stretch()  # compiles
        first_call = time.perf_counter() - t0
        sides["jax"] = ("native-ppo, gru core (JAX engine)", jax_stretch, 1)
    for _, fn, _ in sides.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, (_, fn, reps) in sides.items():
            t0 = time.perf_counter()
            frames = sum(fn() for _ in range(reps))
            times[name].append((time.perf_counter() - t0) / frames)
    what = f"end to end, {n_envs} envs x 96 steps, 8x8 minibatches"
    rows = []
    for name, (algo, _, _) in sides.items():
        row = {"what": what, "vec env": "ta-envs SB3VecEnv (native)" if name == "sb3" else
               ("ta_envs.functional (JAX)" if name == "jax" else "native"), "algo": algo,
               "frames/s": 1 / float(np.median(times[name])),
               "x RecurrentPPO": round_ratio(times["sb3"], times[name])}
        if name == "jax":
            row["first call s (compile)"] = first_call
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=16384)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n-envs", type=int, nargs="+", default=[16, 64, 256],
                    help="env counts of the end-to-end comparison")
    ap.add_argument("--native-only", action="store_true",
                    help="only the native-ppo vs RecurrentPPO comparison")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" /
                                         "bench_rl.json"))
    a = ap.parse_args()
    pin_threads()
    rows = []
    for n in a.n_envs:
        new = native_vs_recurrent_ppo(n, a.rounds)
        rows += new
        print(table(new, ["what", "algo", "frames/s", "x RecurrentPPO"]), flush=True)
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
        model = quiet(PPO("MlpPolicy", env, n_steps=128, batch_size=256, seed=0, device="cpu",
                          policy_kwargs={"net_arch": [64, 64]}))
        model.learn(N * 128)  # warm-up
        t0 = time.perf_counter()
        model.learn(a.steps, reset_num_timesteps=False)
        rows.append({"what": "learn", "vec env": name, "algo": "PPO MlpPolicy",
                     "frames/s": a.steps / (time.perf_counter() - t0)})
    for core in ("lstm", "gru", "rnn"):
        cfg = RLConfig(algo="recurrent-ppo", core=core, env_kwargs=KW, n_envs=N)
        model = quiet(make_agent(cfg, SB3VecEnv(ENV, N, **KW)))
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
