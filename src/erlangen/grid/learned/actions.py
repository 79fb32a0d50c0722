"""Known actions on ``k x k`` filters, as ``(k^2, k^2)`` float64 matrices on the row-major
``vec(W)``: the quarter turn and interpolated rotations, the mirrors, circular shifts, and
pooling-like averaging. Learned layers start at them (``init``) and
:mod:`erlangen.grid.inspect` compares what they learned with them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ...fields import rotate_image

#: the mirrors of a ``k x k`` grid that :func:`flip_action` knows
FLIPS = ("ud", "lr", "transpose", "antitranspose")


def _check_kernel(kernel_size: int) -> int:
    if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1:
        raise ValueError(f"kernel_size must be an int >= 1, got {kernel_size!r}")
    return kernel_size


def _matrix_of(image_map: Callable[[Tensor], Tensor], kernel_size: int) -> Tensor:
    """The ``(k^2, k^2)`` float64 matrix of a linear map on ``(..., k, k)`` images: column
    ``q`` is the image of the one-hot filter ``e_q``, so ``M @ vec(W) = vec(image_map(W))``
    with ``vec`` the row-major flattening."""
    k = _check_kernel(kernel_size)
    eye = torch.eye(k * k, dtype=torch.float64).view(k * k, k, k)
    return image_map(eye).reshape(k * k, k * k).T.contiguous()


def rot90_action(kernel_size: int) -> Tensor:
    """The permutation that turns a ``k x k`` filter by 90 degrees counter-clockwise.

    It is the tap permutation of the generator of ``Cyclic(4)`` in
    :func:`~erlangen.grid.functional.tap_permutations`, as a matrix: with it (and ``n = 4``)
    a learned layer is a p4 layer.

    Returns
    -------
    Tensor
        ``(k^2, k^2)`` float64 permutation matrix with ``A^4 = I``.
    """
    return rotation_action(kernel_size, 90.0)


def rotation_action(kernel_size: int, angle: float, mode: str = "bilinear") -> Tensor:
    """The rotation of a ``k x k`` filter by ``angle`` degrees (counter-clockwise) as a matrix.

    Multiples of 90 degrees permute taps exactly; other angles resample with the image action
    of :func:`~erlangen.fields.rotate_image` (``mode`` interpolation about the centre tap,
    taps whose source falls outside the square are lost), so the matrix is only
    approximately orthogonal and ``A^n`` only approximately ``I``.

    Returns
    -------
    Tensor
        ``(k^2, k^2)`` float64.
    """
    radians = math.radians(float(angle))
    return _matrix_of(lambda x: rotate_image(x, radians, mode=mode), kernel_size)


def flip_action(kernel_size: int, kind: str = "ud") -> Tensor:
    """A mirror of the ``k x k`` grid as a permutation matrix.

    Parameters
    ----------
    kernel_size : int
    kind : str
        ``"ud"`` (upside down: the mirror ``(x, y) -> (x, -y)`` of
        :class:`~erlangen.groups.Dihedral`), ``"lr"`` (left-right), ``"transpose"`` (mirror
        in the main diagonal) or ``"antitranspose"``.

    Returns
    -------
    Tensor
        ``(k^2, k^2)`` float64 with ``A^2 = I``.
    """
    maps = {
        "ud": lambda x: torch.flip(x, dims=(-2,)),
        "lr": lambda x: torch.flip(x, dims=(-1,)),
        "transpose": lambda x: x.transpose(-2, -1),
        "antitranspose": lambda x: torch.flip(x, dims=(-2, -1)).transpose(-2, -1),
    }
    if kind not in maps:
        raise ValueError(f"flip kind must be one of {FLIPS}, got {kind!r}")
    return _matrix_of(maps[kind], kernel_size)


def shift_action(kernel_size: int, dy: int, dx: int) -> Tensor:
    """Circular shift of the ``k x k`` grid by ``dy`` rows (down) and ``dx`` columns
    (right): a permutation matrix of order ``k / gcd``, the translations of a torus.

    Returns
    -------
    Tensor
        ``(k^2, k^2)`` float64.
    """
    return _matrix_of(lambda x: torch.roll(x, (dy, dx), dims=(-2, -1)), kernel_size)


def pooling_operators(kernel_size: int, coarse_size: int | None = None) -> tuple[Tensor, Tensor]:
    """Average pooling of a ``k x k`` filter to ``m x m`` and its pseudo-inverse.

    The pooling ``D`` is :func:`torch.nn.functional.adaptive_avg_pool2d` to ``m x m``
    (windows ``[floor(i k / m), ceil((i + 1) k / m))``, symmetric under the mirrors and
    quarter turns of the grid); the upsampling is ``U = D^+``, so ``D U = I`` and
    ``P = U D`` is the orthogonal projection onto the filters that are "coarse" (spanned by
    the pooling windows). Both commute with the quarter turns and mirrors of the grids.

    Parameters
    ----------
    kernel_size : int
    coarse_size : int, optional
        ``m``, default ``ceil(k / 2)``.

    Returns
    -------
    (Tensor, Tensor)
        ``D`` of shape ``(m^2, k^2)`` and ``U`` of shape ``(k^2, m^2)``, float64.
    """
    k = _check_kernel(kernel_size)
    m = math.ceil(k / 2) if coarse_size is None else coarse_size
    if not isinstance(m, int) or not 1 <= m <= k:
        raise ValueError(f"coarse_size must be an int in [1, {k}], got {coarse_size!r}")
    eye = torch.eye(k * k, dtype=torch.float64).view(k * k, 1, k, k)
    D = F.adaptive_avg_pool2d(eye, m).reshape(k * k, m * m).T.contiguous()
    U = torch.linalg.pinv(D)
    return D, U


def pooling_action(kernel_size: int, coarse_size: int | None = None) -> Tensor:
    """Pool to ``m x m`` and upsample back: the projection ``P = U D`` of
    :func:`pooling_operators`, a "pooling-like" action (idempotent, not invertible).

    Returns
    -------
    Tensor
        ``(k^2, k^2)`` float64.
    """
    D, U = pooling_operators(kernel_size, coarse_size)
    return U @ D


def blur_action(kernel_size: int) -> Tensor:
    """Replace every tap by the mean of its ``3 x 3`` neighbourhood (zeros outside).

    Returns
    -------
    Tensor
        ``(k^2, k^2)`` float64.
    """
    return _matrix_of(
        lambda x: F.avg_pool2d(x.unsqueeze(1), 3, 1, 1, count_include_pad=True).squeeze(1),
        kernel_size,
    )


__all__ = [
    "FLIPS",
    "blur_action",
    "flip_action",
    "pooling_action",
    "pooling_operators",
    "rot90_action",
    "rotation_action",
    "shift_action",
]
