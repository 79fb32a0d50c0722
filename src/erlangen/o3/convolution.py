"""The equivariant point convolution of NequIP (Batzner et al., 2022): messages are channel-wise
tensor products of the sender's features with the spherical harmonics of the edge, weighted
per edge by a function of its length.

.. math::

    m_{ij} = \\mathrm{TP}_{uvu}\\big(x_j,\\; Y(r_{ij});\\; W(|r_{ij}|)\\big),\\qquad
    y_i = \\mathrm{Linear}\\Big(\\frac{1}{\\sqrt{\\bar n}} \\sum_{j \\in N(i)} m_{ij}\\Big)

with ``r_ij = pos_i - pos_j`` and ``W`` a :class:`~erlangen.o3.radial.RadialMLP` or
:class:`~erlangen.o3.radial.RadialSpline` giving all ``weight_numel`` weights of an edge.

Inputs ``x (N, irreps_in.dim)``, ``pos (N, 3)`` and optionally ``edge_index (2, E)`` (sender,
receiver); without it every pair closer than ``r_max`` is an edge. Output
``(N, irreps_out.dim)``. Neighbour lists come from the core's :mod:`erlangen.nn.neighbours`
(``radius_graph`` is re-exported here).
"""

from __future__ import annotations

import math

from torch import Tensor

from ..fields import IrrepsField
from ..groups.irreps import Irreps
from ..nn import EquivariantModule
from ..nn.neighbours import radius_graph
from .linear import Linear
from .radial import RadialMLP, RadialSpline
from .spherical_harmonics import spherical_harmonics
from .tensor_product import TensorProduct

RADIAL = ("mlp", "spline")


class Convolution(EquivariantModule):
    """Point convolution with channel-wise tensor products and radial weights.

    Parameters
    ----------
    irreps_in : Irreps or str
        Node features, one multiplicity ``C`` for every term (``"16x0e + 16x1o"``).
    irreps_out : Irreps or str
    lmax_sh : int
        Degrees of the edge spherical harmonics.
    r_max : float
        Cutoff radius.
    radial : {"mlp", "spline"}
        How an edge length becomes its weights.
    num_basis : int
        Bessel functions (``"mlp"``) or spline coefficients (``"spline"``).
    hidden : tuple of int
        Hidden widths of the radial MLP.
    avg_num_neighbors : float
        The sum over neighbours is divided by its square root.
    """

    def __init__(
        self,
        irreps_in,
        irreps_out,
        lmax_sh: int = 2,
        r_max: float = 5.0,
        radial: str = "mlp",
        num_basis: int = 8,
        hidden: tuple[int, ...] = (32,),
        avg_num_neighbors: float = 1.0,
    ):
        super().__init__()
        if radial not in RADIAL:
            raise ValueError(f"radial must be one of {RADIAL}, got {radial!r}")
        self.irreps_in, self.irreps_out = Irreps(irreps_in), Irreps(irreps_out)
        muls = {mul for mul, _ in self.irreps_in}
        if len(muls) != 1:
            raise ValueError(
                f"irreps_in = {self.irreps_in}: the channel-wise convolution needs one "
                "multiplicity for every term"
            )
        channels = muls.pop()
        self.irreps_sh = Irreps.spherical_harmonics(lmax_sh)
        wanted = {ir for _, ir in self.irreps_out}
        reachable = []
        for _, ir1 in self.irreps_in:
            for _, ir2 in self.irreps_sh:
                reachable += [ir for ir in ir1 * ir2 if ir in wanted and ir not in reachable]
        if not reachable:
            raise ValueError(
                f"no path from {self.irreps_in} x {self.irreps_sh} to {self.irreps_out}"
            )
        self.irreps_mid = Irreps([(channels, ir) for ir in sorted(reachable)])
        self.tp = TensorProduct(
            self.irreps_in, self.irreps_sh, self.irreps_mid, mode="uvu", weights="external"
        )
        n = self.tp.weight_numel
        if radial == "mlp":
            self.radial = RadialMLP(n, r_max, num_basis, hidden)
        else:
            self.radial = RadialSpline(n, r_max, num_knots=max(num_basis, 4))
        self.linear = Linear(self.irreps_mid, self.irreps_out)
        self.r_max = float(r_max)
        self.norm = 1.0 / math.sqrt(avg_num_neighbors)
        self.in_type = (
            IrrepsField(self.irreps_in, batch_shape=(6,)),
            IrrepsField("1o", batch_shape=(6,)),
        )
        self.out_type = IrrepsField(self.irreps_out)

    def forward(self, x: Tensor, pos: Tensor, edge_index: Tensor | None = None) -> Tensor:
        """``x (N, dim_in)``, ``pos (N, 3)``, ``edge_index (2, E)`` -> ``(N, dim_out)``."""
        self.validate_inputs(x, pos)
        if x.dim() != 2 or pos.shape[0] != x.shape[0]:
            raise ValueError(
                f"Convolution takes x (N, {self.irreps_in.dim}) and pos (N, 3) with the same N, "
                f"got {tuple(x.shape)} and {tuple(pos.shape)}"
            )
        if edge_index is None:
            edge_index = radius_graph(pos, self.r_max)
        sender, receiver = edge_index
        vec = pos[receiver] - pos[sender]
        sh = spherical_harmonics(self.irreps_sh, vec, True, "component")
        weight = self.radial(vec.norm(dim=-1))
        messages = self.tp(x[sender], sh, weight)
        summed = x.new_zeros(x.shape[0], messages.shape[-1]).index_add(0, receiver, messages)
        return self.linear(summed * self.norm)

    def extra_repr(self) -> str:
        return f"{self.irreps_in} -> {self.irreps_mid} -> {self.irreps_out}, r_max={self.r_max}"


__all__ = ["RADIAL", "Convolution", "radius_graph"]
