"""Fashion-MNIST tasks: the full data set, upright (``fashion``) or with every image rotated by
a random angle (``rotated-fashion``), from the files of Debian's ``dataset-fashion-mnist``
package or a folder of yours (``$ERLANGEN_FASHION_MNIST``); see :mod:`erlangen.data.fashion`.
"""

from __future__ import annotations

from ..data import ImageSplits, fashion_mnist
from .base import ClassificationTask, Recipe

#: the All-CNN-C family compared on 28 x 28 images (docs/learned_groups.md)
ALLCNNC_MODELS = ("allcnnc", "p4-allcnnc", "lg-allcnnc", "p4m-allcnnc")
#: the side of the images the All-CNN-C models' declared types sample (they run on any size
#: divisible by 4)
ALLCNNC_28 = {name: {"input_size": 28} for name in ALLCNNC_MODELS}


def _upright(seed: int) -> ImageSplits:
    return fashion_mnist(seed=seed, rotate=False)


def _rotated(seed: int) -> ImageSplits:
    return fashion_mnist(seed=seed, rotate=True)


FASHION = ClassificationTask(
    name="fashion",
    description=(
        "Fashion-MNIST, full: 60,000 train (nested subsets) / 10,000 test, 28x28, from "
        "$ERLANGEN_FASHION_MNIST or /usr/share/datasets/fashion-mnist (apt-get install -y "
        "dataset-fashion-mnist)"
    ),
    load=_upright,
    models=ALLCNNC_MODELS,
    default_options=ALLCNNC_28,
    size_label="training images",
    sweep_sizes=(1000, 10000, 60000),
    sweep_steps=2000,
    recipe=Recipe(epochs=30, batch_size=64, lr=3e-3, optimizer="adam", schedule="cosine"),
)

ROTATED_FASHION = ClassificationTask(
    name="rotated-fashion",
    description=(
        "Fashion-MNIST, full, each image disk-masked and rotated by its own random angle: "
        "60,000 train / 10,000 test, 28x28"
    ),
    load=_rotated,
    models=ALLCNNC_MODELS,
    default_options=ALLCNNC_28,
    size_label="training images",
    sweep_sizes=(1000, 10000, 60000),
    sweep_steps=2000,
    recipe=FASHION.recipe,
)

__all__ = ["ALLCNNC_28", "ALLCNNC_MODELS", "FASHION", "ROTATED_FASHION"]
