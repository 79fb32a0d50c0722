"""A mixing layer on the sphere: project irreps features to a grid, apply an MLP over the
channels at every grid point, project back (the mixing layer of Facet, 2025).

Features ``C x l`` for ``l = 0 .. L`` with parity ``(-1)^l`` are ``C`` functions on the sphere.
The MLP acts on the ``C`` values at one point, the same at every point, so it commutes with
every rotation and reflection of the sphere. On a finite grid that holds exactly when the
sampled integrand is band-limited: a linear map, or a polynomial of degree ``k`` on a grid
exact to degree ``k L + L_out``. A general activation (SiLU) makes the values at the grid
points a function of unbounded degree, so the projection aliases and the layer is
equivariant only approximately; the error falls as the grid grows (docs/o3.md measures it).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..fields import IrrepsField
from ..groups.irreps import Irreps
from ..nn import EquivariantModule
from .grid import SphericalGrid, exact_resolution


def _channels_and_lmax(irreps: Irreps, what: str) -> tuple[int, int]:
    muls = {mul for mul, _ in irreps}
    ls = [ir.l for _, ir in irreps]
    ok = (
        len(muls) == 1
        and ls == list(range(len(ls)))
        and all(ir.p == (-1) ** ir.l for _, ir in irreps)
    )
    if not ok:
        raise ValueError(
            f"{what} = {irreps}: the grid mixing layer takes C x l for every l = 0 .. L with "
            "parity (-1)^l (C functions on the sphere), e.g. '8x0e + 8x1o + 8x2e'"
        )
    return muls.pop(), max(ls)


class GridMixing(EquivariantModule):
    """Project to a Gauss-Legendre grid, pointwise MLP over channels, project back.

    Parameters
    ----------
    irreps_in : Irreps or str
        ``C_in x l`` for ``l = 0 .. L_in``, parity ``(-1)^l``.
    irreps_out : Irreps or str, optional
        ``C_out x l`` for ``l = 0 .. L_out`` (default: ``irreps_in``).
    hidden : int, optional
        Width of the MLP's hidden layer (default ``2 C_in``); ``0`` for a single linear map.
    activation : callable or None
        Pointwise activation (SiLU by default); ``None`` makes the MLP linear (and the layer
        exactly equivariant).
    resolution : (int, int), optional
        Grid size ``(n_theta, n_phi)``; by default :func:`~erlangen.o3.exact_resolution` of
        degree ``4 L_in + L_out`` (a cubic pointwise map would be exact; with SiLU the
        equivariance error at ``L = 2`` is about 1e-4 of the output, falling to 1e-10 at
        degree 24, see docs/o3.md).

    Shapes: ``(..., irreps_in.dim) -> (..., irreps_out.dim)``.
    """

    def __init__(
        self,
        irreps_in,
        irreps_out=None,
        hidden: int | None = None,
        activation: Callable[[Tensor], Tensor] | None = F.silu,
        resolution: tuple[int, int] | None = None,
    ):
        super().__init__()
        self.irreps_in = Irreps(irreps_in)
        self.irreps_out = Irreps(irreps_out) if irreps_out is not None else self.irreps_in
        c_in, self.lmax_in = _channels_and_lmax(self.irreps_in, "irreps_in")
        c_out, self.lmax_out = _channels_and_lmax(self.irreps_out, "irreps_out")
        hidden = 2 * c_in if hidden is None else hidden
        if resolution is None:
            resolution = exact_resolution(4 * self.lmax_in + self.lmax_out)
        self.grid = SphericalGrid(max(self.lmax_in, self.lmax_out), resolution)
        self.activation = activation
        if hidden > 0:
            self.mlp = nn.Sequential(nn.Linear(c_in, hidden), nn.Linear(hidden, c_out))
        else:
            self.mlp = nn.Sequential(nn.Linear(c_in, c_out))
        self.c_in, self.c_out = c_in, c_out
        self.in_type = IrrepsField(self.irreps_in)
        self.out_type = IrrepsField(self.irreps_out)

    def forward(self, x: Tensor) -> Tensor:
        """``(..., irreps_in.dim) -> (..., irreps_out.dim)``."""
        self.validate_inputs(x)
        C = self.c_in
        coeffs = torch.cat(
            [
                x[..., sl].unflatten(-1, (C, ir.dim))
                for (_, ir), sl in zip(self.irreps_in, self.irreps_in.slices())
            ],
            -1,
        )  # (..., C, (L + 1)^2)
        values = self.grid.to_grid(coeffs).movedim(-3, -1)  # (..., n_theta, n_phi, C)
        layers = list(self.mlp)
        for k, layer in enumerate(layers):
            values = layer(values)
            if k + 1 < len(layers) and self.activation is not None:
                values = self.activation(values)
        out = self.grid.from_grid(values.movedim(-1, -3), self.lmax_out)  # (..., C_out, D)
        return torch.cat(
            [out[..., l * l : (l + 1) ** 2].flatten(-2) for l in range(self.lmax_out + 1)],  # noqa: E741
            -1,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.irreps_in} -> {self.irreps_out}, grid {self.grid.n_theta} x {self.grid.n_phi}"
        )


__all__ = ["GridMixing"]
