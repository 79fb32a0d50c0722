"""Gaunt tensor products: the product of two functions on the sphere, in irreps coefficients.

Read coefficients ``x (..., (L + 1)^2)`` as the function ``sum_lm x_lm Y_lm`` (integral-
normalised harmonics). The pointwise product of two such functions has coefficients

.. math::

    z_{l_3 m_3} = \\sum G^{l_1 l_2 l_3}_{m_1 m_2 m_3} x_{l_1 m_1} y_{l_2 m_2},\\qquad
    G = \\int Y_{l_1 m_1} Y_{l_2 m_2} Y_{l_3 m_3}\\, d\\Omega
      = \\gamma_{l_1 l_2 l_3}\\, \\mathrm{wigner\\_3j}(l_1, l_2, l_3)

with ``gamma = sqrt((2 l1 + 1)(2 l2 + 1) / (4 pi)) |<l1 0 l2 0 | l3 0>|`` (Gaunt coefficients,
Luo et al., ICLR 2024). ``gamma`` vanishes when ``l1 + l2 + l3`` is odd: a Gaunt product has no
such paths (the cross product ``1 x 1 -> 1`` among them), and its path weights can only factor
as ``w1[l1] w2[l2] w3[l3]``.

Two ways to compute the same numbers:

- :class:`GridProduct`: sample both functions on a Gauss-Legendre grid, multiply, project
  back (Xie et al., ICML 2025): ``O(L^3)`` per product;
- :class:`DenseProduct`: the Gaunt coefficients as dense Clebsch-Gordan blocks, one GEMM per
  pair of input degrees: ``O(L^6)``.

:class:`GauntTensorProduct` is the layer: channel-wise, with learnable weights per degree and
channel on both inputs and the output, parity tracked.
"""

from __future__ import annotations

import math
from functools import cache

import torch
from torch import Tensor, nn

from ..fields import IrrepsField
from ..groups.irreps import Irrep, Irreps
from ..nn import EquivariantModule
from .clebsch_gordan import _complex_cg, wigner_3j
from .grid import SphericalGrid, _degree_of, exact_resolution
from .kernels import ExactTables


@cache
def gaunt_factor(l1: int, l2: int, l3: int) -> float:
    """``gamma`` with ``int Y_l1 Y_l2 Y_l3 = gamma * wigner_3j(l1, l2, l3)`` (0 for odd
    ``l1 + l2 + l3`` and outside the triangle)."""
    if not abs(l1 - l2) <= l3 <= l1 + l2 or (l1 + l2 + l3) % 2:
        return 0.0
    return math.sqrt((2 * l1 + 1) * (2 * l2 + 1) / (4 * math.pi)) * abs(
        _complex_cg(l1, 0, l2, 0, l3, 0)
    )


def gaunt_coefficients(l1: int, l2: int, l3: int, dtype=torch.float64) -> Tensor:
    """``int Y_l1m1 Y_l2m2 Y_l3m3 dOmega``, ``(2 l1 + 1, 2 l2 + 1, 2 l3 + 1)``."""
    return (wigner_3j(l1, l2, l3) * gaunt_factor(l1, l2, l3)).to(dtype)


def _check_degrees(**degrees: int) -> None:
    for name, value in degrees.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")


