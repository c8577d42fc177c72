"""``ta-envs train`` and ``ta-envs demo`` (imported lazily by ``ta_envs.cli``; needs torch)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from .figures import learning_curves
from .phases import Phases, phases_from_metrics, summarize
from .train import TrainConfig, read_metrics, train, train_seeds


def add_train_args(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--task", default=d.task)
    p.add_argument("--kw", nargs="*", default=[], metavar="K=V", help="task kwargs")
    p.add_argument("--arch", default=d.arch, help="rnn, gru, lstm, linear or module:Class")
    p.add_argument("--hidden", type=int, default=d.hidden)
    p.add_argument("--init", default=d.init, choices=["default", "orthogonal"])
    p.add_argument("--gain", type=float, default=d.gain)
    p.add_argument("--optimizer", default=d.optimizer, choices=["sgd", "adam"])
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--momentum", type=float, default=d.momentum)
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--seq-len", type=int, default=d.seq_len)
    p.add_argument("--iterations", type=int, default=d.iterations)
    p.add_argument("--grad-clip", type=float, default=d.grad_clip, help="0 disables clipping")
    p.add_argument("--loss-on", default=d.loss_on, choices=["all", "td", "ti"])
    p.add_argument("--eval-every", type=int, default=d.eval_every)
    p.add_argument("--eval-size", type=int, default=d.eval_size)
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every,
                   help="1 = every iteration (dense, for tracking the transition)")
    p.add_argument("--stop-at-td", type=float, default=None,
                   help="stop a run once held-out TD accuracy reaches this")
    p.add_argument("--device", default=d.device)
    p.add_argument("--seeds", type=int, default=1, help="number of seeds (0..N-1)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--no-resume", action="store_true", help="start runs afresh")


def config_from_args(a: argparse.Namespace, task_kwargs: dict[str, Any]) -> TrainConfig:
    return TrainConfig(task=a.task, task_kwargs=task_kwargs, arch=a.arch, hidden=a.hidden,
                       init=a.init, gain=a.gain, optimizer=a.optimizer, lr=a.lr,
                       momentum=a.momentum, batch=a.batch, seq_len=a.seq_len,
                       iterations=a.iterations, grad_clip=a.grad_clip or None, loss_on=a.loss_on,
                       eval_every=a.eval_every, eval_size=a.eval_size,
                       checkpoint_every=a.checkpoint_every, stop_at_td=a.stop_at_td,
                       device=a.device)


def summarize_runs(run_dirs: list[Path], out: Path, config: TrainConfig) -> dict[str, Any]:
    """``summary.json`` and ``learning_curves.png`` for a set of run directories."""
    metrics = [read_metrics(r) for r in run_dirs]
    phases: list[Phases] = [phases_from_metrics(m) for m in metrics]
    per_1000 = []
    for m in metrics:
        last = m[-1]
        if last["it"] > 0:
            per_1000.append(1000 * last["wall_s"] / last["it"])
    summary = {"config": {k: v for k, v in config.to_dict().items() if k != "seed"},
               "aggregate": summarize(phases, per_1000),
               "runs": [{"run": str(r.name), **p.to_dict()} for r, p in zip(run_dirs, phases)]}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    done = sorted((p.solved_at, i) for i, p in enumerate(phases) if p.solved_at is not None)
    bold = done[len(done) // 2][1] if done else 0  # the median solving run
    title = f"{config.arch}({config.hidden}) on {config.task} {config.task_kwargs or ''}"
    learning_curves(metrics, out / "learning_curves.png", title=title, bold=bold,
                    bold_label=f"{run_dirs[bold].name} (median solver)" if done else None)
    return summary


def run_train(a: argparse.Namespace, task_kwargs: dict[str, Any]) -> int:
    config = config_from_args(a, task_kwargs)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))
    t0 = time.perf_counter()
    runs = train_seeds(config, seeds, out, workers=a.workers, resume=not a.no_resume)
    s = summarize_runs(runs, out, config)
    agg = s["aggregate"]
    tr = agg["transition_at"]
    print(f"{len(seeds)} seeds in {time.perf_counter() - t0:.0f} s: solved {agg['solved']}, "
          f"TD>=90% {agg['reached_90']}, transition median "
          f"{tr['median'] if tr else None}; wrote {out / 'summary.json'} and "
          f"{out / 'learning_curves.png'}")
    return 0


def run_demo(out_dir: str, seed: int = 2, iterations: int = 2500) -> int:
    """One seed of the reference setting (P = 24), a figure and ``report.md``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = TrainConfig(iterations=iterations, seed=seed, stop_at_td=0.995)
    t0 = time.perf_counter()
    result = train(config, out / "run", progress=True)
    wall = time.perf_counter() - t0
    metrics = read_metrics(out / "run")
    ph = phases_from_metrics(metrics)
    learning_curves([metrics], out / "learning_curves.png",
                    title="tanh RNN(64) on TemporalFlipFlop-v0, P = 24", bold=0,
                    bold_label=f"seed {seed}")
    rho = [m["spectral_radius"] for m in metrics if m.get("spectral_radius") is not None]
    lines = [
        "# ta-envs demo: learning time-aware behaviour",
        "",
        f"64-unit tanh RNN on `TemporalFlipFlop-v0` (P = 24), seed {seed}, SGD lr {config.lr} "
        f"momentum {config.momentum}, orthogonal W_hh, gradient clipping {config.grad_clip}, "
        f"batch {config.batch} x {config.seq_len} steps; {result.iterations} iterations in "
        f"{wall:.0f} s.",
        "",
        "![learning curves](learning_curves.png)",
        "",
        "| phase | value |", "|---|---|",
        f"| TI accuracy >= 99% at iteration | {ph.ti_solved_at} |",
        f"| TD plateau (iterations) | {ph.plateau_start} - {ph.plateau_end} |",
        f"| mean TD accuracy on the plateau | {_fmt(ph.plateau_td)} |",
        f"| transition (TD >= 75%) at iteration | {ph.transition_at} |",
        f"| jump TD 60% -> 90% (iterations) | {ph.jump_start} -> {ph.jump_end} "
        f"(width {ph.jump_width}) |",
        f"| TD solved (>= 99%) | {ph.solved} (iteration {ph.solved_at}) |",
        f"| final TD / TI accuracy | {_fmt(ph.final_td)} / {_fmt(ph.final_ti)} |",
        f"| spectral radius of W_hh, start -> end | {_fmt(rho[0])} -> {_fmt(rho[-1])} |",
        "",
        "TI steps (symbol b) are learnt almost at once; TD steps (symbol a, whose target is the "
        "hidden time of day) sit on a plateau near chance, then jump.",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'report.md'} ({wall:.0f} s)")
    return 0


