"""Real spherical harmonics in e3nn's convention, any degree, with gradients.

Convention (the same numbers as ``e3nn.o3.spherical_harmonics``): ``Y_l(v)`` lists the
standard real harmonics ``m = -l .. l`` (no Condon-Shortley phase: ``Y_1 ~ (y, z, x)``)
evaluated at the permuted point ``(v_z, v_x, v_y)``, so that ``Y_1(v)`` is proportional to
``v`` itself and ``Y_l(R v) = D_l(R) Y_l(v)`` with :class:`~erlangen.groups.WignerD`.

Normalisations: ``"integral"`` (``int Y_lm^2 dOmega = 1``), ``"component"`` (``|Y_l(v)|^2 =
2l + 1`` for a unit ``v``, so each component has unit mean square) and ``"norm"``
(``|Y_l(v)| = 1``).

The computation is a recurrence in the degree for all orders at once (associated Legendre
polynomials of the polar coordinate times ``Re``/``Im`` of ``(x + i y)^m``): about ``8 L``
tensor operations for all degrees up to ``L``, differentiable by autograd.
``sphericart`` (``pip install sphericart-torch``) is used instead when it is installed
(``backend="auto"``): measured faster at every batch size from 64 vectors, forward and
forward+backward, for ``L = 3`` and ``8`` (docs/o3.md); its gradients, second derivatives
included, agree with the recurrence. Not under ``torch.compile``, where the recurrence is
traced instead.

>>> import torch
>>> v = torch.tensor([[0.0, 0.0, 2.0]], dtype=torch.float64)
>>> spherical_harmonics(1, v, normalization="component")
tensor([[0.0000, 0.0000, 1.7321]], dtype=torch.float64)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import torch
import torch.nn.functional as F
from torch import Tensor

from ..fields import IrrepsField
from ..groups.irreps import Irreps
from ..nn import EquivariantModule
from . import _sphericart

NORMALIZATIONS = ("integral", "component", "norm")


def _degrees(l: int | Sequence[int] | Irreps | str) -> tuple[list[int], int]:  # noqa: E741
    """The requested degrees and the parity convention ``p`` of the vector (-1 polar, +1
    axial)."""
    if isinstance(l, int) and not isinstance(l, bool):
        if l < 0:
            raise ValueError(f"degree l must be >= 0, got {l}")
        return [l], -1
    if isinstance(l, Irreps | str):
        irreps = Irreps(l)
        if any(mul != 1 for mul, _ in irreps):
            raise ValueError(f"spherical harmonics irreps have multiplicity 1, got {irreps}")
        ls = [ir.l for _, ir in irreps]
        if all(ir.p == (-1) ** ir.l for _, ir in irreps):
            return ls, -1
        if all(ir.p == 1 for _, ir in irreps):
            return ls, 1
        raise ValueError(
            f"spherical harmonics irreps need parity (-1)^l throughout (polar vector) or "
            f"+1 throughout (axial vector), got {irreps}"
        )
    ls = list(l)
    if not ls or any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in ls):
        raise ValueError(f"degrees must be integers >= 0, got {l!r}")
    return ls, -1


@cache
def _tables(lmax: int, normalization: str, dtype: torch.dtype, device: str) -> dict:
    """Constant tables of the recurrence up to ``lmax``."""
    # recurrence in the degree, for the orders m = 0 .. l - 1:
    # (l - m) P_l^m = (2l - 1) z P_{l-1}^m - (l + m - 1) r^2 P_{l-2}^m
    rec_a, rec_b = [None], [None]
    for l in range(1, lmax + 1):  # noqa: E741
        m = torch.arange(l, dtype=torch.float64)
        rec_a.append(((2 * l - 1) / (l - m)).to(dtype=dtype, device=device).unsqueeze(-1))
        rec_b.append(((l + m - 1) / (l - m))[:-1].to(dtype=dtype, device=device).unsqueeze(-1))
    # output k = l^2 + l + m reads P_l^{|m|} (offset l (l + 1) / 2 + |m|) and the azimuthal
    # factor at column lmax + m of [S_lmax .. S_1, C_0 .. C_lmax]
    p_index, c_index, scale = [], [], []
    for l in range(lmax + 1):  # noqa: E741
        for m in range(-l, l + 1):
            a = abs(m)
            p_index.append(l * (l + 1) // 2 + a)
            c_index.append(lmax + m)
            k = (2 * l + 1) / (4 * math.pi) * math.factorial(l - a) / math.factorial(l + a)
            k = math.sqrt(k) * (math.sqrt(2.0) if m else 1.0)
            if normalization == "component":
                k *= math.sqrt(4 * math.pi)
            elif normalization == "norm":
                k *= math.sqrt(4 * math.pi / (2 * l + 1))
            scale.append(k)
    return {
        "rec_a": rec_a,
        "rec_b": rec_b,
        "p_rows": p_index,
        "c_rows": c_index,
        "scale": torch.tensor(scale, dtype=torch.float64).to(dtype=dtype, device=device)[:, None],
    }


def _all_degrees(lmax: int, v: Tensor, normalization: str, unit: bool) -> Tensor:
    """All ``Y_l`` for ``l <= lmax`` concatenated, ``(..., (lmax + 1)^2)``."""
    tables = _tables(lmax, normalization, v.dtype, str(v.device))
    batch = v.shape[:-1]
    v = v.reshape(-1, 3)
    # component-major rows (k, N) throughout: stacking and concatenating whole rows is a
    # plain copy, where narrow columns would be strided copies
    # e3nn's harmonics are the standard ones at (v_z, v_x, v_y): the polar axis is v_y
    x, y, z = v[:, 2], v[:, 0], v[:, 1]
    # azimuthal factors C_m + i S_m = (x + i y)^m
    cos, sin = [torch.ones_like(x)], [torch.zeros_like(x)]
    for _ in range(lmax):
        c, s = cos[-1], sin[-1]
        cos.append(x * c - y * s)
        sin.append(x * s + y * c)
    azimuthal = torch.stack(sin[:0:-1] + cos)  # (2 lmax + 1, N): S_lmax .. S_1, C_0 .. C_lmax
    # P_l^m (m-th derivatives of Legendre polynomials, made homogeneous in (z, r)) for all
    # orders m <= l at once, degree by degree
    r2 = None if unit else x * x + y * y + z * z
    prev2, prev = None, torch.ones_like(z).unsqueeze(0)  # P_0^0
    rows = [prev]
    for l in range(1, lmax + 1):  # noqa: E741
        below = z * prev * tables["rec_a"][l]  # m = 0 .. l - 1
        if l >= 2:
            lower = prev2 * tables["rec_b"][l]  # m = 0 .. l - 2
            if r2 is not None:
                lower = lower * r2
            below = torch.cat([below[:-1] - lower, below[-1:]])
        row = torch.cat([below, prev[-1:] * (2 * l - 1)])  # P_l^l = (2l - 1) P_{l-1}^{l-1}
        rows.append(row)
        prev2, prev = prev, row
    legendre = torch.cat(rows)
    # rows picked from unbind() and stacked: one copy kernel each way (indexing single rows
    # would give every pick a full-size zero gradient in the backward pass)
    p_rows, c_rows = legendre.unbind(0), azimuthal.unbind(0)
    p = torch.stack([p_rows[i] for i in tables["p_rows"]])
    c = torch.stack([c_rows[i] for i in tables["c_rows"]])
    out = (p * c * tables["scale"]).t().contiguous()
    return out.view(*batch, (lmax + 1) ** 2)


def spherical_harmonics(
    l: int | Sequence[int] | Irreps | str,  # noqa: E741
    x: Tensor,
    normalize: bool = True,
    normalization: str = "integral",
    backend: str = "auto",
) -> Tensor:
    """Real spherical harmonics of the vectors ``x`` (e3nn's values and ordering).

    Parameters
    ----------
    l : int, sequence of int, Irreps or str
        One degree, several (concatenated in the given order) or spherical-harmonics irreps
        such as ``"0e + 1o + 2e"``.
    x : Tensor
        Vectors ``(..., 3)``.
    normalize : bool
        Evaluate at ``x / |x|`` (``True``) or return the homogeneous polynomials
        ``|x|^l Y_l(x / |x|)`` (``False``).
    normalization : {"integral", "component", "norm"}
    backend : {"auto", "torch", "sphericart"}
        ``"auto"`` takes sphericart when it is installed (float32 / float64 on a CPU or CUDA
        device, not while compiling), the torch recurrence otherwise.

    Returns
    -------
    Tensor
        ``(..., sum_l (2l + 1))``.
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    if backend not in ("auto", "torch", "sphericart"):
        raise ValueError(f"backend must be 'auto', 'torch' or 'sphericart', got {backend!r}")
    if not isinstance(x, Tensor) or x.dim() < 1 or x.shape[-1] != 3:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"spherical_harmonics needs vectors of shape (..., 3), got {shape}")
    ls, _ = _degrees(l)
    lmax = max(ls)
    if normalize:
        x = F.normalize(x, dim=-1)
    if backend == "sphericart" or (backend == "auto" and _use_sphericart(x)):
        every = _sphericart.all_degrees(lmax, x, normalization, normalize)
    else:
        every = _all_degrees(lmax, x, normalization, unit=normalize)
    if ls == list(range(lmax + 1)):
        return every
    index = torch.cat([torch.arange(d * d, (d + 1) ** 2) for d in ls]).to(x.device)
    return every.index_select(-1, index)


