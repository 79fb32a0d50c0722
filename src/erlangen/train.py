"""Training on Lightning: one model on one task, with checkpoints, resume, logs and DDP.

>>> from erlangen.train import TrainConfig, fit
>>> config = TrainConfig(task="rotated-digits", model="p4cnn", train_size=300)
>>> result = fit(config)  # doctest: +SKIP
>>> result.metrics["test_accuracy"]  # doctest: +SKIP

The task (:class:`erlangen.tasks.Task`) supplies the data (a tuple of tensors per sample),
the loss and the metrics; this module supplies the rest, the same for every task
(:class:`TaskModule`).

A run lives in its own folder, ``runs/<task>-<model>-<time>/``:

- ``config.json``: the full resolved configuration (seed included) and the environment;
- ``checkpoints/last.ckpt``: written at the end of every epoch, atomically (a temporary file
  in the same folder, flushed and fsynced, then ``os.replace``), so a crash mid-write leaves
  the previous checkpoint intact; read back with ``torch.load(..., weights_only=True)``;
- ``logs/session<k>/metrics.csv`` (and ``logs/tensorboard`` when tensorboard is installed):
  one CSV per start, so a resumed run keeps the earlier log;
- ``results.json``: the task's metrics (test accuracy or MSE, symmetry errors), parameter
  count, steps and training time (or why the run stopped).

Determinism and resume: every source of randomness during training is re-seeded at the start
of each epoch from ``(seed, epoch, rank)`` (the shuffling, the augmentation angles, dropout),
so a run resumed from the checkpoint of epoch ``k`` continues exactly as the uninterrupted
run would have. A run may be given in optimizer ``steps`` instead of epochs; it then stops
after exactly that many steps (the last epoch cut short).

Non-finite loss: the loss is checked at every step (on every rank, agreed through the
process group) and the parameters before every checkpoint; a NaN or inf stops training with
:class:`NonFiniteLossError` and the last good checkpoint stays as it was.

Several processes: launch the same command with ``torchrun --nproc_per_node=N``; the run
uses Lightning's DDP strategy with the gloo backend on CPU (NCCL on GPUs). ``batch_size`` is
per process; each process reads its own shard of every epoch's permutation. At the end the
ranks compare a digest of their weights (recorded in ``results.json``) and fail loudly if they
differ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
from lightning.pytorch.callbacks import RichProgressBar
from torch import Tensor, nn

from . import __version__
from .data import atomic_write
from .environment import environment
from .tasks import Recipe, Task, TaskData, get_task
from .tasks.base import count_parameters

CONFIG_FILE = "config.json"
RESULTS_FILE = "results.json"
EVALUATION_FILE = "evaluation.json"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss (or parameters) and was stopped."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing, damaged or not one of ours."""


# ----------------------------------------------------------------------------- config
@dataclass
class TrainConfig:
    """Everything that defines a training run; ``None`` fields take the task's recipe.

    Attributes
    ----------
    task : str
        Name in :data:`erlangen.tasks.TASKS`.
    model : str
        Name in :data:`erlangen.registry.MODELS` (or one of the task's short names, recorded
        resolved), or ``package.module:factory`` / ``path/to/file.py:factory`` for a model of
        your own. Factories are called as ``factory(**task.model_kwargs(), **model_options)``
        (``in_channels=..., num_classes=...`` for classification tasks).
    model_options : dict
        Extra keyword arguments of the factory, on top of the task's defaults for the model.
    train_size : int, optional
        Train on the first ``train_size`` samples (nested subsets); all when None.
    epochs, steps, batch_size, lr, weight_decay, optimizer, schedule, augment
        Override the task's :class:`~erlangen.tasks.Recipe` (give ``epochs`` or ``steps``,
        not both).
    seed : int
        Seeds the model initialisation and all training randomness.
    data_seed : int
        Seeds the data set itself (split, order, rotation angles).
    device : str
        ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
    transfer_from : str, optional
        A run folder whose learned group actions (the matrices ``A`` of the learned-group
        layers) are copied into this model and frozen before training (knowledge transfer).
    """

    task: str
    model: str
    model_options: dict[str, Any] = field(default_factory=dict)
    train_size: int | None = None
    epochs: int | None = None
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    optimizer: str | None = None
    schedule: str | None = None
    augment: bool | None = None
    seed: int = 0
    data_seed: int = 0
    device: str = "auto"
    transfer_from: str | None = None

    def recipe(self, task: Task) -> Recipe:
        """The task's recipe with this config's overrides."""
        if self.epochs is not None and self.steps is not None:
            raise ValueError(
                f"give epochs or steps, not both (got epochs={self.epochs}, steps={self.steps})"
            )
        base = task.recipe
        if self.epochs is not None:  # epochs replace a recipe given in steps
            base = dataclasses.replace(base, steps=None)
        return base.replace(
            epochs=self.epochs,
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            optimizer=self.optimizer,
            schedule=self.schedule,
            augment=self.augment,
        )

    def resolved(self, task: Task) -> TrainConfig:
        """A copy with every recipe field filled in (``epochs`` left None when the run is
        given in steps), the model's short name resolved, and the task's default options for
        the model merged under the given ones."""
        recipe = dataclasses.asdict(self.recipe(task))
        if recipe["steps"] is not None:
            recipe["epochs"] = None
        model = task.model_name(self.model)
        options = {**task.model_options(model), **self.model_options}
        return dataclasses.replace(self, model=model, model_options=options, **recipe)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}; known: {sorted(names)}")
        return cls(**d)


