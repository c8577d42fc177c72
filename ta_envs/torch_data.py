"""Torch adapter for [`TaskDataset`][ta_envs.dataset.TaskDataset] (imported only when torch is
installed).

``DataLoader(ds.torch(batches_per_epoch=N), batch_size=None, num_workers=w)``: epoch ``e`` yields
batches ``ds.batch_at(e, 0), ds.batch_at(e, 1), ...`` in that order. With ``w`` workers, worker
``i`` draws the batches ``k = i, i + w, ...`` and the DataLoader returns them round-robin, i.e. in
index order: the stream depends only on the dataset's seed, not on ``w`` (0 included) nor on
``persistent_workers``. Each process counts the epochs it has started in a shared-memory counter,
so every epoch draws new batches, also when the DataLoader starts fresh workers per epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import IterableDataset, get_worker_info

from .dataset import TaskDataset
from .validation import check_int

#: Worker slots in the shared epoch counter (DataLoader workers beyond this are refused).
MAX_WORKERS = 256


class TorchTaskDataset(IterableDataset[dict[str, torch.Tensor]]):
    """Epochs of dicts of tensors (keys of [`Batch`][ta_envs.dataset.Batch]); see the module."""

    def __init__(self, dataset: TaskDataset, batches_per_epoch: int | None = None,
                 device: Any = None) -> None:
        super().__init__()
        self.dataset = dataset
        self.batches_per_epoch = (None if batches_per_epoch is None
                                  else check_int("batches_per_epoch", batches_per_epoch, 1))
        self.device = None if device is None else torch.device(device)
        # slot 0: the main process; slot i + 1: DataLoader worker i
        self._epochs = torch.zeros(MAX_WORKERS + 1, dtype=torch.int64)
        self._epochs.share_memory_()  # type: ignore[no-untyped-call, unused-ignore]

    def __len__(self) -> int:
        if self.batches_per_epoch is None:
            raise TypeError("an endless TorchTaskDataset has no len(); give batches_per_epoch")
        return self.batches_per_epoch

    @property
    def epochs_started(self) -> int:
        """Epochs started by this process, or by the busiest worker."""
        return int(self._epochs.max())

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        if workers > MAX_WORKERS:
            raise ValueError(f"num_workers must be at most {MAX_WORKERS}, got {workers}")
        slot = 0 if info is None else worker + 1
        epoch = int(self._epochs[slot])
        self._epochs[slot] += 1
        return self._epoch(epoch, worker, workers)

    def _epoch(self, epoch: int, worker: int, workers: int) -> Iterator[dict[str, torch.Tensor]]:
        k = worker
        while self.batches_per_epoch is None or k < self.batches_per_epoch:
            batch = self.dataset.batch_at(epoch, k)
            out = {name: torch.from_numpy(v) for name, v in batch.as_dict().items()}
            if self.device is not None:
                out = {name: v.to(self.device) for name, v in out.items()}
            yield out
            k += workers
