"""Band-limited functions on the sphere sampled on a Gauss-Legendre grid, and back.

Coefficients ``c (..., (L + 1)^2)`` (e3nn's order, ``k = l^2 + l + m``) stand for the function
``f = sum_lm c_lm Y_lm`` with integral-normalised harmonics
(:func:`~erlangen.o3.spherical_harmonics`). :class:`SphericalGrid` samples it on ``n_theta``
Gauss-Legendre nodes in ``cos theta`` times ``n_phi`` equispaced longitudes (the polar axis is
e3nn's ``y``), and projects samples back by quadrature, which is exact for every band-limited
integrand of degree ``< min(2 n_theta, n_phi)``.

Both directions are separable: a Legendre step (for each order ``m``, a ``(L + 1) x n_theta``
matrix, batched over ``m``) and a Fourier step (``(2L + 1) x n_phi``): ``O(L^3)`` per
function, against ``O(L^4)`` for one dense matrix over all ``(l, m)``.

>>> import torch
>>> grid = SphericalGrid(lmax=3)
>>> x = torch.randn(5, 16, dtype=torch.float64)
>>> torch.allclose(grid.from_grid(grid.to_grid(x), lmax=3), x)
True
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .kernels import ExactTables
from .spherical_harmonics import _all_degrees


def exact_resolution(degree: int) -> tuple[int, int]:
    """The smallest ``(n_theta, n_phi)`` whose quadrature integrates every band-limited
    function of ``degree`` exactly (Gauss-Legendre with ``n`` nodes is exact to polynomial
    degree ``2n - 1``; ``n`` equispaced longitudes to trigonometric degree ``n - 1``)."""
    if degree < 0:
        raise ValueError(f"degree must be >= 0, got {degree}")
    return degree // 2 + 1, degree + 1


def _degree_of(dim: int, what: str) -> int:
    lmax = math.isqrt(dim) - 1
    if (lmax + 1) ** 2 != dim:
        raise ValueError(
            f"{what}: the last axis must hold all degrees up to some L, (L + 1)^2 values, got {dim}"
        )
    return lmax


class SphericalGrid(ExactTables):
    """Sampling and quadrature on a Gauss-Legendre grid for degrees up to ``lmax``.

    Parameters
    ----------
    lmax : int
        Largest degree sampled or projected.
    resolution : (int, int), optional
        ``(n_theta, n_phi)``; by default :func:`exact_resolution` of ``2 lmax``, exact for the
        round trip ``from_grid(to_grid(x)) == x``. A product of functions needs the grid of
        its total degree (:class:`~erlangen.o3.GridProduct` picks it).

    Attributes
    ----------
    points : Tensor
        ``(n_theta, n_phi, 3)`` unit vectors of the grid (float64).
    weights : Tensor
        ``(n_theta, n_phi)`` quadrature weights, summing to ``4 pi``.
    """

    def __init__(self, lmax: int, resolution: tuple[int, int] | None = None):
        super().__init__()
        if isinstance(lmax, bool) or not isinstance(lmax, int) or lmax < 0:
            raise ValueError(f"lmax must be an integer >= 0, got {lmax!r}")
        n_theta, n_phi = resolution if resolution is not None else exact_resolution(2 * lmax)
        if n_theta < 1 or n_phi < 1:
            raise ValueError(f"resolution needs n_theta, n_phi >= 1, got {resolution}")
        self.lmax, self.n_theta, self.n_phi = lmax, int(n_theta), int(n_phi)
        nodes, gauss = np.polynomial.legendre.leggauss(self.n_theta)
        t = torch.from_numpy(nodes)
        phi = torch.arange(self.n_phi, dtype=torch.float64) * (2 * math.pi / self.n_phi)
        # Lambda[m, l, a]: the theta part of Y_lm at node a, zero for l < |m|, read off the
        # harmonics at longitude 0 (e3nn's point (0, cos theta, sin theta))
        meridian = torch.stack([torch.zeros_like(t), t, (1 - t * t).clamp(min=0).sqrt()], -1)
        y = _all_degrees(lmax, meridian, "integral", unit=True)  # (n_theta, (lmax+1)^2)
        legendre = torch.zeros(2 * lmax + 1, lmax + 1, self.n_theta, dtype=torch.float64)
        for l in range(lmax + 1):  # noqa: E741
            for m in range(-l, l + 1):
                legendre[lmax + m, l] = y[:, l * l + l + abs(m)]
        # Phi[m, b]: cos(m phi) for m >= 0, sin(|m| phi) for m < 0
        m = torch.arange(-lmax, lmax + 1, dtype=torch.float64)
        fourier = torch.where(
            m[:, None] >= 0,
            torch.cos(m[:, None].abs() * phi[None, :]),
            torch.sin(m[:, None].abs() * phi[None, :]),
        )
        theta_weights = torch.from_numpy(gauss)
        phi_weight = 2 * math.pi / self.n_phi
        self.register_buffer("legendre", legendre, persistent=False)
        self.register_buffer("fourier", fourier, persistent=False)
        self.register_buffer("legendre_weighted", legendre * theta_weights, persistent=False)
        self.register_buffer("fourier_weighted", fourier * phi_weight, persistent=False)
        sin_t = (1 - t * t).clamp(min=0).sqrt()
        points = torch.stack(
            [
                sin_t[:, None] * torch.sin(phi)[None, :],
                t[:, None].expand(-1, self.n_phi),
                sin_t[:, None] * torch.cos(phi)[None, :],
            ],
            -1,
        )
        self.register_buffer("points", points, persistent=False)
        self.register_buffer(
            "weights",
            theta_weights[:, None] * phi_weight * torch.ones(self.n_phi),
            persistent=False,
        )

    @staticmethod
    def _to_orders(x: Tensor, lmax: int) -> Tensor:
        """``(..., (lmax+1)^2)`` -> ``(..., 2 lmax + 1, lmax + 1)``: order by degree, zero
        where ``l < |m|``."""
        cols = [F.pad(x[..., l * l : (l + 1) ** 2], (lmax - l, lmax - l)) for l in range(lmax + 1)]  # noqa: E741
        return torch.stack(cols, -1)

    @staticmethod
    def _from_orders(c: Tensor, lmax: int) -> Tensor:
        return torch.cat([c[..., lmax - l : lmax + l + 1, l] for l in range(lmax + 1)], -1)  # noqa: E741

    def _orders(self, lmax: int) -> slice:
        """The rows of the tables for orders ``|m| <= lmax``."""
        return slice(self.lmax - lmax, self.lmax + lmax + 1)

    def to_grid(self, x: Tensor) -> Tensor:
        """Samples of ``sum_lm x_lm Y_lm`` on the grid.

        Parameters
        ----------
        x : Tensor
            ``(..., (l + 1)^2)`` for some ``l <= lmax``.

        Returns
        -------
        Tensor
            ``(..., n_theta, n_phi)``.
        """
        lmax = _degree_of(x.shape[-1], "to_grid")
        if lmax > self.lmax:
            raise ValueError(f"to_grid: degree {lmax} exceeds the grid's lmax {self.lmax}")
        c = self._to_orders(x, lmax)  # (..., m, l), only the orders this degree has
        legendre = self.legendre[self._orders(lmax), : lmax + 1].to(x.dtype)
        per_order = torch.einsum("...ml,mla->...am", c, legendre)
        return per_order @ self.fourier[self._orders(lmax)].to(x.dtype)

    def from_grid(self, f: Tensor, lmax: int | None = None) -> Tensor:
        """Coefficients up to ``lmax`` of sampled values, by quadrature.

        Parameters
        ----------
        f : Tensor
            ``(..., n_theta, n_phi)``.
        lmax : int, optional
            Defaults to the grid's ``lmax``.

        Returns
        -------
        Tensor
            ``(..., (lmax + 1)^2)``.
        """
        lmax = self.lmax if lmax is None else lmax
        if lmax > self.lmax:
            raise ValueError(f"from_grid: degree {lmax} exceeds the grid's lmax {self.lmax}")
        if f.shape[-2:] != (self.n_theta, self.n_phi):
            raise ValueError(
                f"from_grid: samples must be (..., {self.n_theta}, {self.n_phi}), "
                f"got {tuple(f.shape)}"
            )
        orders = self._orders(lmax)
        per_order = f @ self.fourier_weighted[orders].to(f.dtype).t()  # (..., a, m)
        legendre = self.legendre_weighted[orders, : lmax + 1].to(f.dtype)
        c = torch.einsum("...am,mla->...ml", per_order, legendre)
        return self._from_orders(c, lmax)

    def extra_repr(self) -> str:
        return f"lmax={self.lmax}, n_theta={self.n_theta}, n_phi={self.n_phi}"


__all__ = ["SphericalGrid", "exact_resolution"]
