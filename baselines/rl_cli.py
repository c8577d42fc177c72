"""``ta-envs rl``: SB3 agents on a task, several seeds, ``summary.json`` and a learning-curve figure
(imported lazily by ``ta_envs.cli``; needs the ``rl`` extra)."""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .rl import ALGOS, CORES, RLConfig, summarize, train_agent


def add_rl_args(p: argparse.ArgumentParser) -> None:
    d = RLConfig()
    p.add_argument("--algo", default=d.algo, choices=ALGOS)
    p.add_argument("--env", default=d.env_id, help="registered id")
    p.add_argument("--kw", nargs="*", default=[], metavar="K=V", help="env kwargs")
    p.add_argument("--observe-clock", action="store_true", help="fully observable control")
    p.add_argument("--steps", type=int, default=d.steps, help="environment steps per seed")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--core", default=d.core, choices=CORES, help="recurrent-ppo core")
    p.add_argument("--hidden", type=int, default=d.hidden)
    p.add_argument("--frame-stack", type=int, default=d.frame_stack)
    p.add_argument("--n-envs", type=int, default=d.n_envs)
    p.add_argument("--n-steps", type=int, default=d.n_steps, help="rollout length per env")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--ent-coef", type=float, default=d.ent_coef)
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--eval-episodes", type=int, default=d.eval_episodes)
    p.add_argument("--workers", type=int, default=1, help="seeds in parallel processes")
    p.add_argument("--out", required=True)
    p.add_argument("--quiet", action="store_true")


def _worker(args: tuple[dict[str, Any], str, bool]) -> list[dict[str, Any]]:
    cfg, run_dir, progress = args
    return train_agent(RLConfig(**cfg), run_dir, progress=progress)


def run_rl(a: argparse.Namespace, env_kwargs: dict[str, Any]) -> int:
    base = RLConfig(algo=a.algo, env_id=a.env, env_kwargs=env_kwargs,
                    observe_clock=a.observe_clock, steps=a.steps, n_envs=a.n_envs,
                    n_steps=a.n_steps, batch_size=a.batch_size, lr=a.lr, ent_coef=a.ent_coef,
                    hidden=a.hidden, core=a.core, frame_stack=a.frame_stack,
                    eval_every=a.eval_every, eval_episodes=a.eval_episodes)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))
    jobs = [(replace(base, seed=s).to_dict(), str(out / f"seed_{s:03d}"), not a.quiet)
            for s in seeds]
    t0 = time.perf_counter()
    if a.workers > 1:
        with ProcessPoolExecutor(a.workers, mp_context=get_context("spawn")) as ex:
            runs = list(ex.map(_worker, jobs))
    else:
        runs = [_worker(j) for j in jobs]
    agg = summarize(runs)
    label = a.algo + (f" ({a.core})" if a.algo == "recurrent-ppo" else "") + \
        (" + clock" if a.observe_clock else "")
    summary = {"config": {k: v for k, v in base.to_dict().items() if k != "seed"},
               "label": label, "aggregate": agg,
               "runs": [{"seed": s, "final": r[-1], "curve": r} for s, r in zip(seeds, runs)]}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    rl_curves(runs, out / "learning_curves.png", f"{label} on {a.env} {env_kwargs or ''}")
    td, ti = agg["td_acc"], agg["ti_acc"]
    print(f"{len(seeds)} seeds in {time.perf_counter() - t0:.0f} s: TD {td['mean']:.3f} "
          f"± {td['std']:.3f}, TI {ti['mean']:.3f} ± {ti['std']:.3f}; wrote {out / 'summary.json'}")
    return 0


def rl_curves(runs: list[list[dict[str, Any]]], path: Path, title: str) -> None:
    """TD and TI accuracy against environment steps: each seed thin, the mean bold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, key, name in ((axes[0], "td_acc", "time-dependent (TD)"),
                          (axes[1], "ti_acc", "time-independent (TI)")):
        for r in runs:
            ax.plot([x["steps"] for x in r], [x[key] for x in r], lw=0.7, alpha=0.5,
                    color="tab:blue")
        n = min(len(r) for r in runs)
        ax.plot([x["steps"] for x in runs[0][:n]],
                np.mean([[x[key] for x in r[:n]] for r in runs], 0), lw=2, color="tab:blue",
                label="mean over seeds")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("environment steps")
        ax.axhline(0.5, color="k", ls=":", lw=0.8)
    axes[0].set_ylabel("evaluation accuracy")
    axes[0].set_ylim(0, 1.02)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
