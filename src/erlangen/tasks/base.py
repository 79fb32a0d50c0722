"""What a task is: data, a loss, metrics, the models that compete and a default recipe.

:class:`Task` is the protocol the training machinery (:mod:`erlangen.train`) and the sweeps
(:mod:`erlangen.sweep`) use; :class:`TaskBase` holds what every task shares (name, models,
recipe, model aliases and default options, how sweeps tabulate and plot it), and
:class:`ClassificationTask` is image classification with rotation probes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..check import equivariance
from ..data import ImageSplits
from ..fields import ImageField, InvariantField, rotate_image, rotate_images
from ..groups import Cyclic

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class Recipe:
    """Default training hyperparameters of a task (each can be overridden per run).

    Attributes
    ----------
    epochs : int
        Passes over the training set (ignored when ``steps`` is set).
    steps : int, optional
        When set, train for exactly this many optimizer steps (``ceil(steps / batches per
        epoch)`` epochs, the last one cut short).
    batch_size : int
        Samples per optimizer step and per process.
    lr : float
        Peak learning rate.
    weight_decay : float
        Decoupled for ``adamw``, L2 for ``adam`` and ``sgd``.
    optimizer : str
        ``adam``, ``adamw`` or ``sgd`` (momentum 0.9, Nesterov).
    schedule : str
        ``constant`` or ``cosine`` (decay to 0 over the run, per step).
    augment : bool
        Rotate every training image by a fresh uniformly random angle each time it is seen.
    """

    epochs: int = 20
    steps: int | None = None
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    schedule: str = "constant"
    augment: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.epochs < 1 or self.batch_size < 1 or not 0 < self.lr < math.inf:
            raise ValueError(
                f"need epochs >= 1, batch_size >= 1, a finite lr > 0; got {self.epochs}, "
                f"{self.batch_size}, {self.lr}"
            )
        if not 0 <= self.weight_decay < math.inf:
            raise ValueError(f"need a finite weight_decay >= 0, got {self.weight_decay}")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"need steps >= 1 (or None), got {self.steps}")

    def replace(self, **changes) -> Recipe:
        """A copy with the given fields changed (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True)
class RotationProbe:
    """How far a trained image classifier is from rotation invariance, on real images.

    Runs :func:`erlangen.check.equivariance` with the images as inputs of type
    ``ImageField(Cyclic(order), channels)`` and the logits as ``InvariantField``: the report's
    relative error is ``max |f(g x) - f(x)| / max |f(x)|`` over the batch and over the
    ``elements`` (multiples of ``360 / order`` degrees). Quarter turns permute pixels exactly;
    other angles are resampled bicubically (the checker then compares only a central disk,
    which does not matter for invariant logits but does for inputs: the data should be zero
    near the corners).

    Attributes
    ----------
    name : str
        Column name, e.g. ``"rot90"``.
    order : int
        ``n`` of ``Cyclic(n)``.
    elements : tuple of int
        Group elements tested, e.g. ``(1, 2, 3)`` for 90, 180 and 270 degrees in C4.
    """

    name: str
    order: int
    elements: tuple[int, ...]
    description: str = ""

    def measure(
        self, model: nn.Module, images: Tensor, dtype: torch.dtype = torch.float64
    ) -> dict[str, float]:
        """Relative and absolute invariance error of the logits, and how often the predicted
        class stays the same, over ``images`` ``(n, channels, H, W)``."""
        group = Cyclic(self.order)
        device = next(iter(model.parameters()), torch.empty(0)).device
        report = equivariance(
            model,
            ImageField(group, images.shape[1]),
            InvariantField(group),
            inputs=images,
            n=0,
            dtype=dtype,
            elements=torch.tensor(self.elements, dtype=torch.long),
            device=device,
        )
        row = next(r for r in report.rows if r.kind == "given")
        return {
            "rel_error": row.max_rel,
            "abs_error": row.max_abs,
            "agreement": self.agreement(model, images),
        }

    @torch.no_grad()
    def agreement(self, model: nn.Module, images: Tensor) -> float:
        """Fraction of (image, element) pairs whose predicted class equals the upright one."""
        was_training = model.training
        model.eval()
        device = next(iter(model.parameters()), torch.empty(0)).device
        x = images.to(device=device, dtype=torch.float32)
        pred = model(x).argmax(-1)
        same = []
        for k in self.elements:
            angle = 2 * math.pi * k / self.order
            same.append(model(rotate_image(x, angle)).argmax(-1) == pred)
        model.train(was_training)
        return float(torch.stack(same).float().mean())


