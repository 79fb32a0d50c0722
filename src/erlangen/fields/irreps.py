"""Irreps features ``(..., irreps.dim)`` under O(3): e3nn's layout, rotations and reflections.

>>> import torch
>>> from erlangen.fields import IrrepsField
>>> t = IrrepsField("2x0e + 1x1o")
>>> x = t.sample()
>>> tuple(x.shape)
(4, 5)
>>> inversion = -torch.eye(3, dtype=torch.float64)
>>> torch.equal(t.act(inversion, x)[:, 2:], -x[:, 2:])  # the vector flips, the scalars do not
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from ..groups import Group
from ..groups.irreps import Irreps
from .base import FieldType, on_device, sampling, shape_error


@dataclass(frozen=True, repr=False)
class IrrepsField(FieldType):
    """Tensors ``(..., irreps.dim)`` on which O(3) acts irrep by irrep (e3nn's layout: each
    term ``mul x ir`` stored as ``(mul, 2l + 1)``).

    Parameters
    ----------
    irreps : Irreps or str
        For example ``"16x0e + 8x1o"``; an ``e3nn.o3.Irreps`` works too.
    batch_shape : tuple of int
        Sampling setting: leading shape of the tensors that ``sample`` draws.
    """

    group: Group = dataclasses.field(init=False)
    irreps: Any
    batch_shape: tuple[int, ...] = sampling((4,))

    def __post_init__(self):
        irreps = Irreps(self.irreps)
        object.__setattr__(self, "irreps", irreps)
        object.__setattr__(self, "group", irreps.group)
        object.__setattr__(self, "batch_shape", tuple(self.batch_shape))

    def _validate(self, x, what):
        if x.dim() < 1 or x.shape[-1] != self.irreps.dim:
            raise shape_error(self, what, f"(..., {self.irreps.dim}) for {self.irreps}", x)

    def _act(self, g, x):
        blocks = self.irreps.wigner_blocks(g, x.dtype)
        parts = []
        for (mul, ir), sl in zip(self.irreps, self.irreps.slices()):
            block = x[..., sl].unflatten(-1, (mul, ir.dim))
            D = blocks[ir].to(x.device)
            parts.append((block @ D.transpose(-1, -2)).flatten(-2))
        if not parts:
            return x.clone()
        return torch.cat(parts, -1)

    def sample(self, generator=None, dtype=torch.float64, device=None):
        x = torch.randn(*self.batch_shape, self.irreps.dim, generator=generator, dtype=dtype)
        return on_device(x, device)

    def __repr__(self):
        return f"IrrepsField({self.irreps})"


__all__ = ["IrrepsField"]
