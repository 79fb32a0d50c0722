"""The training batches: a permutation per epoch that depends only on ``(seed, epoch)``,
sharded over ranks, so a run resumed at epoch ``k`` sees the batches the uninterrupted run saw.

A task's training data is a tuple of tensors with a common first axis (batched here by
indexing), or, for a task with a ``train_loader`` method (graphs of different sizes), any
sized dataset that the task's own loader batches (:func:`train_loader`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from . import distributed


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """The seed of one epoch on one rank: a function of ``(seed, epoch, rank)`` only, so a
    resumed run draws what the uninterrupted one would have."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1, dtype=np.uint32)[0])


class TensorBatches(torch.utils.data.Dataset):
    """Indexing with a tensor of indices returns a whole batch ``(t[idx] for t in tensors)``."""

    def __init__(self, tensors: Sequence[Tensor]):
        sizes = {t.shape[0] for t in tensors}
        if len(sizes) != 1:
            raise ValueError(f"training tensors differ in their first axis: {sorted(sizes)}")
        self.tensors = tuple(tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, idx: Tensor) -> tuple[Tensor, ...]:
        return tuple(t[idx] for t in self.tensors)


class EpochBatchSampler(torch.utils.data.Sampler):
    """Batches of a permutation that depends only on ``(seed, epoch)``, sharded over ranks.

    Every rank draws the same permutation of ``n`` indices (padded by repeating its start to
    a multiple of the world size), takes every ``world``-th index from its rank, and splits
    its share into ``ceil(share / batch_size)`` batches of nearly equal size (so no batch of
    one sample reaches batch norm). With ``total_batches``, iteration stops once that many
    batches have been drawn over all epochs (the last epoch is cut short), so a run given in
    optimizer steps needs no mid-epoch stop (which Lightning cannot resume exactly).

    Parameters
    ----------
    n : int
        Dataset size.
    batch_size : int
        Largest batch.
    seed : int
        Base seed.
    epoch_fn : callable
        Returns the current epoch when iteration starts.
    total_batches : int, optional
        Batches of the whole run (the optimizer steps), when it is given in steps.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        seed: int,
        epoch_fn: Callable[[], int],
        total_batches: int | None = None,
    ):
        self.n, self.batch_size, self.seed, self.epoch_fn = n, batch_size, seed, epoch_fn
        self.total_batches = total_batches

    def _share(self) -> int:
        return math.ceil(self.n / distributed.world_size())

    def __len__(self) -> int:
        return math.ceil(self._share() / self.batch_size)

    def __iter__(self) -> Iterator[Tensor]:
        epoch = self.epoch_fn()
        gen = torch.Generator().manual_seed(epoch_seed(self.seed, epoch, 0))
        perm = torch.randperm(self.n, generator=gen)
        world, share = distributed.world_size(), self._share()
        if share * world > self.n:
            perm = torch.cat([perm, perm[: share * world - self.n]])
        mine = perm[distributed.rank() :: world]
        batches = torch.tensor_split(mine, len(self))
        if self.total_batches is not None:
            batches = batches[: max(0, self.total_batches - epoch * len(self))]
        yield from batches


def own_loader(task: Any) -> Callable[[Any, Iterable[Sequence[int]]], Iterable] | None:
    """The task's ``train_loader(samples, batch_sampler)`` when it batches its own samples
    (e.g. torch_geometric's ``DataLoader``), else None."""
    make = getattr(task, "train_loader", None)
    return make if callable(make) else None


def training_samples(task: Any, subset: Any) -> Any:
    """What the trainer holds of ``data.train_subset(n)``: a tuple of tensors, or the task's
    own dataset unchanged when it batches its own samples."""
    return subset if own_loader(task) else tuple(subset)


def sample_count(task: Any, samples: Any) -> int:
    """Number of training samples in :func:`training_samples`' result."""
    return len(samples) if own_loader(task) else int(samples[0].shape[0])


def train_loader(task: Any, samples: Any, batch_sampler: Iterable[Sequence[int]]) -> Iterable:
    """Batches of ``samples`` in the order of ``batch_sampler`` (lists or tensors of indices):
    by indexing the tensors, or through the task's own loader."""
    make = own_loader(task)
    if make is not None:
        return make(samples, batch_sampler)
    return torch.utils.data.DataLoader(
        TensorBatches(samples), sampler=batch_sampler, batch_size=None, num_workers=0
    )


def batch_size(batch: Any) -> int:
    """Samples in a batch: the first axis of a tuple of tensors, or ``num_graphs`` of a
    torch_geometric ``Batch`` (``len`` otherwise)."""
    if isinstance(batch, tuple | list):
        return int(batch[0].shape[0])
    graphs = getattr(batch, "num_graphs", None)
    return int(graphs) if graphs is not None else len(batch)