def _fmt(v: Any) -> str:
    return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))



def add_suite_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--arch", default="rnn", help="rnn, gru, lstm, linear or module:Class")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--seeds", type=int, default=None, help="default 3 (1 with --quick)")
    p.add_argument("--quick", action="store_true", help="3 short tasks, 1 seed: minutes on 2 cores")
    p.add_argument("--tasks", nargs="*", default=[], help="task names to keep (default: all)")
    p.add_argument("--optimizer", default="adam", choices=["sgd", "adam"])
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--workers", type=int, default=1, help="local worker processes")
    p.add_argument("--backend", default="local", choices=["local", "ray"])
    p.add_argument("--address", default=None, help="Ray cluster address (backend ray)")
    p.add_argument("--out", required=True)


def run_suite_cli(a: argparse.Namespace) -> int:
    from .figures import accuracy_vs_length
    from .suite import SuiteConfig, leaderboard, run_suite

    seeds = a.seeds if a.seeds is not None else (1 if a.quick else 3)
    cfg = SuiteConfig(arch=a.arch, hidden=a.hidden, seeds=seeds, quick=a.quick,
                      tasks=tuple(a.tasks), optimizer=a.optimizer, lr=a.lr)
    out = Path(a.out)
    t0 = time.perf_counter()
    report = run_suite(cfg, out, backend=a.backend, workers=a.workers, address=a.address)
    (out / "leaderboard.md").write_text(leaderboard([report]) + "\n")
    accuracy_vs_length(report, out / "accuracy_vs_length.png")
    o = report["overall"]
    print(f"suite ({len(report['tasks'])} tasks, {cfg.seeds} seeds) in "
          f"{time.perf_counter() - t0:.0f} s: score mean {o['score_mean']:.3f}, max "
          f"{o['score_max']:.3f}; wrote {out / 'results.json'}")
    return 0
