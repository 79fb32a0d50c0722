"""Tiny models for the training tests (registered only inside the tests, never in the library).

``python -m erlangen.cli train digits-8x8 --model tests/train/train_helpers.py:tiny_cnn``
reaches them from a subprocess.
"""

from __future__ import annotations

import dataclasses
import os
import time

import lightning.pytorch as pl
import torch
from torch import nn

from erlangen.fields import ImageField, InvariantField
from erlangen.groups import Cyclic
from erlangen.tasks.nbody import NBODY_GRAVITY


class TinyCNN(nn.Module):
    """conv 3x3 -> batch norm -> ReLU -> dropout -> 4x4 average pool -> linear:
    ``(B, C, H, W) -> (B, num_classes)``."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 8):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, width, 3, padding=1)
        self.norm = nn.BatchNorm2d(width)
        self.drop = nn.Dropout(0.1)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.head = nn.Linear(width * 16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(torch.relu(self.norm(self.conv(x))))
        return self.head(self.pool(h).flatten(1))


class RotationAveraged(nn.Module):
    """Logits averaged over the four quarter turns of the input: exactly C4-invariant."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.in_type = ImageField(Cyclic(4), 1)
        self.out_type = InvariantField(Cyclic(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(self.inner(torch.rot90(x, k, (-2, -1))) for k in range(4)) / 4


#: seconds each training step of :class:`Slow` sleeps (read when the model runs, so a test can
#: slow a run down in a subprocess and resume it at full speed in its own process)
SLEEP_ENV = "ERLANGEN_TEST_STEP_SLEEP"


class Slow(TinyCNN):
    """A tiny CNN whose training steps sleep ``$ERLANGEN_TEST_STEP_SLEEP`` seconds (0 when
    unset), so that a subprocess is reliably interrupted in the middle of its training."""

    def forward(self, x):
        if self.training:
            time.sleep(float(os.environ.get(SLEEP_ENV, "0")))
        return super().forward(x)


class NaNAfter(TinyCNN):
    """Returns NaN logits from training step ``after`` on (counts forward calls in training)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, after: int = 5):
        super().__init__(in_channels, num_classes)
        self.after = after
        self.calls = 0

    def forward(self, x):
        y = super().forward(x)
        if self.training:
            self.calls += 1
            if self.calls > self.after:
                y = y * float("nan")
        return y


class WithAuxiliary(TinyCNN):
    """A tiny CNN with an extra parameter that only ``auxiliary_loss`` touches: it is pulled
    towards ``target`` exactly when the trainer adds the auxiliary loss to the task loss."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, target: float = 3.0):
        super().__init__(in_channels, num_classes)
        self.extra = nn.Parameter(torch.zeros(()))
        self.target = target

    def auxiliary_loss(self) -> torch.Tensor:
        return (self.extra - self.target) ** 2


class Receiving(TinyCNN):
    """A tiny CNN that can receive a transfer (the trainer's protocol): it takes the
    convolution of a trained :class:`TinyCNN` and freezes it."""

    def transfer_from(self, source: nn.Module) -> list[str]:
        if not isinstance(source, TinyCNN):
            raise ValueError(f"{type(source).__name__} has no convolution to hand over")
        self.conv.load_state_dict(source.conv.state_dict())
        self.conv.requires_grad_(False)
        return ["conv"]


def tiny_cnn(in_channels: int = 1, num_classes: int = 10, **options) -> nn.Module:
    return TinyCNN(in_channels, num_classes, **options)


def slow_cnn(in_channels: int = 1, num_classes: int = 10, **options) -> nn.Module:
    return Slow(in_channels, num_classes, **options)


def receiving_cnn(in_channels: int = 1, num_classes: int = 10, **options) -> nn.Module:
    return Receiving(in_channels, num_classes, **options)


def invariant_cnn(in_channels: int = 1, num_classes: int = 10, **options) -> nn.Module:
    return RotationAveraged(TinyCNN(in_channels, num_classes, **options))


def nan_cnn(in_channels: int = 1, num_classes: int = 10, **options) -> nn.Module:
    return NaNAfter(in_channels, num_classes, **options)


def aux_cnn(in_channels: int = 1, num_classes: int = 10, **options) -> nn.Module:
    return WithAuxiliary(in_channels, num_classes, **options)


class NaNAfterNBody(nn.Module):
    """n-body regression ``(masses (B, N, 1), positions, velocities (B, N, 3)) -> positions
    (B, N, 3)`` by a per-body linear map; NaN from training call ``after`` on."""

    def __init__(self, after: int = 5):
        super().__init__()
        self.linear = nn.Linear(7, 3)
        self.after = after
        self.calls = 0

    def forward(self, masses, positions, velocities):
        y = positions + self.linear(torch.cat([masses, positions, velocities], -1))
        if self.training:
            self.calls += 1
            if self.calls > self.after:
                y = y * float("nan")
        return y


def nan_nbody(**options) -> nn.Module:
    return NaNAfterNBody(**options)


#: models of a few hundred parameters, so the n-body tests take seconds
TINY_NBODY_OPTIONS = {
    "gatr-nbody": {"hidden_mv": 2, "hidden_s": 4, "blocks": 1, "heads": 1},
    "transformer-nbody": {"hidden": 8, "blocks": 1, "heads": 1},
    "mlp-nbody": {"hidden": 16, "layers": 2},
}


def tiny_nbody_task(name: str = "test-nbody"):
    """``nbody-gravity`` on 200 training and 48 test systems per set, with tiny models and a
    recipe of 6 steps of batch 16."""
    return dataclasses.replace(
        NBODY_GRAVITY,
        name=name,
        train_pool=200,
        test_samples=48,
        equivariance_samples=8,
        equivariance_elements=4,
        default_options=TINY_NBODY_OPTIONS,
        recipe=dataclasses.replace(NBODY_GRAVITY.recipe, steps=6, batch_size=16),
        sweep_sizes=(20, 40),
        sweep_steps=3,
    )


class SimulatedCrash(RuntimeError):
    """Raised by :class:`CrashAfterEpoch`."""


class CrashAfterEpoch(pl.Callback):
    """Simulates a crash right after the checkpoint of ``epoch`` was written."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            raise SimulatedCrash(f"crash after epoch {self.epoch}")
