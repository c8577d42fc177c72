"""``ta-envs train``: reference learners on a task, many seeds, with a summary and a figure."""

from __future__ import annotations

import argparse
import importlib.util
import time

from ta_envs.cli import Command, parse_kw
from ta_envs.validation import InvalidValue, check_int, check_out_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``ta-envs train`` (defaults: the reference recipe)."""
    p.add_argument("--task", default="TemporalFlipFlop-v0")
    p.add_argument("--kw", nargs="*", default=[], metavar="K=V", help="task kwargs")
    p.add_argument("--arch", default="rnn",
                   help="rnn, gru, lstm, linear, transformer, lru, mingru, mamba or module:Class")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--model-kw", nargs="*", default=[], metavar="K=V",
                   help="extra constructor arguments of the architecture")
    p.add_argument("--init", default=None, choices=["default", "orthogonal"],
                   help="recurrent-matrix init of rnn/gru/lstm/linear (default: orthogonal)")
    p.add_argument("--gain", type=float, default=None, help="gain of the orthogonal init (1.0)")
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=96)
    p.add_argument("--iterations", type=int, default=2500)
    p.add_argument("--grad-clip", type=float, default=1.0, help="0 disables clipping")
    p.add_argument("--loss-on", default="all", choices=["all", "td", "ti"])
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--eval-size", type=int, default=256)
    p.add_argument("--checkpoint-every", type=int, default=500,
                   help="1 = every iteration (dense, for tracking the transition)")
    p.add_argument("--stop-at-td", type=float, default=None,
                   help="stop a run once held-out TD accuracy reaches this")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:<i> or auto")
    p.add_argument("--no-tensorboard", action="store_true",
                   help="do not write TensorBoard logs (written by default when installed)")
    p.add_argument("--seeds", type=int, default=1, help="number of seeds (first-seed ...)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--no-resume", action="store_true", help="start runs afresh")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def config_from_args(a: argparse.Namespace):  # noqa: ANN201 - TrainConfig, imported lazily
    """The [`TrainConfig`][baselines.config.TrainConfig] the arguments describe (validated)."""
    from baselines.config import TrainConfig

    if a.grad_clip is not None and a.grad_clip < 0:
        raise InvalidValue(f"--grad-clip must be >= 0 (0 disables clipping), got {a.grad_clip}")
    return TrainConfig(task=a.task, task_kwargs=parse_kw(a.kw), arch=a.arch, hidden=a.hidden,
                       model_kw=parse_kw(a.model_kw, "--model-kw"), init=a.init, gain=a.gain,
                       optimizer=a.optimizer, lr=a.lr, momentum=a.momentum, batch=a.batch,
                       seq_len=a.seq_len, iterations=a.iterations,
                       grad_clip=a.grad_clip or None, loss_on=a.loss_on,
                       eval_every=a.eval_every, eval_size=a.eval_size,
                       checkpoint_every=a.checkpoint_every, stop_at_td=a.stop_at_td,
                       device=a.device, tensorboard=not a.no_tensorboard and _has_tensorboard())


def _has_tensorboard() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def run(a: argparse.Namespace) -> int:
    """Train the seeds, then write and print the summary."""
    from baselines.runs import make_model
    from baselines.summary import summarize_runs
    from baselines.train import train_seeds

    check_int("--seeds", a.seeds, 1)
    check_int("--first-seed", a.first_seed, 0)
    check_int("--workers", a.workers, 1)
    config = config_from_args(a)
    from baselines.config import resolve_device

    resolve_device(config.device)  # --device cuda without CUDA: one line before any work
    make_model(config)  # the architecture is imported and checked before any run starts
    out = check_out_dir("--out", a.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))
    t0 = time.perf_counter()
    runs = train_seeds(config, seeds, out, workers=a.workers, resume=not a.no_resume,
                       progress=not a.quiet)
    s = summarize_runs(runs, out, config)
    agg = s["aggregate"]
    tr = agg["transition_at"]
    print(f"{len(seeds)} seeds in {time.perf_counter() - t0:.0f} s: solved {agg['solved']}, "
          f"TD>=90% {agg['reached_90']}, transition median "
          f"{tr['median'] if tr else None}; wrote {out / 'summary.json'} and "
          f"{out / 'learning_curves.png'}")
    return 0


TRAIN = Command("train reference learners on a task, many seeds", add_arguments, run)
