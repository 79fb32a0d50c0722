"""``A = U C D + F (I - U D)``: one learned action on the pooled (coarse) filter and one on
the detail that pooling removes."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..actions import pooling_operators
from ..matrices import random_orthogonal
from .base import ActionParametrisation


class MultiscaleAction(ActionParametrisation):
    """``A = U C D + F (I - U D)``.

    ``D`` average-pools the filter to ``m x m`` and ``U = D^+`` upsamples back
    (:func:`~erlangen.grid.learned.pooling_operators`; ``D U = I``, so ``P = U D`` projects
    onto the "coarse" filters); ``C`` (``coarse``, ``(L, m^2, m^2)``) acts on the coarse
    filter and ``F`` (``fine``, ``(L, d, d)``) on the detail. Pooling commutes with the
    quarter turns and mirrors of the grid, so this holds the rotations and flips exactly,
    pure pooling (``C = I, F = 0``) and every mix; not actions that move coarse content into
    detail. Uses ``A~`` like :class:`~erlangen.grid.learned.FreeAction`.
    ``init="random"``: random orthogonal ``C`` and ``F``.

    Parameters
    ----------
    kernel_size, num_actions : int
    coarse_size : int, optional
        ``m`` in ``[1, k]``; default ``ceil(k / 2)``.
    """

    name = "multiscale"
    options = ("coarse_size",)

    def __init__(self, kernel_size: int, num_actions: int, coarse_size: int | None = None):
        super().__init__(kernel_size, num_actions)
        D, U = pooling_operators(kernel_size, coarse_size)
        self.coarse_size = math.isqrt(D.shape[0])
        # fixed operators, kept in float64 and cast on use (cached per dtype and device), so
        # that a float64 copy of the layer computes them to float64 precision
        detail = torch.eye(self.dim).double() - U @ D
        self._operators64 = (D, U, detail)
        self._cache: dict[tuple[torch.dtype, torch.device], tuple[Tensor, Tensor, Tensor]] = {}

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        L, d, m2 = self.num_actions, self.dim, self.coarse_size**2
        return {"fine": (L, d, d), "coarse": (L, m2, m2)}

    def create(self, layer: nn.Module) -> None:
        super().create(layer)
        layer.coarse_size = self.coarse_size

    def operators(self, dtype: torch.dtype, device: torch.device | str = "cpu") -> tuple:
        """``(D, U, I - U D)`` in ``dtype`` on ``device``."""
        key = (dtype, torch.device(device))
        if key not in self._cache:
            self._cache[key] = tuple(o.to(dtype=dtype, device=device) for o in self._operators64)
        return self._cache[key]

    def action(self, layer: nn.Module) -> Tensor:
        D, U, Q = self.operators(layer.fine.dtype, layer.fine.device)
        return U @ layer.coarse @ D + layer.fine @ Q

    def realise(self, A: Tensor, strict: bool, init: str) -> tuple[dict[str, Tensor], Tensor]:
        """``F = A`` and ``C = D A U``, which realise ``P A P + A (I - P)``: ``A`` itself
        when ``A`` maps the coarse filters into themselves (else refused when ``strict``)."""
        D, U, Q = self.operators(torch.float64, A.device)
        coarse = D @ A @ U
        realised = U @ coarse @ D + A @ Q
        err = float((Q @ A @ (U @ D)).abs().max())  # the part that maps coarse to detail
        if strict and err > 1e-6 * max(1.0, float(A.abs().max())):
            raise ValueError(
                "parametrisation='multiscale' cannot represent this action: it maps coarse "
                f"filters (the pooling windows' span) out of that span (max {err:.3g})"
            )
        return {"fine": A, "coarse": coarse}, realised

    def random_action(self) -> Tensor:
        """A random orthogonal action on each scale."""
        D, U, Q = self.operators(torch.float64)
        L, m2 = self.num_actions, self.coarse_size**2
        return U @ random_orthogonal(L, m2) @ D + random_orthogonal(L, self.dim) @ Q


__all__ = ["MultiscaleAction"]
