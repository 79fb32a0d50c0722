"""``A`` a banded Toeplitz matrix on the row-major ``vec(W)``: shifts of the taps and their
mixtures."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..matrices import nearest_toeplitz, toeplitz_matrix
from .base import ActionParametrisation


class ToeplitzAction(ActionParametrisation):
    """``A[p, q] = t[p - q]`` for ``|p - q| <= bandwidth``, 0 beyond.

    The ``2 bandwidth + 1`` values per location are the parameter ``diagonals``
    (``(L, 2 b + 1)``, diagonals ``p - q = -b .. b``). On the grid, diagonal ``p - q = a k + b``
    moves a tap ``a`` rows down and ``b`` columns right, with carries from the end of a row to
    the next. Only actions that are banded Toeplitz can be written (``identity`` and
    ``random`` among the inits: a rotation is not Toeplitz). Uses ``A~`` like
    :class:`~erlangen.grid.learned.FreeAction`. ``init="random"``: random diagonals of total
    variance 1.

    Parameters
    ----------
    kernel_size, num_actions : int
    bandwidth : int, optional
        ``b`` in ``[0, k^2 - 1]``; default ``k^2 - 1`` (a full Toeplitz matrix).
    """

    name = "toeplitz"
    options = ("bandwidth",)

    def __init__(self, kernel_size: int, num_actions: int, bandwidth: int | None = None):
        super().__init__(kernel_size, num_actions)
        d = self.dim
        b = d - 1 if bandwidth is None else bandwidth
        if not isinstance(b, int) or not 0 <= b <= d - 1:
            raise ValueError(f"bandwidth must be an int in [0, {d - 1}], got {bandwidth!r}")
        self.bandwidth = b

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"diagonals": (self.num_actions, 2 * self.bandwidth + 1)}

    def create(self, layer: nn.Module) -> None:
        super().create(layer)
        layer.bandwidth = self.bandwidth

    def action(self, layer: nn.Module) -> Tensor:
        return toeplitz_matrix(layer.diagonals, self.dim)

    def realise(self, A: Tensor, strict: bool, init: str) -> tuple[dict[str, Tensor], Tensor]:
        """The nearest banded Toeplitz matrix; an ``A`` that is not one is refused (strict or
        not: no init should silently become a different action)."""
        t = nearest_toeplitz(A, self.bandwidth)
        realised = toeplitz_matrix(t, self.dim)
        err = float((realised - A).abs().max())
        if err > 1e-6 * max(1.0, float(A.abs().max())):
            raise ValueError(
                f"parametrisation='toeplitz' (bandwidth {self.bandwidth}) cannot represent "
                f"init/action {init!r} (max error {err:.3g} of the nearest Toeplitz "
                "matrix); use init='identity' or 'random', or parametrisation='free'"
            )
        return {"diagonals": t}, realised

    def random_action(self) -> Tensor:
        n = 2 * self.bandwidth + 1
        t = torch.randn(self.num_actions, n, dtype=torch.float64)
        return toeplitz_matrix(t / math.sqrt(n), self.dim)


__all__ = ["ToeplitzAction"]