@dataclass
class FitResult:
    """What :func:`fit` returns (on every rank; ``metrics`` is filled on rank 0)."""

    run_dir: Path
    config: TrainConfig
    model: nn.Module
    metrics: dict[str, Any]


# ----------------------------------------------------------------------------- models
def build_model(spec: str, task: Task, options: dict[str, Any] | None = None) -> nn.Module:
    """Build ``spec`` (a registered name or ``module:factory``) for ``task``'s data: the
    factory gets ``task.model_kwargs()`` and ``options``."""
    if ":" in spec:
        from .registry import load_factory

        factory = load_factory(spec)
    else:
        from .registry import get_model

        factory = get_model(spec).factory
    model = factory(**task.model_kwargs(), **(options or {}))
    if not isinstance(model, nn.Module):
        raise TypeError(f"model factory {spec!r} returned {type(model).__name__}, not nn.Module")
    return model


def weights_digest(model: nn.Module, buffers: bool = True) -> str:
    """SHA-256 of the parameters (and buffers) by name, shape and bytes, to compare copies."""
    tensors = dict(model.named_parameters())
    if buffers:
        tensors.update(model.named_buffers())
    h = hashlib.sha256()
    for name, t in sorted(tensors.items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- checkpoints
def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to ``path`` atomically: readers see the old file or the whole new one."""
    atomic_write(path, lambda f: torch.save(obj, f))


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(..., weights_only=True)``.

    Raises
    ------
    CheckpointError
        When the file is missing, damaged, or holds anything but tensors and plain data.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"{path}: cannot load it as a checkpoint with weights_only=True ({type(e).__name__}: "
            f"{e}); the file is damaged or was not written by erlangen"
        ) from e
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path}: not a training checkpoint (no state_dict)")
    return checkpoint


class AtomicCheckpointIO(CheckpointIO):
    """Lightning checkpoint I/O: atomic writes (:func:`atomic_torch_save`) and
    ``weights_only=True`` reads (:func:`load_checkpoint`)."""

    def save_checkpoint(self, checkpoint, path, storage_options=None):
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(self, path, map_location=None, weights_only=None):
        return load_checkpoint(path, map_location=map_location or "cpu")

    def remove_checkpoint(self, path):
        Path(path).unlink(missing_ok=True)


# ----------------------------------------------------------------------------- distributed
def _launched_by_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ and "WORLD_SIZE" in os.environ


def _rank() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return int(os.environ.get("RANK", "0"))


def _world() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return 1


def _broadcast(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (identity without a process group)."""
    if _world() == 1:
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1, dtype=np.uint32)[0])


