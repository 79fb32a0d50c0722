"""Clebsch-Gordan tensor products of irreps features.

:class:`TensorProduct` couples two irreps features path by path (``l1 x l2 -> l3``, parity
``p1 p2``) with learnable or given weights; :mod:`erlangen.o3.paths` says which paths exist,
their weight shapes and their normalisation (unit-variance outputs).

.. math::

    z^{(l_3)}_{w} = \\sum_{\\text{paths} \\to l_3} \\frac{1}{\\sqrt{\\text{fan-in}}}
        \\sum_{u v} W_{u v w} \\sum_{a b} C^{l_1 l_2 l_3}_{a b c} x^{(l_1)}_{u a} y^{(l_2)}_{v b}

Inputs ``x1 (..., irreps_in1.dim)``, ``x2 (..., irreps_in2.dim)`` and, for external weights,
``weight (..., weight_numel)``; output ``(..., irreps_out.dim)``. Layouts, weight order and
values are e3nn's (``e3nn.o3.TensorProduct`` with the same instructions and weights gives the
same numbers).

>>> import torch
>>> from erlangen.o3 import TensorProduct
>>> tp = TensorProduct("8x0e + 8x1o", "0e + 1o", "8x0e + 8x1o + 8x1e", mode="uvu")
>>> [(p.l1, p.l2, p.l3) for p in tp.paths]
[(0, 0, 0), (1, 1, 0), (0, 1, 1), (1, 0, 1), (1, 1, 1)]
>>> tp(torch.randn(5, 32), torch.randn(5, 4)).shape
torch.Size([5, 56])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..fields import IrrepsField
from ..fields.vector import InvariantField
from ..groups.irreps import Irreps
from ..nn import EquivariantModule
from .kernels import ChannelwiseKernel, GenericKernel, channelwise_applicable
from .paths import Path, build_paths

WEIGHTS = ("internal", "external")


class TensorProduct(EquivariantModule):
    """A weighted Clebsch-Gordan tensor product of two irreps features.

    Parameters
    ----------
    irreps_in1, irreps_in2, irreps_out : Irreps or str
    mode : {"uvu", "uvw"}
        ``"uvu"``: channel-wise (``mul_out = mul1``, weights ``(mul1, mul2)`` per path), the
        form of a convolution with edge spherical harmonics; ``"uvw"``: fully connected
        (weights ``(mul1, mul2, mul_out)`` per path).
    weights : {"internal", "external"}
        ``"internal"``: learnable, shared over the batch (drawn from N(0, 1));
        ``"external"``: ``forward`` takes them, ``(..., weight_numel)`` (per edge, from a radial
        network) or ``(weight_numel,)``.
    instructions : sequence of (i1, i2, i_out), optional
        The paths, in the order of their weights; all valid ones (ordered by output term) when
        omitted. Invalid paths (triangle rule, parity) raise ``ValueError``.

    Attributes
    ----------
    paths : list of Path
    weight_numel : int
    kernel : nn.Module
        :class:`~erlangen.o3.kernels.ChannelwiseKernel` when it applies (``uvu``, one
        multiplicity in the first input, multiplicity 1 in the second), else
        :class:`~erlangen.o3.kernels.GenericKernel`.
    """

    def __init__(
        self,
        irreps_in1,
        irreps_in2,
        irreps_out,
        mode: str = "uvu",
        weights: str = "internal",
        instructions: Sequence[tuple[int, int, int]] | None = None,
    ):
        super().__init__()
        if weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
        self.irreps_in1, self.irreps_in2 = Irreps(irreps_in1), Irreps(irreps_in2)
        self.irreps_out = Irreps(irreps_out)
        self.mode, self.weights = mode, weights
        self.paths: list[Path] = build_paths(
            self.irreps_in1, self.irreps_in2, self.irreps_out, mode, instructions
        )
        self.weight_numel = sum(p.weight_numel for p in self.paths)
        if channelwise_applicable(self.irreps_in1, self.irreps_in2, mode):
            self.kernel: nn.Module = ChannelwiseKernel(
                self.irreps_in1, self.irreps_in2, self.irreps_out, self.paths
            )
        else:
            self.kernel = GenericKernel(
                self.irreps_in1, self.irreps_in2, self.irreps_out, self.paths, mode
            )
        types = [IrrepsField(self.irreps_in1), IrrepsField(self.irreps_in2)]
        if weights == "internal":
            self.weight = nn.Parameter(torch.randn(self.weight_numel))
        else:
            self.register_parameter("weight", None)
            numel = self.weight_numel
            types.append(InvariantField(self.irreps_out.group, numel, shape=(4, numel)))
        self.in_type = tuple(types)
        self.out_type = IrrepsField(self.irreps_out)

    def forward(self, x1: Tensor, x2: Tensor, weight: Tensor | None = None) -> Tensor:
        """``x1 (..., dim1)``, ``x2 (..., dim2)`` [, ``weight (..., weight_numel)``] ->
        ``(..., dim_out)``."""
        if self.weights == "internal":
            if weight is not None:
                raise ValueError("this TensorProduct has internal weights: do not pass weight")
            self.validate_inputs(x1, x2)
            weight = self.weight
        else:
            if weight is None:
                raise ValueError(
                    f"this TensorProduct takes external weights: pass weight of shape "
                    f"(..., {self.weight_numel})"
                )
            self.validate_inputs(x1, x2, weight)
        return self.kernel(x1, x2, weight)

    def extra_repr(self) -> str:
        return (
            f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}, mode={self.mode}, "
            f"{len(self.paths)} paths, weight_numel={self.weight_numel} ({self.weights}), "
            f"kernel={type(self.kernel).__name__}"
        )


__all__ = ["WEIGHTS", "TensorProduct"]
