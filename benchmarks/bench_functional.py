"""The JAX functional kernel against gymnax's CartPole and the native NumPy vector env, one run,
interleaved round by round, one thread (XLA's CPU pool and the process pinned to one core).

Sides, each stepping ``n`` envs for ``T`` steps per call (n = 16, 64, 1024, 8192):

- ``ta-envs rollout``: :func:`ta_envs.functional.rollout` jitted (bulk uniforms, ``lax.scan``, the
  dataset's fields written per step);
- ``ta-envs gymnax-style``: :class:`ta_envs.functional.GymnaxEnv` ``step`` vmapped over per-env keys
  inside ``lax.scan`` (the PureJaxRL pattern), random actions; obs, reward, done kept per step;
- ``gymnax CartPole``: the same loop on ``gymnax.make("CartPole-v1")`` (the peer);
- ``ta-envs NumPy vector env``: :class:`ta_envs.envs.TaskVectorEnv.step` in a Python loop;
- ``write limit``: a scan that only writes the rollout's output bytes (zeros) per step, the
  ceiling any rollout with these outputs meets.

    python benchmarks/bench_functional.py [--rounds 3] [--min-time 0.3]

Prints a table with ratios and writes ``benchmarks/results/bench_functional.json`` (with the
device named: run it on a GPU machine to get the GPU rows).
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _timing import interleaved, pin_threads, table, write_json  # noqa: E402

from baselines.provenance import provenance  # noqa: E402
from ta_envs import functional as F  # noqa: E402
from ta_envs.envs import TaskVectorEnv  # noqa: E402

ENV, KW, T = "TemporalFlipFlop-v0", {"period": 24}, 128


def ours_rollout(n: int, time_major: bool = False):
    p = F.make_params(ENV, "jax", **KW)
    fn = jax.jit(lambda k: F.rollout(k, p, None, n, T, False, time_major))
    key = [jax.random.PRNGKey(0)]

    def call() -> None:
        key[0], k = jax.random.split(key[0])
        jax.block_until_ready(fn(k))
    return call


def gymnax_loop(env, params, n: int):
    """The PureJaxRL rollout pattern over ``env`` (gymnax's API), random actions."""
    def run(key):
        key, k = jax.random.split(key)
        obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k, n), params)

        def body(carry, _):
            obs, state, key = carry
            key, k_a, k_s = jax.random.split(key, 3)
            a = jax.random.randint(k_a, (n,), 0, 2)
            out = jax.vmap(env.step, in_axes=(0, 0, 0, None))(jax.random.split(k_s, n), state, a,
                                                              params)
            done = jnp.logical_or(out[3], out[4]) if len(out) == 6 else out[3]  # gymnax 1.x: 6
            obs, state, reward = out[0], out[1], out[2]
            return (obs, state, key), (obs, reward, done)

        _, ys = jax.lax.scan(body, (obs, state, key), None, T)
        return ys
    fn = jax.jit(run)
    key = [jax.random.PRNGKey(0)]

    def call() -> None:
        key[0], k = jax.random.split(key[0])
        jax.block_until_ready(fn(k))
    return call


def write_limit(n: int):
    """Only the output writes of :func:`ta_envs.functional.rollout` (same shapes and dtypes)."""
    shapes = {"inputs": ((n, 2), jnp.float32), "targets": ((n,), jnp.int32),
              "mask_td": ((n,), jnp.bool_), "theta": ((n,), jnp.int32),
              "clocks": ((n, 1), jnp.int32), "actions": ((n,), jnp.int32),
              "rewards": ((n,), jnp.float32), "episode_start": ((n,), jnp.bool_)}

    def run(key):
        def body(c, _):
            return c + 1, {k: jnp.full(s, c, d) for k, (s, d) in shapes.items()}
        return jax.lax.scan(body, jnp.int32(0), None, T)[1]
    fn = jax.jit(run)

    def call() -> None:
        jax.block_until_ready(fn(jax.random.PRNGKey(0)))
    return call


def numpy_env(n: int):
    venv = TaskVectorEnv(n, ENV, **KW)
    venv.reset(seed=0)
    acts = np.zeros(n, np.int64)

    def call() -> None:
        for _ in range(T):
            venv.step(acts)
    return call


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.3)
    ap.add_argument("--sizes", type=int, nargs="*", default=[16, 64, 1024, 8192])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" /
                                         "bench_functional.json"))
    a = ap.parse_args()
    pin_threads()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import gymnax

    cp_env, cp_params = gymnax.make("CartPole-v1")
    ff = F.GymnaxEnv(ENV, **KW)
    rows = []
    for n in a.sizes:
        fns = {"ta-envs rollout": ours_rollout(n),
               "ta-envs rollout (time_major)": ours_rollout(n, True),
               "ta-envs gymnax-style": gymnax_loop(ff, ff.default_params, n),
               "gymnax CartPole": gymnax_loop(cp_env, cp_params, n),
               "ta-envs NumPy vector env": numpy_env(n),
               "write limit": write_limit(n)}
        secs = interleaved(fns, a.rounds, a.min_time)
        peer = secs["gymnax CartPole"]
        for name, s in secs.items():
            rows.append({"n": n, "side": name,
                         "steps/s": n * T / statistics.median(s),
                         "x gymnax CartPole": statistics.median(p / x for p, x in zip(peer, s)),
                         "x NumPy env": statistics.median(
                             p / x for p, x in zip(secs["ta-envs NumPy vector env"], s)),
                         "x write limit": statistics.median(
                             x / w for x, w in zip(s, secs["write limit"]))})
        print(table([r for r in rows if r["n"] == n],
                     ["n", "side", "steps/s", "x gymnax CartPole", "x NumPy env",
                      "x write limit"]), flush=True)
    dev = jax.devices()[0]
    write_json(a.out, rows, env=ENV, env_kwargs=KW, steps_per_call=T, rounds=a.rounds,
               device=f"{dev.platform}: {dev.device_kind}", jax=jax.__version__,
               gymnax=getattr(gymnax, "__version__", None) or _version("gymnax"),
               threads=1, provenance=provenance(packages=("jax", "jaxlib", "gymnax")))


def _version(name: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