# ----------------------------------------------------------------------------- data
class _TensorBatches(torch.utils.data.Dataset):
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
        return math.ceil(self.n / _world())

    def __len__(self) -> int:
        return math.ceil(self._share() / self.batch_size)

    def __iter__(self) -> Iterator[Tensor]:
        epoch = self.epoch_fn()
        gen = torch.Generator().manual_seed(_epoch_seed(self.seed, epoch, 0))
        perm = torch.randperm(self.n, generator=gen)
        world, share = _world(), self._share()
        if share * world > self.n:
            perm = torch.cat([perm, perm[: share * world - self.n]])
        mine = perm[_rank() :: world]
        batches = torch.tensor_split(mine, len(self))
        if self.total_batches is not None:
            batches = batches[: max(0, self.total_batches - epoch * len(self))]
        yield from batches


# ----------------------------------------------------------------------------- lightning
class TaskModule(pl.LightningModule):
    """Training of any task: the task's loss on batches of its training tensors, the
    recipe's optimizer and schedule, augmentation when the recipe asks (drawn from a
    generator re-seeded every epoch), and the model's ``auxiliary_loss()`` when it has one.

    Parameters
    ----------
    model : nn.Module
    task : Task
        Supplies ``loss(model, batch, augment=, generator=)``.
    recipe : Recipe
    tensors : sequence of Tensor
        The training data, one tensor per input/target with a common first axis (samples).
    seed : int
    """

    def __init__(
        self, model: nn.Module, task: Task, recipe: Recipe, tensors: Sequence[Tensor], seed: int
    ):
        super().__init__()
        self.model = model
        self.task = task
        self.recipe = recipe
        self.tensors = tuple(tensors)
        self.seed = seed
        self.train_time_s = 0.0
        self._t0: float | None = None
        self._aug_gen = torch.Generator()
        self.last_good_epoch: int | None = None

    def forward(self, *inputs: Tensor) -> Any:
        return self.model(*inputs)

    def train_dataloader(self):
        sampler = EpochBatchSampler(
            self.tensors[0].shape[0],
            self.recipe.batch_size,
            self.seed,
            lambda: self.current_epoch,
            total_batches=self.recipe.steps,
        )
        return torch.utils.data.DataLoader(
            _TensorBatches(self.tensors),
            sampler=sampler,
            batch_size=None,
            num_workers=0,
        )

    def _start_epoch(self) -> None:
        seed = _epoch_seed(self.seed, self.current_epoch, self.global_rank)
        torch.manual_seed(seed)
        self._aug_gen.manual_seed(seed + 1)
        self._t0 = time.perf_counter()

    def training_step(self, batch, batch_idx):
        if batch_idx == 0:
            self._start_epoch()
        loss, extra = self.task.loss(
            self.model, tuple(batch), augment=self.recipe.augment, generator=self._aug_gen
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
            batch_size=batch[0].shape[0],
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
                + _last_good_message(self.last_good_epoch)
            )

    def configure_optimizers(self):
        r = self.recipe
        params = self.model.parameters()
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


def _last_good_message(epoch: int | None) -> str:
    if epoch is None:
        return "No checkpoint was written yet (the first epoch did not finish)."
    return f"The last good checkpoint (end of epoch {epoch}) is left as it was."


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
                "without writing a checkpoint. " + _last_good_message(pl_module.last_good_epoch)
            )
        final = trainer.current_epoch + 1 >= (trainer.max_epochs or 0)
        due = time.monotonic() - self._last >= self.interval_s
        if _broadcast(final or due):  # rank 0's clock decides, so all ranks save together
            trainer.save_checkpoint(self.path)
            pl_module.last_good_epoch = trainer.current_epoch
            self._last = time.monotonic()


class RankDigests(pl.Callback):
    """At the end of training, gather every rank's digest of the parameters (which DDP keeps
    identical), then give every rank rank 0's buffers: batch-norm running statistics are
    updated from each rank's own batches, and rank 0's are the ones checkpointed."""

    def __init__(self):
        self.digests: list[str] = []

    def on_train_end(self, trainer, pl_module) -> None:
        mine = weights_digest(pl_module.model, buffers=False)
        if _world() > 1:
            everyone: list[Any] = [None] * _world()
            torch.distributed.all_gather_object(everyone, mine)
            self.digests = [str(d) for d in everyone]
            for buffer in pl_module.model.buffers():
                torch.distributed.broadcast(buffer.data, src=0)
        else:
            self.digests = [mine]


