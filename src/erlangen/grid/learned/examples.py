"""Registered examples of the learned layers (checked by ``erlangen tour``)."""

from __future__ import annotations

from torch import nn

from ...registry import register_example
from ..examples import _seeded
from ..layers import GroupBlock
from .layers import LearnedGroupConv2d, LearnedGroupToGroupConv2d


@register_example(
    "learned-lifting-rot90",
    "grid",
    "LearnedGroupConv2d 3 -> 4, 3x3, order 4, A = quarter-turn permutation (= p4 lifting)",
)
@_seeded
def _learned_lifting():
    return LearnedGroupConv2d(3, 4, 3, 4, padding=1, init="rot90")


@register_example(
    "learned-group-rot90-orthogonal",
    "grid",
    "LearnedGroupToGroupConv2d 2 -> 3, 5x5, order 4, per_out, A = A_0 exp(S), A_0 = quarter turn",
)
@_seeded
def _learned_group():
    return GroupBlock(
        LearnedGroupToGroupConv2d(
            2, 3, 5, 4, location="per_out", parametrisation="orthogonal", init="rot90"
        ),
        nn.ReLU(),
    )
