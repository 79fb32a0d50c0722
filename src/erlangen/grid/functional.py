"""Primitives of group convolutions on the pixel grid: pure functions on tensors.

A G-CNN layer keeps one learned filter per (output, input) channel pair and *expands* it into
one filter per group element before an ordinary ``conv2d``. The expansion is fixed bookkeeping
that this module computes once per layer:

- :func:`tap_permutations` - for quarter turns and mirrors (C1, C2, C4, D1, D2, D4) a
  transformed ``k x k`` filter is a permutation of its taps, read off the image action of
  :mod:`erlangen.fields.image` itself, so filters and feature maps share one convention;
- :func:`orientation_permutations` - how a group-to-group layer re-indexes the input
  orientation axis: ``perm[h, h'] = index(h^-1 h')`` (Cayley table);
- :func:`filter_operators` - for any other angle, a linear operator per group element that
  turns a filter's parameters into the transformed ``k x k`` filter: either a steerable ring
  basis evaluated at rotated points (exact rotation of a continuous filter, then sampled) or
  bilinear resampling of the pixel filter;
- :func:`keeps_centre` / :func:`output_size` - the rule that decides whether a strided or
  padded layer keeps the rotation centre of its input on the centre of its output.

Conventions (those of :class:`~erlangen.fields.GroupImageField`): a lifting layer's output
plane ``h`` is the input correlated with the filter transformed by ``h``,
``(h . psi)(q) = psi(h^-1 q)``; a group layer's output plane ``h`` correlates input plane
``h'`` with the base filter slice ``h^-1 h'`` transformed by ``h``. Then
``layer(g . x) = g . layer(x)`` with ``(g . f)(h, p) = f(g^-1 h, g^-1 p)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..fields import transform_image
from ..groups import Cyclic, Dihedral, FiniteGroup, Group, PlanarGroup, as_group

#: filter-rotation methods: "permute" (exact quarter turns / mirrors), "ring", "bilinear"
FILTER_ROTATIONS = ("permute", "ring", "bilinear")


def is_pixel_exact(group: Group) -> bool:
    """Whether every element of ``group`` permutes the pixels of a square grid (C1, C2, C4,
    D1, D2, D4): then filters are transformed by permuting taps and layers are exact."""
    return isinstance(group, Cyclic | Dihedral) and 4 % group.n == 0


def check_planar_group(group: Group | str) -> FiniteGroup:
    """``group`` (a group or a name such as ``"C4"``, ``"D4"``, ``"p4m"``) as ``Cyclic(n)`` or
    ``Dihedral(n)``; a clear error otherwise."""
    group = as_group(group)
    if not isinstance(group, Cyclic | Dihedral):
        raise TypeError(
            "grid convolutions need a finite planar group, Cyclic(n) or Dihedral(n) "
            f"(p4 = Cyclic(4), p4m = Dihedral(4)); got {getattr(group, 'name', group)!r}"
        )
    return group


# --------------------------------------------------------------------------- exact layers
def tap_permutations(group: FiniteGroup, kernel_size: int) -> Tensor:
    """Where each tap of a transformed filter comes from.

    Parameters
    ----------
    group : Cyclic or Dihedral
        A pixel-exact group (see :func:`is_pixel_exact`).
    kernel_size : int

    Returns
    -------
    Tensor
        ``(|G|, k * k)`` long: ``(h . psi).flatten()[p] = psi.flatten()[perm[h, p]]``.
    """
    if not is_pixel_exact(group):
        raise ValueError(
            f"{group.name} has rotations that are not quarter turns: its filters cannot be "
            "transformed by permuting taps (use filter_rotation='ring' or 'bilinear')"
        )
    k = kernel_size
    taps = torch.arange(k * k).view(k, k)
    planar: PlanarGroup = group  # type: ignore[assignment]
    return torch.stack([transform_image(planar, h, taps).flatten() for h in group.elements()])


def orientation_permutations(group: FiniteGroup) -> Tensor:
    """``(|G|, |G|)`` long: ``perm[h, h'] = index(h^-1 h')``, the base-filter slice that output
    orientation ``h`` applies to input orientation ``h'``."""
    return group.cayley_table[group.inverse_index]


