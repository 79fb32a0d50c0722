"""Tasks whose labels are invariant to a known, exact action, to test whether a learned group
action recovers it: ``quarter-digits`` (digits turned by random multiples of 90 degrees; the
true action on filters is the quarter turn). See :mod:`erlangen.data.symmetric`."""

from __future__ import annotations

from ..data import ImageSplits, quarter_turned_digits
from .base import ClassificationTask, Recipe
from .digits import DIGIT_MODELS


def _load(seed: int) -> ImageSplits:
    return quarter_turned_digits(seed=seed)


QUARTER_DIGITS = ClassificationTask(
    name="quarter-digits",
    description=(
        "the 5,000 MNIST digits of rotated-digits, each turned by a random multiple of 90 "
        "degrees (labels exactly C4-invariant): 3,000 train / 2,000 test"
    ),
    load=_load,
    models=(*DIGIT_MODELS, "lgcnn"),
    size_label="training digits",
    recipe=Recipe(epochs=30, batch_size=32, lr=3e-3, optimizer="adam", schedule="cosine"),
)

__all__ = ["QUARTER_DIGITS"]
