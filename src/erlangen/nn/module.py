"""The contract every equivariant layer and model in erlangen follows.

A module declares how its group acts on its inputs (``in_type``) and on its outputs
(``out_type``): one :class:`~erlangen.fields.FieldType` per positional input and output, or one
type when there is a single tensor. Nothing else is needed for :func:`erlangen.check.equivariance`,
``erlangen check``, ``erlangen tour`` and the test kit (:mod:`erlangen.testing`): they read
only these two attributes. Tensors stay plain ``torch.Tensor``.

:class:`EquivariantModule` is the base class erlangen's own layers use; any module with the two
attributes satisfies the :class:`Equivariant` protocol, so users' modules need not subclass it.

>>> import torch
>>> from erlangen.fields import VectorField
>>> from erlangen.groups import Cyclic, regular
>>> class Shift(EquivariantModule):
...     def __init__(self):
...         super().__init__()
...         rep = regular(Cyclic(5))
...         self.in_type = self.out_type = VectorField(rep)
...
...     def forward(self, x):
...         self.validate_inputs(x)
...         return x - x.mean(-1, keepdim=True)
>>> Shift().check().passed
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from torch import Tensor, nn

from ..fields import FieldType

if TYPE_CHECKING:
    from ..check import EquivarianceReport

FieldTypes = FieldType | tuple[FieldType, ...]


@runtime_checkable
class Equivariant(Protocol):
    """Anything that declares ``in_type`` and ``out_type`` (field types or tuples of them)."""

    in_type: FieldTypes
    out_type: FieldTypes


def types_of(declared: FieldTypes | Sequence[FieldType]) -> tuple[FieldType, ...]:
    """A declared type or sequence of types as a tuple."""
    return tuple(declared) if isinstance(declared, tuple | list) else (declared,)


class EquivariantModule(nn.Module):
    """Base class of erlangen's equivariant layers and models.

    Subclasses set ``self.in_type`` and ``self.out_type`` in ``__init__``.

    Attributes
    ----------
    in_type : FieldType or tuple of FieldType
        How the group acts on each positional input of ``forward``.
    out_type : FieldType or tuple of FieldType
        How it acts on each output (a tuple output has a tuple of types).
    """

    in_type: FieldTypes
    out_type: FieldTypes

    def validate_inputs(self, *inputs: Tensor | None) -> None:
        """Check each input against its declared type; raises
        :class:`~erlangen.fields.FieldTypeError` naming the expected and actual layout.
        ``None`` inputs (optional arguments left out) are skipped."""
        types = types_of(self.in_type)
        for t, x in zip(types, inputs):
            if x is not None:
                t.validate(x, f"{type(self).__name__} input")

    def check(self, **kwargs: Any) -> EquivarianceReport:
        """:func:`erlangen.check.equivariance` of this module (keyword arguments passed on)."""
        from ..check import equivariance

        return equivariance(self, **kwargs)
