"""Layer normalisation of irreps features that commutes with O(3).

Per term ``mul x ir`` and per sample: even scalars (``0e``) are centred over their channels and
divided by their RMS, then scaled and shifted per channel; every other term is divided by the
RMS of its channels' norms (``sqrt(mean_u |x_u|^2 / (2l + 1))``) and scaled per channel. Norms
are invariant, so the map is equivariant; a shift would break the equivariance of anything but
an even scalar, so there is none.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..fields import IrrepsField
from ..groups.irreps import Irreps
from ..nn import EquivariantModule


class IrrepsLayerNorm(EquivariantModule):
    """Equivariant layer norm for irreps features.

    Parameters
    ----------
    irreps : Irreps or str
    eps : float
        Added to the mean square before the square root.
    affine : bool
        Learnable per-channel scale (every term) and shift (even scalars only).

    Shapes: ``(..., irreps.dim) -> (..., irreps.dim)``.
    """

    def __init__(self, irreps, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        self.irreps = Irreps(irreps)
        self.eps = eps
        self.affine = affine
        n_scale = self.irreps.num_irreps
        n_shift = sum(mul for mul, ir in self.irreps if ir.is_scalar)
        if affine:
            self.weight = nn.Parameter(torch.ones(n_scale))
            self.bias = nn.Parameter(torch.zeros(n_shift))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.in_type = self.out_type = IrrepsField(self.irreps)

    def forward(self, x: Tensor) -> Tensor:
        """``(..., irreps.dim) -> (..., irreps.dim)``."""
        self.validate_inputs(x)
        parts = []
        i_scale = i_shift = 0
        for (mul, ir), sl in zip(self.irreps, self.irreps.slices()):
            block = x[..., sl].unflatten(-1, (mul, ir.dim))
            if ir.is_scalar:
                block = block - block.mean(-2, keepdim=True)
            mean_square = block.pow(2).mean((-2, -1), keepdim=True)
            block = block * torch.rsqrt(mean_square + self.eps)
            if self.weight is not None:
                block = block * self.weight[i_scale : i_scale + mul, None]
                if ir.is_scalar:
                    block = block + self.bias[i_shift : i_shift + mul, None]
            i_scale += mul
            i_shift += mul if ir.is_scalar else 0
            parts.append(block.flatten(-2))
        return torch.cat(parts, -1) if parts else x

    def extra_repr(self) -> str:
        return f"{self.irreps}, eps={self.eps}, affine={self.affine}"


__all__ = ["IrrepsLayerNorm"]
