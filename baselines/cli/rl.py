"""``ta-envs rl``: RL agents on a task, several seeds: the native recurrent PPO (``native-ppo``)
and the stable-baselines3 agents (``ppo``, ``ppo-framestack``, ``recurrent-ppo``; the ``rl`` extra).
"""

from __future__ import annotations

import argparse
from typing import Any

from ta_envs.cli import Command, parse_kw
from ta_envs.validation import UsageError, check_int, check_out_dir

ALGOS = ("native-ppo", "ppo", "ppo-framestack", "recurrent-ppo")
#: Options that only one family of agents applies (the other refuses them when given).
SB3_ONLY = ("n_steps", "batch_size", "frame_stack")
NATIVE_ONLY = ("epochs", "minibatches", "gamma", "gae_lambda", "clip", "vf_coef",
               "max_grad_norm", "anneal_lr", "stop_at", "step_by_step", "threads", "tensorboard",
               "model_kw", "backend", "address", "no_resume", "framework")
SB3_DEFAULTS = {"steps": 100_000, "n_envs": 16, "lr": 3e-4, "ent_coef": 0.0, "core": "lstm",
                "eval_every": 10_000, "eval_episodes": 32}
NATIVE_DEFAULTS = {"steps": 2_000_000, "n_envs": 256, "lr": 3e-3, "ent_coef": 0.01,
                   "core": "gru", "eval_every": 5, "eval_episodes": 256}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``ta-envs rl``; a blank default is the chosen algorithm's own."""
    p.add_argument("--algo", default="ppo", choices=ALGOS)
    p.add_argument("--env", default="TemporalFlipFlop-v0", help="registered id")
    p.add_argument("--kw", nargs="*", default=[], metavar="K=V", help="env kwargs")
    p.add_argument("--observe-clock", action="store_true", help="fully observable control")
    p.add_argument("--steps", type=int, default=None,
                   help="environment steps (frames) per seed (native-ppo 2M, SB3 100k)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--core", default=None,
                   help="memory core: native-ppo: gru (default), rnn, lstm, linear, lru, mingru, "
                        "mamba, mlp (no memory) or module:Class; recurrent-ppo: lstm (default), "
                        "gru, rnn or module:Class")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--model-kw", nargs="*", default=None, metavar="K=V",
                   help="native-ppo: extra constructor options of the core")
    p.add_argument("--n-envs", type=int, default=None,
                   help="parallel envs (native-ppo: episodes per update, 256; SB3: 16)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (native 3e-3, SB3 3e-4)")
    p.add_argument("--ent-coef", type=float, default=None, help="entropy bonus (native 0.01, SB3 0)")
    p.add_argument("--eval-every", type=int, default=None,
                   help="native-ppo: updates between evaluations+checkpoints (5); SB3: steps (10k)")
    p.add_argument("--eval-episodes", type=int, default=None)
    g = p.add_argument_group("native-ppo only")
    g.add_argument("--epochs", type=int, default=None, help="passes over each rollout (8)")
    g.add_argument("--minibatches", type=int, default=None, help="minibatches per pass (8)")
    g.add_argument("--gamma", type=float, default=None,
                   help="discount (0: exact when actions change no later observation)")
    g.add_argument("--gae-lambda", type=float, default=None)
    g.add_argument("--clip", type=float, default=None)
    g.add_argument("--vf-coef", type=float, default=None)
    g.add_argument("--max-grad-norm", type=float, default=None)
    g.add_argument("--anneal-lr", default=None, choices=["yes", "no"],
                   help="decay the learning rate linearly to 0 (yes)")
    g.add_argument("--stop-at", type=float, default=None,
                   help="stop a seed once its evaluated TD accuracy reaches this")
    g.add_argument("--step-by-step", action="store_const", const=True, default=None,
                   help="step the core one observation at a time (the closed-loop path)")
    g.add_argument("--framework", default=None, choices=["torch", "jax"],
                   help="torch (default; every core), or jax: the updates between two evaluations "
                        "fused into one compiled call (cores gru, rnn, lstm, mlp; the jax extra)")
    g.add_argument("--threads", type=int, default=None,
                   help="threads per run: torch's, or XLA's when the run imports JAX (1)")
    g.add_argument("--tensorboard", action="store_const", const=True, default=None)
    g.add_argument("--backend", default=None, choices=["local", "ray"])
    g.add_argument("--address", default=None, help="Ray cluster address (backend ray)")
    g.add_argument("--no-resume", action="store_const", const=True, default=None,
                   help="start afresh instead of resuming each seed's run directory")
    s = p.add_argument_group("stable-baselines3 agents only")
    s.add_argument("--n-steps", type=int, default=None, help="rollout length per env (128)")
    s.add_argument("--batch-size", type=int, default=None, help="minibatch size (256)")
    s.add_argument("--frame-stack", type=int, default=None, help="ppo-framestack frames (8)")
    p.add_argument("--workers", type=int, default=1, help="seeds in parallel processes")
    p.add_argument("--out", required=True)
    p.add_argument("--quiet", action="store_true")


