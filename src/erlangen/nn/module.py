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

import torch
from torch import Tensor, nn

from ..fields import FieldType, FieldTypeError

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
        """Check each input against its declared type, and floating inputs against the
        module's dtype and device; raises :class:`~erlangen.fields.FieldTypeError` naming the
        expected and the actual layout, dtype or device (before torch's own, vaguer error).
        ``None`` inputs (optional arguments left out) are skipped."""
        types = types_of(self.in_type)
        reference = _first_floating_tensor(self)
        for i, (t, x) in enumerate(zip(types, inputs)):
            if x is None:
                continue
            t.validate(x, f"{type(self).__name__} input")
            if reference is not None and x.is_floating_point():
                _same_dtype_and_device(self, i, x, reference)

    def check(self, **kwargs: Any) -> EquivarianceReport:
        """:func:`erlangen.check.equivariance` of this module (keyword arguments passed on)."""
        from ..check import equivariance

        return equivariance(self, **kwargs)


def _first_floating_tensor(module: nn.Module) -> Tensor | None:
    """The first floating parameter: the module's working dtype and device. Buffers do not
    count (some layers keep exact float64 tables whatever they compute in)."""
    for tensor in module.parameters():
        if tensor.is_floating_point():
            return tensor
    return None


def _same_dtype_and_device(module: nn.Module, i: int, x: Tensor, reference: Tensor) -> None:
    name = type(module).__name__
    # under autocast, activations are lower precision than the weights by design
    if x.dtype != reference.dtype and not torch.is_autocast_enabled(x.device.type):
        raise FieldTypeError(
            f"{name} holds {_short(reference.dtype)} weights but input {i} is "
            f"{_short(x.dtype)}: convert the input (x.to({reference.dtype})) or the module "
            f"(module.to({x.dtype}))"
        )
    if x.device != reference.device:
        raise FieldTypeError(
            f"{name} is on {reference.device} but input {i} is on {x.device}: move one of "
            f"them (x.to('{reference.device}') or module.to('{x.device}'))"
        )


def _short(dtype) -> str:
    return str(dtype).replace("torch.", "")
