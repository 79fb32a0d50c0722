"""What every GA layer shares: the pair it takes and returns, its declared types, and the two
ways in (a validated public ``forward`` and a trusted ``forward_kernel``).

Every layer works on the pair of the reference GATr: multivector channels ``x (..., channels,
16)`` and auxiliary scalar channels ``s (..., scalar_channels)``. ``forward(x, scalars=None)``
returns ``(x, s)``, where ``s`` is None exactly when the layer has no scalar outputs, so
layers stack without adapters: ``layer2(*layer1(x, s))``.

Validation and layout
---------------------
``forward`` checks its inputs against ``in_type`` (:class:`~erlangen.fields.FieldTypeError`
naming the expected and actual shapes, dtype or device, before any work is done), converts
them to the kernel layout of :mod:`erlangen.ga.kernels` (``(16, tokens, channels)``), runs
``forward_kernel`` and converts back. A layer that contains layers (bilinear, attention,
block, GATr) calls its children's ``forward_kernel``: the inputs were validated once at the
outermost entry, and the multivectors stay in the kernel layout all the way through. So a
subclass that changes what a layer computes overrides ``forward_kernel`` (``forward`` is only
the public entry), and forward hooks of inner layers do not fire when their parent runs.
"""

from __future__ import annotations

from torch import Tensor

from ..fields import FieldTypeError, InvariantField
from ..nn import EquivariantModule
from .group import MultivectorField, Pin301
from .kernels import from_kernel_layout, to_kernel_layout

#: what every GA layer returns: multivectors ``(..., channels, 16)`` and scalars
#: ``(..., scalar_channels)`` or None
MultivectorsAndScalars = tuple[Tensor, Tensor | None]


def pair_types(
    mv: int, s: int, batch_shape: tuple[int, ...] = (2,)
) -> tuple[MultivectorField, InvariantField]:
    """The declared type of a GA layer's input or output: ``mv`` multivector channels and
    ``s`` auxiliary scalars (0: none), with ``batch_shape`` as their sampling setting.

    >>> pair_types(4, 0)
    (MultivectorField(Pin(3,0,1), channels=4), InvariantField(Pin(3,0,1), channels=0))
    """
    group = Pin301()
    return (
        MultivectorField(group, mv, batch_shape),
        InvariantField(group, channels=s, shape=(*batch_shape, s)),
    )


def scalar_inputs(module: EquivariantModule, x: Tensor, scalars: Tensor | None) -> Tensor | None:
    """Validate ``(x, scalars)`` against ``module.in_type`` (``FieldTypeError`` naming the
    expected and actual shapes); returns the scalars, None when the module takes none."""
    module.validate_inputs(x, scalars)
    s_type = module.in_type[1]
    if not s_type.channels:
        return None
    if scalars is None:
        raise FieldTypeError(
            f"{s_type!r}: {type(module).__name__} input scalars must have shape "
            f"(..., {s_type.channels}), got None"
        )
    if scalars.shape[:-1] != x.shape[:-2]:
        raise FieldTypeError(
            f"{type(module).__name__}: scalars must have the batch and token axes of the "
            f"multivectors, ({', '.join(map(str, x.shape[:-2]))}, {s_type.channels}), got "
            f"{tuple(scalars.shape)}"
        )
    return scalars


def scalars_to_kernel(s: Tensor | None) -> Tensor | None:
    """``(..., c)`` -> ``(tokens, c)``."""
    return None if s is None else s.reshape(-1, s.shape[-1])


def scalars_from_kernel(s: Tensor | None, lead: tuple[int, ...]) -> Tensor | None:
    """``(tokens, c)`` -> ``(*lead, c)``."""
    return None if s is None else s.reshape(*lead, s.shape[-1])


class KernelLayer(EquivariantModule):
    """A GA layer that acts token by token: ``forward`` validates and converts, subclasses
    implement :meth:`forward_kernel`.

    Shape
    -----
    ``x (..., in_mv, 16)``, ``scalars (..., in_s)`` (None when ``in_s`` is 0) ->
    ``(..., out_mv, 16)``, ``(..., out_s)`` (None when ``out_s`` is 0).
    """

    def forward(self, x: Tensor, scalars: Tensor | None = None) -> MultivectorsAndScalars:
        s = scalar_inputs(self, x, scalars)
        lead = tuple(x.shape[:-2])
        y, t = self.forward_kernel(to_kernel_layout(x), scalars_to_kernel(s))
        return from_kernel_layout(y, lead), scalars_from_kernel(t, lead)

    def forward_kernel(self, x: Tensor, s: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """The layer on trusted inputs in the kernel layout: ``x (16, tokens, in_mv)``,
        ``s (tokens, in_s)`` or None -> ``(16, tokens, out_mv)``, ``(tokens, out_s)`` or
        None. No validation: call it from a parent that validated its own inputs."""
        raise NotImplementedError
