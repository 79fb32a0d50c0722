"""The callbacks of every run: the end-of-epoch checkpoint, the ranks' weight digests, the
progress bar."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import RichProgressBar

from . import distributed
from .models import weights_digest
from .task_module import NonFiniteLossError, last_good_message


class EpochCheckpoint(pl.Callback):
    """Write ``last.ckpt`` at the end of every epoch, after checking that the parameters
    are finite (non-finite ones stop training instead of overwriting a good checkpoint)."""

    def __init__(self, path: Path, interval_s: float = 0.0):
        self.path = path
        self.interval_s = interval_s
        self._last = time.monotonic()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        bad = [
            name
            for name, t in pl_module.model.state_dict().items()
            if t.is_floating_point() and not bool(torch.isfinite(t).all())
        ]
        if bad:
            raise NonFiniteLossError(
                f"parameters became non-finite at the end of epoch {trainer.current_epoch} "
                f"({', '.join(bad[:5])}{'...' if len(bad) > 5 else ''}); training stopped "
                "without writing a checkpoint. " + last_good_message(pl_module.last_good_epoch)
            )
        final = trainer.current_epoch + 1 >= (trainer.max_epochs or 0)
        due = time.monotonic() - self._last >= self.interval_s
        # rank 0's clock decides, so all ranks save together
        if distributed.broadcast(final or due):
            trainer.save_checkpoint(self.path)
            pl_module.last_good_epoch = trainer.current_epoch
            self._last = time.monotonic()


class Diagnostics(pl.Callback):
    """Record ``model.diagnostics()`` (a flat dict of numbers or strings, e.g. where learned
    group actions stand) with the optimizer step in a CSV file: before the first step, every
    ``every`` steps and after the last one (rank 0). A resumed run drops the rows after its
    checkpoint's step and carries on, so the file reads as one run."""

    def __init__(self, path: Path, every: int):
        self.path = path
        self.every = max(1, int(every))
        self.rows: list[dict[str, Any]] = []

    def _record(self, trainer, pl_module) -> None:
        step = int(trainer.global_step)
        if trainer.global_rank != 0 or (self.rows and self.rows[-1]["step"] == step):
            return
        self.rows.append({"step": step, **pl_module.model.diagnostics()})
        fields = list(dict.fromkeys(k for row in self.rows for k in row))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        self.path.write_text(text.getvalue())

    def on_train_start(self, trainer, pl_module) -> None:
        if self.path.is_file():  # resumed: keep what the checkpointed part recorded
            with open(self.path, newline="") as f:
                rows = list(csv.DictReader(f))
            self.rows = [
                {"step": int(r["step"]), **{k: v for k, v in r.items() if k != "step"}}
                for r in rows
                if int(r["step"]) <= trainer.global_step
            ]
        self._record(trainer, pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every == 0:
            self._record(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        self._record(trainer, pl_module)


class RankDigests(pl.Callback):
    """At the end of training, gather every rank's digest of the parameters (which DDP keeps
    identical), then give every rank rank 0's buffers: batch-norm running statistics are
    updated from each rank's own batches, and rank 0's are the ones checkpointed."""

    def __init__(self):
        self.digests: list[str] = []

    def on_train_end(self, trainer, pl_module) -> None:
        mine = weights_digest(pl_module.model, buffers=False)
        if distributed.world_size() > 1:
            everyone: list[Any] = [None] * distributed.world_size()
            torch.distributed.all_gather_object(everyone, mine)
            self.digests = [str(d) for d in everyone]
            for buffer in pl_module.model.buffers():
                torch.distributed.broadcast(buffer.data, src=0)
        else:
            self.digests = [mine]


class ProgressBar(RichProgressBar):
    """Lightning's rich progress bar without the logger-version field."""

    def get_metrics(self, trainer, pl_module):
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        return metrics
