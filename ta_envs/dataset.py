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

from .catalog import make_task
from .simulate import rollout, rollout_into
from .tasks import Task
from .validation import InvalidType, InvalidValue, check_bool, check_int, check_seed

#: Largest batch [`TaskDataset.sample()`][ta_envs.dataset.TaskDataset.sample] draws at once (bytes over
#: all seven
#: arrays).
MAX_BATCH_BYTES = 8 << 30

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
        value: np.ndarray = getattr(self, key)
        return value

    @staticmethod
    def keys() -> tuple[str, ...]:
        """Names of the arrays a batch holds."""
        return tuple(f.name for f in fields(Batch))

    def as_dict(self) -> dict[str, np.ndarray]:
        """The batch as a dict of arrays."""
        return {k: getattr(self, k) for k in self.keys()}


class TaskDataset:
    """Endless iterator of `Batch` for one task (build it with `make_dataset()`)."""

    def __init__(self, task: Task, batch_size: int, seq_len: int,
                 seed: int | np.random.SeedSequence | None = None, batch_first: bool = True) -> None:
        check_int("batch_size", batch_size, 1)
        check_int("seq_len", seq_len, 1)
        check_bool("batch_first", batch_first)
        if seed is not None and not isinstance(seed, np.random.SeedSequence):
            check_seed("seed", seed)
        self.task = task
        self.batch_size = int(batch_size)
        self.seq_len = int(seq_len)
        self.batch_first = batch_first
        self.seed_seq = seed if isinstance(seed, np.random.SeedSequence) else \
            np.random.SeedSequence(None if seed is None else int(seed))
        self.rng = np.random.Generator(np.random.PCG64(self.seed_seq))
        self._step_bytes = self.bytes_per_step
        self._buffers: dict[str, np.ndarray] = {}
        self._spec: dict[str, tuple[np.dtype[Any], tuple[int, ...]]] | None = None

    @property
    def bytes_per_step(self) -> int:
        """Bytes one step takes in a `Batch` (all seven arrays)."""
        D = int(self.task.obs_table.shape[1])
        X = len(self.task.automaton.clocks)
        tc = self.task.target_channels
        N = 1 if tc is None else int(tc.shape[1])
        return 4 * D + 8 * N + 2 + 8 + 8 * X + 8

    @property
    def input_size(self) -> int:
        """Width of one input vector."""
        return int(self.task.obs_table.shape[1])

    @property
    def num_outputs(self) -> int:
        """Classes per target (per channel for a multi-channel task)."""
        tc = self.task.target_channels
        return self.task.automaton.num_classes if tc is None else int(tc.max()) + 1

    def __iter__(self) -> Iterator[Batch]:
        return self

    def __next__(self) -> Batch:
        return self.sample(self.rng, self.batch_size, self.seq_len)

    def sample(self, rng: np.random.Generator, batch_size: int, seq_len: int) -> Batch:
        """A batch of ``batch_size`` sequences of ``seq_len`` steps drawn from ``rng``."""
        check_int("batch_size", batch_size, 1)
        check_int("seq_len", seq_len, 1)
        if not isinstance(rng, np.random.Generator):
            raise InvalidType(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        need = batch_size * seq_len * self._step_bytes
        if need > MAX_BATCH_BYTES:
            raise InvalidValue(f"a batch of {batch_size} x {seq_len} steps needs {need / 2**30:.1f} "
                               f"GiB, above the {MAX_BATCH_BYTES / 2**30:.0f} GiB limit; draw "
                               "smaller batches (or shorter sequences) and iterate")
        symbols = self.task.sample_symbols(rng, (batch_size, seq_len))
        if not self.batch_first:  # same draws, simulated time-major
            symbols = np.ascontiguousarray(symbols.T)
        r = rollout(self.task, symbols, time_major=not self.batch_first, check=False)
        return Batch(inputs=r.inputs, targets=r.targets, mask_td=r.mask_td, mask_ti=~r.mask_td,
                     theta=r.theta, clocks=r.clocks, symbols=r.symbols)

    def empty_batch(self) -> Batch:
        """A `Batch` of uninitialised arrays of this dataset's shape, for
        `sample_into()`."""
        B, T = self.batch_size, self.seq_len
        shape = (B, T) if self.batch_first else (T, B)
        tc = self.task.target_channels
        tshape = shape if tc is None else shape + (int(tc.shape[1]),)
        X = len(self.task.automaton.clocks)
        return Batch(inputs=np.empty(shape + (self.input_size,), np.float32),
                     targets=np.empty(tshape, np.int64), mask_td=np.empty(shape, bool),
                     mask_ti=np.empty(shape, bool), theta=np.empty(shape, np.int64),
                     clocks=np.empty(shape + (X,), np.int64), symbols=np.empty(shape, np.int64))

    def sample_into(self, batch: Batch) -> Batch:
        """Draw the next batch of the stream (the values ``next(ds)`` would give) into
        ``batch``'s arrays, reusing their memory (opt-in: the arrays of the previous batch are
        overwritten). ``batch`` comes from `empty_batch()` or an earlier ``next(ds)``."""
        if not self.batch_first:
            raise InvalidValue("sample_into needs batch_first=True")
        B, T = self.batch_size, self.seq_len
        if batch.symbols.shape != (B, T) or batch.inputs.shape[2] != self.input_size:
            raise InvalidValue(f"sample_into needs a batch of shape ({B}, {T}), got "
                               f"{batch.symbols.shape}")
        spec = self._spec
        if spec is None:  # the dtype and shape of each field, from one empty batch (kept)
            spec = self._spec = {k: (v.dtype, v.shape)
                                 for k, v in self.empty_batch().as_dict().items()}
        for name, arr in batch.as_dict().items():
            dtype, shape = spec[name]
            if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.shape != shape:
                raise InvalidValue(f"sample_into: batch.{name} must be a {dtype} array of shape "
                                   f"{shape} (use empty_batch()), got "
                                   f"{getattr(arr, 'dtype', type(arr).__name__)} "
                                   f"{getattr(arr, 'shape', '')}")
            if not arr.flags.writeable:
                raise InvalidValue(f"sample_into: batch.{name} is read-only; pass arrays it may "
                                   "overwrite (empty_batch())")
        u = self._scratch("u", np.float64)
        self.rng.random(out=u)
        batch.symbols[...] = self.task.symbols_from_uniform(u)
        rollout_into(self.task, batch.symbols, batch.as_dict(), self._scratch("idx", np.int64))
        return batch

    def _scratch(self, name: str, dtype: Any) -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or buf.shape != (self.batch_size, self.seq_len):
            buf = self._buffers[name] = np.empty((self.batch_size, self.seq_len), dtype)
        return buf

    def fixed(self, n: int, seq_len: int | None = None) -> Batch:
        """A validation set of ``n`` sequences (``seq_len`` defaults to the training length, longer
        for length generalisation). Deterministic given the seed, independent of the training
        stream, and the same on every call."""
        check_int("n", n, 1)
        seq_len = self.seq_len if seq_len is None else check_int("seq_len", seq_len, 1)
        rng = np.random.Generator(np.random.PCG64(self._child(1)))
        return self.sample(rng, int(n), seq_len)

    def split(self, index: int) -> TaskDataset:
        """An independent dataset (stream ``index``) with the same settings, e.g. for a worker."""
        check_int("index", index, 0)
        return TaskDataset(self.task, self.batch_size, self.seq_len, self._child(2, int(index)),
                           self.batch_first)

    def batch_at(self, epoch: int, index: int) -> Batch:
        """Batch ``index`` of epoch ``epoch`` of the *indexed* stream: drawn from its own generator
        (seeded with the dataset's seed, the epoch and the index), so any process can draw any
        batch. This is the stream of `torch()`, whatever the number of DataLoader workers."""
        check_int("epoch", epoch, 0)
        check_int("index", index, 0)
        rng = np.random.Generator(np.random.PCG64(self._child(3, int(epoch), int(index))))
        return self.sample(rng, self.batch_size, self.seq_len)

    def torch(self, batches_per_epoch: int | None = None, device: Any = None
              ) -> TorchTaskDataset:
        """A ``torch.utils.data.IterableDataset`` (needs torch): each iteration over it (each
        epoch of a ``DataLoader``) yields the next epoch of `batch_at()`, ``batches_per_epoch``
        batches (endless if None). The stream depends only on the seed: not on the number of
        workers, nor on ``persistent_workers``."""
        from .torch_data import TorchTaskDataset

        return TorchTaskDataset(self, batches_per_epoch=batches_per_epoch, device=device)

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
    [`Task`][ta_envs.tasks.Task], or an automaton (object, dict, JSON path).

    Args:
        task: a registered open-loop id, a ``Task`` or an automaton.
        batch_size: sequences per batch.
        seq_len: steps per sequence.
        seed: the one seed of the symbol stream (None: fresh entropy).
        batch_first: ``[B, T, ...]`` arrays (False: ``[T, B, ...]``).
        **task_kwargs: the id's factory arguments.

    Returns:
        An endless iterator of batches (``next(ds)``), with ``split``, ``sample`` and ``torch``.

    Raises:
        TypeError: a bad task or argument type.
        ValueError: a bad size, seed or task argument, or a batch over the memory budget.

    >>> ds = make_dataset("TemporalFlipFlop-v0", batch_size=64, seq_len=96, seed=0, period=24)
    >>> b = next(ds); b.inputs.shape, b.targets.shape
    ((64, 96, 2), (64, 96))
    """
    return TaskDataset(make_task(task, **task_kwargs), batch_size, seq_len, seed, batch_first)
