"""Env throughput against Gymnasium's CartPole-v1, side by side in one run: the native vector env
(``vector_entry_point``) at n = 16 .. 8192, the single env, and ``SyncVectorEnv`` of the single
env with the full ``info`` and with ``info_keys`` (a lighter info).

    python benchmarks/bench_env.py [--quick]

Timing is interleaved (ours, CartPole, ours, ...) and each ratio is the median of the per-round
ratios, so load on the machine hits both sides alike. Random actions are drawn beforehand. Prints
Markdown tables (with the fitted scaling exponent of the cost of one vector step against n) and
writes ``benchmarks/results/bench_env.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from _timing import exponent, interleaved, pin_threads, round_ratio, table, write_json  # noqa: E402

import ta_envs  # noqa: E402, F401

OURS = ["TemporalFlipFlop-v0", "RelativeTimingFlipFlop-v0", "FlipFlop-v0"]
PEER = "CartPole-v1"
SIZES = [16, 64, 256, 1024, 4096, 8192]


def _actions(space: gym.Space, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(0)
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(0, space.n, size=shape)
    return rng.integers(0, 2, size=shape + space.shape).astype(np.int8)


def single_steps(env_id: str, steps: int = 1000) -> Callable[[], None]:
    """``steps`` steps of one env (reset when an episode ends)."""
    env = gym.make(env_id)
    env.reset(seed=0)
    actions = list(_actions(env.action_space, (4096,)))
    actions = [int(a) for a in actions] if np.ndim(actions[0]) == 0 else actions
    state = {"i": 0}

    def run() -> None:
        i = state["i"]
        for _ in range(steps):
            _, _, term, trunc, _ = env.step(actions[i & 4095])
            i += 1
            if term or trunc:
                env.reset()
        state["i"] = i

    return run


def vector_steps(env: gym.vector.VectorEnv, steps: int = 100) -> Callable[[], None]:
    """``steps`` steps of a vector env (its own autoreset)."""
    env.reset(seed=0)
    actions = _actions(env.single_action_space, (64, env.num_envs))
    state = {"i": 0}

    def run() -> None:
        i = state["i"]
        for _ in range(steps):
            env.step(actions[i & 63])
            i += 1
        state["i"] = i

    return run


def native(env_id: str, n: int) -> gym.vector.VectorEnv:
    """The env's own vector implementation."""
    return gym.make_vec(env_id, n, vectorization_mode="vector_entry_point")


def sync(env_id: str, n: int, **kwargs: Any) -> gym.vector.VectorEnv:
    """``SyncVectorEnv`` of the single env."""
    return gym.make_vec(env_id, n, vectorization_mode="sync", vector_kwargs={}, **kwargs)


def _vector_row(n: int, rounds: int, min_time: float) -> dict[str, Any]:
    """Our native vector envs against CartPole's at ``n`` envs, interleaved."""
    fns: dict[str, Callable[[], None]] = {e: vector_steps(native(e, n)) for e in OURS}
    fns[PEER] = vector_steps(native(PEER, n))
    t = interleaved(fns, rounds, min_time)
    row: dict[str, Any] = {"mode": "vector_entry_point", "num_envs": n,
                           "CartPole steps/s": 100 * n / statistics.median(t[PEER])}
    for e in OURS:
        row[f"{e} steps/s"] = 100 * n / statistics.median(t[e])
        row[f"{e} / CartPole"] = round_ratio(t[PEER], t[e])
    row["seconds per vector step"] = statistics.median(t[OURS[0]]) / 100
    return row


def _single_row(rounds: int, min_time: float) -> dict[str, Any]:
    """One env stepped through ``gym.make`` (wrappers included), ours against CartPole."""
    t = interleaved({e: single_steps(e) for e in OURS + [PEER]}, rounds, min_time)
    single: dict[str, Any] = {"mode": "single env", "num_envs": 1,
                              "CartPole steps/s": 1000 / statistics.median(t[PEER])}
    for e in OURS:
        single[f"{e} steps/s"] = 1000 / statistics.median(t[e])
        single[f"{e} / CartPole"] = round_ratio(t[PEER], t[e])
    return single


def _sync_rows(e0: str, n: int, rounds: int, min_time: float) -> list[dict[str, Any]]:
    """SyncVectorEnv: the info dict is merged key by key, env by env, at every step."""
    fns = {"full info": vector_steps(sync(e0, n)),
           "info_keys=['target']": vector_steps(sync(e0, n, info_keys=["target"])),
           "info_keys=[]": vector_steps(sync(e0, n, info_keys=[])),
           PEER: vector_steps(sync(PEER, n))}
    t = interleaved(fns, rounds, min_time)
    return [{"mode": "SyncVectorEnv", "num_envs": n, "variant": k,
             "steps/s": 100 * n / statistics.median(v),
             "vs full info": round_ratio(t["full info"], v),
             "vs CartPole": round_ratio(t[PEER], v)} for k, v in t.items()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="shorter timing windows")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_env.json"))
    args = p.parse_args()
    pin_threads()
    min_time, rounds = (0.1, 3) if args.quick else (0.3, 7)
    rows = [_vector_row(n, rounds, min_time) for n in SIZES] + [_single_row(rounds, min_time)]
    e0 = OURS[0]
    cols = ["mode", "num_envs", "CartPole steps/s"] + [c for e in OURS
                                                       for c in (f"{e} steps/s", f"{e} / CartPole")]
    print(table(rows, cols))
    sync_rows = _sync_rows(e0, 64, rounds, min_time)
    print()
    print(table(sync_rows, ["mode", "num_envs", "variant", "steps/s", "vs full info",
                            "vs CartPole"]))
    vec = [r for r in rows if r["mode"] == "vector_entry_point"]
    expo = exponent([r["num_envs"] for r in vec], [r["seconds per vector step"] for r in vec])
    hi = [r for r in vec if r["num_envs"] >= 1024]
    expo_hi = exponent([r["num_envs"] for r in hi], [r["seconds per vector step"] for r in hi])
    print(f"\n{e0}: seconds per vector step ~ n^{expo:.2f} (n = {SIZES[0]}..{SIZES[-1]}), "
          f"n^{expo_hi:.2f} for n >= 1024")
    worst = min(r[f"{e0} / CartPole"] for r in vec)
    print(f"smallest ratio to CartPole over n: {worst:.2f} (goal >= 5)")
    write_json(args.out, rows + sync_rows, scaling_exponent_num_envs=expo,
               scaling_exponent_num_envs_ge_1024=expo_hi, worst_ratio=worst,
               goal="vector env >= 5x CartPole's vector env at every n from 16 to 8192")


if __name__ == "__main__":
    main()
