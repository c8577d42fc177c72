"""Training engine: one run = one config and seed, written to a run directory
([`baselines.runs`][baselines.runs]).

``metrics.jsonl`` gets one row per iteration: ``it``, ``loss``, ``td_acc``, ``ti_acc`` (the training
batch), ``grad_norm`` (before clipping), ``wall_s``; every ``eval_every`` iterations (and at the
last) also ``val_loss``, ``val_td_acc``, ``val_ti_acc``, ``val_acc`` (all steps) on a fixed
held-out set and ``spectral_radius`` of the recurrent matrix. Row ``it = 0`` is the evaluation
before training and ``it_0000000.pt`` the initial network.

**Exact resume.** A checkpoint holds the model, the optimiser and the data stream's generator state
after its iteration; resuming from it reproduces the uninterrupted run's metrics and weights
exactly. SIGINT and SIGTERM are deferred to the end of the current iteration, which is then
checkpointed (so Ctrl-C never saves a half-done iteration); after SIGKILL the run resumes from its
last checkpoint and the log rows after it are dropped. The directory is locked while a run writes.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ta_envs import Task, make_dataset
from ta_envs.progress import progress as progress_reporter
from ta_envs.validation import Interrupted, InvalidValue, check_int

from .config import TrainConfig, resolve_device
from .models import eval_chunk, head_spec, predict, spectral_radius
from .provenance import record_run
from .runs import (
    MetricsLog,
    RunLock,
    atomic_write_json,
    checkpoint_path,
    checkpoints,
    load_checkpoint,
    load_weights,
    make_model,
    read_metrics,
    remove_checkpoints,
    save_checkpoint,
)
from .workers import run_parallel


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


def _td_ti_acc(correct: Tensor, mask_td: Tensor) -> tuple[float | None, float | None]:
    """Accuracy on TD steps and on the other (TI) steps with one device sync; the same float32
    values as `_acc()` (an exact count over a count)."""
    counts = torch.stack([(correct & mask_td).sum(), correct.sum(), mask_td.sum()])
    td_c, all_c, td_n = counts.tolist()
    ti_n = correct.numel() - td_n
    ratio = torch.tensor([td_c, all_c - td_c], dtype=torch.float32) / \
        torch.tensor([max(td_n, 1), max(ti_n, 1)], dtype=torch.float32)
    td, ti = ratio.tolist()
    return (td if td_n else None), (ti if ti_n else None)


@dataclass(frozen=True)
class RunResult:
    """How a call to `train()` ended: the last iteration done and its metrics row."""

    run_dir: Path
    iterations: int
    final: dict[str, Any]
    wall_s: float


class DivergedError(RuntimeError):
    """The loss became NaN or infinite; the run is stopped and recorded as failed."""


@dataclass
class Session:
    """The objects of one training run: task, model, optimiser, data and held-out set."""

    config: TrainConfig
    task: Task
    model: nn.Module
    optimizer: torch.optim.Optimizer
    kind: str
    data: Any
    val: dict[str, Tensor]
    device: str

    @classmethod
    def build(cls, config: TrainConfig) -> Session:
        """Fresh objects for ``config``: the model initialised from a generator seeded with
        ``config.seed`` (then loaded from ``config.init_from`` if set)."""
        device = resolve_device(config.device)
        task = config.make_task()
        _, kind = head_spec(task)
        model = make_model(config, task, torch.Generator().manual_seed(config.seed)).to(device)
        if config.init_from is not None:
            load_weights(model, load_checkpoint(config.init_from).model, config.init_from)
        if config.optimizer == "sgd":
            opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=config.lr,
                                                         momentum=config.momentum)
        else:
            opt = torch.optim.Adam(model.parameters(), lr=config.lr)
        data = make_dataset(task, config.batch, config.seq_len, seed=config.seed)
        val = {k: torch.from_numpy(v).to(device) for k, v in
               data.fixed(config.eval_size).as_dict().items()}
        return cls(config, task, model, opt, kind, data, val, device)

    def evaluate(self) -> dict[str, Any]:
        """Held-out loss and TD / TI / all-step accuracy, and the spectral radius."""
        self.model.eval()
        with torch.no_grad():  # in one call, or in chunks where the model asks for them
            logits = predict(self.model, self.val["inputs"], chunk=eval_chunk(self.model))
            loss, correct = loss_and_correct(logits, self.val["targets"], self.kind, None)
        self.model.train()
        if not bool(torch.isfinite(logits).all()):
            raise DivergedError(f"{self.config.arch} on {self.config.task}: the held-out "
                                "evaluation (eval mode) produced non-finite outputs; a run is not "
                                "scored on NaN or infinite logits")
        return {"val_loss": float(loss), "val_td_acc": _acc(correct, self.val["mask_td"]),
                "val_ti_acc": _acc(correct, self.val["mask_ti"]),
                "val_acc": float(correct.float().mean()),
                "spectral_radius": spectral_radius(self.model)}

    def step(self, it: int, weight_key: str | None,
             penalty: Callable[[nn.Module], Tensor] | None = None) -> dict[str, Any]:
        """One optimisation step on the next batch; its metrics row (without ``wall_s``).
        ``penalty(model)``, when given, is added to the loss (an intervention on training)."""
        b = next(self.data)
        dev = self.device
        x = torch.from_numpy(b.inputs).to(dev)
        y = torch.from_numpy(b.targets).to(dev)
        w = None if weight_key is None else torch.from_numpy(b[weight_key]).to(dev)
        logits = predict(self.model, x)
        loss, correct = loss_and_correct(logits, y, self.kind, w)
        if not torch.isfinite(loss):
            raise DivergedError(f"{self.config.arch} on {self.config.task}: the loss became "
                                f"{float(loss.detach())} at iteration {it} (lower the learning rate?)")
        total = loss if penalty is None else loss + penalty(self.model)
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        clip = self.config.grad_clip if self.config.grad_clip else float("inf")
        gn = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip))
        self.optimizer.step()
        td, ti = _td_ti_acc(correct, torch.from_numpy(b.mask_td).to(dev))
        return {"it": it, "loss": float(loss.detach()), "td_acc": td, "ti_acc": ti,
                "grad_norm": gn}

    def checkpoint(self, run_dir: Path, it: int, wall_s: float) -> Path:
        """Save iteration ``it`` (the state after its update and its batch draw)."""
        return save_checkpoint(checkpoint_path(run_dir, it), it, self.config, self.model,
                               self.optimizer, self.data.rng.bit_generator.state, wall_s)

    def restore(self, path: Path) -> tuple[int, float]:
        """Load a checkpoint of this run (refusing one of another run); ``(iteration, wall_s)``."""
        ck = load_checkpoint(path, self.config)
        load_weights(self.model, ck.model, path)
        self.optimizer.load_state_dict(ck.optimizer)
        self.data.rng.bit_generator.state = ck.data_rng
        return ck.iteration, ck.wall_s


class DeferredInterrupt:
    """While active (main thread only), SIGINT/SIGTERM set `requested` instead of raising;
    the training loop checkpoints at the end of the iteration and then raises
    [`Interrupted`][ta_envs.validation.Interrupted] (a ``KeyboardInterrupt`` carrying the signal)."""

    def __init__(self) -> None:
        self.requested = False
        self.signum = int(signal.SIGINT)
        self._old: dict[int, Any] = {}

    def __enter__(self) -> DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        self.signum = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _resume(session: Session, run_dir: Path, log: MetricsLog, resume: bool) -> tuple[int, float,
                                                                                    dict | None]:
    """Restore the last checkpoint (or start afresh); returns ``(start, wall0, last row)``."""
    existing = checkpoints(run_dir) if resume else []
    if existing:
        start, wall0 = session.restore(existing[-1])
        kept = log.truncate_to(start)
        if not kept or kept[-1].get("it") != start:

            raise InvalidValue(f"{run_dir / 'metrics.jsonl'} has no row for iteration {start} of "
                               f"checkpoint {existing[-1].name}: the log was edited or lost; "
                               "rerun with resume=False (--no-resume) to start afresh")
        return start, wall0, kept[-1]
    remove_checkpoints(checkpoints(run_dir))
    log.truncate_to(-1)
    return 0, 0.0, None


def _tensorboard(config: TrainConfig, run_dir: Path, start: int) -> Any:
    if not config.tensorboard:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(run_dir / "tensorboard"), purge_step=start + 1)


def train(config: TrainConfig, run_dir: str | Path, resume: bool = True, progress: bool = True,
          on_iteration: Callable[[int], None] | None = None, label: str | None = None
          ) -> RunResult:
    """Train one run into ``run_dir`` (resuming from its last checkpoint when ``resume``).

    Args:
        config: the whole recipe (task, model, optimiser, budget, checkpoints, stop rule).
        run_dir: the run directory (``config.json``, ``metrics.jsonl``, ``checkpoints/``); one
            writer at a time.
        resume: continue from the last checkpoint (exactly: model, optimiser and data stream).
        progress: show a progress bar with an ETA.
        on_iteration: called with the iteration number after each completed iteration.
        label: the progress bar's name (default ``"<arch> seed <seed>"``).

    Returns:
        The last iteration done, its metrics row and the training time summed over sessions.

    Raises:
        ValueError: a run directory of another configuration, or a bad configuration.
        RunLockedError: another process is writing ``run_dir``.
        DivergedError: the loss became non-finite (the run is recorded as failed).
        Interrupted: SIGINT or SIGTERM (after a checkpoint is written).
    """
    run_dir = Path(run_dir)
    with RunLock(run_dir):
        torch.set_num_threads(config.threads)
        session = Session.build(config)
        log = MetricsLog(run_dir / "metrics.jsonl")
        try:
            return _train_locked(session, run_dir, log, resume, progress, on_iteration, label)
        finally:
            log.close()


@dataclass
class _Budget:
    """Where training ends: the budget, or ``continue_after_stop`` iterations past the first
    evaluation with TD accuracy >= ``stop_at_td``; ``schedule`` holds the forced checkpoints."""

    config: TrainConfig
    stopped_at: int | None
    end: int = 0
    schedule: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.end = self._end()
        self.schedule = set(self.config.checkpoint_at) | {self.config.iterations, self.end}

    def _end(self) -> int:
        c = self.config
        return c.iterations if self.stopped_at is None else \
            min(c.iterations, self.stopped_at + c.continue_after_stop)

    def observe(self, it: int, row: dict[str, Any]) -> None:
        """Apply the stop rule to iteration ``it``'s metrics row."""
        target = self.config.stop_at_td
        if self.stopped_at is None and target is not None and \
                (row.get("val_td_acc") or 0) >= target:
            self.stopped_at = it
            self.end = self._end()
            self.schedule.add(self.end)

    def checkpoint_due(self, it: int) -> bool:
        return it % self.config.checkpoint_every == 0 or it in self.schedule or it >= self.end


