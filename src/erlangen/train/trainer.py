"""Training one model on one task: :func:`fit`, and :func:`resume` from a run's checkpoint.

A run given in optimizer ``steps`` instead of epochs stops after exactly that many steps (the
last epoch cut short). With several processes (torchrun) the run uses Lightning's DDP
strategy; ``batch_size`` is per process, and at the end the ranks compare a digest of their
weights (recorded in ``results.json``) and fail loudly if they differ.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch

from ..environment import environment
from ..tasks import Recipe, Task, get_task
from ..tasks.base import count_parameters
from . import distributed
from .callbacks import Diagnostics, EpochCheckpoint, ProgressBar, RankDigests
from .checkpoints import AtomicCheckpointIO, CheckpointError
from .config import FitResult, TrainConfig, read_config
from .evaluation import evaluate_model
from .models import build_model
from .run_dir import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    DIAGNOSTICS_FILE,
    LAST_CHECKPOINT,
    RESULTS_FILE,
    new_run_dir,
    write_json,
)
from .task_module import NonFiniteLossError, TaskModule
from .transfer import transfer_from_run


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
    accelerator = distributed.accelerator(config.device)
    created_group = distributed.init_process_group(accelerator)
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
    rank0 = distributed.rank() == 0
    if run_dir is None:
        if resume:
            raise ValueError("resume=True needs the run_dir to continue")
        run_dir = new_run_dir(out, config.task, config.model) if rank0 else None
    run_dir = Path(distributed.broadcast(str(run_dir)))
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
        transfer_from_run(model, config.transfer_from, name=config.model)
        if config.transfer_from
        else []
    )

    if rank0:
        run_dir.mkdir(parents=True, exist_ok=True)
        record = {
            "config": config.to_dict(),
            "environment": environment(stamp="started", world_size=distributed.world_size()),
        }
        cfg_path = run_dir / CONFIG_FILE
        if resume and cfg_path.is_file():
            previous = json.loads(cfg_path.read_text())
            record["environment"]["resumed_from"] = previous.get("environment")
        record["task"] = {"name": task.name, "description": task.description}
        record["train_samples"] = samples
        if transferred:
            record["transferred_group_actions"] = transferred
        write_json(cfg_path, record)

    module = TaskModule(model, task, recipe, tensors, config.seed)
    digests = RankDigests()
    all_callbacks = [EpochCheckpoint(ckpt, checkpoint_interval_s), digests, *callbacks]
    every = getattr(model, "diagnostics_every", 0)
    if callable(getattr(model, "diagnostics", None)) and every:
        all_callbacks.append(Diagnostics(run_dir / DIAGNOSTICS_FILE, every))
    if progress is True:
        all_callbacks.append(ProgressBar(leave=True))

    logs = run_dir / "logs"
    session = len(list(logs.glob("session*"))) if logs.is_dir() else 0
    session = distributed.broadcast(session)
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    loggers = [CSVLogger(save_dir=run_dir, name="logs", version=f"session{session}")]
    if _tensorboard_available():
        loggers.append(TensorBoardLogger(save_dir=run_dir, name="logs", version="tensorboard"))

    world = distributed.world_size()
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
            write_json(
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
        write_json(run_dir / RESULTS_FILE, metrics)
    return FitResult(run_dir=run_dir, config=config, model=model, metrics=metrics)


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
