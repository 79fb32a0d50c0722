"""Neighbour lists in torch_geometric's layout: ``edge_index (2, E)``, row 0 the source
``j``, row 1 the target ``i`` (messages flow ``j -> i``), sorted by target then source.

- :func:`radius_graph`: all pairs closer than ``r`` within each graph. Two back ends give the
  same edges: ``"torch"`` (graphs of up to 64 nodes by listing their pairs, larger ones in
  blocks of targets against the nodes of their graphs, so memory stays ``O(block x N)``
  instead of ``O(N^2)``; any device) and ``"vesin"`` (cell lists in C++,
  ``O(N)``; CPU, needs the ``vesin`` package). ``"auto"`` takes vesin for large CPU inputs
  when it is installed (docs/graphs.md has the measurements behind the threshold).
- :func:`fully_connected_graph`: every ordered pair of distinct nodes within each graph.
"""

from __future__ import annotations

import importlib.util
import itertools

import torch
from torch import Tensor

from .functional import batch_or_zeros, counts, num_graphs

#: pairs per block of the torch back end (distances of ``block x columns`` at a time)
PAIRS_PER_BLOCK = 1 << 22

#: graphs up to this size are handled by listing all their pairs (no blocks)
SMALL_GRAPH = 64

#: nodes of the largest graph from which "auto" prefers vesin on the CPU (measured: the
#: torch back end as fast on batches of molecules, vesin 1.2x faster at 500 nodes, 4.6x at
#: 2,000 and 16x at 10,000; docs/graphs.md)
VESIN_FROM_NODES = 512


def _check(pos: Tensor, batch: Tensor | None) -> None:
    if pos.dim() != 2 or pos.shape[1] < 1:
        raise ValueError(f"pos must be (num_nodes, dim), got {tuple(pos.shape)}")
    if batch is not None and (batch.dim() != 1 or batch.shape[0] != pos.shape[0]):
        raise ValueError(
            f"batch must be ({pos.shape[0]},) graph ids, one per node, got {tuple(batch.shape)}"
        )


def _sorted_by_graph(batch: Tensor | None, n: int, device) -> tuple[Tensor | None, Tensor, Tensor]:
    """``(order or None when already sorted, sorted batch, ptr (B + 1,))``."""
    index = batch_or_zeros(batch, n, device)
    order = None
    if n > 1 and bool((index[1:] < index[:-1]).any()):
        order = torch.argsort(index, stable=True)
        index = index[order]
    b = num_graphs(batch) if n else 0
    ptr = torch.zeros(b + 1, dtype=torch.long, device=device)
    ptr[1:] = torch.cumsum(counts(index, b, torch.long), 0)
    return order, index, ptr


