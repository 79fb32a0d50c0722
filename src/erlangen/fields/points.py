"""Point clouds: positions under rotations, reflections and translations."""

from __future__ import annotations

import torch

from ..groups import EuclideanGroup, Group, SpecialOrthogonal
from .base import FieldType, FieldTypeError, shape_error


class PositionField(FieldType):
    """Point positions ``(..., num_points, n)`` under E(n), SE(n), O(n) or SO(n):
    ``x -> R x + t`` (``t = 0`` for the rotation groups).

    Features that ride on the points transform through the rotation part only: use
    ``VectorField(euclidean(G, rep))`` (or a trivial one) beside this type.

    Parameters
    ----------
    group : EuclideanGroup or SpecialOrthogonal
    num_points : int
        Points per cloud drawn by ``sample``.
    batch_shape : tuple of int
        Leading shape drawn by ``sample``.
    """

    def __init__(self, group: Group, num_points: int = 8, batch_shape: tuple[int, ...] = (2,)):
        if not isinstance(group, EuclideanGroup | SpecialOrthogonal):
            raise FieldTypeError(
                f"positions transform under E(n), SE(n), O(n) or SO(n), got {group.name}"
            )
        super().__init__(group)
        self.n = group.n
        self.num_points = num_points
        self.batch_shape = tuple(batch_shape)

    def _validate(self, x, what):
        if x.dim() < 2 or x.shape[-1] != self.n:
            raise shape_error(self, what, f"(..., num_points, {self.n})", x)

    def _act(self, g, x):
        g = g.to(x.dtype)
        if isinstance(self.group, EuclideanGroup):
            return self.group.act_on_points(g, x)
        return x @ g.transpose(-1, -2)

    def sample(self, generator=None, dtype=torch.float64, device=None):
        x = torch.randn(
            *self.batch_shape, self.num_points, self.n, generator=generator, dtype=dtype
        )
        return x.to(device) if device is not None else x

    def __repr__(self):
        return f"PositionField({self.group.name})"
