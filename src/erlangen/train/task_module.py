"""The Lightning module that trains any task (:class:`TaskModule`).

Determinism: every source of randomness during training is re-seeded at the start of each
epoch from ``(seed, epoch, rank)`` (the shuffling, the augmentation angles, dropout). The
loss is checked at every step (on every rank, agreed through the process group); a NaN or
inf stops training with :class:`NonFiniteLossError`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from .. import __version__
from ..tasks import Recipe, Task
from .batches import (
    EpochBatchSampler,
    batch_size,
    epoch_seed,
    own_loader,
    sample_count,
    train_loader,
    training_samples,
)


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss (or parameters) and was stopped."""


class TaskModule(pl.LightningModule):
    """Training of any task: the task's loss on batches of its training tensors, the
    recipe's optimizer and schedule, augmentation when the recipe asks (drawn from a
    generator re-seeded every epoch), and the model's ``auxiliary_loss()`` when it has one
    (and its ``parameter_groups(lr)`` for the optimizer, when it has those).

    Parameters
    ----------
    model : nn.Module
    task : Task
        Supplies ``loss(model, batch, augment=, generator=)``.
    recipe : Recipe
    tensors : sequence of Tensor, or a dataset
        The training data, one tensor per input/target with a common first axis (samples);
        or, for a task with its own ``train_loader``, the dataset that loader batches.
    seed : int
    """

    def __init__(
        self,
        model: nn.Module,
        task: Task,
        recipe: Recipe,
        tensors: Sequence[Tensor] | Any,
        seed: int,
    ):
        super().__init__()
        self.model = model
        self.task = task
        self.recipe = recipe
        self.tensors = training_samples(task, tensors)
        self.seed = seed
        self.train_time_s = 0.0
        self._t0: float | None = None
        self._aug_gen = torch.Generator()
        self.last_good_epoch: int | None = None

    def forward(self, *inputs: Tensor) -> Any:
        return self.model(*inputs)

    def train_dataloader(self):
        sampler = EpochBatchSampler(
            sample_count(self.task, self.tensors),
            self.recipe.batch_size,
            self.seed,
            lambda: self.current_epoch,
            total_batches=self.recipe.steps,
        )
        return train_loader(self.task, self.tensors, sampler)

    def _start_epoch(self) -> None:
        seed = epoch_seed(self.seed, self.current_epoch, self.global_rank)
        torch.manual_seed(seed)
        self._aug_gen.manual_seed(seed + 1)
        self._t0 = time.perf_counter()

    def training_step(self, batch, batch_idx):
        if batch_idx == 0:
            self._start_epoch()
        batch = batch if own_loader(self.task) else tuple(batch)
        loss, extra = self.task.loss(
            self.model, batch, augment=self.recipe.augment, generator=self._aug_gen
        )
        total = loss
        aux_fn = getattr(self.model, "auxiliary_loss", None)
        if callable(aux_fn):
            aux = aux_fn()
            total = loss + aux
            self.log("train/aux_loss", aux.detach(), on_epoch=True, on_step=False, sync_dist=True)
        self._check_finite(total, loss, batch_idx)
        logged = {"train/loss": loss.detach()}
        logged.update({f"train/{k}": v.detach() for k, v in extra.items()})
        self.log_dict(
            logged,
            on_epoch=True,
            on_step=False,
            prog_bar=True,
            batch_size=batch_size(batch),
            sync_dist=True,
        )
        return total

    def _check_finite(self, total: Tensor, loss: Tensor, batch_idx: int) -> None:
        total, loss = total.detach(), loss.detach()
        bad = not bool(torch.isfinite(total))
        bad = self.trainer.strategy.reduce_boolean_decision(bad, all=False)
        if bad:
            raise NonFiniteLossError(
                f"the training loss is not finite (loss {float(loss):.4g}, total "
                f"{float(total):.4g} on rank {self.global_rank}) at epoch {self.current_epoch}, "
                f"step {self.global_step} (batch {batch_idx}); training stopped. "
                + last_good_message(self.last_good_epoch)
            )

    def configure_optimizers(self):
        r = self.recipe
        # a model may ask for its own parameter groups (e.g. a learning rate of its own for
        # the learned group actions): ``model.parameter_groups(lr) -> list of dicts``
        groups = getattr(self.model, "parameter_groups", None)
        params = groups(r.lr) if callable(groups) else self.model.parameters()
        if r.optimizer == "adam":
            opt = torch.optim.Adam(params, lr=r.lr, weight_decay=r.weight_decay)
        elif r.optimizer == "adamw":
            opt = torch.optim.AdamW(params, lr=r.lr, weight_decay=r.weight_decay)
        else:
            opt = torch.optim.SGD(
                params, lr=r.lr, momentum=0.9, nesterov=True, weight_decay=r.weight_decay
            )
        if r.schedule == "constant":
            return opt
        steps = r.steps or r.epochs * len(self.train_dataloader().sampler)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_train_epoch_end(self) -> None:
        if self._t0 is not None:
            self.train_time_s += time.perf_counter() - self._t0
            self._t0 = None
        self.log("train/time_s", self.train_time_s, on_epoch=True, sync_dist=True, reduce_fx="max")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["erlangen"] = {"train_time_s": self.train_time_s, "version": __version__}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.train_time_s = float(checkpoint.get("erlangen", {}).get("train_time_s", 0.0))
        self.last_good_epoch = int(checkpoint.get("epoch", 0))


def last_good_message(epoch: int | None) -> str:
    """The sentence of a stop message that says which checkpoint is left."""
    if epoch is None:
        return "No checkpoint was written yet (the first epoch did not finish)."
    return f"The last good checkpoint (end of epoch {epoch}) is left as it was."
