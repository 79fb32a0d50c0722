"""Functions of the interatomic distance: radial bases, a smooth cutoff, and the two ways of
turning a distance into per-edge tensor-product weights (an MLP on a basis, or splines).

Distances are invariant under O(3), so every module here maps lengths ``r (...)`` to features
``(..., n)``; the convolution feeds them its edge lengths.

- :class:`BesselBasis`: ``sqrt(2 / r_max) sin(n pi r / r_max) / r`` (DimeNet, NequIP);
- :class:`GaussianBasis`: Gaussians on evenly spaced centres;
- :class:`PolynomialCutoff`: the envelope ``1 - (p+1)(p+2)/2 d^p + p(p+2) d^(p+1) -
  p(p+1)/2 d^(p+2)`` of ``d = r / r_max``, smooth to second order at ``r_max``, zero beyond;
- :class:`RadialMLP`: basis times cutoff, then an MLP;
- :class:`RadialSpline`: learnable cubic B-splines of the distance (Facet, 2025): every output is
  ``sum_k c_k B_k(r)`` with four nonzero ``B_k`` at any ``r``, so an edge costs a gather of four
  coefficient rows and a weighted sum instead of an MLP.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor, nn

from ..fields.vector import InvariantField
from ..groups import O3
from ..nn import EquivariantModule

_O3 = O3()


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _count(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


class _RadialModule(EquivariantModule):
    """Lengths ``(...)`` -> features ``(..., out_features)``: invariant in, invariant out."""

    def _set_types(self, out_features: int) -> None:
        self.out_features = out_features
        self.in_type = InvariantField(_O3, shape=(6,))
        self.out_type = InvariantField(_O3, out_features)


class PolynomialCutoff(_RadialModule):
    """Smooth envelope, 1 at ``r = 0`` and 0 (with two derivatives) from ``r_max`` on.

    Shapes: ``r (...) -> (..., 1)``.
    """

    def __init__(self, r_max: float, p: int = 6):
        super().__init__()
        self.r_max, self.p = _positive("r_max", r_max), _count("p", p)
        self._set_types(1)

    def forward(self, r: Tensor) -> Tensor:
        d = (r / self.r_max).clamp(min=0.0, max=1.0)
        p = self.p
        envelope = (
            1.0
            - (p + 1) * (p + 2) / 2 * d**p
            + p * (p + 2) * d ** (p + 1)
            - p * (p + 1) / 2 * d ** (p + 2)
        )
        return (envelope * (r < self.r_max)).unsqueeze(-1)


class BesselBasis(_RadialModule):
    """``sqrt(2 / r_max) sin(n pi r / r_max) / r`` for ``n = 1 .. num_basis``.

    Parameters
    ----------
    r_max : float
    num_basis : int
    trainable : bool
        Learn the frequencies ``n pi / r_max`` (NequIP does).

    Shapes: ``r (...) -> (..., num_basis)``; ``r > 0``.
    """

    def __init__(self, r_max: float, num_basis: int = 8, trainable: bool = False):
        super().__init__()
        self.r_max = _positive("r_max", r_max)
        num_basis = _count("num_basis", num_basis)
        freq = torch.arange(1, num_basis + 1, dtype=torch.get_default_dtype()) * math.pi / r_max
        self.frequencies = nn.Parameter(freq, requires_grad=trainable)
        self.prefactor = math.sqrt(2.0 / self.r_max)
        self._set_types(num_basis)

    def forward(self, r: Tensor) -> Tensor:
        r = r.unsqueeze(-1)
        return self.prefactor * torch.sin(self.frequencies * r) / r


class GaussianBasis(_RadialModule):
    """Gaussians ``exp(-(r - mu_k)^2 / (2 sigma^2))`` on ``num_basis`` centres evenly spaced
    in ``[start, stop]``, ``sigma`` their spacing.

    Shapes: ``r (...) -> (..., num_basis)``.
    """

    def __init__(self, start: float = 0.0, stop: float = 5.0, num_basis: int = 8):
        super().__init__()
        num_basis = _count("num_basis", num_basis, 2)
        if not stop > start:
            raise ValueError(f"GaussianBasis needs stop > start, got {start}, {stop}")
        self.register_buffer("centers", torch.linspace(start, stop, num_basis))
        self.width = (stop - start) / (num_basis - 1)
        self._set_types(num_basis)

    def forward(self, r: Tensor) -> Tensor:
        return torch.exp(-0.5 * ((r.unsqueeze(-1) - self.centers) / self.width) ** 2)


class RadialMLP(_RadialModule):
    """Bessel basis times the polynomial cutoff, then an MLP with SiLU.

    Parameters
    ----------
    out_features : int
        Usually a tensor product's ``weight_numel``.
    r_max : float
    num_basis : int
    hidden : sequence of int
        Hidden widths (NequIP: two layers of 64).

    Shapes: ``r (...) -> (..., out_features)``.
    """

    def __init__(
        self, out_features: int, r_max: float, num_basis: int = 8, hidden: tuple[int, ...] = (64,)
    ):
        super().__init__()
        self.basis = BesselBasis(r_max, num_basis)
        self.cutoff = PolynomialCutoff(r_max)
        widths = [num_basis, *hidden, _count("out_features", out_features)]
        layers: list[nn.Module] = []
        for k, (a, b) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.Linear(a, b, bias=False))
            if k + 2 < len(widths):
                layers.append(nn.SiLU())
        self.mlp = nn.Sequential(*layers)
        self._set_types(out_features)

    def forward(self, r: Tensor) -> Tensor:
        return self.mlp(self.basis(r) * self.cutoff(r))


class RadialSpline(_RadialModule):
    """Learnable cubic B-splines of the distance on ``[0, r_max]``, times the polynomial
    cutoff.

    Parameters
    ----------
    out_features : int
    r_max : float
    num_knots : int
        Number of B-spline coefficients per output (uniform knots, spacing
        ``r_max / (num_knots - 3)``), at least 4.
    cutoff : bool
        Multiply by :class:`PolynomialCutoff` so that outputs vanish smoothly at ``r_max``.

    Shapes: ``r (...) -> (..., out_features)``.
    """

    def __init__(self, out_features: int, r_max: float, num_knots: int = 16, cutoff: bool = True):
        super().__init__()
        self.r_max = _positive("r_max", r_max)
        self.num_knots = _count("num_knots", num_knots, 4)
        out_features = _count("out_features", out_features)
        self.step = self.r_max / (self.num_knots - 3)
        self.coefficients = nn.Parameter(torch.randn(self.num_knots, out_features))
        self.cutoff = PolynomialCutoff(self.r_max) if cutoff else None
        self._set_types(out_features)

    def forward(self, r: Tensor) -> Tensor:
        # knot k sits at (k - 1) * step; r in [0, r_max] lies between knots i and i + 1
        s = (r / self.step).clamp(min=0.0, max=self.num_knots - 3) + 1.0
        i = s.detach().floor().clamp(max=self.num_knots - 3)  # r = r_max: t = 1 in the last span
        t = s - i
        t2, t3 = t * t, t * t * t
        w = (
            torch.stack([(1 - t) ** 3, 3 * t3 - 6 * t2 + 4, -3 * t3 + 3 * t2 + 3 * t + 1, t3], -1)
            / 6.0
        )
        rows = i.long().unsqueeze(-1) + torch.arange(-1, 3, device=r.device)  # (..., 4)
        table = self.coefficients.to(r.dtype)
        coeffs = table[rows.reshape(-1)].view(*rows.shape, table.shape[-1])
        out = (w.unsqueeze(-1) * coeffs).sum(-2)
        return out * self.cutoff(r) if self.cutoff is not None else out


__all__ = [
    "BesselBasis",
    "GaussianBasis",
    "PolynomialCutoff",
    "RadialMLP",
    "RadialSpline",
]
