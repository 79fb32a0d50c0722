"""Data whose labels are invariant to a known, exact action: a controlled test of whether a
learned group action recovers the true one.

:func:`quarter_turned_digits`: the 5,000 MNIST digits of :func:`~erlangen.data.rotated_digits`
(same split, same disk mask), each turned by its own random multiple of 90 degrees. Quarter
turns permute pixels, so the labels are exactly invariant under ``C4`` acting on the images,
and the action of that group on ``k x k`` filters is known: the quarter-turn permutation
:func:`~erlangen.grid.learned.rot90_action` (or its inverse, the other generator).
"""

from __future__ import annotations

import numpy as np
import torch

from .digits import ImageSplits, digit_arrays


def _turn(images: np.ndarray, turns: np.ndarray) -> np.ndarray:
    out = np.empty_like(images)
    for k in range(4):
        pick = turns == k
        out[pick] = np.rot90(images[pick], k, axes=(-2, -1))
    return out


def quarter_turned_digits(seed: int = 0) -> ImageSplits:
    """Upright digits (:func:`~erlangen.data.digit_arrays` with ``rotate=False``), each
    turned counter-clockwise by ``90 * t`` degrees with ``t`` drawn uniformly from
    ``{0, 1, 2, 3}`` per image (seeded by ``seed`` after the split): 3,000 train (nested
    stratified order) / 2,000 test, ``(n, 1, 28, 28)`` float32 in ``[0, 1]``."""
    a = digit_arrays(rotate=False, seed=seed)
    rng = np.random.default_rng([seed, 4])
    x_train = _turn(a["x_train"], rng.integers(0, 4, size=len(a["y_train"])))
    x_test = _turn(a["x_test"], rng.integers(0, 4, size=len(a["y_test"])))
    return ImageSplits(
        x_train=torch.from_numpy(np.ascontiguousarray(x_train)).unsqueeze(1),
        y_train=torch.from_numpy(a["y_train"]),
        x_test=torch.from_numpy(np.ascontiguousarray(x_test)).unsqueeze(1),
        y_test=torch.from_numpy(a["y_test"]),
    )


__all__ = ["quarter_turned_digits"]
