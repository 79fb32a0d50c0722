""":class:`EquiLinear`: the most general Pin(3,0,1)-equivariant linear map between multivector
channels, with auxiliary scalars."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..nn.arguments import counts
from . import kernels
from .base import KernelLayer, pair_types
from .group import equi_linear_basis

NUM_LINEAR_MAPS = 9


class EquiLinear(KernelLayer):
    """The most general Pin(3,0,1)-equivariant linear map between multivector channels, with
    auxiliary scalars.

    ``y_o = sum_i sum_b w[o, i, b] B_b(x_i)`` over the 9 basis maps ``B_b`` (grade projections
    and ``e0 <.>_k``, see :func:`~erlangen.ga.group.equi_linear_basis`). Scalar inputs feed the
    scalar component of the outputs, scalar components feed the scalar outputs, and the bias
    is on the scalar component only (the only invariant component that may carry one).

    Parameters
    ----------
    in_mv, out_mv : int
        Multivector channels.
    in_s, out_s : int
        Auxiliary scalar channels (0 for none).
    bias : bool

    Shape
    -----
    ``x (..., in_mv, 16)``, ``s (..., in_s)`` -> ``(..., out_mv, 16)``, ``(..., out_s)``;
    without scalars (``in_s`` or ``out_s`` 0) that side is None.

    Notes
    -----
    Two batched GEMMs over the 16 components (:func:`erlangen.ga.kernels.equi_linear`):
    ``24 * in * out`` multiply-adds per token, against ``256 * in * out`` for the equivalent
    dense ``(out*16, in*16)`` matrix (:meth:`linear_map`).
    """

    def __init__(self, in_mv: int, out_mv: int, in_s: int = 0, out_s: int = 0, bias: bool = True):
        super().__init__()
        counts("EquiLinear", in_mv=in_mv, out_mv=out_mv)
        counts("EquiLinear", minimum=0, in_s=in_s, out_s=out_s)
        self.in_mv, self.out_mv, self.in_s, self.out_s = in_mv, out_mv, in_s, out_s
        self.weight = nn.Parameter(torch.empty(out_mv, in_mv, NUM_LINEAR_MAPS))
        self.s_to_mv = nn.Parameter(torch.empty(out_mv, in_s)) if in_s else None
        self.mv_to_s = nn.Parameter(torch.empty(out_s, in_mv)) if out_s else None
        self.s_to_s = nn.Parameter(torch.empty(out_s, in_s)) if out_s and in_s else None
        self.bias = nn.Parameter(torch.zeros(out_mv)) if bias else None
        self.bias_s = nn.Parameter(torch.zeros(out_s)) if bias and out_s else None
        self.register_buffer("basis", equi_linear_basis(), persistent=False)
        self.in_type = pair_types(in_mv, in_s, (2, 3))
        self.out_type = pair_types(out_mv, out_s, (2, 3))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Unit-variance outputs for unit-variance inputs (per component)."""
        fan_scalar = self.in_mv + self.in_s
        with torch.no_grad():
            self.weight.normal_(0.0, 1.0 / math.sqrt(self.in_mv))
            self.weight[..., 0].mul_(math.sqrt(self.in_mv / fan_scalar))
            self.weight[..., 5:].mul_(math.sqrt(0.5))  # e0 components get two maps
            for p in (self.s_to_mv, self.mv_to_s, self.s_to_s):
                if p is not None:
                    p.normal_(0.0, 1.0 / math.sqrt(fan_scalar))

    def linear_map(self) -> Tensor:
        """The dense map ``(out_mv, 16, in_mv, 16)`` (for inspection and benchmarks)."""
        return torch.einsum("oib,bjk->ojik", self.weight, self.basis.to(self.weight.dtype))

    def forward_kernel(self, x: Tensor, s: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return kernels.equi_linear(
            x, s, self.weight, self.s_to_mv, self.mv_to_s, self.s_to_s, self.bias, self.bias_s
        )

    def extra_repr(self) -> str:
        return f"mv {self.in_mv} -> {self.out_mv}, scalars {self.in_s} -> {self.out_s}"
