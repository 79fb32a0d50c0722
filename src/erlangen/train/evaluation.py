"""A trained model measured: the task's metrics of a model (:func:`evaluate_model`), a run
rebuilt from its folder (:func:`load_run`) and measured again (:func:`evaluate_run`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import nn

from ..tasks import Task, TaskData, get_task
from ..tasks.base import count_parameters
from . import distributed
from .checkpoints import check_state_matches, load_checkpoint, model_state
from .config import TrainConfig, read_config
from .models import build_model
from .run_dir import CHECKPOINT_DIR, EVALUATION_FILE, LAST_CHECKPOINT, write_json


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
    """Rebuild a run's model from ``config.json`` and ``checkpoints/last.ckpt``.

    Raises
    ------
    FileNotFoundError, ConfigError
        When ``run_dir`` is not a run folder, or its config is damaged.
    ValueError
        For a device that is not there (``cuda`` without CUDA), checked before anything is
        read.
    CheckpointError
        When the checkpoint is missing, damaged, or does not match the model its config
        describes.
    """
    device = "cuda" if distributed.accelerator(device) == "gpu" else "cpu"
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    task = get_task(config.task)
    model = build_model(config.model, task, config.model_options)
    ckpt = run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
    state = model_state(load_checkpoint(ckpt, map_location=device))
    check_state_matches(model, state, ckpt, f"{config.model!r} with options {config.model_options}")
    model.load_state_dict(state)
    return config, task, model.to(device).eval()


def evaluate_run(run_dir: str | os.PathLike, device: str = "cpu") -> dict[str, Any]:
    """Re-load a run and measure it again; writes ``evaluation.json`` into the run folder."""
    config, task, model = load_run(run_dir, device)
    data = task.load(config.data_seed)
    metrics = {"task": task.name, "model": config.model, **evaluate_model(task, model, data)}
    write_json(Path(run_dir) / EVALUATION_FILE, metrics)
    return metrics
