"""The training config: everything that defines a run, validated before any work starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from ta_envs import Task, make_task
from ta_envs.validation import (
    InvalidType,
    InvalidValue,
    check_bool,
    check_bytes,
    check_choice,
    check_float,
    check_int,
    check_int_fields,
    check_optional,
    check_str,
)

from .models import check_arch_options, head_spec

#: Config fields that may differ between a checkpoint and the run resuming from it.
RESUMABLE_CHANGES = ("iterations", "checkpoint_every", "checkpoint_at", "device", "threads",
                     "stop_at_td", "continue_after_stop", "init_from", "tensorboard")
OPTIMIZERS = ("sgd", "adam")
INITS = ("default", "orthogonal")
LOSS_ON = ("all", "td", "ti")


def check_device(device: Any) -> str:
    """``cpu``, ``cuda``, ``cuda:<i>`` or ``auto`` (CUDA when present, else CPU)."""
    check_str("device", device)
    if device in ("cpu", "auto", "cuda") or (device.startswith("cuda:") and device[5:].isdigit()):
        return device
    raise InvalidValue(f"device must be 'cpu', 'cuda', 'cuda:<index>' or 'auto', got {device!r}")


def resolve_device(device: str) -> str:
    """The torch device a config's ``device`` means here; ``InvalidValue`` when CUDA is asked for
    and absent."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidValue(f"device {device!r} requested but CUDA is not available here "
                           "(use --device cpu or auto)")
    return device


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. Defaults: the recipe under which the 64-unit tanh RNN
    shows the three learning phases on ``TemporalFlipFlop-v0`` (orthogonal W_hh, SGD + momentum,
    gradient-norm clipping; see the results pages).

    ``arch`` is a built-in name or ``module:Class``; ``model_kw`` are extra constructor arguments.
    ``init``/``gain`` (None: the architecture's default) exist only for the built-ins that
    document them (``rnn``, ``gru``, ``lstm``, ``linear``); elsewhere setting them is an error.
    """

    task: str = "TemporalFlipFlop-v0"
    task_kwargs: Mapping[str, Any] = field(default_factory=dict)
    arch: str = "rnn"
    hidden: int = 64
    model_kw: Mapping[str, Any] = field(default_factory=dict)
    init: str | None = None
    gain: float | None = None
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
    continue_after_stop: int = 0  #: iterations to keep training after stop_at_td is reached
    device: str = "cpu"
    threads: int = 1
    init_from: str | None = None  #: start from this checkpoint's weights (e.g. retraining)
    tensorboard: bool = False  #: also write TensorBoard event files under ``tensorboard/``

    def __post_init__(self) -> None:
        for name in ("task_kwargs", "model_kw"):
            v = getattr(self, name)
            if not isinstance(v, Mapping):
                raise InvalidType(f"{name} must be a mapping, got {type(v).__name__}")
            object.__setattr__(self, name, dict(v))
        if isinstance(self.checkpoint_at, (str, bytes)) or not hasattr(self.checkpoint_at,
                                                                         "__iter__"):
            raise InvalidType(f"checkpoint_at must be a sequence of ints, got "
                              f"{self.checkpoint_at!r}")
        object.__setattr__(self, "checkpoint_at", tuple(
            check_int(f"checkpoint_at[{i}]", v, 0) for i, v in enumerate(self.checkpoint_at)))
        self.validate()

    def validate(self) -> None:
        """Clear errors for bad settings, before any work starts. Imports no user module."""
        check_str("task", self.task)
        check_str("arch", self.arch)
        check_int_fields(self, ("hidden", "batch", "seq_len", "eval_every", "eval_size",
                                "checkpoint_every", "threads"), 1)
        check_int_fields(self, ("iterations", "continue_after_stop"), 0)
        check_int("seed", self.seed, 0, 2**32 - 1)
        if self.continue_after_stop and self.stop_at_td is None:
            raise InvalidValue("continue_after_stop needs stop_at_td")
        check_float("lr", self.lr, above=0.0)
        check_float("momentum", self.momentum, 0.0, below=1.0)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("loss_on", self.loss_on, LOSS_ON)
        check_optional(check_float, "grad_clip", self.grad_clip, above=0.0)
        check_optional(check_float, "stop_at_td", self.stop_at_td, maximum=1.0, above=0.0)
        check_optional(check_choice, "init", self.init, INITS)
        check_optional(check_float, "gain", self.gain, above=0.0)
        check_device(self.device)
        check_bool("tensorboard", self.tensorboard)
        check_arch_options(self.arch, self.init, self.gain, self.model_kw)
        if self.init_from is not None:
            if not Path(check_str("init_from", self.init_from)).is_file():
                raise InvalidValue(f"init_from must be an existing checkpoint file, got "
                                   f"{self.init_from!r}")
        task = self.make_task()

        head_spec(task)  # refuses targets no head supports
        per_step = self.step_bytes(task)
        check_bytes(f"batch={self.batch} x seq_len={self.seq_len}",
                    self.batch * self.seq_len * per_step, "lower batch or seq_len")
        check_bytes(f"eval_size={self.eval_size} x seq_len={self.seq_len}",
                    self.eval_size * self.seq_len * per_step,
                    "lower eval_size (the held-out set is built once) or seq_len")

    def step_bytes(self, task: Task) -> int:
        """Rough bytes per sequence step: the batch's arrays plus the network's activations kept
        for backpropagation (about eight floats per hidden unit)."""
        D, X = task.obs_table.shape[1], len(task.automaton.clocks)
        return 4 * D + 8 + 2 + 8 + 8 * X + 32 * self.hidden

    def make_task(self) -> Task:
        """The task (raises ``TypeError`` for kwargs the task does not take)."""
        return make_task(self.task, **self.task_kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable)."""
        d = asdict(self)
        d["checkpoint_at"] = list(self.checkpoint_at)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        """Inverse of `to_dict()`; unknown fields are an error. Older configs (no
        ``model_kw``, ``tensorboard``) load with their defaults."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise InvalidValue(f"unknown config fields {sorted(unknown)}; allowed: {sorted(names)}")
        return cls(**d)
