"""The Geometric Algebra Transformer: :class:`GATrBlock` and :class:`GATr`."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..nn.arguments import count, counts
from .attention import GeometricAttention, _TokenLayer
from .base import (
    pair_types,
)
from .bilinear import GeometricBilinear
from .linear import EquiLinear
from .pointwise import EquiLayerNorm, GatedGELU


class GATrBlock(_TokenLayer):
    """Pre-norm transformer block: ``x + Attn(LN x)``, then ``+ MLP(LN .)`` with
    ``MLP = GeometricBilinear (c -> 2c) -> GatedGELU -> EquiLinear (2c -> c)``.

    Shape: ``(..., tokens, mv, 16)``, ``(..., tokens, s)`` -> same (scalars None when ``s``
    is 0).
    """

    def __init__(
        self,
        mv: int,
        s: int = 0,
        heads: int = 4,
        head_mv: int | None = None,
        head_s: int | None = None,
        multi_query: bool = True,
    ):
        super().__init__()
        counts("GATrBlock", mv=mv, heads=heads)
        count(s, "s", "GATrBlock", minimum=0)
        self.mv, self.s = mv, s
        head_mv = head_mv or max(1, 2 * mv // heads)
        head_s = (head_s or max(1, 2 * s // heads)) if s else 0
        self.norm1 = EquiLayerNorm(mv, s)
        self.attn = GeometricAttention(mv, s, heads, head_mv, head_s, multi_query)
        self.norm2 = EquiLayerNorm(mv, s)
        self.bilinear = GeometricBilinear(mv, 2 * mv, s, 2 * s)
        self.gelu = GatedGELU(2 * mv, 2 * s)
        self.linear = EquiLinear(2 * mv, mv, 2 * s, s)
        self.in_type = self.out_type = pair_types(mv, s, (2, 5))

    def forward_kernel(
        self, x: Tensor, s: Tensor | None, shape: tuple[int, ...], mask: Tensor | None
    ) -> tuple[Tensor, Tensor | None]:
        """The block on trusted inputs in the kernel layout (see
        :meth:`GeometricAttention.forward_kernel`)."""
        h, h_s = self.norm1.forward_kernel(x, s)
        h, h_s = self.attn.forward_kernel(h, h_s, shape, mask)
        x, s = x + h, (s + h_s if s is not None else None)
        h, h_s = self.bilinear.forward_kernel(*self.norm2.forward_kernel(x, s))
        h, h_s = self.linear.forward_kernel(*self.gelu.forward_kernel(h, h_s))
        return x + h, (s + h_s if s is not None else None)


class GATr(_TokenLayer):
    """The Geometric Algebra Transformer: ``EquiLinear -> blocks x GATrBlock -> EquiLinear``.

    Parameters
    ----------
    in_mv, out_mv, hidden_mv : int
        Multivector channels of the input, output and hidden layers.
    in_s, out_s, hidden_s : int
        Auxiliary scalar channels (0 for none).
    blocks : int
    heads : int
    head_mv, head_s : int, optional
        Channels per attention head (default ``2 * hidden / heads``).
    multi_query : bool
    checkpoint : bool
        Recompute each block in the backward pass (activation memory ~ one block).

    Shape
    -----
    ``x (..., tokens, in_mv, 16)``, ``s (..., tokens, in_s)`` (or None when ``in_s`` is 0),
    ``mask (..., tokens)`` -> ``(..., tokens, out_mv, 16)`` and ``(..., tokens, out_s)``
    (None when ``out_s`` is 0).

    Notes
    -----
    The inputs are validated once, converted once to the kernel layout of
    :mod:`erlangen.ga.kernels` and back once; the layers inside run on it through their
    ``forward_kernel`` (see :mod:`erlangen.ga.base`).

    Examples
    --------
    >>> import torch
    >>> net = GATr(in_mv=1, out_mv=1, hidden_mv=8, in_s=2, out_s=1, hidden_s=16, blocks=2)
    >>> mv, s = net(torch.randn(4, 10, 1, 16), torch.randn(4, 10, 2))
    >>> mv.shape, s.shape
    (torch.Size([4, 10, 1, 16]), torch.Size([4, 10, 1]))
    """

    def __init__(
        self,
        in_mv: int,
        out_mv: int,
        hidden_mv: int = 16,
        in_s: int = 0,
        out_s: int = 0,
        hidden_s: int = 32,
        blocks: int = 4,
        heads: int = 4,
        head_mv: int | None = None,
        head_s: int | None = None,
        multi_query: bool = True,
        checkpoint: bool = False,
    ):
        super().__init__()
        counts("GATr", in_mv=in_mv, out_mv=out_mv, hidden_mv=hidden_mv, heads=heads)
        counts("GATr", minimum=0, in_s=in_s, out_s=out_s, hidden_s=hidden_s, blocks=blocks)
        self.linear_in = EquiLinear(in_mv, hidden_mv, in_s, hidden_s)
        self.blocks = nn.ModuleList(
            GATrBlock(hidden_mv, hidden_s, heads, head_mv, head_s, multi_query)
            for _ in range(blocks)
        )
        self.linear_out = EquiLinear(hidden_mv, out_mv, hidden_s, out_s)
        self.checkpoint = checkpoint
        self.in_type = pair_types(in_mv, in_s, (2, 5))
        self.out_type = pair_types(out_mv, out_s, (2, 5))

    def forward_kernel(
        self, x: Tensor, s: Tensor | None, shape: tuple[int, ...], mask: Tensor | None
    ) -> tuple[Tensor, Tensor | None]:
        """GATr on trusted inputs in the kernel layout (see
        :meth:`GeometricAttention.forward_kernel`)."""
        x, s = self.linear_in.forward_kernel(x, s)
        for block in self.blocks:
            if self.checkpoint and torch.is_grad_enabled():
                x, s = checkpoint(block.forward_kernel, x, s, shape, mask, use_reentrant=False)
            else:
                x, s = block.forward_kernel(x, s, shape, mask)
        return self.linear_out.forward_kernel(x, s)
