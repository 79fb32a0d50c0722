"""What defines a training run (:class:`TrainConfig`), what :func:`~erlangen.train.fit`
returns (:class:`FitResult`), and the configuration recorded in a run folder."""

from __future__ import annotations

import dataclasses
import json
import numbers
import os
import types
import typing
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

    def __post_init__(self) -> None:
        if isinstance(self.transfer_from, os.PathLike):
            self.transfer_from = os.fspath(self.transfer_from)
        for f in dataclasses.fields(self):
            problem = _type_problem(getattr(self, f.name), _FIELD_KINDS[f.name])
            if problem:
                raise ValueError(f"field {f.name!r} {problem}")
        if self.train_size is not None and self.train_size < 1:
            raise ValueError(f"field 'train_size' must be >= 1 (or null), got {self.train_size}")
        for name in ("seed", "data_seed"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_SEED:
                raise ValueError(f"field {name!r} must be in [0, {MAX_SEED}], got {value}")

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
        """The config recorded as ``d``; ``ValueError`` naming the field that is unknown,
        missing or of the wrong type."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}; known: {sorted(names)}")
        for f in dataclasses.fields(cls):
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required and f.name not in d:
                raise ValueError(f"field {f.name!r} is missing")
        return cls(**d)


#: seeds numpy (and so Lightning's ``seed_everything``) accepts
MAX_SEED = 2**32 - 1


def _kinds(hint: Any) -> tuple[type, ...]:
    """``int | None`` -> ``(int, NoneType)``; ``dict[str, Any]`` -> ``(dict,)``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(typing.get_origin(a) or a for a in typing.get_args(hint))
    return (typing.get_origin(hint) or hint,)


_FIELD_KINDS = {name: _kinds(hint) for name, hint in typing.get_type_hints(TrainConfig).items()}
_KIND_NAMES = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    dict: "an object",
    type(None): "null",
}


def _type_problem(value: Any, kinds: tuple[type, ...]) -> str | None:
    """What is wrong with ``value`` for a field of the given kinds (None when nothing)."""
    if value is None and type(None) in kinds:
        return None
    ok = False
    if isinstance(value, bool):
        ok = bool in kinds
    elif isinstance(value, numbers.Integral):
        ok = int in kinds or float in kinds
    elif isinstance(value, numbers.Real):
        ok = float in kinds
    elif value is not None:
        ok = isinstance(value, tuple(k for k in kinds if k is not type(None)))
    if ok:
        return None
    expected = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
    return f"must be {expected}, got {value!r}"


class ConfigError(ValueError):
    """A run's ``config.json`` is damaged or names what does not exist; the message names the
    file and the field."""


@dataclass
class FitResult:
    """What :func:`fit` returns (on every rank; ``metrics`` is filled on rank 0)."""

    run_dir: Path
    config: TrainConfig
    model: nn.Module
    metrics: dict[str, Any]


def read_config(run_dir: str | os.PathLike, task: Task | None = None) -> TrainConfig:
    """The :class:`TrainConfig` recorded in ``run_dir/config.json``, checked.

    Parameters
    ----------
    run_dir : path-like
    task : Task, optional
        Check the config against this task instead of the one its ``task`` field names in
        :data:`erlangen.tasks.TASKS`.

    Raises
    ------
    FileNotFoundError
        When ``run_dir`` has no ``config.json``.
    ConfigError
        When the file is not valid JSON, a field is unknown, missing or of the wrong type, or
        its task, model or recipe does not exist or is invalid (the message names the file
        and the field).
    """
    from ..registry import get_model
    from ..tasks import get_task

    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {run_dir} is not an erlangen run folder")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}); the file "
            "is damaged"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; the file is damaged") from None
    section = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: no 'config' object; the file is damaged or not a run's")
    try:
        config = TrainConfig.from_dict(section)
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None
    try:
        task = task or get_task(config.task)
    except KeyError as e:
        raise ConfigError(f"{path}: field 'task': {e.args[0]}") from None
    if ":" not in config.model:
        try:
            get_model(task.model_name(config.model))
        except KeyError as e:
            raise ConfigError(f"{path}: field 'model': {e.args[0]}") from None
    try:
        config.recipe(task)
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None
    return config