class _ProgressBar(RichProgressBar):
    """Lightning's rich progress bar without the logger-version field."""

    def get_metrics(self, trainer, pl_module):
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)
        return metrics


def _quiet_lightning() -> None:
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in (
        ".*does not have many workers.*",
        ".*smaller than the logging interval.*",
        ".*Experiment logs directory.*",
        ".*`isinstance\\(treespec, LeafSpec\\)` is deprecated.*",
    ):
        warnings.filterwarnings("ignore", message=pattern)


# ----------------------------------------------------------------------------- run folder
def unique_dir(parent: str | os.PathLike, prefix: str) -> Path:
    """Create and return ``parent/<prefix>-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``... if taken)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(parent) / f"{prefix}-{stamp}"
    path, k = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            k += 1
            path = base.with_name(f"{base.name}-{k}")


def new_run_dir(out: str | os.PathLike, task: str, model: str) -> Path:
    """``out/<task>-<model>-<YYYYmmdd-HHMMSS>``, created; ``model`` may be a
    ``module:factory`` spec (its factory name is used)."""
    return unique_dir(out, f"{task}-{model.rsplit(':', 1)[-1]}")


def _write_json(path: Path, obj: Any) -> None:
    from .data import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_json_default) + "\n").encode())


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


def read_config(run_dir: str | os.PathLike) -> TrainConfig:
    """The :class:`TrainConfig` recorded in ``run_dir/config.json``."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {run_dir} is not an erlangen run folder")
    return TrainConfig.from_dict(json.loads(path.read_text())["config"])


# ----------------------------------------------------------------------------- fit
def _accelerator(device: str) -> str:
    if device == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but torch sees no CUDA device")
        return "gpu"
    if device == "cpu":
        return "cpu"
    raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")


def _init_process_group(accelerator: str) -> bool:
    """Join the torchrun process group (gloo on CPU); True when this call created it."""
    if not _launched_by_torchrun() or torch.distributed.is_initialized():
        return False
    backend = "nccl" if accelerator == "gpu" else "gloo"
    if accelerator == "gpu":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    torch.distributed.init_process_group(backend=backend)
    if accelerator == "cpu":
        local = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, local)))
    return True


