"""Point clouds: positions under rotations, reflections and translations (and, in a product
with ``Symmetric(N)``, relabelling of the points)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..groups import DirectProduct, EuclideanGroup, Group, SpecialOrthogonal
from .base import FieldType, FieldTypeError, on_device, sampling, shape_error
from .graph import node_permutation, split_symmetric

_SPATIAL = (EuclideanGroup, SpecialOrthogonal)


def _spatial_factor(group: Group) -> tuple[Group, int | None]:
    if isinstance(group, _SPATIAL):
        return group, None
    if isinstance(group, DirectProduct):
        hits = [i for i, f in enumerate(group.factors) if isinstance(f, _SPATIAL)]
        if len(hits) == 1:
            return group.factors[hits[0]], hits[0]
    raise FieldTypeError(
        "positions transform under E(n), SE(n), O(n) or SO(n), or a product of one of them "
        f"with Symmetric(N), got {group.name}"
    )


@dataclass(frozen=True, repr=False)
class PositionField(FieldType):
    """Point positions ``(..., num_points, n)`` under E(n), SE(n), O(n) or SO(n):
    ``x -> R x + t`` (``t = 0`` for the rotation groups). Under ``Symmetric(N) * E(n)`` the
    points (axis ``-2``) are also relabelled.

    Features that ride on the points transform through the rotation part only: use
    ``VectorField(euclidean(G, rep))`` (or, for graphs, ``NodeField(G, fiber=...)``).

    Parameters
    ----------
    group : EuclideanGroup, SpecialOrthogonal or DirectProduct
    num_points : int, optional
        Sampling setting: points per cloud drawn by ``sample`` (8; the number of nodes under
        a product with ``Symmetric(N)``).
    batch_shape : tuple of int, optional
        Sampling setting: leading shape drawn by ``sample`` (``(2,)``; ``()`` under a product
        with ``Symmetric(N)``, torch_geometric's ``(num_nodes, n)``).
    """

    num_points: int | None = sampling(None)
    batch_shape: tuple[int, ...] | None = sampling(None)

    def __post_init__(self):
        _spatial_factor(self.group)
        graph = isinstance(self.group, DirectProduct)
        if graph:
            nodes = _nodes(self.group)
            if self.num_points not in (None, nodes):
                raise FieldTypeError(f"{self!r}: num_points must be {nodes}, the node count")
        default_points = _nodes(self.group) if graph else 8
        points = default_points if self.num_points is None else self.num_points
        object.__setattr__(self, "num_points", points)
        batch = (() if graph else (2,)) if self.batch_shape is None else self.batch_shape
        object.__setattr__(self, "batch_shape", tuple(batch))

    @property
    def n(self) -> int:
        """Dimension of the space."""
        return _spatial_factor(self.group)[0].n

    def _validate(self, x, what):
        if x.dim() < 2 or x.shape[-1] != self.n:
            raise shape_error(self, what, f"(..., num_points, {self.n})", x)
        if isinstance(self.group, DirectProduct) and x.shape[-2] != self.num_points:
            raise shape_error(self, what, f"(..., {self.num_points}, {self.n})", x)

    def _act(self, g, x):
        spatial, i = _spatial_factor(self.group)
        if i is not None:
            perm = node_permutation(self.group, g).to(x.device)
            x = x.index_select(-2, torch.argsort(perm))
            g = self.group.factor(g, i)
        g = g.to(x.dtype)
        if isinstance(spatial, EuclideanGroup):
            return spatial.act_on_points(g, x)
        return x @ g.transpose(-1, -2)

    def sample(self, generator=None, dtype=torch.float64, device=None):
        shape = (*self.batch_shape, self.num_points, self.n)
        return on_device(torch.randn(*shape, generator=generator, dtype=dtype), device)

    def __repr__(self):
        return f"PositionField({self.group.name})"


def _nodes(group: DirectProduct) -> int:
    try:
        return split_symmetric(group)[0].n
    except FieldTypeError:
        raise FieldTypeError(
            f"a product group for positions must contain Symmetric(N), got {group.name}"
        ) from None
