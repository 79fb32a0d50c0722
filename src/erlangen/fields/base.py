"""The field-type interface: how a group acts on a tensor of a given layout.

A field type is a frozen value: it holds the transformation law (the group, the layout, the
fiber representation) and, marked as *sampling settings*, the defaults that ``sample`` uses to
draw a test input (image size, batch shape). Change either with :meth:`FieldType.replace`, or
give sampling settings to the checker (``equivariance(..., sample={"size": 29})``); a type is
never resized in place. How tight a check is belongs to the checker, not to the type.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..groups import Group


class FieldTypeError(ValueError):
    """A tensor does not have the layout its field type expects."""


def sampling(default: Any) -> Any:
    """A dataclass field of a field type that only sets how ``sample`` draws test inputs."""
    return dataclasses.field(default=default, compare=False, metadata={"sample": True})


@dataclass(frozen=True, repr=False)
class FieldType(ABC):
    """How ``group`` acts on tensors of one layout.

    Subclasses are frozen dataclasses that implement ``_act(g, x)`` for one group element
    ``g`` (shape ``group.element_shape``), ``_validate(x, what)`` and ``sample(...)``. Fields
    declared with :func:`sampling` are sampling settings (the checker's ``sample=`` argument
    sets them). Interpolated actions return ``exact = False`` and restrict the comparison
    region through ``compare_view``.
    """

    group: Group

    @property
    def exact(self) -> bool:
        """Whether ``act`` is exact (a permutation or a linear map) for every element."""
        return True

    def replace(self, **changes: Any) -> FieldType:
        """A copy with some fields changed (validated like a new type)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def sampling_settings(cls) -> tuple[str, ...]:
        """Names of the fields that only set how ``sample`` draws inputs."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("sample"))

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

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.group.name})"


def shape_error(ftype: FieldType, what: str, expected: str, x: Tensor) -> FieldTypeError:
    return FieldTypeError(f"{ftype!r}: {what} must have shape {expected}, got {tuple(x.shape)}")


def on_device(x: Tensor, device: torch.device | str | None) -> Tensor:
    """``x`` moved to ``device`` (unchanged when ``device`` is None)."""
    return x if device is None else x.to(device)
