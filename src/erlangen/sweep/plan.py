"""What a sweep trains (:class:`SweepPlan`, :class:`Contender`) and the checks a plan passes
before its folder is created (:func:`check_plan`, :func:`check_plan_fits`)."""

from __future__ import annotations

import dataclasses
import numbers
import re
from dataclasses import dataclass, field
from typing import Any

import torch

from ..tasks import Task
from ..train import TrainConfig, build_model, check_model_fits
from ..train.batches import training_samples
from ..train.models import warnings_only_on_success

AUGMENT_SUFFIX = "+aug"


@dataclass(frozen=True)
class Contender:
    """A model in a sweep: a model name (registered, short or ``module:factory``), optionally
    with the task's augmentation (``NAME+aug``)."""

    model: str
    augment: bool = False

    @property
    def label(self) -> str:
        return self.model + (AUGMENT_SUFFIX if self.augment else "")

    def run_name(self, size: int, seed: int) -> str:
        """Folder name of one run: ``<label>-n<size>-seed<seed>``, with a factory spec's
        path reduced to its file name and other characters unsafe in a file name replaced."""
        label = re.sub(r"[^A-Za-z0-9._+-]+", "_", self.label.rsplit("/", 1)[-1])
        return f"{label}-n{size}-seed{seed}"

    @classmethod
    def parse(cls, spec: str) -> Contender:
        spec = spec.strip()
        if spec.endswith(AUGMENT_SUFFIX):
            return cls(spec[: -len(AUGMENT_SUFFIX)], True)
        return cls(spec, False)


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep trains.

    Attributes
    ----------
    task : str
        Task name.
    models : tuple of str
        Model names (registered, the task's short names, or ``module:factory``);
        ``NAME+aug`` adds the task's augmentation. Empty: the task's models.
    sizes : tuple of int
        Training-set sizes (nested subsets). Empty: the task's ``sweep_sizes``.
    seeds : tuple of int
        One run per seed for every (model, size).
    steps : int, optional
        Optimizer steps of every run. None: the task's ``sweep_steps``.
    batch_size, lr, optimizer, schedule : optional
        Recipe overrides shared by all runs (None: the task's recipe).
    model_options : dict
        Factory options per model name (short or registered), and under ``"*"`` options for
        every model; on top of the task's defaults.
    data_seed : int
        Seed of the task's data.
    """

    task: str
    models: tuple[str, ...] = ()
    sizes: tuple[int, ...] = ()
    seeds: tuple[int, ...] = (0,)
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    schedule: str | None = None
    model_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_seed: int = 0

    def filled(self, task: Task) -> SweepPlan:
        """A copy with the task's defaults for empty models, sizes and steps, and the task's
        short model names resolved (runs are labelled and recorded with registered names)."""
        models = []
        for spec in self.models or task.models:
            contender = Contender.parse(spec)
            models.append(Contender(task.model_name(contender.model), contender.augment).label)
        options = {
            key if key == "*" else task.model_name(key): value
            for key, value in self.model_options.items()
        }
        return dataclasses.replace(
            self,
            models=tuple(models),
            model_options=options,
            sizes=self.sizes or tuple(task.sweep_sizes),
            steps=self.steps if self.steps is not None else task.sweep_steps,
        )

    def runs(self) -> list[tuple[Contender, int, int]]:
        """``(contender, size, seed)`` in table order: by size, then seed, then model."""
        return [
            (Contender.parse(m), n, s) for n in self.sizes for s in self.seeds for m in self.models
        ]

    def options(self, task: Task, contender: Contender) -> dict[str, Any]:
        """The options given for ``contender``: those for every model (``"*"``), then those
        for its name (short or resolved)."""
        out = dict(self.model_options.get("*", {}))
        for key in dict.fromkeys((contender.model, task.model_name(contender.model))):
            out.update(self.model_options.get(key, {}))
        return out

    def config(self, task: Task, contender: Contender, size: int, seed: int, device: str):
        """The :class:`~erlangen.train.TrainConfig` of one run."""
        return TrainConfig(
            task=task.name,
            model=contender.model,
            model_options=self.options(task, contender),
            train_size=size,
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.lr,
            optimizer=self.optimizer,
            schedule=self.schedule,
            augment=True if contender.augment else None,
            seed=seed,
            data_seed=self.data_seed,
            device=device,
        )

    @classmethod
    def from_dict(cls, d: Any) -> SweepPlan:
        """The plan recorded as ``d`` (``dataclasses.asdict`` of a plan, read from JSON);
        ``ValueError`` naming the field that is unknown, missing or of the wrong type."""
        if not isinstance(d, dict):
            raise ValueError(f"the plan must be an object, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown plan fields {unknown}; known: {sorted(names)}")
        if not isinstance(d.get("task"), str):
            raise ValueError(f"field 'task' must be a string, got {d.get('task')!r}")

        def listed(name: str, kind: type) -> tuple:
            value = d.get(name, [])
            if not isinstance(value, list) or not all(_is(v, kind) for v in value):
                raise ValueError(f"field {name!r} must be a list of {kind.__name__}, got {value!r}")
            return tuple(value)

        def optional(name: str, kind: type) -> Any:
            value = d.get(name)
            if value is not None and not _is(value, kind):
                raise ValueError(f"field {name!r} must be {kind.__name__} or null, got {value!r}")
            return value

        options = d.get("model_options", {})
        if not isinstance(options, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in options.items()
        ):
            raise ValueError(f"field 'model_options' must map names to objects, got {options!r}")
        data_seed = d.get("data_seed", 0)
        if not _is(data_seed, int):
            raise ValueError(f"field 'data_seed' must be int, got {data_seed!r}")
        return cls(
            task=d["task"],
            models=listed("models", str),
            sizes=listed("sizes", int),
            seeds=listed("seeds", int),
            steps=optional("steps", int),
            batch_size=optional("batch_size", int),
            lr=optional("lr", float),
            optimizer=optional("optimizer", str),
            schedule=optional("schedule", str),
            model_options=options,
            data_seed=data_seed,
        )


def _is(value: Any, kind: type) -> bool:
    """``isinstance`` for JSON values: no bools for numbers, ints allowed for floats."""
    if isinstance(value, bool):
        return kind is bool
    if kind is int:
        return isinstance(value, numbers.Integral)
    if kind is float:
        return isinstance(value, numbers.Real)
    return isinstance(value, kind)


def check_plan(plan: SweepPlan, task: Task) -> None:
    """Raise early (``KeyError`` / ``ValueError``) for unknown models, options for models the
    sweep does not train, bad sizes, seeds or steps, and recipe values the task refuses."""
    from ..registry import get_model

    if not plan.models or not plan.sizes:
        raise ValueError("a sweep needs at least one model and one training-set size")
    labels = [Contender.parse(m).label for m in plan.models]
    if len(set(labels)) < len(labels):
        raise ValueError(f"models repeat in the sweep: {', '.join(labels)}")
    for spec in plan.models:
        contender = Contender.parse(spec)
        if ":" not in contender.model:
            get_model(task.model_name(contender.model))
        if contender.augment and not task.augmentation:
            raise ValueError(f"{spec}: task {task.name!r} has no augmentation")
    names = {Contender.parse(m).model for m in plan.models}
    names |= {task.model_name(n) for n in names}
    strangers = sorted(
        k for k in plan.model_options if k != "*" and task.model_name(k) not in names
    )
    if strangers:
        raise ValueError(
            f"options for {', '.join(map(repr, strangers))}, which the sweep does not train "
            f"(its models: {', '.join(Contender.parse(m).model for m in plan.models)})"
        )
    if any(n < 1 for n in plan.sizes) or (plan.steps is not None and plan.steps < 1):
        raise ValueError(f"sizes and steps must be positive, got {plan.sizes} and {plan.steps}")
    if len(set(plan.sizes)) < len(plan.sizes):
        raise ValueError(f"sizes repeat in the sweep: {plan.sizes}")
    if not plan.seeds:
        raise ValueError("a sweep needs at least one seed")
    if len(set(plan.seeds)) < len(plan.seeds):
        raise ValueError(f"seeds repeat in the sweep: {plan.seeds}")
    # the recipe values and seeds, as every run will see them
    first = Contender.parse(plan.models[0])
    for seed in plan.seeds:
        plan.config(task, first, plan.sizes[0], seed, "cpu").recipe(task)


def check_plan_fits(plan: SweepPlan, task: Task, data: Any) -> None:
    """Raise ``ValueError`` when a training-set size is larger than the task's data, or a
    model cannot be built with its options or does not fit the task's data
    (:func:`erlangen.train.check_model_fits`); runs before the sweep's folder is created.

    Every model is built once, with the random number generator's state restored afterwards.
    """
    for n in plan.sizes:
        try:
            data.train_subset(n)
        except ValueError as e:
            raise ValueError(
                f"training-set size {n} does not fit task {task.name!r}: {e}"
            ) from None
    tensors = training_samples(task, data.train_subset(min(plan.sizes)))
    for spec in plan.models:
        contender = Contender.parse(spec)
        name = task.model_name(contender.model)
        options = {**task.model_options(name), **plan.options(task, contender)}
        with torch.random.fork_rng(devices=[]), warnings_only_on_success():
            model = build_model(name, task, options)
            check_model_fits(model, task, tensors, name)
