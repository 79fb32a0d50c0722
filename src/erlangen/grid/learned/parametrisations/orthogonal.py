"""``A = A_0 matrix_exp(S)``: an orthogonal action at every step."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .base import ActionParametrisation


class OrthogonalAction(ActionParametrisation):
    """``A = A_0 matrix_exp(S)`` with ``S`` skew-symmetric and ``A_0`` a fixed orthogonal
    matrix, the initial action.

    ``S`` is learned as the strict upper triangle of ``skew`` (``(L, d, d)``; the rest of
    ``skew`` is unused), ``A_0`` is the buffer ``base`` (``(L, d, d)``, saved with the
    layer). ``A`` is orthogonal at every step, so there is no ``A~`` and no invertibility
    loss. Keeping ``A_0`` lets the layer start *exactly* at a permutation such as the quarter
    turn or a flip (``S = 0``), which a bare ``matrix_exp(S)`` could not reach for
    reflections (``det = -1``) and would hold only to float32 rounding. ``init="random"``:
    ``A_0 = I`` and ``S`` with entries of variance ``1 / (2 k^2)``.
    """

    name = "orthogonal"
    learns_inverse = False

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"skew": (self.num_actions, self.dim, self.dim)}

    def buffer_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"base": (self.num_actions, self.dim, self.dim)}

    def action(self, layer: nn.Module) -> Tensor:
        upper = layer.skew.triu(1)
        return layer.base @ torch.linalg.matrix_exp(upper - upper.mT)

    def realise(self, A: Tensor, strict: bool, init: str) -> tuple[dict[str, Tensor], Tensor]:
        """``A_0 = A``, ``S = 0``; a non-orthogonal ``A`` is replaced by its nearest
        orthogonal matrix (the polar factor), or refused when ``strict``."""
        off = float((A.mT @ A - torch.eye(self.dim, dtype=A.dtype, device=A.device)).abs().max())
        if off > 1e-6:
            if strict:
                raise ValueError(
                    f"parametrisation='orthogonal' cannot represent this action: "
                    f"max |A^T A - I| = {off:.3g}"
                )
            u, _, vh = torch.linalg.svd(A)
            A = u @ vh
        return {"base": A, "skew": torch.zeros_like(A)}, A

    def random_action(self) -> Tensor:
        """The base of a random init, ``I``; :meth:`initialise` then draws ``S``."""
        d, L = self.dim, self.num_actions
        return torch.eye(d, dtype=torch.float64).expand(L, d, d).clone()

    def initialise(self, layer: nn.Module, init: str, order: int) -> None:
        super().initialise(layer, init, order)
        if init == "random":
            with torch.no_grad():
                layer.skew.normal_(0.0, 1.0 / math.sqrt(2 * self.dim))


__all__ = ["OrthogonalAction"]
