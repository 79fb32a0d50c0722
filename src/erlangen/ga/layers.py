"""Pin(3,0,1)-equivariant layers and the Geometric Algebra Transformer (GATr), in one place.

Every layer and GATr itself works on the pair of the reference GATr: multivector channels
``x (..., channels, 16)`` and auxiliary scalar channels ``s (..., scalar_channels)``. Each
takes ``(x, scalars=None)`` and returns ``(x, s)``, where ``s`` is None exactly when the layer
has no scalar outputs, so layers stack without adapters: ``layer2(*layer1(x, s))``.

``in_type`` and ``out_type`` are always the pair of types ``(MultivectorField,
InvariantField)``; a side without scalars has ``InvariantField(group, channels=0)``: its
scalar input may be None (or ``(..., 0)``), its scalar output is None (which the checker
skips). Bad shapes raise :class:`~erlangen.fields.FieldTypeError` before any work is done.
Layers that mix tokens (attention, GATr) take ``x (..., tokens, channels, 16)``.

The layers live one per module (:mod:`~erlangen.ga.linear`, :mod:`~erlangen.ga.bilinear`,
:mod:`~erlangen.ga.pointwise`, :mod:`~erlangen.ga.attention`,
:mod:`~erlangen.ga.transformer`), their arithmetic in :mod:`erlangen.ga.kernels`, and what
they share (validation once at the outermost layer, the kernel layout inside) in
:mod:`erlangen.ga.base`.
"""

from __future__ import annotations

from .attention import GeometricAttention
from .base import KernelLayer, MultivectorsAndScalars, pair_types
from .bilinear import GeometricBilinear
from .linear import NUM_LINEAR_MAPS, EquiLinear
from .pointwise import EquiLayerNorm, GatedGELU
from .transformer import GATr, GATrBlock

__all__ = [
    "NUM_LINEAR_MAPS",
    "EquiLayerNorm",
    "EquiLinear",
    "GATr",
    "GATrBlock",
    "GatedGELU",
    "GeometricAttention",
    "GeometricBilinear",
    "KernelLayer",
    "MultivectorsAndScalars",
    "pair_types",
]
