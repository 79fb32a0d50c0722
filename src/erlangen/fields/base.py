"""The field-type interface: how a group acts on a tensor of a given layout."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor

from ..groups import Group


class FieldTypeError(ValueError):
    """A tensor does not have the layout its field type expects."""


class FieldType(ABC):
    """How ``group`` acts on tensors of one layout.

    Subclasses implement ``_act(g, x)`` for one group element ``g`` (shape
    ``group.element_shape``), ``_validate(x)`` and ``sample(...)``. Interpolated actions set
    ``exact = False`` and restrict the comparison region through ``compare_view``.
    """

    #: whether ``act`` is exact (a permutation or a linear map) for every element
    exact: bool = True

    def __init__(self, group: Group):
        self.group = group

    def act(self, g: Tensor, x: Tensor) -> Tensor:
        """Apply one group element ``g`` to ``x``; returns a tensor of ``x``'s shape."""
        shape = self.group.validate(g)
        if shape != ():
            raise FieldTypeError(
                f"{self!r}: act() takes one element of shape {self.group.element_shape}, "
                f"got a batch {tuple(g.shape)}"
            )
        self.validate(x)
        return self._act(g, x)

    def validate(self, x: Tensor, what: str = "tensor") -> None:
        """Raise :class:`FieldTypeError` naming the expected and actual layout."""
        if not isinstance(x, Tensor):
            raise FieldTypeError(f"{self!r}: {what} must be a torch.Tensor, got {type(x).__name__}")
        self._validate(x, what)

    @abstractmethod
    def _act(self, g: Tensor, x: Tensor) -> Tensor: ...

    @abstractmethod
    def _validate(self, x: Tensor, what: str) -> None: ...

    @abstractmethod
    def sample(
        self,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """A random valid tensor of this type, used as checker input."""

    def compare_view(self, x: Tensor) -> Tensor:
        """The part of ``x`` that the checker compares (all of it for exact types)."""
        return x

    def default_rtol(self, dtype: torch.dtype) -> float | None:
        """Relative tolerance the checker should use for this type, or None for the default."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.group.name})"


def shape_error(ftype: FieldType, what: str, expected: str, x: Tensor) -> FieldTypeError:
    return FieldTypeError(f"{ftype!r}: {what} must have shape {expected}, got {tuple(x.shape)}")
