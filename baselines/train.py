"""Training engine: one run = one config and seed; metrics per iteration, checkpoints, exact resume.

A run directory holds ``config.json``, ``metrics.jsonl`` (one JSON object per iteration: ``it``,
``loss``, ``td_acc``, ``ti_acc`` on the training batch, ``grad_norm`` before clipping,
``spectral_radius`` of the recurrent matrix, ``wall_s``; and every ``eval_every`` iterations
``val_loss``, ``val_td_acc``, ``val_ti_acc`` on a fixed held-out set) and ``checkpoints/it_*.pt``.
A checkpoint holds the model, the optimiser and the data stream's generator state, so resuming from
it reproduces the uninterrupted run's metrics exactly. Line ``it = 0`` holds the evaluation before
training and ``it_0000000.pt`` the initial network.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, fields, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ta_envs import Task, make_dataset, make_task
from ta_envs.checks import check_int_fields

from .models import BUILTIN, build_model, resolve_arch

CHECKPOINT_FORMAT = "ta-envs-checkpoint/1"
#: Config fields that may differ between a checkpoint and the run resuming from it.
RESUMABLE_CHANGES = ("iterations", "checkpoint_every", "checkpoint_at", "device", "threads",
                     "stop_at_td", "init_from")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. Defaults: the recipe under which the 64-unit tanh RNN
    shows the three learning phases on ``TemporalFlipFlop-v0`` (orthogonal W_hh, SGD + momentum,
    gradient-norm clipping; see the README's results)."""

    task: str = "TemporalFlipFlop-v0"
    task_kwargs: Mapping[str, Any] = field(default_factory=dict)
    arch: str = "rnn"
    hidden: int = 64
    init: str = "orthogonal"
    gain: float = 1.0
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    batch: int = 64
    seq_len: int = 96
    iterations: int = 2500
    seed: int = 0
    grad_clip: float | None = 1.0
    loss_on: str = "all"
    eval_every: int = 10
    eval_size: int = 256
    checkpoint_every: int = 500
    checkpoint_at: tuple[int, ...] = ()
    stop_at_td: float | None = None
    device: str = "cpu"
    threads: int = 1
    init_from: str | None = None  #: start from this checkpoint's weights (e.g. retraining)

    def __post_init__(self) -> None:
        object.__setattr__(self, "task_kwargs", dict(self.task_kwargs))
        object.__setattr__(self, "checkpoint_at", tuple(int(i) for i in self.checkpoint_at))
        self.validate()

    def validate(self) -> None:
        """Clear errors for bad settings, before any work starts."""
        check_int_fields(self, ("hidden", "batch", "seq_len", "eval_every", "eval_size",
                                "checkpoint_every", "threads"), 1)
        check_int_fields(self, ("iterations", "seed"), 0)
        if not isinstance(self.lr, (int, float)) or not self.lr > 0 or not math.isfinite(self.lr):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.init not in ("default", "orthogonal"):
            raise ValueError(f"init must be 'default' or 'orthogonal', got {self.init!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 or None, got {self.grad_clip!r}")
        if self.loss_on not in ("all", "td", "ti"):
            raise ValueError(f"loss_on must be 'all', 'td' or 'ti', got {self.loss_on!r}")
        if self.stop_at_td is not None and not 0 < self.stop_at_td <= 1:
            raise ValueError(f"stop_at_td must be in (0, 1] or None, got {self.stop_at_td!r}")
        if not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ValueError(f"device must be 'cpu' or 'cuda[:i]', got {self.device!r}")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {self.device!r} requested but CUDA is not available here")
        if self.init_from is not None and not Path(self.init_from).is_file():
            raise ValueError(f"init_from must be an existing checkpoint file, got {self.init_from!r}")
        resolve_arch(self.arch)
        self.make_task()

    def make_task(self) -> Task:
        """The task (raises ``TypeError`` for kwargs the task does not take)."""
        return make_task(self.task, **self.task_kwargs)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["checkpoint_at"] = list(self.checkpoint_at)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}; allowed: {sorted(names)}")
        return cls(**d)


