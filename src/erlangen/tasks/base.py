"""What a task is: data, a metric, the models that compete and a default recipe."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ..check import equivariance
from ..data import ImageSplits
from ..fields import ImageField, InvariantField, rotate_image
from ..groups import Cyclic

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class Recipe:
    """Default training hyperparameters of a task (each can be overridden per run).

    Attributes
    ----------
    epochs : int
        Passes over the training set.
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
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ValueError(
                f"need epochs >= 1, batch_size >= 1, lr > 0; got {self.epochs}, "
                f"{self.batch_size}, {self.lr}"
            )

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


@dataclass(frozen=True)
class Task:
    """A learning problem that models compete on.

    Attributes
    ----------
    name : str
        Registry key (``erlangen train NAME``).
    description : str
        One line for ``erlangen info``.
    load : callable
        ``load(seed) -> ImageSplits``: the data (``x_train`` in nested order).
    models : tuple of str
        Registry names of the models that compete by default.
    recipe : Recipe
        Default training recipe.
    in_channels, num_classes : int
        Passed to the model factories.
    metric : str
        Reported test metric.
    probes : tuple of RotationProbe
        Symmetry measurements run on trained models.
    """

    name: str
    description: str
    load: Callable[[int], ImageSplits]
    models: tuple[str, ...]
    recipe: Recipe = field(default_factory=Recipe)
    in_channels: int = 1
    num_classes: int = 10
    metric: str = "accuracy"
    probes: tuple[RotationProbe, ...] = ROTATION_PROBES

    @torch.no_grad()
    def accuracy(self, model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 500) -> float:
        """Top-1 accuracy of ``model`` on images ``x`` ``(n, C, H, W)`` with labels ``y``."""
        was_training = model.training
        model.eval()
        device = next(iter(model.parameters()), torch.empty(0)).device
        correct = 0
        for i in range(0, x.shape[0], batch_size):
            logits = model(x[i : i + batch_size].to(device))
            correct += int((logits.argmax(-1).cpu() == y[i : i + batch_size]).sum())
        model.train(was_training)
        return correct / max(1, x.shape[0])
