"""Env throughput: ta-envs single env vs CartPole-v1, native vector env vs CartPole's
``vector_entry_point``, measured side by side in one run (random actions drawn beforehand).

    python benchmarks/bench_env.py [--quick]

Prints a Markdown table and writes ``benchmarks/results/bench_env.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from _timing import pin_threads, rate, table, write_json  # noqa: E402

import ta_envs  # noqa: E402, F401

IDS = ["CartPole-v1", "TemporalFlipFlop-v0", "RelativeTimingFlipFlop-v0", "FlipFlop-v0"]


def single(env_id: str, min_time: float, repeats: int) -> dict[str, float]:
    env = gym.make(env_id)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete):
        actions = rng.integers(0, space.n, size=4096).tolist()
    else:
        actions = list(rng.integers(0, 2, size=(4096,) + space.shape).astype(np.int8))
    state = {"i": 0}

    def run_1000() -> None:
        i = state["i"]
        for _ in range(1000):
            _, _, term, trunc, _ = env.step(actions[i & 4095])
            i += 1
            if term or trunc:
                env.reset()
        state["i"] = i

    return rate(run_1000, 1000, min_time=min_time, repeats=repeats)


def vector(env_id: str, n: int, min_time: float, repeats: int) -> dict[str, float]:
    env = gym.make_vec(env_id, n, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    space = env.single_action_space
    if isinstance(space, gym.spaces.Discrete):
        actions = rng.integers(0, space.n, size=(64, n))
    else:
        actions = rng.integers(0, 2, size=(64, n) + space.shape).astype(np.int8)
    state = {"i": 0}

    def run_100() -> None:
        i = state["i"]
        for _ in range(100):
            env.step(actions[i & 63])
            i += 1
        state["i"] = i

    return rate(run_100, 100 * n, min_time=min_time, repeats=repeats)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_env.json"))
    args = p.parse_args()
    pin_threads()
    mt, rep = (0.2, 3) if args.quick else (1.0, 5)
    rows = []
    for env_id in IDS:
        r = single(env_id, mt, rep)
        rows.append({"mode": "single env", "env": env_id, "num_envs": 1,
                     "steps/s": r["median"], "best steps/s": r["best"]})
    for n in (64, 1024):
        for env_id in IDS:
            r = vector(env_id, n, mt, rep)
            rows.append({"mode": "vector_entry_point", "env": env_id, "num_envs": n,
                         "steps/s": r["median"], "best steps/s": r["best"]})
    print(table(rows, ["mode", "env", "num_envs", "steps/s", "best steps/s"]))
    write_json(args.out, rows, target_vector_64=5_000_000)


if __name__ == "__main__":
    main()