def _radius_torch(pos: Tensor, r: float, batch: Tensor | None, loop: bool) -> Tensor:
    n = pos.shape[0]
    order, index, ptr = _sorted_by_graph(batch, n, pos.device)
    x = (pos if order is None else pos[order]).detach()
    sizes = ptr[1:] - ptr[:-1]
    if n and int(sizes.max()) <= SMALL_GRAPH:
        # many small graphs (molecules): every pair within each graph, decided exactly
        pairs = fully_connected_graph(batch=index, loop=loop)
        d2 = (x[pairs[1]].double() - x[pairs[0]].double()).square().sum(-1)
        edges = pairs[:, d2 < float(r) ** 2]
        return _sort_edges(edges if order is None else order[edges], n)
    # squared distances by one GEMM per block (|a|^2 + |b|^2 - 2 a.b, 3x faster than
    # differences) pick candidates with a margin for its rounding; each candidate is then
    # decided exactly from the float64 difference, so the edges do not depend on the block
    # layout and agree with vesin (which works in float64)
    centred = x - x.mean(0) if n else x
    sq = centred.square().sum(-1)
    r2 = float(r) ** 2
    eps = torch.finfo(x.dtype).eps
    margin = 8 * eps * (2 * float(sq.max()) + r2) if n else 0.0
    pieces = []
    start = 0
    while start < n:
        # columns: the nodes of the graphs that the targets in this block belong to; the
        # block is halved until rows x columns fits the pair budget
        lo = int(ptr[index[start]])
        own = int(ptr[index[start] + 1]) - lo
        stop = min(n, start + max(1, PAIRS_PER_BLOCK // max(own, 1)))
        hi = int(ptr[index[stop - 1] + 1])
        while stop - start > 1 and (stop - start) * (hi - lo) > PAIRS_PER_BLOCK:
            stop = start + (stop - start) // 2
            hi = int(ptr[index[stop - 1] + 1])
        rows, cols = centred[start:stop], centred[lo:hi]
        d2 = torch.addmm(sq[start:stop, None] + sq[None, lo:hi], rows, cols.t(), alpha=-2.0)
        near = d2 < r2 + margin
        if batch is not None:
            near &= index[start:stop, None] == index[None, lo:hi]
        tgt, src = near.nonzero(as_tuple=True)
        tgt, src = tgt + start, src + lo
        keep = (x[tgt].double() - x[src].double()).square().sum(-1) < r2
        keep &= tgt != src
        pieces.append(torch.stack([src[keep], tgt[keep]]))
        start = stop
    edges = torch.cat(pieces, 1) if pieces else torch.zeros(2, 0, dtype=torch.long)
    edges = edges.to(pos.device)
    if loop:
        edges = torch.cat([edges, torch.arange(n, device=pos.device).expand(2, n)], 1)
    if order is not None:
        edges = order[edges]
    return _sort_edges(edges, n)


def _radius_vesin(pos: Tensor, r: float, batch: Tensor | None, loop: bool) -> Tensor:
    import numpy as np
    import vesin

    n = pos.shape[0]
    order, _, ptr = _sorted_by_graph(batch, n, pos.device)
    x = (pos if order is None else pos[order]).detach().to("cpu", torch.float64).numpy()
    finder = vesin.NeighborList(cutoff=float(r), full_list=True)
    box = np.zeros((3, 3))
    pieces = []
    bounds = ptr.tolist()
    for lo, hi in itertools.pairwise(bounds):
        if hi - lo < 2:
            continue
        i, j = finder.compute(x[lo:hi], box, False, quantities="ij")
        pieces.append(np.stack([j, i]) + lo)
    edges = (
        torch.from_numpy(np.concatenate(pieces, 1)).long()
        if pieces
        else torch.zeros(2, 0, dtype=torch.long)
    )
    if loop:
        self_loops = torch.arange(n, dtype=torch.long).expand(2, n)
        edges = torch.cat([edges, self_loops], 1)
    edges = edges.to(pos.device)
    if order is not None:
        edges = order[edges]
    return _sort_edges(edges, n)


def _sort_edges(edges: Tensor, n: int) -> Tensor:
    key = edges[1] * max(n, 1) + edges[0]
    return edges[:, torch.argsort(key)]


def vesin_available() -> bool:
    """Whether the optional ``vesin`` package is installed."""
    return importlib.util.find_spec("vesin") is not None


def radius_graph(
    pos: Tensor,
    r: float,
    batch: Tensor | None = None,
    loop: bool = False,
    method: str = "auto",
) -> Tensor:
    """Edges between nodes of the same graph closer than ``r`` (strictly).

    Parameters
    ----------
    pos : Tensor
        ``(N, 3)`` positions (3-D for ``method="vesin"``; any dimension for ``"torch"``).
    r : float
        Cut-off radius.
    batch : Tensor, optional
        ``(N,)`` graph ids; nodes of different graphs are never joined.
    loop : bool
        Include self-loops ``(i, i)``.
    method : str
        ``"torch"``, ``"vesin"`` or ``"auto"`` (vesin on the CPU when the largest graph has
        :data:`VESIN_FROM_NODES` nodes or more and vesin is installed; torch otherwise).

    Returns
    -------
    Tensor
        ``edge_index (2, E)`` long, source row 0, target row 1, sorted by target then source.
        Each undirected pair appears in both directions.
    """
    _check(pos, batch)
    if not r > 0:
        raise ValueError(f"r must be > 0, got {r!r}")
    if method == "auto":
        n = pos.shape[0]
        largest = n if batch is None or not n else int(counts(batch, int(batch.max()) + 1).max())
        big_cpu = pos.device.type == "cpu" and largest >= VESIN_FROM_NODES
        method = "vesin" if big_cpu and pos.shape[1] == 3 and vesin_available() else "torch"
    if method == "vesin":
        if not vesin_available():
            raise ImportError(
                "radius_graph(method='vesin') needs vesin: pip install 'erlangen[graph]'"
            )
        if pos.shape[1] != 3:
            raise ValueError(f"vesin takes 3-D positions, got {pos.shape[1]}-D")
        return _radius_vesin(pos, r, batch, loop)
    if method == "torch":
        return _radius_torch(pos, r, batch, loop)
    raise ValueError(f"method must be 'auto', 'torch' or 'vesin', got {method!r}")


def fully_connected_graph(
    num_nodes: int | None = None, batch: Tensor | None = None, loop: bool = False, device=None
) -> Tensor:
    """Every ordered pair ``(j, i)`` of nodes in the same graph, ``j != i`` unless ``loop``.

    Parameters
    ----------
    num_nodes : int, optional
        Nodes of a single graph (when ``batch`` is None).
    batch : Tensor, optional
        ``(N,)`` graph ids.
    loop : bool
    device : optional

    Returns
    -------
    Tensor
        ``edge_index (2, sum_b n_b (n_b - 1))``, sorted by target then source.
    """
    if batch is None:
        if num_nodes is None:
            raise ValueError("give num_nodes or batch")
        batch = torch.zeros(num_nodes, dtype=torch.long, device=device)
    n = batch.shape[0]
    order, index, ptr = _sorted_by_graph(batch, n, batch.device)
    sizes = ptr[1:] - ptr[:-1]
    # for each target i (sorted), all nodes of its graph as sources
    per_target = sizes[index]
    tgt = torch.repeat_interleave(torch.arange(n, device=batch.device), per_target)
    first = ptr[:-1][index]
    offsets = torch.arange(int(per_target.sum()), device=batch.device)
    row_start = torch.cumsum(per_target, 0) - per_target
    offsets = offsets - torch.repeat_interleave(row_start, per_target)
    src = torch.repeat_interleave(first, per_target) + offsets
    keep = src != tgt if not loop else torch.ones_like(src, dtype=torch.bool)
    edges = torch.stack([src[keep], tgt[keep]])
    if order is not None:
        edges = order[edges]
    return _sort_edges(edges, n)