class GridProduct(ExactTables):
    """The Gaunt product of all degrees ``<= lmax1`` and ``<= lmax2`` into degrees
    ``<= lmax_out``, on the smallest Gauss-Legendre grid that makes it exact.

    Parameters
    ----------
    lmax1, lmax2, lmax_out : int
        ``lmax_out`` defaults to ``lmax1 + lmax2`` (the whole product).

    Shapes: ``x1 (..., (lmax1 + 1)^2)``, ``x2 (..., (lmax2 + 1)^2)`` (batch dimensions
    broadcast) -> ``(..., (lmax_out + 1)^2)``.
    """

    def __init__(self, lmax1: int, lmax2: int, lmax_out: int | None = None):
        super().__init__()
        _check_degrees(lmax1=lmax1, lmax2=lmax2)
        lmax_out = lmax1 + lmax2 if lmax_out is None else lmax_out
        _check_degrees(lmax_out=lmax_out)
        self.lmax1, self.lmax2, self.lmax_out = lmax1, lmax2, lmax_out
        top = max(lmax1, lmax2, lmax_out)
        self.grid = SphericalGrid(top, exact_resolution(lmax1 + lmax2 + lmax_out))

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        _expect_degree(x1, self.lmax1, "x1")
        _expect_degree(x2, self.lmax2, "x2")
        return self.grid.from_grid(self.grid.to_grid(x1) * self.grid.to_grid(x2), self.lmax_out)

    def extra_repr(self) -> str:
        return f"lmax1={self.lmax1}, lmax2={self.lmax2}, lmax_out={self.lmax_out}"


class DenseProduct(ExactTables):
    """The same product as :class:`GridProduct` through dense Gaunt (Clebsch-Gordan) blocks:
    for each pair of input degrees, the outer product of the two inputs times one
    ``((2 l1 + 1)(2 l2 + 1), sum_l3 (2 l3 + 1))`` matrix over the output degrees ``l3`` that
    the pair reaches with ``l1 + l2 + l3`` even (no zero columns).

    Those degrees are every other one, so the output is accumulated in two halves, even and
    odd degrees, where they are contiguous, and interleaved at the end.
    """

    def __init__(self, lmax1: int, lmax2: int, lmax_out: int | None = None):
        super().__init__()
        _check_degrees(lmax1=lmax1, lmax2=lmax2)
        lmax_out = lmax1 + lmax2 if lmax_out is None else lmax_out
        _check_degrees(lmax_out=lmax_out)
        self.lmax1, self.lmax2, self.lmax_out = lmax1, lmax2, lmax_out
        # offsets of degree l3 inside its half (even or odd degrees)
        offset, sizes = {}, [0, 0]
        for l3 in range(lmax_out + 1):
            offset[l3] = sizes[l3 % 2]
            sizes[l3 % 2] += 2 * l3 + 1
        self.half_sizes = sizes
        # (l1, l2, half, first column, last column)
        self.blocks: list[tuple[int, int, int, int, int]] = []
        for l1 in range(lmax1 + 1):
            for l2 in range(lmax2 + 1):
                degrees = range(abs(l1 - l2), min(l1 + l2, lmax_out) + 1, 2)
                if not degrees:
                    continue
                cols = [gaunt_coefficients(l1, l2, l3) for l3 in degrees]
                block = torch.cat(cols, -1).reshape((2 * l1 + 1) * (2 * l2 + 1), -1)
                self.register_buffer(f"block_{l1}_{l2}", block, persistent=False)
                first = offset[degrees[0]]
                self.blocks.append((l1, l2, degrees[0] % 2, first, first + block.shape[1]))

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        _expect_degree(x1, self.lmax1, "x1")
        _expect_degree(x2, self.lmax2, "x2")
        batch = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        x1 = x1.expand(*batch, x1.shape[-1]).reshape(-1, x1.shape[-1])
        x2 = x2.expand(*batch, x2.shape[-1]).reshape(-1, x2.shape[-1])
        halves = [x1.new_zeros(x1.shape[0], size) for size in self.half_sizes]
        for l1, l2, half, first, last in self.blocks:
            a = x1[:, l1 * l1 : (l1 + 1) ** 2]
            b = x2[:, l2 * l2 : (l2 + 1) ** 2]
            outer = (a.unsqueeze(-1) * b.unsqueeze(-2)).flatten(-2)
            block = getattr(self, f"block_{l1}_{l2}").to(x1.dtype)
            halves[half][:, first:last] += outer @ block
        parts, starts = [], [0, 0]
        for l3 in range(self.lmax_out + 1):
            h, d = l3 % 2, 2 * l3 + 1
            parts.append(halves[h][:, starts[h] : starts[h] + d])
            starts[h] += d
        out = torch.cat(parts, -1)
        return out.view(*batch, out.shape[-1])  # an explicit width: safe for an empty batch

    def extra_repr(self) -> str:
        return f"lmax1={self.lmax1}, lmax2={self.lmax2}, lmax_out={self.lmax_out}"


