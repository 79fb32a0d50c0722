"""Benchmarks of the core layers."""

from __future__ import annotations

import torch
from torch import nn

from ..groups import SO3, Cyclic, irrep, regular
from ..nn import EquivariantLinear
from . import BenchPair, fwd_bwd, register


def _linear_pair(layer: EquivariantLinear, batch: int, device: str, note: str) -> BenchPair:
    layer = layer.to(device)
    dense = nn.Linear(layer.rep_in.dim, layer.rep_out.dim).to(device)
    x = torch.randn(batch, layer.rep_in.dim, device=device)
    return BenchPair(
        ours=fwd_bwd(layer, x),
        references={"nn.Linear (same shape)": fwd_bwd(dense, x)},
        ours_label="EquivariantLinear",
        note=note,
    )


@register("equivariant-linear-c8", "core", "EquivariantLinear 32 x regular(C8) -> same, fwd+bwd")
def _c8(device: str) -> BenchPair:
    G = Cyclic(8)
    layer = EquivariantLinear(32 * regular(G), 32 * regular(G))
    return _linear_pair(layer, 4096, device, "256 -> 256 features, batch 4096, forward+backward")


@register("equivariant-linear-so3", "core", "EquivariantLinear on SO(3) irreps l<=2, fwd+bwd")
def _so3(device: str) -> BenchPair:
    G = SO3()
    rep = 32 * irrep(G, 0) + 16 * irrep(G, 1) + 8 * irrep(G, 2)
    layer = EquivariantLinear(rep, rep)
    return _linear_pair(
        layer, 4096, device, "32x0 + 16x1 + 8x2 (120 features), batch 4096, fwd+bwd"
    )
