"""Clebsch-Gordan coefficients of O(3) in the real basis of the spherical harmonics.

``wigner_3j(l1, l2, l3)`` is the ``(2l1+1, 2l2+1, 2l3+1)`` tensor ``C`` with
``C[a, b, c] D1[a, a'] D2[b, b'] = D3[c, c'] C[a', b', c']`` for every rotation (the
coupling is invariant), normalised to unit Frobenius norm. It equals
``e3nn.o3.wigner_3j(l1, l2, l3)`` entry for entry, sign included (tested for all ``l <= 6``).

How it is built: the complex Clebsch-Gordan coefficients of the Condon-Shortley convention from
Racah's formula in exact integer arithmetic, carried into the real basis of
:mod:`~erlangen.o3.spherical_harmonics` (``Y_lm`` real, no Condon-Shortley phase) and multiplied
by ``i^(l1 + l2 - l3)``, which makes every entry real (the sign convention e3nn uses too).

``clebsch_gordan(l1, l2, l3) = sqrt(2 l3 + 1) * wigner_3j(l1, l2, l3)`` has orthonormal output
columns (``sum_ab C[a, b, c] C[a, b, c'] = delta_cc'``): for inputs with unit-variance
components, every output component of the coupled product has unit variance.

>>> import torch
>>> C = wigner_3j(1, 1, 0)                 # the dot product, normalised
>>> torch.allclose(C[..., 0], torch.eye(3, dtype=torch.float64) / 3**0.5)
True
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import torch
from torch import Tensor


def _check_triangle(l1: int, l2: int, l3: int) -> None:
    for name, value in (("l1", l1), ("l2", l2), ("l3", l3)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if not abs(l1 - l2) <= l3 <= l1 + l2:
        raise ValueError(
            f"no coupling {l1} x {l2} -> {l3}: the triangle rule needs |l1 - l2| <= l3 <= l1 + l2"
        )


@cache
def _factorial(n: int) -> int:
    return math.factorial(n)


def _complex_cg(j1: int, m1: int, j2: int, m2: int, j: int, m: int) -> float:
    """<j1 m1 j2 m2 | j m> (Condon-Shortley) from Racah's formula in exact integers."""
    if m1 + m2 != m or abs(m1) > j1 or abs(m2) > j2 or abs(m) > j:
        return 0.0
    f = _factorial
    a, b, c = j1 + j2 - j, j1 - m1, j2 + m2
    d, e = j - j2 + m1, j - j1 - m2
    k_lo, k_hi = max(0, -d, -e), min(a, b, c)
    if k_lo > k_hi:
        return 0.0
    # every term 1 / (k! (a-k)! (b-k)! (c-k)! (d+k)! (e+k)!) has a denominator dividing
    # common, so the alternating sum is an exact integer over common
    common = f(k_hi) * f(a) * f(b) * f(c) * f(d + k_hi) * f(e + k_hi)
    total = 0
    for k in range(k_lo, k_hi + 1):
        term = common // (f(k) * f(a - k) * f(b - k) * f(c - k) * f(d + k) * f(e + k))
        total += -term if k % 2 else term
    if total == 0:
        return 0.0
    num = (2 * j + 1) * f(j + j1 - j2) * f(j - j1 + j2) * f(a)
    num *= f(j + m) * f(j - m) * f(j1 - m1) * f(j1 + m1) * f(j2 - m2) * f(j2 + m2)
    den = f(j1 + j2 + j + 1)
    # int / int is correctly rounded however large the integers are
    return math.copysign(math.sqrt(num * total * total / (den * common * common)), total)