#: the probes of the rotated-digits demo: exact quarter turns and a bicubic 45-degree turn
ROTATION_PROBES = (
    RotationProbe("rot90", 4, (1, 2, 3), "quarter turns (exact pixel permutations)"),
    RotationProbe("rot45", 8, (1,), "45-degree turn (bicubic interpolation)"),
)


class TaskData(Protocol):
    """What :meth:`Task.load` returns: at least the nested training subsets."""

    def train_subset(self, n: int | None) -> tuple[Tensor, ...]:
        """The first ``n`` training samples as a tuple of tensors with a common first axis
        (all of them when ``n`` is None); a batch of it is what :meth:`Task.loss` receives.
        A task with a ``train_loader`` returns any sized, indexable dataset instead."""
        ...


class Task(Protocol):
    """A learning problem that models compete on, as the training machinery sees it.

    A task supplies the data (any number of tensors per sample), the training loss and the
    metrics of a trained model; :func:`erlangen.train.fit` supplies everything else
    (optimizer, schedule, shuffling, checkpoints, resume, NaN stop, DDP, logs). Implement it
    by subclassing :class:`TaskBase` (see :class:`ClassificationTask` and
    :class:`erlangen.tasks.nbody.NBodyTask`).

    Samples that are not tensors with a common first axis (graphs of different sizes): the
    task also defines ``train_loader(samples, batch_sampler)``, which returns an iterable of
    batches of ``samples`` (what ``train_subset`` returned) in the order of
    ``batch_sampler`` (an iterable of index lists or tensors, e.g. torch_geometric's
    ``DataLoader(samples, batch_sampler=batch_sampler)``); :meth:`loss` then receives those
    batches as they are. The trainer's sampler, resume, DDP sharding and checks stay the
    same (see :mod:`erlangen.tasks.qm9`).
    """

    name: str
    description: str
    models: tuple[str, ...]
    recipe: Recipe
    augmentation: str | None

    def load(self, seed: int) -> TaskData:
        """The data, seeded by ``seed`` (the run's ``data_seed``)."""
        ...

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every model factory of this task receives."""
        ...

    def model_name(self, name: str) -> str:
        """The registered model name for ``name`` (resolves the task's short names)."""
        ...

    def model_options(self, model: str) -> dict[str, Any]:
        """The task's default factory options for ``model`` (a resolved name)."""
        ...

    def loss(
        self,
        model: nn.Module,
        batch: tuple[Tensor, ...],
        *,
        augment: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Training loss of ``model`` on ``batch`` and extra numbers to log (e.g. accuracy).

        ``augment`` is the recipe's flag; augmentations draw their randomness from
        ``generator``, which the trainer re-seeds every epoch (so resume stays exact).
        """
        ...

    def evaluate(self, model: nn.Module, data: Any) -> dict[str, Any]:
        """Metrics of a trained ``model`` on ``data`` (JSON-serialisable values)."""
        ...


@dataclass(frozen=True)
class Column:
    """A metric in sweep tables: ``key`` in the metrics, table ``header``, ``fmt`` string."""

    key: str
    header: str
    fmt: str = "{:.4g}"


@dataclass(frozen=True, kw_only=True)
class TaskBase:
    """What every task shares; subclasses add ``load``, ``loss`` and ``evaluate``.

    Attributes
    ----------
    name : str
        Registry key (``erlangen train NAME``).
    description : str
        One line for ``erlangen info``.
    models : tuple of str
        Registry names of the models that compete by default.
    recipe : Recipe
        Default training recipe.
    aliases : mapping
        Short model names accepted for this task, e.g. ``{"gatr": "gatr-nbody"}``; runs record
        the registered name.
    default_options : mapping
        Default factory options per registered model name (the recipe's model sizes); options
        given for a run override them key by key, and the merged options are recorded.
    augmentation : str, optional
        What ``--augment`` does, or None when the task has no augmentation.
    columns : tuple of Column
        The metrics that sweep tables show.
    plots : tuple of (key, title)
        The metrics that sweep plots draw against training-set size, one panel each.
    plot_log_y : bool
        Log scale for those metrics.
    size_label : str
        What a training sample is called in plots (``"training digits"``).
    sweep_sizes : tuple of int
        Default training-set sizes of ``erlangen sweep``.
    sweep_steps : int
        Default optimizer steps per run of ``erlangen sweep``.
    """

    name: str
    description: str
    models: tuple[str, ...]
    recipe: Recipe = field(default_factory=Recipe)
    aliases: Mapping[str, str] = field(default_factory=dict)
    default_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    augmentation: str | None = None
    columns: tuple[Column, ...] = ()
    plots: tuple[tuple[str, str], ...] = ()
    plot_log_y: bool = False
    size_label: str = "training samples"
    sweep_sizes: tuple[int, ...] = (100, 300, 1000)
    sweep_steps: int = 400

    def model_kwargs(self) -> dict[str, Any]:
        return {}

    def model_name(self, name: str) -> str:
        return self.aliases.get(name, name)

    def model_options(self, model: str) -> dict[str, Any]:
        return dict(self.default_options.get(model, {}))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    return next(iter(model.parameters()), torch.empty(0)).device


@dataclass(frozen=True, kw_only=True)
class ClassificationTask(TaskBase):
    """Image classification: cross-entropy, test accuracy and rotation probes.

    Attributes (besides :class:`TaskBase`'s)
    ----------------------------------------
    load : callable
        ``load(seed) -> ImageSplits``: the data (``x_train`` in nested order).
    in_channels, num_classes : int
        Passed to the model factories.
    metric : str
        Reported test metric.
    probes : tuple of RotationProbe
        Symmetry measurements run on trained models, on the first ``probe_images`` test
        images.
    """

    load: Callable[[int], ImageSplits]
    in_channels: int = 1
    num_classes: int = 10
    metric: str = "accuracy"
    probes: tuple[RotationProbe, ...] = ROTATION_PROBES
    probe_images: int = 200
    augmentation: str | None = "a uniformly random rotation of every training image"
    columns: tuple[Column, ...] = (
        Column("test_error", "test error", "{:.2%}"),
        Column("rot90_rel_error", "rot90 rel err", "{:.1e}"),
        Column("rot45_rel_error", "rot45 rel err", "{:.1e}"),
        Column("rot90_agreement", "rot90 same pred", "{:.1%}"),
        Column("rot45_agreement", "rot45 same pred", "{:.1%}"),
    )
    plots: tuple[tuple[str, str], ...] = (("test_error", "test error"),)

    def model_kwargs(self) -> dict[str, Any]:
        return {"in_channels": self.in_channels, "num_classes": self.num_classes}

    def loss(
        self,
        model: nn.Module,
        batch: tuple[Tensor, ...],
        *,
        augment: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Cross-entropy of ``model`` on images ``(B, C, H, W)`` and labels ``(B,)``; with
        ``augment``, every image is first rotated by an angle uniform in [0, 2 pi) (bilinear).
        Logs the batch accuracy as ``acc``."""
        x, y = batch
        if augment:
            angles = torch.rand(x.shape[0], generator=generator, dtype=torch.float64)
            x = rotate_images(x, (2 * math.pi * angles).to(x.device), mode="bilinear")
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        acc = (logits.detach().argmax(-1) == y).float().mean()
        return loss, {"acc": acc}

    def evaluate(self, model: nn.Module, data: ImageSplits) -> dict[str, Any]:
        """Test accuracy and error, parameter count and the probes (see :class:`RotationProbe`),
        which run :func:`erlangen.check.equivariance` in float64 on the first
        ``probe_images`` test images."""
        acc = self.accuracy(model, data.x_test, data.y_test)
        out: dict[str, Any] = {
            "test_accuracy": acc,
            "test_error": 1.0 - acc,
            "test_samples": int(data.x_test.shape[0]),
            "params": count_parameters(model),
        }
        images = data.x_test[: self.probe_images]
        for probe in self.probes:
            for key, value in probe.measure(model, images).items():
                out[f"{probe.name}_{key}"] = value
        return out

    @torch.no_grad()
    def accuracy(self, model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 500) -> float:
        """Top-1 accuracy of ``model`` on images ``x`` ``(n, C, H, W)`` with labels ``y``."""
        was_training = model.training
        model.eval()
        device = model_device(model)
        correct = 0
        for i in range(0, x.shape[0], batch_size):
            logits = model(x[i : i + batch_size].to(device))
            correct += int((logits.argmax(-1).cpu() == y[i : i + batch_size]).sum())
        model.train(was_training)
        return correct / max(1, x.shape[0])
