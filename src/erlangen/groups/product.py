"""Direct products of groups, for data with several independent symmetries at once.

A point cloud as a graph is acted on by node permutations and by rigid motions together:
``Symmetric(N) * E(3)``. The product's checks draw joint random elements (a permutation and a
motion at the same time) and each factor's generators with the other factors at the identity.

An element is one flat floating tensor: the factors' elements, flattened and concatenated
(integer factors such as permutations are stored as exact floats and rounded back by
:meth:`DirectProduct.factor`).

>>> from erlangen.groups import Symmetric, E
>>> G = Symmetric(4) * E(3)
>>> G.name, G.element_shape
('S4 x E(3)', (20,))
>>> g = G.sample(1)[0]
>>> perm, motion = G.split(g)
>>> perm.dtype, tuple(motion.shape)
(torch.int64, (4, 4))
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import Group, GroupElementError


class DirectProduct(Group):
    """The direct product ``G_1 x ... x G_k`` of groups.

    Parameters
    ----------
    *factors : Group
        At least two groups; nested products are flattened.
    """

    def __init__(self, *factors: Group):
        flat: list[Group] = []
        for f in factors:
            if not isinstance(f, Group):
                raise TypeError(f"DirectProduct takes groups, got {type(f).__name__}")
            flat.extend(f.factors if isinstance(f, DirectProduct) else [f])
        if len(flat) < 2:
            raise ValueError(f"a direct product needs at least two factors, got {len(flat)}")
        self.factors: tuple[Group, ...] = tuple(flat)
        self._sizes = [math.prod(f.element_shape) for f in flat]
        self.element_shape = (sum(self._sizes),)

    @property
    def name(self) -> str:
        return " x ".join(f.name for f in self.factors)

    def _key(self) -> tuple:
        return ("DirectProduct", tuple(f._key() for f in self.factors))

    @property
    def order(self) -> int | None:
        orders = [f.order for f in self.factors]
        return None if None in orders else math.prod(orders)

    # ----------------------------------------------------------------- factors
    def find(self, kind: type) -> int | None:
        """Index of the one factor that is an instance of ``kind``, or None; raises when
        several are."""
        hits = [i for i, f in enumerate(self.factors) if isinstance(f, kind)]
        if len(hits) > 1:
            raise ValueError(f"{self.name} has {len(hits)} factors of type {kind.__name__}")
        return hits[0] if hits else None

    def factor(self, g: Tensor, i: int) -> Tensor:
        """The element(s) of factor ``i`` inside ``g`` (``(..., *factor.element_shape)``)."""
        start = sum(self._sizes[:i])
        part = g[..., start : start + self._sizes[i]]
        f = self.factors[i]
        part = part.reshape(tuple(g.shape[:-1]) + tuple(f.element_shape))
        return torch.round(part).long() if f.integer_elements else part

    def split(self, g: Tensor) -> list[Tensor]:
        """Every factor's element(s) inside ``g``."""
        return [self.factor(g, i) for i in range(len(self.factors))]

    def join(self, parts: list[Tensor], dtype: torch.dtype | None = None) -> Tensor:
        """The product element(s) made of one element (batch) per factor."""
        if len(parts) != len(self.factors):
            raise GroupElementError(f"{self.name}: join needs {len(self.factors)} parts")
        dtype = self._element_dtype(
            dtype or next((p.dtype for p in parts if p.is_floating_point()), None)
        )
        flat = []
        for f, p in zip(self.factors, parts):
            batch = p.shape[: p.dim() - len(f.element_shape)]
            flat.append(p.reshape(*batch, -1).to(dtype))
        return torch.cat(_broadcast(flat), dim=-1)

    # ----------------------------------------------------------------- group operations
    def identity(self, dtype=None, device=None):
        return self.join([f.identity(dtype=dtype, device=device) for f in self.factors], dtype)

    def compose(self, a, b):
        pa, pb = self.split(a), self.split(b)
        out = [f.compose(x, y) for f, x, y in zip(self.factors, pa, pb)]
        return self.join(out, a.dtype)

    def inverse(self, a):
        return self.join([f.inverse(x) for f, x in zip(self.factors, self.split(a))], a.dtype)

    def sample(self, n, generator=None, dtype=None, device=None):
        parts = [f.sample(n, generator=generator, dtype=dtype, device=device) for f in self.factors]
        return self.join(parts, dtype)

    def generators(self, dtype=None, device=None):
        dtype = self._element_dtype(dtype)
        ids = [f.identity(dtype=dtype, device=device) for f in self.factors]
        rows = []
        for i, f in enumerate(self.factors):
            for gen in f.generators(dtype=dtype, device=device):
                parts = list(ids)
                parts[i] = gen
                rows.append(self.join(parts, dtype))
        if not rows:
            return torch.zeros(0, *self.element_shape, dtype=dtype, device=device)
        return torch.stack(rows)

    def elements(self, dtype=None, device=None):
        if self.order is None:
            return super().elements(dtype, device)
        grids = [f.elements(dtype=dtype, device=device) for f in self.factors]
        index = torch.cartesian_prod(*[torch.arange(len(e)) for e in grids])
        if index.dim() == 1:
            index = index.unsqueeze(-1)
        return self.join([e[index[:, i]] for i, e in enumerate(grids)], dtype)

    def allclose(self, a, b, atol=1e-9):
        pa, pb = self.split(a), self.split(b)
        out = [f.allclose(x, y, atol) for f, x, y in zip(self.factors, pa, pb)]
        return torch.stack(torch.broadcast_tensors(*out)).all(dim=0)

    def validate(self, g, what="element"):
        batch = super().validate(g, what)
        for i, f in enumerate(self.factors):
            f.validate(self.factor(g, i), f"{what} (factor {f.name})")
        return batch


def _broadcast(parts: list[Tensor]) -> list[Tensor]:
    """Broadcast the batch dimensions of flattened factor elements ``(..., size_i)``."""
    batch = torch.broadcast_shapes(*(p.shape[:-1] for p in parts))
    return [p.expand(*batch, p.shape[-1]) for p in parts]


def product(*factors: Group) -> DirectProduct:
    """``DirectProduct(*factors)``; also written ``G1 * G2``."""
    return DirectProduct(*factors)