@cache
def _real_from_complex(l: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: E741
    """``Y_real = U Y_complex`` as two nonzeros per row: ``(columns (2l+1, 2), weights
    (2l+1, 2) complex)``; rows are real m = -l..l, columns complex m + l."""
    cols = np.full((2 * l + 1, 2), l, dtype=np.int64)
    weights = np.zeros((2 * l + 1, 2), dtype=np.complex128)
    weights[l, 0] = 1.0
    h = 1 / math.sqrt(2.0)
    for m in range(1, l + 1):
        sign = (-1) ** m
        # Y_{l,m} = sqrt2 (-1)^m Re Y_l^m and Y_{l,-m} = sqrt2 (-1)^m Im Y_l^m, with
        # conj(Y_l^m) = (-1)^m Y_l^{-m}
        cols[l + m] = cols[l - m] = (l + m, l - m)
        weights[l + m] = (sign * h, h)
        weights[l - m] = (-1j * sign * h, 1j * h)
    return cols, weights


@cache
def _wigner_3j_float64(l1: int, l2: int, l3: int) -> Tensor:
    # numpy here: thousands of scalar writes, where a torch tensor's per-call cost dominates
    complex_cg = np.zeros((2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1))
    for m1 in range(-l1, l1 + 1):
        for m2 in range(max(-l2, -l3 - m1), min(l2, l3 - m1) + 1):
            complex_cg[l1 + m1, l2 + m2, l3 + m1 + m2] = _complex_cg(l1, m1, l2, m2, l3, m1 + m2)
    # the real harmonics transform with U, the coupled states with conj(U): a sparse
    # change of basis on each axis (two nonzeros per row)
    (c1, w1), (c2, w2), (c3, w3) = (_real_from_complex(d) for d in (l1, l2, l3))
    real = np.zeros(complex_cg.shape, dtype=np.complex128)
    for s in range(2):
        for t in range(2):
            for r in range(2):
                block = complex_cg[c1[:, s, None, None], c2[None, :, t, None], c3[None, None, :, r]]
                weight = w1[:, s, None, None] * w2[None, :, t, None] * w3[None, None, :, r].conj()
                real += weight * block
    real = real * (1j) ** (l1 + l2 - l3)
    if np.abs(real.imag).max() > 1e-12:  # pragma: no cover - a property of the construction
        raise AssertionError(f"wigner_3j({l1}, {l2}, {l3}) did not come out real")
    out = torch.from_numpy(np.ascontiguousarray(real.real))
    return out / out.norm()


def wigner_3j(
    l1: int,
    l2: int,
    l3: int,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Tensor:
    """The real coupling tensor of ``l1 x l2 -> l3``, unit Frobenius norm (e3nn's values).

    Parameters
    ----------
    l1, l2, l3 : int
        Degrees with ``|l1 - l2| <= l3 <= l1 + l2``.

    Returns
    -------
    Tensor
        ``(2 l1 + 1, 2 l2 + 1, 2 l3 + 1)``, computed once in float64 and cached.
    """
    _check_triangle(l1, l2, l3)
    return _wigner_3j_float64(l1, l2, l3).to(dtype=dtype, device=device)


def clebsch_gordan(
    l1: int,
    l2: int,
    l3: int,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Tensor:
    """``sqrt(2 l3 + 1) * wigner_3j(l1, l2, l3)``: orthonormal output columns,
    ``(2 l1 + 1, 2 l2 + 1, 2 l3 + 1)``."""
    return wigner_3j(l1, l2, l3, dtype, device) * math.sqrt(2 * l3 + 1)


def couple(x1: Tensor, x2: Tensor, l1: int, l2: int, l3: int) -> Tensor:
    """The coupled product ``z_c = sum_ab C[a, b, c] x1_a x2_b`` with
    :func:`clebsch_gordan` coefficients.

    Parameters
    ----------
    x1 : Tensor
        ``(..., 2 l1 + 1)``.
    x2 : Tensor
        ``(..., 2 l2 + 1)`` (broadcast against ``x1``).

    Returns
    -------
    Tensor
        ``(..., 2 l3 + 1)``.
    """
    for name, x, l in (("x1", x1, l1), ("x2", x2, l2)):  # noqa: E741
        if x.shape[-1] != 2 * l + 1:
            raise ValueError(f"couple: {name} must be (..., {2 * l + 1}), got {tuple(x.shape)}")
    C = clebsch_gordan(l1, l2, l3, x1.dtype, x1.device)
    return torch.einsum("...a,...b,abc->...c", x1, x2, C)


__all__ = ["clebsch_gordan", "couple", "wigner_3j"]
