""":class:`GeometricBilinear`: geometric products and equivariant joins of learned
projections."""

from __future__ import annotations

from torch import Tensor

from ..nn.arguments import count, counts
from . import kernels, products
from .base import KernelLayer
from .linear import EquiLinear


class GeometricBilinear(KernelLayer):
    """Geometric product and equivariant join of learned projections, then :class:`EquiLinear`.

    ``l, r = EquiLinear(x)``: separate projections give the left and right inputs of the
    geometric product and of the join; ``join(l, r) * ref_e123`` uses the e123 component of the
    mean multivector over the input channels (per token) as the reference that makes the join
    reflection-equivariant. The products are concatenated and mapped to the outputs.

    Parameters
    ----------
    in_mv, out_mv, in_s, out_s : int
        Channels; the scalars skip the products and enter the output map.
    hidden_mv : int, optional
        Channels of each product (default ``max(1, out_mv // 2)``).

    Shape
    -----
    ``(..., in_mv, 16)``, ``(..., in_s)`` -> ``(..., out_mv, 16)``, ``(..., out_s)``;
    without scalars that side is None.

    Notes
    -----
    Each product is one GEMM of the outer products against a ``(16, 256)`` table
    (:func:`erlangen.ga.products.bilinear_products`).
    """

    def __init__(
        self, in_mv: int, out_mv: int, in_s: int = 0, out_s: int = 0, hidden_mv: int | None = None
    ):
        super().__init__()
        counts("GeometricBilinear", in_mv=in_mv, out_mv=out_mv)
        counts("GeometricBilinear", minimum=0, in_s=in_s, out_s=out_s)
        if hidden_mv is not None:
            count(hidden_mv, "hidden_mv", "GeometricBilinear")
        self.hidden = hidden_mv or max(1, out_mv // 2)
        self.proj = EquiLinear(in_mv, 4 * self.hidden, in_s, 0)
        self.out = EquiLinear(2 * self.hidden, out_mv, in_s, out_s)
        self.in_type = self.proj.in_type
        self.out_type = self.out.out_type

    def reference_e123(self, x: Tensor) -> Tensor:
        """The join's reference ``(tokens,)``: the e123 component of the mean over the input
        channels of ``x (16, tokens, channels)`` (kernel layout)."""
        return x.mean(-1)[kernels.K_E123]  # mean first: its backward expands, a select's fills

    def forward_kernel(self, x: Tensor, s: Tensor | None) -> tuple[Tensor, Tensor | None]:
        projected, _ = self.proj.forward_kernel(x, s)
        both = products.bilinear_products(projected, self.reference_e123(x))
        return self.out.forward_kernel(both, s)