def lifting_index(taps: Tensor, in_channels: int) -> Tensor:
    """Gather index that expands a lifting bank.

    ``weight.reshape(out, -1)[:, index]`` viewed as ``(out * |G|, in_channels, k, k)`` is the
    bank whose filter ``(o, h, c)`` is ``h . weight[o, c]``.

    Parameters
    ----------
    taps : Tensor
        ``(|G|, k * k)`` from :func:`tap_permutations`.
    in_channels : int
        Input channels per channel group.

    Returns
    -------
    Tensor
        ``(|G| * in_channels * k * k,)`` long.
    """
    order, kk = taps.shape
    channel = torch.arange(in_channels).view(1, -1, 1) * kk
    return (channel + taps.view(order, 1, kk)).flatten()


def group_index(taps: Tensor, orientations: Tensor, in_channels: int) -> Tensor:
    """Gather index that expands a group-to-group bank.

    ``weight.reshape(out, -1)[:, index]`` viewed as ``(out * |G|, in_channels * |G|, k, k)``
    is the bank whose filter ``(o, h, c, h')`` is ``h . weight[o, c, index(h^-1 h')]``.

    Parameters
    ----------
    taps : Tensor
        ``(|G|, k * k)`` from :func:`tap_permutations`.
    orientations : Tensor
        ``(|G|, |G|)`` from :func:`orientation_permutations`.
    in_channels : int
        Input channels per channel group.

    Returns
    -------
    Tensor
        ``(|G| * in_channels * |G| * k * k,)`` long.
    """
    order, kk = taps.shape
    channel = torch.arange(in_channels).view(1, -1, 1, 1) * (order * kk)
    slice_ = orientations.view(order, 1, order, 1) * kk
    tap = taps.view(order, 1, 1, kk)
    return (channel + slice_ + tap).flatten()


