"""Supervised sequence datasets: an endless iterator of fresh batches, plus fixed validation sets.

Row ``i`` of the first batch of ``make_dataset(task, B, T, seed=s)`` is episode ``i + 1`` of a single
env of the same task (``episode_length=T``) reset once with ``seed=s`` and then without a seed: both
draw one uniform double per step from ``default_rng(s)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from .simulate import rollout
from .tasks import Task, make_task

if TYPE_CHECKING:
    from .torch_data import TorchTaskDataset


@dataclass(frozen=True, eq=False)
class Batch:
    """One batch. Shapes are batch-first ``[B, T, ...]`` (``[T, B, ...]`` when ``batch_first=False``).

    ``inputs`` float32 ``[B, T, D]``; ``targets`` int64 ``[B, T]`` (``[B, T, N]`` for a multi-channel
    task); ``mask_td``/``mask_ti`` bool ``[B, T]`` (complementary); ``theta`` int64 ``[B, T]`` (-1 if
    the task has no Θ); ``clocks`` int64 ``[B, T, X]``; ``symbols`` int64 ``[B, T]`` symbol indices.
    Also readable as a mapping: ``batch["inputs"]``.
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask_td: np.ndarray
    mask_ti: np.ndarray
    theta: np.ndarray
    clocks: np.ndarray
    symbols: np.ndarray

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self.keys():
            raise KeyError(f"{key!r}; batch keys are {self.keys()}")
        return getattr(self, key)

    @staticmethod
    def keys() -> tuple[str, ...]:
        return tuple(f.name for f in fields(Batch))

    def as_dict(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in self.keys()}


class TaskDataset:
    """Endless iterator of :class:`Batch` for one task (build it with :func:`make_dataset`)."""

    def __init__(self, task: Task, batch_size: int, seq_len: int,
                 seed: int | np.random.SeedSequence | None = None, batch_first: bool = True) -> None:
        for name, v in (("batch_size", batch_size), ("seq_len", seq_len)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
            if v < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first must be a bool, got {type(batch_first).__name__}")
        if seed is not None and not isinstance(seed, np.random.SeedSequence) and (
                isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"seed must be an int >= 0, a SeedSequence or None, got {seed!r}")
        self.task = task
        self.batch_size = int(batch_size)
        self.seq_len = int(seq_len)
        self.batch_first = batch_first
        self.seed_seq = seed if isinstance(seed, np.random.SeedSequence) else \
            np.random.SeedSequence(None if seed is None else int(seed))
        self.rng = np.random.Generator(np.random.PCG64(self.seed_seq))

    @property
    def input_size(self) -> int:
        return int(self.task.obs_table.shape[1])

    @property
    def num_outputs(self) -> int:
        """Classes per target (per channel for a multi-channel task)."""
        tc = self.task.target_channels
        return self.task.automaton.num_outputs if tc is None else int(tc.max()) + 1

    def __iter__(self) -> Iterator[Batch]:
        return self

    def __next__(self) -> Batch:
        return self.sample(self.rng, self.batch_size, self.seq_len)

    def sample(self, rng: np.random.Generator, batch_size: int, seq_len: int) -> Batch:
        """A batch of ``batch_size`` sequences of ``seq_len`` steps drawn from ``rng``."""
        symbols = self.task.sample_symbols(rng, (batch_size, seq_len))
        if not self.batch_first:  # same draws, simulated time-major
            symbols = np.ascontiguousarray(symbols.T)
        r = rollout(self.task, symbols, time_major=not self.batch_first)
        return Batch(inputs=r.inputs, targets=r.targets, mask_td=r.mask_td, mask_ti=~r.mask_td,
                     theta=r.theta, clocks=r.clocks, symbols=r.symbols)

    def fixed(self, n: int, seq_len: int | None = None) -> Batch:
        """A validation set of ``n`` sequences (``seq_len`` defaults to the training length, longer
        for length generalisation). Deterministic given the seed, independent of the training
        stream, and the same on every call."""
        rng = np.random.Generator(np.random.PCG64(self._child(1)))
        return self.sample(rng, int(n), self.seq_len if seq_len is None else int(seq_len))

    def split(self, index: int) -> TaskDataset:
        """An independent dataset (stream ``index``) with the same settings, e.g. for a worker."""
        return TaskDataset(self.task, self.batch_size, self.seq_len, self._child(2, int(index)),
                           self.batch_first)

    def torch(self, device: Any = None) -> TorchTaskDataset:
        """A ``torch.utils.data.IterableDataset`` over this dataset (needs torch)."""
        from .torch_data import TorchTaskDataset

        return TorchTaskDataset(self, device=device)

    def _child(self, *key: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed_seq.entropy,
                                      spawn_key=tuple(self.seed_seq.spawn_key) + key)


def make_dataset(
    task: str | Task | Mapping[str, Any] | Any,
    batch_size: int,
    seq_len: int,
    seed: int | None = None,
    batch_first: bool = True,
    **task_kwargs: Any,
) -> TaskDataset:
    """Supervised batches of a registered id (``task_kwargs`` override its defaults), a
    :class:`~ta_envs.tasks.Task`, or an automaton (object, dict, JSON path).

    >>> ds = make_dataset("TemporalFlipFlop-v0", batch_size=64, seq_len=96, seed=0, period=24)
    >>> b = next(ds); b.inputs.shape, b.targets.shape
    ((64, 96, 2), (64, 96))
    """
    return TaskDataset(make_task(task, **task_kwargs), batch_size, seq_len, seed, batch_first)