def _train_locked(session: Session, run_dir: Path, log: MetricsLog, resume: bool, show: bool,
                  on_iteration: Callable[[int], None] | None, label: str | None = None
                  ) -> RunResult:
    config = session.config
    start, wall0, last = _resume(session, run_dir, log, resume)
    budget = _Budget(config, _stopped_at(config, run_dir) if last is not None else None)
    if last is not None and start >= budget.end:
        return RunResult(run_dir, start, last, wall0)  # it had already stopped
    atomic_write_json(run_dir / "config.json", config.to_dict())
    record_run(run_dir)
    t0 = time.perf_counter() - wall0
    if last is None:  # the initial network: evaluated and checkpointed
        last = {"it": 0, **session.evaluate(), "wall_s": 0.0}
        log.append(last)
        log.sync()
        session.checkpoint(run_dir, 0, 0.0)
    tb = _tensorboard(config, run_dir, start)
    bar = progress_reporter(config.iterations, label or f"{config.arch} seed {config.seed}", show,
                            initial=start, leave=False)
    loop = _Loop(session, run_dir, log, budget, tb, bar, t0, start, last,
                 it=start)
    try:
        with DeferredInterrupt() as interrupt:
            loop.run(on_iteration, interrupt)
    except KeyboardInterrupt:
        loop.keep_work()
        raise
    finally:
        bar.close()
        if tb is not None:
            tb.close()
    # the training time as the checkpoints record it (a resume continues from that clock)
    return RunResult(run_dir, loop.it, loop.last, float(loop.last["wall_s"]))


