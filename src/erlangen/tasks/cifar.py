"""CIFAR-10 (``cifar10``) from your copy of the python batches (``$ERLANGEN_CIFAR10``; see
:mod:`erlangen.data.cifar`), with the usual augmentation: random crops of the image padded by
4 pixels, and horizontal flips."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data import ImageSplits, cifar10
from .base import ClassificationTask, Recipe

CIFAR_MODELS = ("allcnnc", "p4-allcnnc", "lg-allcnnc", "p4m-allcnnc")


def random_crop_flip(
    x: Tensor, padding: int = 4, generator: torch.Generator | None = None
) -> Tensor:
    """Crop every image of ``x`` ``(B, C, H, W)`` at a random offset from its copy padded by
    ``padding`` zeros on each side, and flip it left-right with probability 1/2 (offsets and
    flips drawn from ``generator``)."""
    B, _, H, W = x.shape
    padded = F.pad(x, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (B,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (B,), generator=generator)
    flip = torch.rand(B, generator=generator) < 0.5
    rows = (dy.view(B, 1) + torch.arange(H)).to(x.device)  # (B, H)
    cols = dx.view(B, 1) + torch.arange(W)  # (B, W)
    cols = torch.where(flip.view(B, 1), cols.flip(-1), cols).to(x.device)
    index = torch.arange(B, device=x.device).view(B, 1, 1)
    out = padded.permute(0, 2, 3, 1)[index, rows.view(B, H, 1), cols.view(B, 1, W)]
    return out.permute(0, 3, 1, 2).contiguous()


@dataclass(frozen=True, kw_only=True)
class CropFlipClassificationTask(ClassificationTask):
    """Image classification whose augmentation is random crops (zero padding of
    ``crop_padding``) and horizontal flips instead of rotations."""

    crop_padding: int = 4
    augmentation: str | None = "random crops (4-pixel zero padding) and horizontal flips"

    def loss(
        self,
        model: nn.Module,
        batch: tuple[Tensor, ...],
        *,
        augment: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        x, y = batch
        if augment:
            x = random_crop_flip(x, self.crop_padding, generator)
        return super().loss(model, (x, y), augment=False, generator=generator)


def _load(seed: int) -> ImageSplits:
    return cifar10(seed=seed)


CIFAR10 = CropFlipClassificationTask(
    name="cifar10",
    description=(
        "CIFAR-10 from $ERLANGEN_CIFAR10 (your cifar-10-batches-py folder; never downloaded): "
        "50,000 train / 10,000 test, 32x32 RGB, standardised per channel"
    ),
    load=_load,
    in_channels=3,
    models=CIFAR_MODELS,
    size_label="training images",
    sweep_sizes=(5000, 50000),
    sweep_steps=20000,
    recipe=Recipe(
        epochs=200,
        batch_size=128,
        lr=0.05,
        weight_decay=5e-4,
        optimizer="sgd",
        schedule="cosine",
        augment=True,
    ),
)

__all__ = ["CIFAR10", "CropFlipClassificationTask", "random_crop_flip"]
