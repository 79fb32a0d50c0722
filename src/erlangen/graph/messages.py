"""Shared pieces of message-passing layers: input checks, the first edge layer without the
``(E, 2C + k)`` concatenation, and the small MLPs.

``phi_e(h_i, h_j, e_ij)`` starts with a linear map of the concatenation ``[h_i, h_j, e_ij]``.
Splitting its weight ``W = [W_i, W_j, W_e]`` gives ``W_i h_i + W_j h_j + W_e e_ij``: the
first two are computed once per node and gathered per edge, which saves ``2 C`` multiply-adds
per edge and output channel and never builds the concatenation. The weight stays one
``nn.Linear`` (the same parameters, initialisation and ``state_dict`` as the plain formula).
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def pair_linear(
    linear: nn.Linear, h: Tensor, src: Tensor, dst: Tensor, edge: Tensor | None
) -> Tensor:
    """``linear(cat([h[dst], h[src], edge], -1))`` without building the concatenation.

    Parameters
    ----------
    linear : nn.Linear
        ``in_features = 2 C + k``.
    h : Tensor
        ``(N, C)`` node features.
    src, dst : Tensor
        ``(E,)`` source ``j`` and target ``i`` of each edge.
    edge : Tensor or None
        ``(E, k)`` per-edge inputs (``None`` when ``k = 0``).

    Returns
    -------
    Tensor
        ``(E, out_features)``.
    """
    c = h.shape[-1]
    w = linear.weight
    at_dst = F.linear(h, w[:, :c], linear.bias).index_select(0, dst)
    at_src = F.linear(h, w[:, c : 2 * c]).index_select(0, src)
    pre = at_dst + at_src
    if edge is not None and edge.shape[-1]:
        pre = torch.addmm(pre, edge, w[:, 2 * c :].t())
    return pre


def mlp(sizes: list[int], act: type[nn.Module] = nn.SiLU, last_act: bool = False) -> nn.Sequential:
    """Linear layers with ``act`` between them (and after the last one when ``last_act``)."""
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if k < len(sizes) - 2 or last_act:
            layers.append(act())
    return nn.Sequential(*layers)


def check_graph_inputs(
    who: str,
    h: Tensor,
    channels: int,
    edge_index: Tensor,
    pos: Tensor | None = None,
    edge_attr: Tensor | None = None,
    edge_dim: int = 0,
    vel: Tensor | None = None,
) -> None:
    """One-line errors naming the expected and actual layout, before any work is done."""
    if not isinstance(h, Tensor) or h.dim() != 2 or h.shape[1] != channels:
        shape = tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__
        raise ValueError(f"{who}: node features must be (num_nodes, {channels}), got {shape}")
    n = h.shape[0]
    if pos is not None and (pos.dim() != 2 or tuple(pos.shape) != (n, 3)):
        raise ValueError(f"{who}: pos must be ({n}, 3), one row per node, got {tuple(pos.shape)}")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"{who}: edge_index must be (2, num_edges), got {tuple(edge_index.shape)}")
    if edge_index.is_floating_point():
        raise ValueError(f"{who}: edge_index must hold integer node ids, got {edge_index.dtype}")
    if edge_index.numel() and not torch.compiler.is_compiling():
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= n:
            raise ValueError(
                f"{who}: edge_index has node ids in [{lo}, {hi}], outside [0, {n}) for {n} nodes"
            )
    e = edge_index.shape[1]
    if edge_dim and edge_attr is None:
        raise ValueError(f"{who}: edge_attr ({e}, {edge_dim}) is required (edge_dim={edge_dim})")
    if (
        edge_attr is not None
        and edge_attr.shape[-1]
        and (edge_attr.dim() != 2 or tuple(edge_attr.shape) != (e, edge_dim))
    ):
        got = tuple(edge_attr.shape)
        raise ValueError(f"{who}: edge_attr must be ({e}, {edge_dim}), got {got}")
    if vel is not None and tuple(vel.shape) != (n, 3):
        raise ValueError(f"{who}: vel must be ({n}, 3), one row per node, got {tuple(vel.shape)}")
