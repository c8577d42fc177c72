"""``ta-envs rl``: stable-baselines3 agents on a task, several seeds (the ``rl`` extra)."""

from __future__ import annotations

import argparse

from ta_envs.cli import Command, parse_kw

ALGOS = ("ppo", "ppo-framestack", "recurrent-ppo")
CORES = ("lstm", "gru", "rnn")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``ta-envs rl`` (defaults: those of ``RLConfig``)."""
    p.add_argument("--algo", default="ppo", choices=ALGOS)
    p.add_argument("--env", default="TemporalFlipFlop-v0", help="registered id")
    p.add_argument("--kw", nargs="*", default=[], metavar="K=V", help="env kwargs")
    p.add_argument("--observe-clock", action="store_true", help="fully observable control")
    p.add_argument("--steps", type=int, default=100_000, help="environment steps per seed")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--core", default="lstm",
                   help="recurrent-ppo core: lstm, gru, rnn, or module:Class with the recurrent "
                        "interface")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--frame-stack", type=int, default=8)
    p.add_argument("--n-envs", type=int, default=16)
    p.add_argument("--n-steps", type=int, default=128, help="rollout length per env")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--ent-coef", type=float, default=0.0)
    p.add_argument("--eval-every", type=int, default=10_000)
    p.add_argument("--eval-episodes", type=int, default=32)
    p.add_argument("--workers", type=int, default=1, help="seeds in parallel processes")
    p.add_argument("--out", required=True)
    p.add_argument("--quiet", action="store_true")


def run(a: argparse.Namespace) -> int:
    """Train the seeds and print the summary line."""
    from baselines.rl import RLConfig, train_seeds_rl
    from ta_envs.validation import check_int, check_out_dir

    check_int("--seeds", a.seeds, 1)
    check_int("--first-seed", a.first_seed, 0)
    cfg = RLConfig(algo=a.algo, env_id=a.env, env_kwargs=parse_kw(a.kw),
                   observe_clock=a.observe_clock, steps=a.steps, n_envs=a.n_envs,
                   n_steps=a.n_steps, batch_size=a.batch_size, lr=a.lr, ent_coef=a.ent_coef,
                   hidden=a.hidden, core=a.core, frame_stack=a.frame_stack,
                   eval_every=a.eval_every, eval_episodes=a.eval_episodes)
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))
    out = check_out_dir("--out", a.out)
    s = train_seeds_rl(cfg, seeds, out, workers=a.workers, progress=not a.quiet)
    td, ti = s["aggregate"]["td_acc"], s["aggregate"]["ti_acc"]
    print(f"{len(seeds)} seeds: TD {td['mean']:.3f} ± {td['std']:.3f}, TI {ti['mean']:.3f} ± "
          f"{ti['std']:.3f}; wrote {a.out}/summary.json")
    return 0


RL = Command("stable-baselines3 agents on a task, several seeds", add_arguments, run)