def fit(
    config: TrainConfig,
    *,
    out: str | os.PathLike = "runs",
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    evaluate: bool = True,
    callbacks: Sequence[Any] = (),
    task: Task | None = None,
    checkpoint_interval_s: float = 0.0,
) -> FitResult:
    """Train ``config.model`` on ``config.task``.

    Parameters
    ----------
    config : TrainConfig
        The run; ``None`` fields take the task's recipe.
    out : path-like
        Parent folder of new run folders.
    run_dir : path-like, optional
        Use this folder instead of a new ``out/<task>-<model>-<time>``.
    resume : bool
        Continue ``run_dir`` from ``checkpoints/last.ckpt`` (see :func:`resume`).
    progress : bool
        Show Lightning's rich progress bar.
    evaluate : bool
        Measure the task's metrics (:meth:`Task.evaluate`) at the end (rank 0).
    callbacks : sequence of lightning Callbacks
        Extra callbacks (e.g. a progress display of your own).
    task : Task, optional
        Use this task object instead of looking ``config.task`` up in ``TASKS``.
    checkpoint_interval_s : float
        Write ``last.ckpt`` at the end of an epoch only when this many seconds have passed
        since the last write (0: every epoch); the final epoch is always written.

    Returns
    -------
    FitResult

    Raises
    ------
    NonFiniteLossError
        When the loss or the parameters become NaN or infinite.
    """
    task = task or get_task(config.task)
    config = config.resolved(task)
    recipe = config.recipe(task)
    if recipe.augment and not task.augmentation:
        raise ValueError(f"task {task.name!r} has no augmentation; run it without --augment")
    accelerator = _accelerator(config.device)
    created_group = _init_process_group(accelerator)
    try:
        with warnings.catch_warnings():
            _quiet_lightning()
            return _fit(
                config,
                task,
                recipe,
                accelerator,
                out=out,
                run_dir=run_dir,
                resume=resume,
                progress=progress,
                evaluate=evaluate,
                callbacks=callbacks,
                checkpoint_interval_s=checkpoint_interval_s,
            )
    finally:
        if created_group and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _fit(
    config: TrainConfig,
    task: Task,
    recipe: Recipe,
    accelerator: str,
    *,
    out: str | os.PathLike,
    run_dir: str | os.PathLike | None,
    resume: bool,
    progress: bool,
    evaluate: bool,
    callbacks: Sequence[Any],
    checkpoint_interval_s: float,
) -> FitResult:
    rank0 = _rank() == 0
    if run_dir is None:
        if resume:
            raise ValueError("resume=True needs the run_dir to continue")
        run_dir = new_run_dir(out, config.task, config.model) if rank0 else None
    run_dir = Path(_broadcast(str(run_dir)))
    ckpt = run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
    if resume and not ckpt.is_file():
        raise CheckpointError(
            f"cannot resume {run_dir}: no {CHECKPOINT_DIR}/{LAST_CHECKPOINT} (the run stopped "
            "before its first epoch ended); start it again"
        )

    pl.seed_everything(config.seed, workers=True, verbose=False)
    data = task.load(config.data_seed)
    tensors = tuple(data.train_subset(config.train_size))
    samples = int(tensors[0].shape[0])
    model = build_model(config.model, task, config.model_options)
    transferred = (
        transfer_group_actions(model, config.transfer_from) if config.transfer_from else []
    )

    if rank0:
        run_dir.mkdir(parents=True, exist_ok=True)
        record = {
            "config": config.to_dict(),
            "environment": environment(stamp="started", world_size=_world()),
        }
        cfg_path = run_dir / CONFIG_FILE
        if resume and cfg_path.is_file():
            previous = json.loads(cfg_path.read_text())
            record["environment"]["resumed_from"] = previous.get("environment")
        record["task"] = {"name": task.name, "description": task.description}
        record["train_samples"] = samples
        if transferred:
            record["transferred_group_actions"] = transferred
        _write_json(cfg_path, record)

    module = TaskModule(model, task, recipe, tensors, config.seed)
    digests = RankDigests()
    all_callbacks = [EpochCheckpoint(ckpt, checkpoint_interval_s), digests, *callbacks]
    if progress is True:
        all_callbacks.append(_ProgressBar(leave=True))

    logs = run_dir / "logs"
    session = len(list(logs.glob("session*"))) if logs.is_dir() else 0
    session = _broadcast(session)
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    loggers = [CSVLogger(save_dir=run_dir, name="logs", version=f"session{session}")]
    if _tensorboard_available():
        loggers.append(TensorBoardLogger(save_dir=run_dir, name="logs", version="tensorboard"))

    world = _world()
    strategy: Any = "auto"
    devices: Any = 1
    num_nodes = 1
    if torch.distributed.is_initialized():
        from lightning.pytorch.strategies import DDPStrategy

        local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        devices, num_nodes = local, world // local
        strategy = DDPStrategy(process_group_backend="nccl" if accelerator == "gpu" else "gloo")
    steps_per_epoch = math.ceil(math.ceil(samples / world) / recipe.batch_size)
    epochs = recipe.epochs if recipe.steps is None else math.ceil(recipe.steps / steps_per_epoch)
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        plugins=[AtomicCheckpointIO()],
        callbacks=all_callbacks,
        logger=loggers,
        enable_checkpointing=False,
        enable_progress_bar=progress is True,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        use_distributed_sampler=False,
        log_every_n_steps=max(1, min(50, steps_per_epoch)),
        default_root_dir=run_dir,
    )
    metrics: dict[str, Any] = {}
    try:
        trainer.fit(module, ckpt_path=str(ckpt) if resume else None)
    except NonFiniteLossError as e:
        if rank0:
            _write_json(
                run_dir / RESULTS_FILE,
                {
                    "status": "stopped: non-finite loss",
                    "message": str(e),
                    "last_good_checkpoint": str(ckpt) if ckpt.is_file() else None,
                },
            )
        raise

    if len(set(digests.digests)) > 1:
        raise RuntimeError(
            f"ranks hold different weights after training: digests {digests.digests}"
        )
    model.eval()
    if rank0:
        metrics = {
            "status": "finished",
            "task": task.name,
            "model": config.model,
            "train_samples": samples,
            "epochs": epochs,
            "steps": int(trainer.global_step),
            "train_time_s": module.train_time_s,
            "params": count_parameters(model),
            "world_size": world,
            "weight_digests": digests.digests,
        }
        if evaluate:
            metrics.update(evaluate_model(task, model, data))
        _write_json(run_dir / RESULTS_FILE, metrics)
    return FitResult(run_dir=run_dir, config=config, model=model, metrics=metrics)


