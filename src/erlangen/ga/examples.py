"""Small typed GA layers registered for ``erlangen tour`` and the smoke tests."""

from __future__ import annotations

from ..registry import register_example
from .layers import (
    EquiLayerNorm,
    EquiLinear,
    GatedGELU,
    GATr,
    GeometricAttention,
    GeometricBilinear,
)


@register_example("ga-equilinear", "ga", "EquiLinear: 3 -> 4 multivectors, 2 -> 5 scalars")
def _equilinear():
    return EquiLinear(3, 4, in_s=2, out_s=5)


@register_example("ga-bilinear", "ga", "geometric product + equivariant join, then EquiLinear")
def _bilinear():
    return GeometricBilinear(3, 4, in_s=2, out_s=3)


@register_example("ga-gated-gelu", "ga", "gated GELU on 3 multivectors and 2 scalars")
def _gelu():
    return GatedGELU(3, 2)


@register_example("ga-layernorm", "ga", "equivariant layer norm on 3 multivectors, 2 scalars")
def _norm():
    return EquiLayerNorm(3, 2)


@register_example("ga-attention", "ga", "geometric attention, 2 heads, multi-query")
def _attention():
    return GeometricAttention(3, 2, heads=2, head_mv=2, head_s=3)


@register_example("ga-gatr", "ga", "GATr with 2 blocks, 4 multivector and 8 scalar channels")
def _gatr():
    return GATr(in_mv=2, out_mv=1, hidden_mv=4, in_s=1, out_s=1, hidden_s=8, blocks=2, heads=2)