def head_spec(task: Task) -> tuple[int, str]:
    """``(output_size, loss)``: one logit per binary channel with BCE, else K logits with CE."""
    if task.target_channels is not None:
        if task.target_channels.max() > 1:
            return int(task.target_channels.shape[1]), "unsupported"
        return int(task.target_channels.shape[1]), "bce"
    K = task.automaton.num_outputs
    return (1, "bce") if K == 2 else (K, "ce")


def loss_and_correct(logits: Tensor, targets: Tensor, kind: str, weight: Tensor | None
                     ) -> tuple[Tensor, Tensor]:
    """Mean loss over the steps where ``weight`` is True (all if None) and per-step correctness
    ``[B, T]`` (all channels right for multi-channel targets)."""
    if kind == "bce":
        tgt = targets.float() if targets.dim() == logits.dim() else targets.float()[..., None]
        per = nn.functional.binary_cross_entropy_with_logits(logits, tgt, reduction="none")
        per = per.mean(-1)
        correct = ((logits > 0) == (tgt > 0.5)).all(-1)
    else:
        per = nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        correct = logits.argmax(-1) == targets
    if weight is None:
        return per.mean(), correct
    return (per * weight).sum() / weight.sum().clamp(min=1), correct


def _acc(correct: Tensor, mask: Tensor) -> float | None:
    n = int(mask.sum())
    return float(correct[mask].float().mean()) if n else None


def recurrent_block(model: nn.Module) -> Tensor | None:
    """The square recurrent matrix ``[H, H]``: W_hh for Elman/linear networks, the candidate
    block for a GRU, the cell block for an LSTM (``None`` for models without one)."""
    w = getattr(model, "recurrent_weight", None)
    if w is None:
        return None
    H = w.shape[1]
    block = w[2 * H : 3 * H] if w.shape[0] in (3 * H, 4 * H) else w  # GRU candidate / LSTM cell
    return block.detach() if block.shape[0] == block.shape[1] else None


def spectral_radius(model: nn.Module) -> float | None:
    block = recurrent_block(model)
    if block is None:
        return None
    return float(torch.linalg.eigvals(block.double().cpu()).abs().max())


# -- checkpoints ---------------------------------------------------------------------------------
def save_checkpoint(path: Path, iteration: int, config: TrainConfig, model: nn.Module,
                    opt: torch.optim.Optimizer, data_rng: np.random.Generator, wall_s: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "iteration": iteration,
                "config": json.dumps(config.to_dict()), "model": model.state_dict(),
                "optimizer": opt.state_dict(), "data_rng": json.dumps(data_rng.bit_generator.state),
                "wall_s": wall_s}, tmp)
    os.replace(tmp, path)  # never leave a half-written checkpoint under the real name