@dataclass
class _Loop:
    """The training loop's state: the last completed iteration and its metrics row."""

    session: Session
    run_dir: Path
    log: MetricsLog
    budget: _Budget
    tb: Any
    bar: Any
    t0: float
    start: int
    last: dict[str, Any]
    it: int = -1
    at_boundary: bool = True  # the model, optimiser and data stream are those after ``it``

    def run(self, on_iteration: Callable[[int], None] | None, interrupt: DeferredInterrupt
            ) -> None:
        config = self.session.config
        weight_key = {"all": None, "td": "mask_td", "ti": "mask_ti"}[config.loss_on]
        for it in range(self.it + 1, self.budget.end + 1):
            self.it, self.at_boundary = it, False
            m = self.session.step(it, weight_key)
            if it % config.eval_every == 0 or it == config.iterations:
                m.update(self.session.evaluate())
            m["wall_s"] = round(time.perf_counter() - self.t0, 3)
            self.log.append(m)
            self.at_boundary, self.last = True, m
            self._record(it, m)
            if on_iteration is not None:
                on_iteration(it)
            if interrupt.requested:
                raise Interrupted(interrupt.signum)
            if it >= self.budget.end:
                break

    def _record(self, it: int, m: dict[str, Any]) -> None:
        """TensorBoard, the stop rule, the checkpoint schedule and the progress bar."""
        if self.tb is not None:
            _log_tensorboard(self.tb, m)
        self.budget.observe(it, m)
        if self.budget.checkpoint_due(it):
            self.log.sync()
            self.session.checkpoint(self.run_dir, it, m["wall_s"])
        self.bar.update(1)
        if "val_td_acc" in m:
            self.bar.set_postfix(td=m["val_td_acc"], ti=m["val_ti_acc"], loss=m["loss"])

    def keep_work(self) -> None:
        """On an interrupt: checkpoint the last completed iteration unless it already is."""
        done = checkpoint_path(self.run_dir, self.it).exists()
        if self.at_boundary and self.it > self.start and not done:
            self.log.sync()
            self.session.checkpoint(self.run_dir, self.it, time.perf_counter() - self.t0)


