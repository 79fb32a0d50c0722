"""Optional fast path: spherical harmonics from sphericart (``pip install sphericart-torch``).

sphericart's real harmonics are the standard ones (Wikipedia's definition, no Condon-Shortley
phase), integral-normalised, ordered ``m = -l .. l``; e3nn's are the same functions of the
permuted point ``(v_z, v_x, v_y)``, so the fast path permutes the input and rescales per degree.
"""

from __future__ import annotations

import math
from functools import cache

import torch
from torch import Tensor


@cache
def available() -> bool:
    """Whether ``sphericart.torch`` imports."""
    try:
        import sphericart.torch  # noqa: F401
    except Exception:
        return False
    return True


@cache
def _calculator(lmax: int, solid: bool):
    import sphericart.torch as sc

    return sc.SolidHarmonics(lmax) if solid else sc.SphericalHarmonics(lmax)


@cache
def _scale(lmax: int, normalization: str, dtype: torch.dtype, device: str) -> Tensor:
    per_degree = []
    for l in range(lmax + 1):  # noqa: E741
        k = {"integral": 1.0, "component": math.sqrt(4 * math.pi)}.get(normalization)
        if k is None:
            k = math.sqrt(4 * math.pi / (2 * l + 1))
        per_degree += [k] * (2 * l + 1)
    return torch.tensor(per_degree, dtype=dtype, device=device)


def all_degrees(lmax: int, v: Tensor, normalization: str, unit: bool) -> Tensor:
    """``Y_l`` for all ``l <= lmax``, ``(..., (lmax + 1)^2)``, in e3nn's convention.

    ``v`` has unit length when ``unit`` (the harmonics of the direction); otherwise the
    homogeneous polynomials ``|v|^l Y_l(v / |v|)``.
    """
    if not available():
        raise ModuleNotFoundError("backend='sphericart' needs `pip install sphericart-torch`")
    batch = v.shape[:-1]
    points = v[..., [2, 0, 1]].reshape(-1, 3).contiguous()
    out = _calculator(lmax, solid=not unit)(points)
    out = out * _scale(lmax, normalization, out.dtype, str(out.device))
    return out.reshape(*batch, (lmax + 1) ** 2)
