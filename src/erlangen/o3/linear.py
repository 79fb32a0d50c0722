"""The equivariant linear map between irreps features: channels of the same irrep mix, nothing
else does (Schur's lemma), plus a bias on even scalars.

``y_ir = x_ir W_ir / sqrt(mul_in(ir))`` for every irrep ``ir`` present in both, with ``W_ir``
drawn from N(0, 1): unit-variance outputs for unit-variance inputs; output terms whose irrep
the input lacks are zero (and their bias, for ``0e``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..fields import IrrepsField
from ..groups.irreps import Irrep, Irreps
from ..nn import EquivariantModule


class Linear(EquivariantModule):
    """Equivariant linear layer ``(..., irreps_in.dim) -> (..., irreps_out.dim)``.

    Parameters
    ----------
    irreps_in, irreps_out : Irreps or str
    bias : bool
        A learnable bias on the ``0e`` outputs (initialised to zero).
    """

    def __init__(self, irreps_in, irreps_out, bias: bool = True):
        super().__init__()
        self.irreps_in, self.irreps_out = Irreps(irreps_in), Irreps(irreps_out)
        self.groups: list[tuple[Irrep, list[int], list[int]]] = []
        self.weights = nn.ParameterList()
        for ir in dict.fromkeys(ir for _, ir in self.irreps_out):
            ins = [i for i, (mul, other) in enumerate(self.irreps_in) if other == ir and mul]
            outs = [i for i, (mul, other) in enumerate(self.irreps_out) if other == ir and mul]
            if not ins or not outs:
                continue
            mul_in = sum(self.irreps_in[i].mul for i in ins)
            mul_out = sum(self.irreps_out[i].mul for i in outs)
            self.groups.append((ir, ins, outs))
            self.weights.append(nn.Parameter(torch.randn(mul_in, mul_out)))
        n_bias = sum(mul for mul, ir in self.irreps_out if ir.is_scalar) if bias else 0
        self.bias = nn.Parameter(torch.zeros(n_bias)) if n_bias else None
        self.in_type = IrrepsField(self.irreps_in)
        self.out_type = IrrepsField(self.irreps_out)

    def forward(self, x: Tensor) -> Tensor:
        """``(..., irreps_in.dim) -> (..., irreps_out.dim)``."""
        self.validate_inputs(x)
        batch = x.shape[:-1]
        slices_in = self.irreps_in.slices()
        outs: dict[int, Tensor] = {}
        for (ir, ins, out_terms), weight in zip(self.groups, self.weights):
            # (..., d, mul_in): the channels of one irrep side by side
            xs = torch.cat(
                [x[..., slices_in[i]].unflatten(-1, (self.irreps_in[i].mul, ir.dim)) for i in ins],
                -2,
            ).transpose(-1, -2)
            y = xs @ (weight.to(x.dtype) / math.sqrt(weight.shape[0]))  # (..., d, mul_out)
            start = 0
            for i in out_terms:
                mul = self.irreps_out[i].mul
                outs[i] = (
                    y[..., start : start + mul].transpose(-1, -2).reshape(*batch, mul * ir.dim)
                )
                start += mul
        parts, k = [], 0
        for i, (mul, ir) in enumerate(self.irreps_out):
            part = outs.get(i, x.new_zeros(*batch, mul * ir.dim))
            if ir.is_scalar and self.bias is not None:
                part = part + self.bias[k : k + mul].to(x.dtype)
                k += mul
            parts.append(part)
        return torch.cat(parts, -1) if parts else x.new_zeros(*batch, 0)

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_out}"


__all__ = ["Linear"]