def _tensorboard_available() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(m) is not None for m in ("tensorboard", "tensorboardX"))


def resume(
    run_dir: str | os.PathLike,
    *,
    progress: bool = True,
    device: str | None = None,
    **kwargs: Any,
) -> FitResult:
    """Continue the run in ``run_dir`` from its last checkpoint, with its recorded config.

    The run finishes the epochs it was configured for; the resumed epochs are identical to
    those of an uninterrupted run with the same seed.
    """
    config = read_config(run_dir)
    if device is not None:
        config.device = device
    return fit(config, run_dir=run_dir, resume=True, progress=progress, **kwargs)


# ----------------------------------------------------------------------------- evaluation
def evaluate_model(task: Task, model: nn.Module, data: TaskData) -> dict[str, Any]:
    """The task's metrics of a trained model (:meth:`Task.evaluate`) and its parameter count.

    For classification: test accuracy and error and the rotation probes, which run
    :func:`erlangen.check.equivariance` in float64 on the first 200 test images (see
    :class:`~erlangen.tasks.RotationProbe`); for n-body: test MSE on three test sets and the
    SE(3) error (see :mod:`erlangen.tasks.nbody`).
    """
    out = dict(task.evaluate(model, data))
    out.setdefault("params", count_parameters(model))
    return out


def load_run(
    run_dir: str | os.PathLike, device: str = "cpu"
) -> tuple[TrainConfig, Task, nn.Module]:
    """Rebuild a run's model from ``config.json`` and ``checkpoints/last.ckpt``."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    task = get_task(config.task)
    model = build_model(config.model, task, config.model_options)
    checkpoint = load_checkpoint(run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT, map_location=device)
    prefix = "model."
    state = {
        k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)
    }
    model.load_state_dict(state)
    return config, task, model.to(device).eval()


def transfer_group_actions(model: nn.Module, source_run: str | os.PathLike) -> list[str]:
    """Copy the learned group actions of the model trained in ``source_run`` into ``model``
    and freeze them; returns the names of the layers that received one.

    Raises
    ------
    ValueError
        When either model has no learned-group layers, or their layers do not match.
    """
    from .grid import learned_layers, load_group_actions

    if not any(True for _ in learned_layers(model)):
        raise ValueError("transfer_from needs a model with learned-group layers (e.g. lgcnn)")
    _, _, source = load_run(source_run)
    if not any(True for _ in learned_layers(source)):
        raise ValueError(f"{source_run} holds no learned-group layers to transfer from")
    return load_group_actions(model, source, freeze=True)


def evaluate_run(run_dir: str | os.PathLike, device: str = "cpu") -> dict[str, Any]:
    """Re-load a run and measure it again; writes ``evaluation.json`` into the run folder."""
    config, task, model = load_run(run_dir, device)
    data = task.load(config.data_seed)
    metrics = {"task": task.name, "model": config.model, **evaluate_model(task, model, data)}
    _write_json(Path(run_dir) / EVALUATION_FILE, metrics)
    return metrics


__all__ = [
    "AtomicCheckpointIO",
    "CheckpointError",
    "EpochBatchSampler",
    "FitResult",
    "NonFiniteLossError",
    "TaskModule",
    "TrainConfig",
    "atomic_torch_save",
    "build_model",
    "count_parameters",
    "evaluate_model",
    "evaluate_run",
    "fit",
    "load_checkpoint",
    "load_run",
    "read_config",
    "resume",
    "transfer_group_actions",
    "weights_digest",
]
