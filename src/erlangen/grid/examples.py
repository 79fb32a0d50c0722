"""Small typed layers of the grids family, checked by ``erlangen tour`` and the test suite."""

from __future__ import annotations

import torch
from torch import nn

from ..groups import Cyclic, Dihedral
from ..registry import register_example
from .layers import (
    RING_ERROR_BOUND,
    GroupBatchNorm2d,
    GroupBlock,
    GroupConv2d,
    GroupMaxPool2d,
    GroupPool,
    InvariantPool,
    LiftingConv2d,
)


def _seeded(build):
    """Build with a fixed seed so that the tour checks the same weights every time."""

    def factory():
        with torch.random.fork_rng():
            torch.manual_seed(0)
            return build()

    factory.__name__ = build.__name__
    factory.__doc__ = build.__doc__
    return factory


@register_example("p4-lifting-conv", "grid", "LiftingConv2d 3 -> 4 channels on p4 (C4), 3x3")
@_seeded
def _p4_lifting():
    return LiftingConv2d(3, 4, 3, Cyclic(4), padding=1)


@register_example(
    "p4m-group-conv", "grid", "GroupConv2d 3 -> 4 channels on p4m (D4), 3x3, stride 2"
)
@_seeded
def _p4m_group():
    return GroupConv2d(3, 4, 3, Dihedral(4), stride=2, padding=1)


@register_example(
    "p4-block", "grid", "p4 conv + shared batch norm + ReLU + 2x2 max-pool + group max-pool"
)
@_seeded
def _p4_block():
    G = Cyclic(4)
    return GroupBlock(
        GroupConv2d(2, 3, 3, G),
        GroupBatchNorm2d(3, G),
        nn.ReLU(),
        GroupMaxPool2d(3, 2, G),
        GroupPool(3, G, "max"),
        size=16,  # 16 -> conv 14 -> pool 7: the 2x2 pooling needs an even map
    )


@register_example("p4m-invariant-pool", "grid", "D4 group conv then max over orientations+space")
@_seeded
def _p4m_invariant():
    G = Dihedral(4)
    return GroupBlock(GroupConv2d(2, 3, 3, G), InvariantPool(3, G))


#: ring-basis examples are checked against the documented bound of the approximate layers
RING = {"rtol": RING_ERROR_BOUND}


@register_example(
    "c8-lifting-conv",
    "grid",
    "LiftingConv2d on C8 (45-degree turns): ring basis, approximate",
    check=RING,
)
@_seeded
def _c8_lifting():
    return LiftingConv2d(2, 3, 5, Cyclic(8))


@register_example(
    "d8-group-conv",
    "grid",
    "GroupConv2d on D8 (mirrors, 45-degree turns): ring basis, approximate",
    check=RING,
)
@_seeded
def _d8_group():
    return GroupConv2d(2, 2, 3, Dihedral(8))