def _stopped_at(config: TrainConfig, run_dir: Path) -> int | None:
    """The first logged iteration that met ``stop_at_td`` (None: not yet, or no criterion)."""
    if config.stop_at_td is None:
        return None
    rows = read_metrics(run_dir)
    return next((r["it"] for r in rows if (r.get("val_td_acc") or 0) >= config.stop_at_td), None)


def _log_tensorboard(tb: Any, m: dict[str, Any]) -> None:
    it = m["it"]
    for k in ("loss", "td_acc", "ti_acc", "grad_norm", "val_loss", "val_td_acc", "val_ti_acc",
              "val_acc", "spectral_radius"):
        v = m.get(k)
        if v is not None:
            tb.add_scalar(("val/" if k.startswith("val_") else "train/") + k, v, it)


def _train_job(job: tuple[dict[str, Any], str, bool]) -> str:
    config, run_dir, resume = job
    train(TrainConfig.from_dict(config), run_dir, resume=resume, progress=False)
    return run_dir


def train_seeds(config: TrainConfig, seeds: Sequence[int], out_dir: str | Path, workers: int = 1,
                resume: bool = True, progress: bool = True) -> list[Path]:
    """One run per seed in ``out_dir/seed_XXX``.

    Args:
        config: the recipe; its ``seed`` is replaced by each seed.
        seeds: the seeds (one run each).
        out_dir: the folder that holds ``seed_XXX`` run directories.
        workers: worker processes (they die with this one); each run resumes from its own last
            checkpoint.
        resume: continue existing runs.
        progress: show progress bars.

    Returns:
        The run directories, in seed order.

    Raises:
        ValueError: no seeds, a bad worker count, or a run directory of another configuration.
    """
    check_int("workers", workers, 1)
    if len(seeds) == 0:

        raise InvalidValue("seeds must name at least one seed")
    out_dir = Path(out_dir)
    jobs = [(replace(config, seed=check_int("seed", s, 0)).to_dict(),
             str(out_dir / f"seed_{int(s):03d}"), resume) for s in seeds]
    if workers == 1 and len(jobs) == 1:
        train(TrainConfig.from_dict(jobs[0][0]), jobs[0][1], resume=resume, progress=progress)
    else:
        run_parallel(_train_job, jobs, workers, desc="seeds", show_progress=progress)
    return [Path(j[1]) for j in jobs]


__all__ = ["DeferredInterrupt", "DivergedError", "RunResult", "Session", "loss_and_correct",
           "read_metrics", "train", "train_seeds"]
