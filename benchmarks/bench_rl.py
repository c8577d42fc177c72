"""RL throughput on TemporalFlipFlop-v0 (P = 24), side by side in one run:

1. the SB3 ``VecEnv`` API alone (random actions, ``step_async``/``step_wait``): our adapter over
   the native vector env against ``DummyVecEnv`` over single envs, 16 envs;
2. PPO (``MlpPolicy`` 64x64, n_steps 128, batch 256, 10 epochs) ``learn`` frames per second through
   each of the two;
3. RecurrentPPO frames per second with its LSTM core and with our GRU and tanh-RNN cores (hidden 64).

    python benchmarks/bench_rl.py [--steps 16384]

One thread. Prints a Markdown table, writes ``benchmarks/results/bench_rl.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from _timing import pin_threads, rate, table, write_json  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

from baselines.rl import RLConfig, SB3VecEnv, make_agent  # noqa: E402

ENV, KW, N = "TemporalFlipFlop-v0", {"period": 24}, 16


def vec_envs() -> dict[str, object]:
    return {"ta-envs SB3VecEnv (native)": SB3VecEnv(ENV, N, **KW),
            "SB3 DummyVecEnv (single envs)": DummyVecEnv([lambda: gym.make(ENV, **KW)] * N)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=16384)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" /
                                         "bench_rl.json"))
    a = ap.parse_args()
    pin_threads()
    rows = []
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
    print(table(rows, ["what", "vec env", "algo", "frames/s"]))
    write_json(a.out, rows, env=ENV, env_kwargs=KW, num_envs=N, learn_steps=a.steps, threads=1)


if __name__ == "__main__":
    main()
