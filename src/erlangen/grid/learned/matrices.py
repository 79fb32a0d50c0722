"""Matrix utilities of the learned actions: powers, the cyclic residual ``||A^n - I||_F``,
banded Toeplitz matrices, Haar-random orthogonal matrices and an inverse that is exact for
permutations.
"""

from __future__ import annotations

import torch
from torch import Tensor


def matrix_powers(A: Tensor, n: int) -> Tensor:
    """``[I, A, A^2, ..., A^(n-1)]``.

    Parameters
    ----------
    A : Tensor
        ``(..., d, d)``.
    n : int
        Number of powers (``n >= 1``).

    Returns
    -------
    Tensor
        ``(n, ..., d, d)``.
    """
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device).expand_as(A)
    powers = [eye]
    for _ in range(n - 1):
        powers.append(powers[-1] @ A)
    return torch.stack(powers)


def cyclic_residual(A: Tensor, n: int) -> Tensor:
    """``||A^n - I||_F`` per matrix: zero exactly when ``A`` generates a cyclic group of
    order dividing ``n``.

    Parameters
    ----------
    A : Tensor
        ``(..., d, d)``.

    Returns
    -------
    Tensor
        ``(...)``.
    """
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    return torch.linalg.matrix_norm(torch.linalg.matrix_power(A, n) - eye)


def toeplitz_matrix(diagonals: Tensor, size: int) -> Tensor:
    """Banded Toeplitz matrices ``A[p, q] = t[p - q + b]`` for ``|p - q| <= b``, else 0.

    Parameters
    ----------
    diagonals : Tensor
        ``(..., 2 b + 1)``: the values on the diagonals ``p - q = -b, ..., b``.
    size : int
        ``d``, with ``b <= d - 1``.

    Returns
    -------
    Tensor
        ``(..., d, d)``.
    """
    b = (diagonals.shape[-1] - 1) // 2
    p = torch.arange(size, device=diagonals.device)
    offset = p.view(-1, 1) - p.view(1, -1)
    inside = offset.abs() <= b
    index = (offset.clamp(-b, b) + b).flatten()
    A = diagonals.index_select(-1, index).unflatten(-1, (size, size))
    return A * inside.to(A.dtype)


def nearest_toeplitz(A: Tensor, bandwidth: int) -> Tensor:
    """Diagonals ``(..., 2 b + 1)`` of the banded Toeplitz matrix nearest to ``A`` in the
    Frobenius norm (the mean of each diagonal)."""
    return torch.stack(
        [torch.diagonal(A, -o, -2, -1).mean(-1) for o in range(-bandwidth, bandwidth + 1)], -1
    )


def random_orthogonal(count: int, d: int) -> Tensor:
    """``(count, d, d)`` Haar-random orthogonal matrices (QR of a Gaussian, signs fixed)."""
    g = torch.randn(count, d, d, dtype=torch.float64)
    q, r = torch.linalg.qr(g)
    return q * torch.sign(torch.diagonal(r, 0, -2, -1)).unsqueeze(-2)


def inverse(A: Tensor) -> Tensor:
    """``A^-1`` per matrix: ``A^T`` for permutations and other orthogonal matrices (so that
    the invertibility loss is exactly zero there), the pseudo-inverse if ``A`` is singular.

    Parameters
    ----------
    A : Tensor
        ``(..., d, d)``.

    Returns
    -------
    Tensor
        ``(..., d, d)``.
    """
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    if bool(((A.mT @ A - eye).abs().amax(dim=(-2, -1)) < 1e-12).all()):
        return A.mT
    try:
        return torch.linalg.inv(A)
    except RuntimeError:  # singular: the invertibility loss will say so
        return torch.linalg.pinv(A)


__all__ = [
    "cyclic_residual",
    "inverse",
    "matrix_powers",
    "nearest_toeplitz",
    "random_orthogonal",
    "toeplitz_matrix",
]