def _expect_degree(x: Tensor, lmax: int, what: str) -> None:
    if x.shape[-1] != (lmax + 1) ** 2:
        raise ValueError(
            f"{what} must be (..., {(lmax + 1) ** 2}) (all l <= {lmax}), got {tuple(x.shape)}"
        )


def grid_product(x1: Tensor, x2: Tensor, lmax_out: int | None = None) -> Tensor:
    """Functional :class:`GridProduct` (degrees read from the input sizes)."""
    l1, l2 = _degree_of(x1.shape[-1], "x1"), _degree_of(x2.shape[-1], "x2")
    return _grid_product_module(l1, l2, lmax_out).to(x1.device)(x1, x2)


@cache
def _grid_product_module(l1: int, l2: int, lmax_out: int | None) -> GridProduct:
    return GridProduct(l1, l2, lmax_out)


# --------------------------------------------------------------------- the layer
def _function_parity(irreps: Irreps, what: str) -> tuple[int, int]:
    """``(lmax, s)`` with every term ``l`` of parity ``s (-1)^l`` and multiplicity ``C``;
    raises otherwise."""
    signs = {ir.p * (-1) ** ir.l for _, ir in irreps}
    if len(signs) != 1:
        raise ValueError(
            f"{what} = {irreps}: a Gaunt product reads features as a function on the sphere, so "
            "every term needs parity (-1)^l (or, for a pseudo-function, -(-1)^l throughout)"
        )
    ls = [ir.l for _, ir in irreps]
    if len(set(ls)) != len(ls):
        raise ValueError(f"{what} = {irreps}: each degree may appear once")
    return max(ls), signs.pop()


