"""``A`` a free matrix, with a learned inverse ``A~`` for the invertibility loss."""

from __future__ import annotations

from torch import Tensor, nn

from ..matrices import random_orthogonal
from .base import ActionParametrisation


class FreeAction(ActionParametrisation):
    """``A`` is a free ``d x d`` matrix (``action_matrix``, ``(L, d, d)``); a second free
    matrix ``A~`` (``action_inverse``, initialised to ``A^-1``) enters the invertibility loss
    ``mu ||A A~ - I||_F``. Holds every action; ``init="random"`` draws Haar-random orthogonal
    matrices."""

    name = "free"

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"action_matrix": (self.num_actions, self.dim, self.dim)}

    def action(self, layer: nn.Module) -> Tensor:
        return layer.action_matrix

    def realise(self, A: Tensor, strict: bool, init: str) -> tuple[dict[str, Tensor], Tensor]:
        return {"action_matrix": A}, A

    def random_action(self) -> Tensor:
        return random_orthogonal(self.num_actions, self.dim)


__all__ = ["FreeAction"]
