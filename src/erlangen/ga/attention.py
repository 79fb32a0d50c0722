""":class:`GeometricAttention`: multi-head attention between tokens of multivectors, in one
call of ``scaled_dot_product_attention``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..fields import FieldTypeError
from ..nn import EquivariantModule
from ..nn.arguments import counts
from . import kernels
from .algebra import DIM
from .base import (
    MultivectorsAndScalars,
    pair_types,
    scalar_inputs,
    scalars_from_kernel,
    scalars_to_kernel,
)
from .linear import EquiLinear


class _TokenLayer(EquivariantModule):
    """``forward(x, scalars, mask, attn_mask)``: validate, convert to the kernel layout, run
    ``forward_kernel(x, s, shape, sdpa_mask)``, convert back."""

    def forward(
        self,
        x: Tensor,
        scalars: Tensor | None = None,
        mask: Tensor | None = None,
        attn_mask: Tensor | None = None,
    ) -> MultivectorsAndScalars:
        s = scalar_inputs(self, x, scalars)
        if x.dim() < 3:
            raise FieldTypeError(
                f"{type(self).__name__} needs (..., tokens, {x.shape[-2]}, 16), got "
                f"{tuple(x.shape)}"
            )
        shape = tuple(x.shape[:-2])
        y, t = self.forward_kernel(
            kernels.to_kernel_layout(x),
            scalars_to_kernel(s),
            shape,
            sdpa_mask(mask, attn_mask, shape),
        )
        return kernels.from_kernel_layout(y, shape), scalars_from_kernel(t, shape)

    def forward_kernel(
        self, x: Tensor, s: Tensor | None, shape: tuple[int, ...], mask: Tensor | None
    ) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError


class GeometricAttention(_TokenLayer):
    """Multi-head (by default multi-query) attention between tokens of multivectors.

    Per head, queries and keys are built from ``head_mv`` multivector channels and ``head_s``
    scalars. The attention logit is ``(q . k) / sqrt(d)`` with

    - the Pin-invariant inner product ``<q_c, k_c>`` of each channel (its 8 non-e0 components),
    - distance features of each channel's trivector ``(w, c)`` (weight e123, weighted
      coordinates, see :func:`~erlangen.ga.embed.point_coordinates`):
      ``phi_q = (w^2, |c|^2, w c)`` and ``phi_k = (-|c|^2, -w^2, 2 w c)``, so that
      ``phi_q . phi_k = -|w_k c_q - w_q c_k|^2``, which is ``-|p_q - p_k|^2`` for points of
      unit weight: nearby points attend to each other, in any frame,
    - the scalar channels.

    All features go into ONE call of :func:`torch.nn.functional.scaled_dot_product_attention`
    (flash / memory-efficient kernels apply; no ``N x N`` tensor is built here). Values carry
    all 16 components plus the scalars.

    Parameters
    ----------
    mv, s : int
        Input (and default output) channels.
    heads : int
    head_mv, head_s : int
        Channels per head.
    multi_query : bool
        One key/value head shared by all query heads (default) or one per head.
    out_mv, out_s : int, optional

    Shape
    -----
    ``x (..., tokens, mv, 16)``, ``s (..., tokens, s)`` -> ``(..., tokens, out_mv, 16)``,
    ``(..., tokens, out_s)`` (None without scalars); ``mask (..., tokens)`` bool, True for
    real tokens (padding of variable-size batches); ``attn_mask`` broadcastable to ``(...,
    heads, tokens, tokens)`` (bool: True = may attend; or float: added to the logits).
    """

    def __init__(
        self,
        mv: int,
        s: int = 0,
        heads: int = 4,
        head_mv: int = 4,
        head_s: int = 8,
        multi_query: bool = True,
        out_mv: int | None = None,
        out_s: int | None = None,
    ):
        super().__init__()
        counts("GeometricAttention", mv=mv, heads=heads, head_mv=head_mv)
        counts("GeometricAttention", minimum=0, s=s, head_s=head_s)
        self.mv, self.s, self.heads = mv, s, heads
        self.head_mv, self.head_s = head_mv, head_s
        self.kv_heads = 1 if multi_query else heads
        self.out_mv = mv if out_mv is None else out_mv
        self.out_s = s if out_s is None else out_s
        self.q_proj = EquiLinear(mv, heads * head_mv, s, heads * head_s)
        self.kv_proj = EquiLinear(mv, 2 * self.kv_heads * head_mv, s, 2 * self.kv_heads * head_s)
        self.o_proj = EquiLinear(heads * head_mv, self.out_mv, heads * head_s, self.out_s)
        self.in_type = pair_types(mv, s, (2, 5))
        self.out_type = pair_types(self.out_mv, self.out_s, (2, 5))

    def features(self, x: Tensor, query: bool) -> Tensor:
        """Query or key features per channel, ``(16, tokens, c) -> (f, tokens, c)`` (kernel
        layout; :func:`erlangen.ga.kernels.attention_features`)."""
        return kernels.attention_features(x, query)

    def forward_kernel(
        self, x: Tensor, s: Tensor | None, shape: tuple[int, ...], mask: Tensor | None
    ) -> tuple[Tensor, Tensor | None]:
        """Attention on trusted inputs in the kernel layout.

        Parameters
        ----------
        x, s : Tensor
            ``(16, tokens, mv)`` and ``(tokens, s)`` or None, tokens = ``prod(shape)``.
        shape : tuple of int
            The token axes ``(*batch, n)``: attention runs along the last.
        mask : Tensor or None
            From :func:`sdpa_mask`.
        """
        batch, n = math.prod(shape[:-1]), shape[-1]  # explicit: -1 is ambiguous when empty
        H, K, hm, hs = self.heads, self.kv_heads, self.head_mv, self.head_s
        q_mv, q_s = self.q_proj.forward_kernel(x, s)
        kv_mv, kv_s = self.kv_proj.forward_kernel(x, s)
        k_mv, v_mv = kv_mv.chunk(2, dim=-1)
        k_s, v_s = kv_s.chunk(2, dim=-1) if hs else (None, None)
        # one width for q, k and v: the fused (flash / memory-efficient) kernels need it, and
        # without them SDPA falls back to materialising the (n, n) logits. Zero padding leaves
        # q . k unchanged; the scale is that of the unpadded features.
        q_f, k_f = self.features(q_mv, query=True), self.features(k_mv, query=False)
        dq, width = q_f.shape[0] * hm + hs, DIM * hm + hs
        q = _heads_layout(q_f, q_s, batch, n, H, width)
        k = _heads_layout(k_f, k_s, batch, n, K, width)
        v = _heads_layout(v_mv, v_s, batch, n, K, width)
        if K == 1:
            # multi-query: the heads' queries are one longer sequence of queries against the
            # same keys (the same numbers, and 2x faster on CPU than SDPA's own GQA)
            q = q.view(batch, 1, H * n, width)
            if mask is not None and (mask.shape[-3] != 1 or mask.shape[-2] != 1):
                mask = mask.expand(batch, H, n, n).reshape(batch, 1, H * n, n)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, scale=dq**-0.5, enable_gqa=K not in (1, H)
        ).reshape(batch, H, n, width)  # 16 components x hm channels, then hs scalars
        o_mv, o_s = out.split([DIM * hm, hs], dim=-1)  # split: no zero-filled slice backward
        o_mv = o_mv.unflatten(-1, (DIM, hm)).permute(3, 0, 2, 1, 4).reshape(DIM, batch * n, H * hm)
        o_s = o_s.transpose(1, 2).reshape(batch * n, H * hs) if hs else None
        return self.o_proj.forward_kernel(o_mv, o_s)


def _heads_layout(
    f: Tensor, s: Tensor | None, batch: int, n: int, heads: int, width: int
) -> Tensor:
    """Per-channel features ``(f, batch * n, heads * c)`` and scalars ``(batch * n, heads *
    c_s)`` -> ``(batch, heads, n, width)``: features ``(f, c)`` flattened, then the scalars,
    then zeros."""
    nf, c = f.shape[0], f.shape[-1] // heads
    f = f.view(nf, batch, n, heads, c).permute(1, 3, 2, 0, 4)
    parts = [f.reshape(batch, heads, n, nf * c)]  # explicit sizes: -1 fails when empty
    if s is not None:
        parts.append(s.view(batch, n, heads, s.shape[-1] // heads).transpose(1, 2))
    pad = width - nf * c - (0 if s is None else s.shape[-1] // heads)
    if pad:
        parts.append(parts[0].new_zeros(()).expand(batch, heads, n, pad))
    return torch.cat(parts, -1) if len(parts) > 1 else parts[0]


def sdpa_mask(
    mask: Tensor | None, attn_mask: Tensor | None, shape: tuple[int, ...]
) -> Tensor | None:
    """Combine a key-padding mask ``(*batch, n)`` and an attention mask (broadcastable to
    ``(*batch, heads, n, n)``) into one mask ``(prod(batch), 1 or heads, n, n)`` for SDPA;
    ``shape`` is ``(*batch, n)``."""
    lead, n = shape[:-1], shape[-1]
    if mask is None and attn_mask is None:
        return None
    out = None
    if mask is not None:
        if tuple(mask.shape) != (*lead, n):
            raise ValueError(
                f"mask must have shape {(*lead, n)} (batch..., tokens), got {mask.shape}"
            )
        out = mask.bool()[..., None, None, :]  # keys
    if attn_mask is not None:
        am = attn_mask
        while am.dim() < len(lead) + 3:
            am = am.unsqueeze(0)
        if out is None:
            out = am
        elif am.dtype == torch.bool:
            out = out & am
        else:  # additive float mask: padded keys get -inf
            out = torch.where(out, am, torch.tensor(-math.inf, dtype=am.dtype, device=am.device))
    out = out.expand(*lead, *out.shape[len(lead) :])
    return out.reshape(math.prod(lead), *out.shape[len(lead) :])
