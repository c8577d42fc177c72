"""Torch adapter for :class:`~ta_envs.dataset.TaskDataset` (imported only when torch is installed).

Use with ``DataLoader(ds.torch(), batch_size=None, num_workers=w)``: worker ``i`` draws from the
independent stream ``ds.split(i)``, so no two workers yield the same batches; with ``num_workers=0``
batches come from ``ds`` itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import IterableDataset, get_worker_info

from .dataset import TaskDataset


class TorchTaskDataset(IterableDataset):
    """Endless stream of dicts of tensors (keys of :class:`~ta_envs.dataset.Batch`)."""

    def __init__(self, dataset: TaskDataset, device: Any = None) -> None:
        super().__init__()
        self.dataset = dataset
        self.device = None if device is None else torch.device(device)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        ds = self.dataset if info is None else self.dataset.split(info.id)
        for batch in ds:
            out = {k: torch.from_numpy(v) for k, v in batch.as_dict().items()}
            if self.device is not None:
                out = {k: v.to(self.device) for k, v in out.items()}
            yield out