def _given(a: argparse.Namespace, names: tuple[str, ...]) -> list[str]:
    return ["--" + n.replace("_", "-") for n in names if getattr(a, n) is not None]


def _pick(a: argparse.Namespace, defaults: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if getattr(a, k) is None else getattr(a, k)) for k, v in defaults.items()}


def run_native(a: argparse.Namespace, seeds: list[int], out: Any) -> int:
    """``--algo native-ppo``: train the seeds, print frames to solve and the final accuracy."""
    from baselines.native_ppo import NativePPOConfig, train_seeds_native

    bad = _given(a, SB3_ONLY)
    if bad:
        raise UsageError(f"{', '.join(bad)} apply to the SB3 agents only; native-ppo plays whole "
                         "episodes (--n-envs episodes per update, --minibatches of them)")
    d = _pick(a, NATIVE_DEFAULTS)
    extra = {k: getattr(a, k) for k in ("epochs", "minibatches", "gamma", "gae_lambda", "clip",
                                        "vf_coef", "max_grad_norm", "stop_at", "step_by_step",
                                        "threads", "tensorboard", "framework")
             if getattr(a, k) is not None}
    if a.anneal_lr is not None:
        extra["anneal_lr"] = a.anneal_lr == "yes"
    cfg = NativePPOConfig(env_id=a.env, env_kwargs=parse_kw(a.kw), observe_clock=a.observe_clock,
                          core=d["core"], hidden=a.hidden, model_kw=parse_kw(a.model_kw or []),
                          frames=d["steps"], n_envs=d["n_envs"], lr=d["lr"],
                          ent_coef=d["ent_coef"], eval_every=d["eval_every"],
                          eval_episodes=d["eval_episodes"], **extra)
    s = train_seeds_native(cfg, seeds, out, workers=a.workers, backend=a.backend or "local",
                           address=a.address, resume=not a.no_resume, progress=not a.quiet)
    for r in s["runs"]:
        f = r["final"]
        solved = "not solved" if r["frames_to_solve"] is None else \
            f"solved at {r['frames_to_solve']:,} frames"
        td = "-" if f["td_acc"] != f["td_acc"] else f"{f['td_acc']:.3f}"
        print(f"seed {r['seed']}: {solved}; final TD {td}, all steps {f['acc']:.3f} after "
              f"{r['frames']:,} frames in {r['wall_s']:.0f} s")
    print(f"wrote {out}/summary.json and learning_curves.png")
    return 0


def run(a: argparse.Namespace) -> int:
    """Train the seeds and print the summary line."""
    check_int("--seeds", a.seeds, 1)
    check_int("--first-seed", a.first_seed, 0)
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))
    out = check_out_dir("--out", a.out)
    if a.algo == "native-ppo":
        return run_native(a, seeds, out)
    bad = _given(a, NATIVE_ONLY)
    if bad:
        raise UsageError(f"{', '.join(bad)} apply to --algo native-ppo only")
    from baselines.rl import RLConfig, train_seeds_rl

    d = _pick(a, SB3_DEFAULTS)
    sb3 = {k: getattr(a, k) for k in SB3_ONLY if getattr(a, k) is not None}
    cfg = RLConfig(algo=a.algo, env_id=a.env, env_kwargs=parse_kw(a.kw),
                   observe_clock=a.observe_clock, steps=d["steps"], n_envs=d["n_envs"],
                   lr=d["lr"], ent_coef=d["ent_coef"], hidden=a.hidden, core=d["core"],
                   eval_every=d["eval_every"], eval_episodes=d["eval_episodes"], **sb3)
    s = train_seeds_rl(cfg, seeds, out, workers=a.workers, progress=not a.quiet)
    td, ti = s["aggregate"]["td_acc"], s["aggregate"]["ti_acc"]
    print(f"{len(seeds)} seeds: TD {td['mean']:.3f} ± {td['std']:.3f}, TI {ti['mean']:.3f} ± "
          f"{ti['std']:.3f}; wrote {a.out}/summary.json")
    return 0


RL = Command("RL agents on a task, several seeds: native recurrent PPO or stable-baselines3",
             add_arguments, run)