# --------------------------------------------------------------------------- interpolated
@dataclass(frozen=True)
class RingBasis:
    """A steerable basis of ``k x k`` filters: Gaussian rings times circular harmonics,

    ``phi(x) = exp(-(|x| - r)^2 / (2 sigma^2)) * cos(m theta)`` (or ``sin``), for radii
    ``r = 0, 1, ..., (k - 1) // 2`` and frequencies
    ``m <= min(floor(frequency_per_radius * r), max_frequency)`` (only ``m = 0`` at the
    centre): 6 functions for 3x3, 11 for 5x5, 16 for 7x7 by default. Rotating and
    mirroring such a filter is exact for the continuous function; only its samples on the pixel
    grid are approximate. Each function is scaled to unit norm
    on the unrotated grid.

    Parameters
    ----------
    kernel_size : int
    sigma : float
        Width of the rings in pixels.
    frequency_per_radius : float
        Per-ring band limit ``floor(frequency_per_radius * r)``, so that each ring's harmonics
        stay resolvable by the pixels on it.
    max_frequency : int, optional
        Global cap on ``m`` (2 by default: higher harmonics of small rings alias on the grid
        and raised the measured equivariance error; ``0`` gives rotation-invariant filters).
    """

    kernel_size: int
    sigma: float = 0.6
    frequency_per_radius: float = 2.0
    max_frequency: int | None = 2

    def functions(self) -> list[tuple[float, int, bool]]:
        """``(radius, frequency, is_sine)`` of each basis function."""
        out: list[tuple[float, int, bool]] = []
        for r in range((self.kernel_size - 1) // 2 + 1):
            out.append((float(r), 0, False))
            top = math.floor(self.frequency_per_radius * r + 1e-9)
            if self.max_frequency is not None:
                top = min(top, self.max_frequency)
            for m in range(1, top + 1):
                out += [(float(r), m, False), (float(r), m, True)]
        return out

    def __len__(self) -> int:
        return len(self.functions())

    def evaluate(self, x: Tensor, y: Tensor) -> Tensor:
        """Unnormalised values at points ``(x, y)`` (any shape ``S``): ``(*S, len(self))``."""
        rho = torch.hypot(x, y)
        theta = torch.atan2(y, x)
        cols = []
        for r, m, sine in self.functions():
            radial = torch.exp(-((rho - r) ** 2) / (2 * self.sigma**2))
            angular = torch.sin(m * theta) if sine else torch.cos(m * theta)
            cols.append(radial * angular)
        return torch.stack(cols, dim=-1)


def _tap_coordinates(kernel_size: int) -> tuple[Tensor, Tensor]:
    """``(x, y)`` of the taps, ``(k * k,)`` each, in the image convention (x right, y up)."""
    k = kernel_size
    c = (k - 1) / 2
    i, j = torch.meshgrid(
        torch.arange(k, dtype=torch.float64), torch.arange(k, dtype=torch.float64), indexing="ij"
    )
    return (j - c).flatten(), (c - i).flatten()


def ring_operators(group: FiniteGroup, basis: RingBasis) -> Tensor:
    """``T[h, p, b] = phi_b(h^-1 x_p) / |phi_b|``: the filter ``sum_b w_b phi_b`` transformed
    by ``h``, sampled at tap ``p``. Shape ``(|G|, k * k, len(basis))``, float64."""
    planar: PlanarGroup = group  # type: ignore[assignment]
    x, y = _tap_coordinates(basis.kernel_size)
    points = torch.stack([x, y])  # (2, k*k)
    inverse = planar.planar_matrix(group.inverse(group.elements()), torch.float64)
    moved = inverse @ points  # (|G|, 2, k*k): h^-1 x_p
    values = basis.evaluate(moved[:, 0], moved[:, 1])  # (|G|, k*k, nb)
    norms = basis.evaluate(x, y).norm(dim=0)
    return values / norms


def bilinear_operators(group: FiniteGroup, kernel_size: int) -> Tensor:
    """``(|G|, k * k, k * k)``: column ``q`` of ``T[h]`` is the one-hot filter ``e_q``
    transformed by ``h`` with the image action's own bilinear resampling (taps whose source
    falls outside the ``k x k`` square are lost)."""
    k = kernel_size
    planar: PlanarGroup = group  # type: ignore[assignment]
    eye = torch.eye(k * k, dtype=torch.float64).view(k * k, k, k)
    ops = [
        transform_image(planar, h, eye, mode="bilinear").reshape(k * k, k * k).T
        for h in group.elements()
    ]
    return torch.stack(ops)


def filter_operators(
    group: FiniteGroup, kernel_size: int, method: str, basis: RingBasis | None = None
) -> Tensor:
    """Linear operators ``(|G|, k * k, n_params)`` that map a filter's parameters to the
    filter transformed by each element (``method`` is ``"ring"`` or ``"bilinear"``)."""
    if method == "ring":
        return ring_operators(group, basis or RingBasis(kernel_size))
    if method == "bilinear":
        return bilinear_operators(group, kernel_size)
    raise ValueError(f"filter operators are 'ring' or 'bilinear', got {method!r}")


# --------------------------------------------------------------------------- geometry
def output_size(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Side of the output of a convolution or pooling (``floor`` rounding, as ``conv2d``)."""
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def keeps_centre(
    size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> bool:
    """Whether the output grid of a convolution/pooling is centred on the input's centre.

    Output pixel ``i`` reads the input around ``stride * i - padding + dilation * (k - 1) / 2``;
    the output's centre maps to the input's centre ``(size - 1) / 2`` exactly when no rows are
    dropped by the ``floor``: ``(size + 2 padding - dilation (k - 1) - 1) % stride == 0``.
    Then rotations and mirrors about the centre commute with the layer; otherwise the output
    is shifted by a fraction of a pixel and quarter turns are no longer exact. Kernel parity
    does not matter (an even kernel puts the output between input pixels, symmetrically).
    """
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) % stride == 0


def centred_sizes(
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    start: int = 1,
    count: int = 4,
) -> list[int]:
    """The first ``count`` input sizes ``>= start`` that :func:`keeps_centre` accepts and that
    give a non-empty output."""
    found: list[int] = []
    size = start
    while len(found) < count:
        if output_size(size, kernel_size, stride, padding, dilation) >= 1 and keeps_centre(
            size, kernel_size, stride, padding, dilation
        ):
            found.append(size)
        size += 1
    return found


__all__ = [
    "FILTER_ROTATIONS",
    "RingBasis",
    "bilinear_operators",
    "centred_sizes",
    "check_planar_group",
    "filter_operators",
    "group_index",
    "is_pixel_exact",
    "keeps_centre",
    "lifting_index",
    "orientation_permutations",
    "output_size",
    "ring_operators",
    "tap_permutations",
]
