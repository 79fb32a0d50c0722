"""Token-wise nonlinearities of GATr: :class:`GatedGELU` and :class:`EquiLayerNorm`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..nn.arguments import count
from . import kernels
from .base import KernelLayer, pair_types


class GatedGELU(KernelLayer):
    """``x * GELU(scalar component of x)`` per channel; auxiliary scalars get a plain GELU."""

    def __init__(self, mv: int, s: int = 0):
        super().__init__()
        count(mv, "mv", "GatedGELU")
        count(s, "s", "GatedGELU", minimum=0)
        self.mv, self.s = mv, s
        self.in_type = self.out_type = pair_types(mv, s, (2, 3))

    def forward_kernel(self, x: Tensor, s: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return kernels.gated_gelu(x), (F.gelu(s, approximate="tanh") if self.s else None)


class EquiLayerNorm(KernelLayer):
    """``x / sqrt(mean over channels of <x, x>)`` (clamped at ``eps``), no affine parameters;
    auxiliary scalars get an ordinary layer norm without affine parameters.

    ``<x, x>`` ignores the e0 components, so ``eps`` is large (0.01) by default: a token
    whose channels are purely ideal would otherwise be divided by ~0. Computed in at least
    float32, also under autocast.
    """

    def __init__(self, mv: int, s: int = 0, eps: float = 0.01):
        super().__init__()
        count(mv, "mv", "EquiLayerNorm")
        count(s, "s", "EquiLayerNorm", minimum=0)
        if not eps > 0:
            raise ValueError(f"EquiLayerNorm: eps must be > 0, got {eps!r}")
        self.mv, self.s, self.eps = mv, s, eps
        self.in_type = self.out_type = pair_types(mv, s, (2, 3))

    def forward_kernel(self, x: Tensor, s: Tensor | None) -> tuple[Tensor, Tensor | None]:
        device = x.device.type
        if x.dtype in (torch.float32, torch.float64) and not torch.is_autocast_enabled(device):
            y = kernels.layer_norm(x, self.eps)
            return y, (F.layer_norm(s, (self.s,)) if self.s else None)
        with torch.autocast(device_type=device, enabled=False):
            work = torch.promote_types(x.dtype, torch.float32)
            y = kernels.layer_norm(x.to(work), self.eps).to(x.dtype)
            t = F.layer_norm(s.to(work), (self.s,)).to(s.dtype) if self.s else None
        return y, t
