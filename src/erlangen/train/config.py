"""What defines a training run (:class:`TrainConfig`), what :func:`~erlangen.train.fit`
returns (:class:`FitResult`), and the configuration recorded in a run folder."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from ..tasks import Recipe, Task
from .run_dir import CONFIG_FILE


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
        A run folder whose trained model hands this one what the two share, frozen, before
        training (knowledge transfer; see :func:`erlangen.train.transfer_from_run`).
    compile : bool
        Train the model under ``torch.compile`` (:mod:`erlangen.train.compile`); the
        compilation time goes into ``results.json`` as ``compile_time_s``.
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
    compile: bool = False

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


def read_config(run_dir: str | os.PathLike) -> TrainConfig:
    """The :class:`TrainConfig` recorded in ``run_dir/config.json``."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {run_dir} is not an erlangen run folder")
    return TrainConfig.from_dict(json.loads(path.read_text())["config"])