def _use_sphericart(x: Tensor) -> bool:
    return (
        not torch.compiler.is_compiling()
        and x.dtype in (torch.float32, torch.float64)
        and x.device.type in ("cpu", "cuda")
        and _sphericart.available()
    )


class SphericalHarmonics(EquivariantModule):
    """Spherical harmonics of edge vectors as a layer: ``(..., 3) -> (..., irreps.dim)``.

    Parameters
    ----------
    irreps : int, Irreps or str
        ``lmax`` (all degrees up to it) or spherical-harmonics irreps (``"0e + 1o + 2e"``;
        all-even irreps such as ``"0e + 1e"`` take an axial vector).
    normalize, normalization, backend
        As in :func:`spherical_harmonics`.
    """

    def __init__(
        self,
        irreps: int | Irreps | str,
        normalize: bool = True,
        normalization: str = "component",
        backend: str = "auto",
    ):
        super().__init__()
        if isinstance(irreps, int):
            irreps = Irreps.spherical_harmonics(irreps)
        self.irreps_out = Irreps(irreps)
        _, p = _degrees(self.irreps_out)
        self.normalize, self.normalization, self.backend = normalize, normalization, backend
        self.in_type = IrrepsField("1o" if p == -1 else "1e")
        self.out_type = IrrepsField(self.irreps_out)

    def forward(self, x: Tensor) -> Tensor:
        """``x (..., 3)`` -> ``(..., irreps.dim)``."""
        self.validate_inputs(x)
        return spherical_harmonics(
            self.irreps_out, x, self.normalize, self.normalization, self.backend
        )


__all__ = ["NORMALIZATIONS", "SphericalHarmonics", "spherical_harmonics"]
