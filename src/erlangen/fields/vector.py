"""Vectors that transform under a representation on their last axis, and invariants."""

from __future__ import annotations

import torch
from torch import Tensor

from ..groups import Group, Representation
from .base import FieldType, shape_error


class VectorField(FieldType):
    """Tensors ``(..., rep.dim)`` transforming as ``x -> rho(g) x`` on the last axis.

    Parameters
    ----------
    rep : Representation
    batch_shape : tuple of int
        Leading shape of the tensors that ``sample`` draws.
    """

    def __init__(self, rep: Representation, batch_shape: tuple[int, ...] = (4,)):
        super().__init__(rep.group)
        self.rep = rep
        self.batch_shape = tuple(batch_shape)

    def _validate(self, x, what):
        if x.dim() < 1 or x.shape[-1] != self.rep.dim:
            raise shape_error(self, what, f"(..., {self.rep.dim}) for {self.rep.name}", x)

    def _act(self, g, x):
        return x @ self.rep(g, x.dtype).to(x.device).transpose(-1, -2)

    def sample(self, generator=None, dtype=torch.float64, device=None):
        x = torch.randn(*self.batch_shape, self.rep.dim, generator=generator, dtype=dtype)
        return x.to(device) if device is not None else x

    def __repr__(self):
        return f"VectorField({self.rep.name} of {self.group.name}, dim {self.rep.dim})"


class InvariantField(FieldType):
    """Tensors of any shape (and dtype) that the group leaves unchanged: invariant outputs,
    or inputs such as ``edge_index`` that one group does not act on.

    Parameters
    ----------
    group : Group
    shape : tuple of int
        Shape of the tensors that ``sample`` draws.
    """

    def __init__(self, group: Group, shape: tuple[int, ...] = (4, 1)):
        super().__init__(group)
        self.shape = tuple(shape)

    def _validate(self, x, what):
        pass

    def _act(self, g, x):
        return x

    def sample(self, generator=None, dtype=torch.float64, device=None):
        x = torch.randn(*self.shape, generator=generator, dtype=dtype)
        return x.to(device) if device is not None else x

    def __repr__(self):
        return f"InvariantField({self.group.name})"


def invariant(group: Group, shape: tuple[int, ...] = (4, 1)) -> InvariantField:
    """Shorthand for :class:`InvariantField`."""
    return InvariantField(group, shape)


def act_on_channels(rep: Representation, g: Tensor, x: Tensor, dim: int) -> Tensor:
    """Apply ``rho(g)`` along axis ``dim`` of ``x``."""
    mat = rep(g, x.dtype).to(x.device)
    moved = x.movedim(dim, -1)
    return (moved @ mat.transpose(-1, -2)).movedim(-1, dim)


__all__ = ["InvariantField", "VectorField", "act_on_channels", "invariant"]
