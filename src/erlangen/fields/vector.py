"""Vectors that transform under a representation on their last axis, and invariants."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor

from ..groups import Group, Representation
from .base import FieldType, on_device, sampling, shape_error


@dataclass(frozen=True, repr=False)
class VectorField(FieldType):
    """Tensors ``(..., rep.dim)`` transforming as ``x -> rho(g) x`` on the last axis.

    Parameters
    ----------
    rep : Representation
    batch_shape : tuple of int
        Sampling setting: leading shape of the tensors that ``sample`` draws.
    """

    group: Group = dataclasses.field(init=False)
    rep: Representation
    batch_shape: tuple[int, ...] = sampling((4,))

    def __post_init__(self):
        object.__setattr__(self, "group", self.rep.group)
        object.__setattr__(self, "batch_shape", tuple(self.batch_shape))

    def _validate(self, x, what):
        if x.dim() < 1 or x.shape[-1] != self.rep.dim:
            raise shape_error(self, what, f"(..., {self.rep.dim}) for {self.rep.name}", x)

    def _act(self, g, x):
        return x @ self.rep(g, x.dtype).to(x.device).transpose(-1, -2)

    def sample(self, generator=None, dtype=torch.float64, device=None):
        x = torch.randn(*self.batch_shape, self.rep.dim, generator=generator, dtype=dtype)
        return on_device(x, device)

    def __repr__(self):
        return f"VectorField({self.rep.name} of {self.group.name}, dim {self.rep.dim})"


@dataclass(frozen=True, repr=False)
class InvariantField(FieldType):
    """Tensors that the group leaves unchanged: invariant outputs, scalar channels beside
    equivariant ones, or inputs such as ``edge_index`` that one group does not act on.

    Parameters
    ----------
    group : Group
    channels : int, optional
        When given, the last axis must have this size (scalar channels); any shape otherwise.
    shape : tuple of int, optional
        Sampling setting: shape of the tensors that ``sample`` draws; by default
        ``(2, channels)`` when ``channels`` is given, else ``(4, 1)``.
    """

    channels: int | None = None
    shape: tuple[int, ...] | None = sampling(None)

    def __post_init__(self):
        if self.channels is not None and (not isinstance(self.channels, int) or self.channels < 0):
            raise ValueError(f"channels must be an integer >= 0, got {self.channels!r}")
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(self.shape))

    @property
    def sample_shape(self) -> tuple[int, ...]:
        if self.shape is not None:
            return self.shape
        return (2, self.channels) if self.channels is not None else (4, 1)

    def _validate(self, x, what):
        if self.channels is not None and (x.dim() < 1 or x.shape[-1] != self.channels):
            raise shape_error(self, what, f"(..., {self.channels})", x)

    def _act(self, g, x):
        return x

    def sample(self, generator=None, dtype=torch.float64, device=None):
        return on_device(torch.randn(*self.sample_shape, generator=generator, dtype=dtype), device)

    def __repr__(self):
        channels = "" if self.channels is None else f", channels={self.channels}"
        return f"InvariantField({self.group.name}{channels})"


def invariant(group: Group, shape: tuple[int, ...] = (4, 1)) -> InvariantField:
    """Shorthand for ``InvariantField(group, shape=shape)``."""
    return InvariantField(group, shape=shape)


def act_on_channels(rep: Representation, g: Tensor, x: Tensor, dim: int) -> Tensor:
    """Apply ``rho(g)`` along axis ``dim`` of ``x``."""
    mat = rep(g, x.dtype).to(x.device)
    moved = x.movedim(dim, -1)
    return (moved @ mat.transpose(-1, -2)).movedim(-1, dim)


__all__ = ["InvariantField", "VectorField", "act_on_channels", "invariant"]
