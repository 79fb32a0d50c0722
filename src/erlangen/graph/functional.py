"""Primitives on plain tensors in torch_geometric's layout: scatter (sum and mean over the
edges that end at each node, or over the nodes of each graph), graph counts (from the core's
:mod:`erlangen.nn.neighbours`), dense padding.

Everything is pure torch (``index_add_``), so the layers run without torch_scatter or
torch_geometric and under ``torch.compile``.
"""

from __future__ import annotations

import torch
from torch import Tensor

# the batch-vector helpers live with the neighbour lists in the core (one implementation for
# every family); imported here so that ``erlangen.graph.functional`` keeps offering them
from ..nn.neighbours import batch_or_zeros, counts, num_graphs


def scatter_sum(src: Tensor, index: Tensor, dim_size: int) -> Tensor:
    """``out[k] = sum of src[e] over e with index[e] == k``.

    Parameters
    ----------
    src : Tensor
        ``(E, ...)``.
    index : Tensor
        ``(E,)`` long, values in ``[0, dim_size)``.
    dim_size : int

    Returns
    -------
    Tensor
        ``(dim_size, ...)``; rows that no entry points to are zero.
    """
    return src.new_zeros((dim_size, *src.shape[1:])).index_add_(0, index, src)


def scatter_mean(src: Tensor, index: Tensor, dim_size: int) -> Tensor:
    """Mean of the rows of ``src`` per value of ``index``; zero where there are none."""
    total = scatter_sum(src, index, dim_size)
    n = counts(index, dim_size, src.dtype).clamp_min(1.0)
    return total / n.view(-1, *([1] * (src.dim() - 1)))


def pool(x: Tensor, batch: Tensor | None, size: int, reduce: str = "sum") -> Tensor:
    """Graph-level pooling of node rows ``(N, C) -> (size, C)`` (sum or mean)."""
    index = batch_or_zeros(batch, x.shape[0], x.device)
    if reduce == "sum":
        return scatter_sum(x, index, size)
    if reduce == "mean":
        return scatter_mean(x, index, size)
    raise ValueError(f"reduce must be 'sum' or 'mean', got {reduce!r}")


def _slots(index: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """Each node's position within its graph (in node order) and the nodes per graph."""
    per_graph = counts(index, size, torch.long)
    order = torch.argsort(index, stable=True)
    starts = torch.cumsum(per_graph, 0) - per_graph
    slot = torch.empty_like(index)
    slot[order] = torch.arange(index.shape[0], device=index.device) - starts[index[order]]
    return slot, per_graph


def to_dense_batch(
    x: Tensor, batch: Tensor | None, size: int | None = None
) -> tuple[Tensor, Tensor]:
    """Pad node rows into one block per graph.

    Parameters
    ----------
    x : Tensor
        ``(N, C)``.
    batch : Tensor or None
        ``(N,)`` graph ids (any order); None for one graph.
    size : int, optional
        Number of graphs (from ``batch`` when omitted).

    Returns
    -------
    dense : Tensor
        ``(B, max_nodes, C)``, zeros in the padding.
    mask : Tensor
        ``(B, max_nodes)`` bool, True for real nodes. Within a graph, nodes keep their
        order in ``x``.
    """
    n = x.shape[0]
    index = batch_or_zeros(batch, n, x.device)
    b = num_graphs(batch) if size is None else size
    slot, per_graph = _slots(index, b)
    width = int(per_graph.max()) if b and n else 0
    dense = x.new_zeros(b, width, *x.shape[1:])
    dense[index, slot] = x
    mask = torch.zeros(b, width, dtype=torch.bool, device=x.device)
    mask[index, slot] = True
    return dense, mask


def from_dense_batch(dense: Tensor, batch: Tensor | None) -> Tensor:
    """Inverse of :func:`to_dense_batch`: ``(B, max_nodes, ...) -> (N, ...)`` in the node
    order of ``batch`` (which need not be sorted)."""
    n = dense.shape[0] * dense.shape[1] if batch is None else batch.shape[0]
    if batch is None:
        return dense[0]
    slot, _ = _slots(batch, dense.shape[0])
    return dense[batch, slot] if n else dense.new_zeros(0, *dense.shape[2:])


__all__ = [
    "batch_or_zeros",
    "counts",
    "from_dense_batch",
    "num_graphs",
    "pool",
    "scatter_mean",
    "scatter_sum",
    "to_dense_batch",
]