class GauntTensorProduct(EquivariantModule):
    """Channel-wise Gaunt tensor product on a spherical grid, with per-degree weights.

    ``z_u = w3_u[l3] * Proj_l3( f1_u * f2_u )`` with ``f1_u = sum_l1 w1_u[l1] x1_u^(l1)`` and
    ``f2_u`` alike, where ``f * g`` is the pointwise product of the functions on the sphere
    (:class:`GridProduct`); the effective weight of path ``(l1, l2, l3)`` is
    ``w1[l1] w2[l2] w3[l3]`` times the Gaunt coefficient, and paths with ``l1 + l2 + l3`` odd
    are absent. Outputs are scaled to unit variance for unit-variance inputs at unit weights.

    Parameters
    ----------
    irreps_in1, irreps_in2 : Irreps or str
        ``C x`` each degree present (``"8x0e + 8x1o + 8x2e"``); parities ``s (-1)^l`` with one
        sign ``s`` per input (``s = -1``: a pseudo-function, ``"8x0o + 8x1e"``). The second
        input may have multiplicity 1 (broadcast over the channels).
    lmax_out : int
        Output degrees ``0 .. lmax_out`` (at most ``lmax1 + lmax2``), each ``C x`` with parity
        ``s1 s2 (-1)^l``.
    weights : bool
        Learnable per-channel, per-degree weights (initialised to 1).

    Shapes: ``x1 (..., irreps_in1.dim)``, ``x2 (..., irreps_in2.dim)`` ->
    ``(..., irreps_out.dim)``.
    """

    def __init__(self, irreps_in1, irreps_in2, lmax_out: int, weights: bool = True):
        super().__init__()
        self.irreps_in1, self.irreps_in2 = Irreps(irreps_in1), Irreps(irreps_in2)
        l1, s1 = _function_parity(self.irreps_in1, "irreps_in1")
        l2, s2 = _function_parity(self.irreps_in2, "irreps_in2")
        muls1 = {mul for mul, _ in self.irreps_in1}
        muls2 = {mul for mul, _ in self.irreps_in2}
        if len(muls1) != 1 or len(muls2) != 1 or not muls2 <= muls1 | {1}:
            raise ValueError(
                f"GauntTensorProduct is channel-wise: one multiplicity C per input (the second "
                f"may have 1), got {self.irreps_in1} and {self.irreps_in2}"
            )
        _check_degrees(lmax_out=lmax_out)
        if lmax_out > l1 + l2:
            raise ValueError(f"lmax_out {lmax_out} exceeds lmax1 + lmax2 = {l1 + l2}")
        C = muls1.pop()
        self.channels, self.lmax1, self.lmax2, self.lmax_out = C, l1, l2, lmax_out
        self.mul2 = muls2.pop()
        degrees = range(lmax_out + 1)
        self.irreps_out = Irreps([(C, Irrep(d, s1 * s2 * (-1) ** d)) for d in degrees])
        self.product = GridProduct(l1, l2, lmax_out)
        # unit output variance per degree at unit weights (inputs: unit-variance components)
        present1 = {ir.l for _, ir in self.irreps_in1}
        present2 = {ir.l for _, ir in self.irreps_in2}
        scale = []
        for l3 in range(lmax_out + 1):
            var = sum(gaunt_factor(a, b, l3) ** 2 for a in present1 for b in present2) / (
                2 * l3 + 1
            )
            scale.append(1 / math.sqrt(var) if var > 0 else 0.0)
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float64), persistent=False)
        if weights:
            self.weight1 = nn.Parameter(torch.ones(C, len(self.irreps_in1)))
            self.weight2 = nn.Parameter(torch.ones(self.mul2, len(self.irreps_in2)))
            self.weight_out = nn.Parameter(torch.ones(C, lmax_out + 1))
        else:
            self.weight1 = self.weight2 = self.weight_out = None
        self.in_type = (IrrepsField(self.irreps_in1), IrrepsField(self.irreps_in2))
        self.out_type = IrrepsField(self.irreps_out)

    @staticmethod
    def _as_function(x: Tensor, irreps: Irreps, lmax: int, weight: Tensor | None) -> Tensor:
        """e3nn layout ``(..., dim)`` -> ``(..., mul, (lmax + 1)^2)`` (absent degrees zero)."""
        mul = irreps[0].mul
        blocks: dict[int, Tensor] = {}
        for k, ((_, ir), sl) in enumerate(zip(irreps, irreps.slices())):
            block = x[..., sl].unflatten(-1, (mul, ir.dim))
            if weight is not None:
                block = block * weight[:, k, None].to(x.dtype)
            blocks[ir.l] = block
        zeros = x.new_zeros(*x.shape[:-1], mul, 1)
        parts = [
            blocks.get(d, zeros.expand(*x.shape[:-1], mul, 2 * d + 1)) for d in range(lmax + 1)
        ]
        return torch.cat(parts, -1)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """``x1 (..., dim1)``, ``x2 (..., dim2)`` -> ``(..., dim_out)``."""
        self.validate_inputs(x1, x2)
        f1 = self._as_function(x1, self.irreps_in1, self.lmax1, self.weight1)
        f2 = self._as_function(x2, self.irreps_in2, self.lmax2, self.weight2)
        z = self.product(f1, f2)  # (..., C, (lmax_out + 1)^2)
        per_degree = self.scale.to(z.dtype)
        if self.weight_out is not None:
            per_degree = per_degree * self.weight_out.to(z.dtype)  # (C, lmax_out + 1)
        parts = []
        for l in range(self.lmax_out + 1):  # noqa: E741
            block = z[..., l * l : (l + 1) ** 2] * per_degree[..., l, None]
            parts.append(block.flatten(-2))
        return torch.cat(parts, -1)

    def extra_repr(self) -> str:
        return f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}"


__all__ = [
    "DenseProduct",
    "GauntTensorProduct",
    "GridProduct",
    "gaunt_coefficients",
    "gaunt_factor",
    "grid_product",
]
