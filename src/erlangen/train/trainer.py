"""Training one model on one task: :func:`fit`, and :func:`resume` from a run's checkpoint.

A run given in optimizer ``steps`` instead of epochs stops after exactly that many steps (the
last epoch cut short). With several processes (torchrun) the run uses Lightning's DDP
strategy; ``batch_size`` is per process, and at the end the ranks compare a digest of their
weights (recorded in ``results.json``) and fail loudly if they differ.
"""

from __future__ import annotations

import contextlib
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
from .batches import sample_count, training_samples
from .callbacks import Diagnostics, EpochCheckpoint, ProgressBar, RankDigests
from .checkpoints import (
    AtomicCheckpointIO,
    CheckpointError,
    check_state_matches,
    load_checkpoint,
    model_state,
)
from .compile import CompileModel
from .config import FitResult, TrainConfig, read_config
from .evaluation import evaluate_model
from .interrupts import Stop, TrainingInterrupted, stop_on_sigint
from .locks import folder_lock
from .models import build_model, check_model_fits, warnings_only_on_success
from .run_dir import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    DIAGNOSTICS_FILE,
    LAST_CHECKPOINT,
    RESULTS_FILE,
    check_can_create,
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

    Everything that can be checked is checked before a run folder is created or written: the
    config, the device, that ``out`` can hold a new folder, the training-set size, the model
    options, that the model fits the task's data (:func:`check_model_fits`), a transfer's
    source and, when resuming, the checkpoint against the model. Only one process at a time
    trains in a run folder (:func:`~erlangen.train.locks.folder_lock`).

    Parameters
    ----------
    config : TrainConfig
        The run; ``None`` fields take the task's recipe.
    out : path-like
        Parent folder of new run folders.
    run_dir : path-like, optional
        Use this folder instead of a new ``out/<task>-<model>-<time>``.
    resume : bool
        Continue ``run_dir`` from ``checkpoints/last.ckpt`` (see :func:`resume`); a run
        folder without a checkpoint (stopped in its first epoch) starts from the beginning.
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
    TrainingInterrupted
        On Ctrl-C (a ``KeyboardInterrupt`` naming the run folder and its last checkpoint).
    FolderInUseError
        When another process trains in ``run_dir``.
    """
    task = task or get_task(config.task)
    config = config.resolved(task)
    recipe = config.recipe(task)
    if recipe.augment and not task.augmentation:
        raise ValueError(f"task {task.name!r} has no augmentation; run it without --augment")
    accelerator = distributed.accelerator(config.device)
    if run_dir is None:
        if resume:
            raise ValueError("resume=True needs the run_dir to continue")
        if distributed.rank() == 0:
            check_can_create(out)
    state = _Progress(Path(run_dir) if run_dir is not None else None)
    created_group = distributed.init_process_group(accelerator)
    try:
        with warnings.catch_warnings(), stop_on_sigint():
            _quiet_lightning()
            return _fit(
                config,
                task,
                recipe,
                accelerator,
                state,
                out=out,
                resume=resume,
                progress=progress,
                evaluate=evaluate,
                callbacks=callbacks,
                checkpoint_interval_s=checkpoint_interval_s,
            )
    except Stop:
        raise state.interrupted() from None
    finally:
        if created_group and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


class _Progress:
    """How far :func:`_fit` got, for the message of an interruption."""

    def __init__(self, run_dir: Path | None):
        self.run_dir = run_dir
        self.created = False  # whether the run folder exists (made or found)
        self.made = False  # whether this call made it
        self.epochs: int | None = None

    def interrupted(self) -> TrainingInterrupted:
        run_dir = self.run_dir if self.created else None
        if run_dir is None or not (run_dir / CONFIG_FILE).is_file():
            if run_dir is not None and self.made:
                with contextlib.suppress(OSError):
                    run_dir.rmdir()  # made a moment ago and still empty: nothing to keep
            return TrainingInterrupted(
                "training was interrupted before it started; nothing was written",
                None,
                None,
                self.epochs,
            )
        ckpt = run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
        try:
            done = int(load_checkpoint(ckpt)["epoch"]) + 1 if ckpt.is_file() else None
        except (CheckpointError, KeyError, TypeError, ValueError):
            done = None
        if done is None:
            message = (
                f"training was interrupted before its first checkpoint; {run_dir} holds its "
                "config, and resuming it starts from the beginning"
            )
        else:
            of = f" of {self.epochs}" if self.epochs is not None else ""
            message = (
                f"training was interrupted; {run_dir} keeps the checkpoint after {done}{of} epochs"
            )
        return TrainingInterrupted(message, run_dir, done, self.epochs)


def _fit(
    config: TrainConfig,
    task: Task,
    recipe: Recipe,
    accelerator: str,
    state: _Progress,
    *,
    out: str | os.PathLike,
    resume: bool,
    progress: bool,
    evaluate: bool,
    callbacks: Sequence[Any],
    checkpoint_interval_s: float,
) -> FitResult:
    with contextlib.ExitStack() as folder:
        rank0 = distributed.rank() == 0
        run_dir = state.run_dir
        if run_dir is not None and run_dir.is_dir():
            if rank0:  # before its checkpoint is read: nobody else may be writing it
                folder.enter_context(folder_lock(run_dir))
            state.created = True

        # everything that can fail is checked before a run folder is created or written
        pl.seed_everything(config.seed, workers=True, verbose=False)
        data = task.load(config.data_seed)
        tensors = training_samples(task, data.train_subset(config.train_size))
        samples = sample_count(task, tensors)
        with warnings_only_on_success():
            model = build_model(config.model, task, config.model_options)
            check_model_fits(model, task, tensors, config.model)
            transferred = (
                transfer_from_run(model, config.transfer_from, name=config.model)
                if config.transfer_from
                else []
            )
        world = distributed.world_size()
        steps_per_epoch = math.ceil(math.ceil(samples / world) / recipe.batch_size)
        epochs = (
            recipe.epochs if recipe.steps is None else math.ceil(recipe.steps / steps_per_epoch)
        )
        state.epochs = epochs
        ckpt_path = None
        if resume:
            ckpt_path = _checkpoint_to_resume(run_dir, model, config)

        if run_dir is None:
            run_dir = new_run_dir(out, config.task, config.model) if rank0 else None
            run_dir = Path(distributed.broadcast(str(run_dir)))
            state.run_dir, state.made, state.created = run_dir, True, True
            if rank0:
                folder.enter_context(folder_lock(run_dir))
        elif not state.created:
            if rank0:
                state.made = not run_dir.exists()
                run_dir.mkdir(parents=True, exist_ok=True)
                folder.enter_context(folder_lock(run_dir))
            state.created = True
        return _train(
            config,
            task,
            recipe,
            accelerator,
            run_dir,
            data=data,
            tensors=tensors,
            model=model,
            transferred=transferred,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            ckpt_path=ckpt_path,
            progress=progress,
            evaluate=evaluate,
            callbacks=callbacks,
            checkpoint_interval_s=checkpoint_interval_s,
        )


def _checkpoint_to_resume(run_dir: Path, model: torch.nn.Module, config: TrainConfig):
    """The checkpoint to continue ``run_dir`` from, checked against ``model``; None when the
    run stopped before its first checkpoint (it then starts from the beginning)."""
    ckpt = run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
    if not ckpt.is_file():
        results = run_dir / RESULTS_FILE
        try:
            finished = json.loads(results.read_text()).get("status") == "finished"
        except (OSError, ValueError, AttributeError):
            finished = False
        if finished:
            raise CheckpointError(
                f"cannot resume {run_dir}: no {CHECKPOINT_DIR}/{LAST_CHECKPOINT}, though "
                f"{RESULTS_FILE} says the run finished (was the checkpoint deleted?)"
            )
        return None
    checkpoint = load_checkpoint(ckpt)
    check_state_matches(
        model,
        model_state(checkpoint),
        ckpt,
        f"{config.model!r} with options {config.model_options}",
    )
    return ckpt


def _train(
    config: TrainConfig,
    task: Task,
    recipe: Recipe,
    accelerator: str,
    run_dir: Path,
    *,
    data: Any,
    tensors: tuple[torch.Tensor, ...] | Any,
    model: torch.nn.Module,
    transferred: list[str],
    epochs: int,
    steps_per_epoch: int,
    ckpt_path: Path | None,
    progress: bool,
    evaluate: bool,
    callbacks: Sequence[Any],
    checkpoint_interval_s: float,
) -> FitResult:
    rank0 = distributed.rank() == 0
    samples = sample_count(task, tensors)
    ckpt = run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
    if rank0:
        record = {
            "config": config.to_dict(),
            "environment": environment(stamp="started", world_size=distributed.world_size()),
        }
        cfg_path = run_dir / CONFIG_FILE
        if ckpt_path is not None and cfg_path.is_file():
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
    compiler = CompileModel() if config.compile else None
    if compiler is not None:
        all_callbacks.append(compiler)

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
        trainer.fit(module, ckpt_path=str(ckpt_path) if ckpt_path is not None else None)
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
        if compiler is not None:
            metrics["compile_time_s"] = compiler.compile_time_s
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
    those of an uninterrupted run with the same seed. A run folder without a checkpoint (a run
    stopped in its first epoch) starts from the beginning, with its recorded config.
    """
    config = read_config(run_dir, task=kwargs.get("task"))
    if device is not None:
        config.device = device
    return fit(config, run_dir=run_dir, resume=True, progress=progress, **kwargs)