def load_checkpoint(path: str | Path, config: TrainConfig | None = None) -> dict[str, Any]:
    """Load with ``weights_only=True``; ``ValueError`` for a corrupt file, a foreign file, or (with
    ``config``) a checkpoint of a different run."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError) as err:
        raise ValueError(f"checkpoint {str(path)!r} is corrupt or not a ta-envs checkpoint: "
                         f"{type(err).__name__}: {str(err)[:200]}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {str(path)!r} is not a {CHECKPOINT_FORMAT} file")
    stored = json.loads(state["config"])
    state["init_from"] = stored.get("init_from")  # the weights are in the checkpoint itself,
    stored["init_from"] = None  # so a moved or deleted init file does not matter any more
    state["config"] = TrainConfig.from_dict(stored)
    state["data_rng"] = json.loads(state["data_rng"])
    if config is not None:
        a, b = state["config"].to_dict(), config.to_dict()
        diff = sorted(k for k in a if a[k] != b[k] and k not in RESUMABLE_CHANGES)
        if diff:
            raise ValueError(f"checkpoint {str(path)!r} belongs to a different run: fields "
                             f"{diff} differ ({', '.join(f'{k}: {a[k]!r} != {b[k]!r}' for k in diff)})")
    return state


def load_model(checkpoint: str | Path) -> tuple[nn.Module, Task, TrainConfig]:
    """The trained model (eval mode, on CPU), its task and config from one checkpoint file."""
    state = load_checkpoint(checkpoint)
    config = replace(state["config"], device="cpu")
    task, model, _, _ = build(config)
    model.load_state_dict(state["model"])
    return model.eval(), task, config


def checkpoints(run_dir: str | Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    return sorted(Path(run_dir, "checkpoints").glob("it_*.pt"))


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(run_dir, "metrics.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- the run -------------------------------------------------------------------------------------
@dataclass
class RunResult:
    run_dir: Path
    iterations: int
    final: dict[str, Any]
    wall_s: float


def build(config: TrainConfig) -> tuple[Task, nn.Module, torch.optim.Optimizer, str]:
    """Task, model (freshly initialised from a generator seeded with ``config.seed``, then loaded
    from ``config.init_from`` if set), optimiser, loss kind."""
    task = config.make_task()
    out_size, kind = head_spec(task)
    if kind == "unsupported":
        raise ValueError(f"task {config.task}: multi-class channels are not supported")
    gen = torch.Generator().manual_seed(config.seed)
    kw = {"init": config.init, "gain": config.gain} if config.arch in BUILTIN else {}
    model = build_model(config.arch, int(task.obs_table.shape[1]), config.hidden, out_size,
                        generator=gen, **kw).to(config.device)
    if config.init_from is not None:
        try:
            model.load_state_dict(load_checkpoint(config.init_from)["model"])
        except RuntimeError as err:
            raise ValueError(f"init_from {config.init_from!r} does not fit this model "
                             f"({config.arch}, hidden {config.hidden}): {str(err)[:200]}") from None
    if config.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=config.lr,
                                                     momentum=config.momentum)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    return task, model, opt, kind


def train(config: TrainConfig, run_dir: str | Path, resume: bool = True, progress: bool = True,
          on_iteration: Callable[[int], None] | None = None) -> RunResult:
    """Train one run into ``run_dir`` (resuming from its last checkpoint when ``resume``)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.threads)
    task, model, opt, kind = build(config)
    ds = make_dataset(task, config.batch, config.seq_len, seed=config.seed)
    val = ds.fixed(config.eval_size)
    dev = config.device
    val_t = {k: torch.from_numpy(v).to(dev) for k, v in val.as_dict().items()}
    metrics_path = run_dir / "metrics.jsonl"
    start, wall0 = 0, 0.0
    existing = checkpoints(run_dir) if resume else []
    if existing:
        state = load_checkpoint(existing[-1], config)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        ds.rng.bit_generator.state = state["data_rng"]
        start, wall0 = int(state["iteration"]), float(state["wall_s"])
        kept = [m for m in read_metrics(run_dir) if m["it"] <= start]
        metrics_path.write_text("".join(json.dumps(m) + "\n" for m in kept))
        if kept and config.stop_at_td is not None and \
                (kept[-1].get("val_td_acc") or 0) >= config.stop_at_td:
            return RunResult(run_dir, start, kept[-1], wall0)  # it had already stopped
    else:
        metrics_path.write_text("")
        for old in checkpoints(run_dir):
            old.unlink()
    (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")

    weight_key = {"all": None, "td": "mask_td", "ti": "mask_ti"}[config.loss_on]
    schedule = set(config.checkpoint_at) | {config.iterations}

    def evaluate() -> dict[str, Any]:
        model.eval()
        with torch.no_grad():
            logits, _ = model(val_t["inputs"])
            loss, correct = loss_and_correct(logits, val_t["targets"], kind, None)
        model.train()
        return {"val_loss": float(loss), "val_td_acc": _acc(correct, val_t["mask_td"]),
                "val_ti_acc": _acc(correct, val_t["mask_ti"])}

    t0 = time.perf_counter() - wall0
    with metrics_path.open("a") as log:
        if start == 0 and not existing:  # the initial network: evaluated and checkpointed
            m0 = {"it": 0, **evaluate(), "spectral_radius": spectral_radius(model), "wall_s": 0.0}
            log.write(json.dumps(m0) + "\n")
            log.flush()
            save_checkpoint(run_dir / "checkpoints" / f"it_{0:07d}.pt", 0, config, model, opt,
                            ds.rng, 0.0)
        bar = _progress(progress, config, start)
        it = start
        last: dict[str, Any] = {}
        try:
            for it in range(start + 1, config.iterations + 1):
                b = next(ds)
                x = torch.from_numpy(b.inputs).to(dev)
                y = torch.from_numpy(b.targets).to(dev)
                w = None if weight_key is None else torch.from_numpy(b[weight_key]).to(dev)
                logits, _ = model(x)
                loss, correct = loss_and_correct(logits, y, kind, w)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                gn = float(torch.nn.utils.clip_grad_norm_(
                    model.parameters(), config.grad_clip if config.grad_clip else float("inf")))
                opt.step()
                m: dict[str, Any] = {
                    "it": it, "loss": float(loss.detach()),
                    "td_acc": _acc(correct, torch.from_numpy(b.mask_td).to(dev)),
                    "ti_acc": _acc(correct, torch.from_numpy(b.mask_ti).to(dev)),
                    "grad_norm": gn, "spectral_radius": spectral_radius(model)}
                if it % config.eval_every == 0 or it == config.iterations:
                    m.update(evaluate())
                m["wall_s"] = round(time.perf_counter() - t0, 3)
                log.write(json.dumps(m) + "\n")
                last = m
                if it % config.checkpoint_every == 0 or it in schedule:
                    log.flush()
                    save_checkpoint(run_dir / "checkpoints" / f"it_{it:07d}.pt", it, config,
                                    model, opt, ds.rng, m["wall_s"])
                if bar is not None:
                    bar.update(1)
                    if "val_td_acc" in m:
                        bar.set_postfix(td=m["val_td_acc"], ti=m["val_ti_acc"], loss=m["loss"])
                if on_iteration is not None:
                    on_iteration(it)
                if config.stop_at_td is not None and (m.get("val_td_acc") or 0) >= config.stop_at_td:
                    if it not in schedule:
                        save_checkpoint(run_dir / "checkpoints" / f"it_{it:07d}.pt", it, config,
                                        model, opt, ds.rng, m["wall_s"])
                    break
        except KeyboardInterrupt:
            log.flush()
            if it > start:  # keep the work done: checkpoint the last completed iteration
                save_checkpoint(run_dir / "checkpoints" / f"it_{it:07d}.pt", it, config, model,
                                opt, ds.rng, time.perf_counter() - t0)
            raise
        finally:
            if bar is not None:
                bar.close()
    return RunResult(run_dir, it, last, time.perf_counter() - t0)


def _progress(enabled: bool, config: TrainConfig, start: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.iterations, initial=start, desc=f"{config.arch} seed {config.seed}",
                unit="it", leave=False)


def _train_worker(args: tuple[dict[str, Any], str, bool]) -> str:
    config, run_dir, resume = args
    train(TrainConfig.from_dict(config), run_dir, resume=resume, progress=False)
    return run_dir


def train_seeds(config: TrainConfig, seeds: Sequence[int], out_dir: str | Path, workers: int = 1,
                resume: bool = True, progress: bool = True) -> list[Path]:
    """One run per seed in ``out_dir/seed_XXX`` (worker processes when ``workers > 1``; each run
    resumes from its own last checkpoint). Returns the run directories in seed order."""
    out_dir = Path(out_dir)
    jobs = [(replace(config, seed=int(s)).to_dict(), str(out_dir / f"seed_{int(s):03d}"), resume)
            for s in seeds]
    if workers <= 1:
        for job in (_tqdm(jobs, progress, "seeds")):
            _train_worker(job)
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_train_worker, job) for job in jobs]
            for f in _tqdm(as_completed(futures), progress, "seeds", total=len(jobs)):
                f.result()
    return [Path(j[1]) for j in jobs]


def _tqdm(it: Any, enabled: bool, desc: str, total: int | None = None) -> Any:
    if not enabled:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, desc=desc, total=total)
