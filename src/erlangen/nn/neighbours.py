r"""Neighbour lists, shared by the graph and E(3) families: ``edge_index (2, E)`` in
torch_geometric's layout, row 0 the source ``j``, row 1 the target ``i`` (messages flow
``j -> i``), sorted by target then source.

- :func:`radius_graph`: all pairs closer than ``r`` within each graph. Two back ends give the
  same edges: ``"torch"`` (graphs of up to 64 nodes by listing their pairs, larger ones in
  blocks of targets against the nodes of their graphs, so memory stays ``O(block x N)``
  instead of ``O(N^2)``; any device) and ``"vesin"`` (cell lists in C++,
  ``O(N)``; CPU, needs the ``vesin`` package). ``"auto"`` takes vesin for large CPU inputs
  when it is installed (docs/graphs.md has the measurements behind the threshold).
- :func:`periodic_radius_graph`: the same in periodic cells (crystals, liquids), with the
  integer cell shift of every edge; :func:`edge_vectors` turns them into differentiable edge
  vectors.
- :func:`fully_connected_graph`: every ordered pair of distinct nodes within each graph.
- :func:`counts`, :func:`num_graphs`, :func:`batch_or_zeros`: the batch-vector helpers these
  need (re-exported by :mod:`erlangen.graph.functional`).

Periodic cells. A cell is ``(3, 3)`` with the lattice vectors as rows (ASE's convention), one
per graph; ``pbc`` says which of the three directions repeat. An edge ``(j, i)`` with shift
``S (3,)`` (integers) joins target ``i`` to the image of ``j`` displaced by ``S @ cell``:

.. math::

    r_{ij} = x_i - (x_j + S\,\mathrm{cell})

and :func:`edge_vectors` computes exactly this from ``pos`` and ``cell`` (the shifts are
integers, fixed by the list). Energies built on these vectors are functions of ``pos`` and
``cell``, so ``-dE/dpos`` are the forces including every interaction through a boundary, and
the derivative with respect to a strain of both ``pos`` and ``cell`` is the virial (stress);
nothing about images has to be special-cased. An atom may be its own neighbour through a
shift (cells narrower than ``r``); only the pair ``(i, i)`` with zero shift is left out
(``loop=False``).
"""

from __future__ import annotations

import importlib.util
import itertools
import math

import numpy as np
import torch
from torch import Tensor


def counts(index: Tensor, dim_size: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """How often each value in ``[0, dim_size)`` occurs in ``index`` (``(dim_size,)``)."""
    ones = torch.ones(index.shape[0], dtype=dtype, device=index.device)
    return torch.zeros(dim_size, dtype=dtype, device=index.device).index_add_(0, index, ones)


def num_graphs(batch: Tensor | None) -> int:
    """Number of graphs a ``batch`` vector describes (1 when ``batch`` is None)."""
    if batch is None:
        return 1
    return int(batch.max()) + 1 if batch.numel() else 0


def batch_or_zeros(batch: Tensor | None, num_nodes: int, device) -> Tensor:
    """``batch``, or all nodes in graph 0 when it is None."""
    if batch is not None:
        return batch
    return torch.zeros(num_nodes, dtype=torch.long, device=device)


#: pairs per block of the torch back end (distances of ``block x columns`` at a time)
PAIRS_PER_BLOCK = 1 << 22

#: graphs up to this size are handled by listing all their pairs (no blocks)
SMALL_GRAPH = 64

#: nodes of the largest graph from which "auto" prefers vesin on the CPU (measured: the
#: torch back end as fast on batches of molecules, vesin 1.2x faster at 500 nodes, 4.6x at
#: 2,000 and 16x at 10,000; docs/graphs.md)
VESIN_FROM_NODES = 512

#: the same for periodic cells, where the torch back end measures distances to every image
#: that can be within the cutoff: vesin is faster at every size (measured, fcc copper, cutoff
#: 4.5 Angstrom, one thread: 7x at 8 atoms, 2.3x at 64, 12x at 216, 37x at 512)
PERIODIC_VESIN_FROM_NODES = 1


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
                "radius_graph(method='vesin') needs vesin: pip install 'erlangen[graph]' "
                "(or 'erlangen[atoms]')"
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


def _cells_per_graph(cell: Tensor, pbc: Tensor | bool, b: int) -> tuple[Tensor, Tensor]:
    """``cell (b, 3, 3)`` float64 and ``pbc (b, 3)`` bool from the accepted shapes."""
    cell = cell.detach().to(torch.float64)
    if cell.shape == (3, 3):
        cell = cell.expand(b, 3, 3)
    if cell.dim() != 3 or cell.shape[1:] != (3, 3) or cell.shape[0] != b:
        raise ValueError(
            f"cell must be (3, 3) or ({b}, 3, 3), one per graph, got {tuple(cell.shape)}"
        )
    pbc = torch.as_tensor(pbc, dtype=torch.bool, device=cell.device)
    if pbc.dim() == 0:
        pbc = pbc.expand(3)
    if pbc.shape == (3,):
        pbc = pbc.expand(b, 3)
    if pbc.shape != (b, 3):
        raise ValueError(f"pbc must be a bool, (3,) or ({b}, 3), got {tuple(pbc.shape)}")
    singular = pbc.any(-1) & (torch.linalg.det(cell).abs() < 1e-12)
    if bool(singular.any()):
        k = int(singular.nonzero()[0])
        raise ValueError(f"the cell of graph {k} is singular but periodic: {cell[k].tolist()}")
    return cell, pbc


def _periodic_torch(x: Tensor, r: float, cell: Tensor, pbc: Tensor, loop: bool):
    """One graph: ``x (n, 3)`` float64, ``cell (3, 3)``, ``pbc (3,)`` -> local ``(2, E)``
    edges and ``(E, 3)`` shifts, by distances to every image that can be within ``r``."""
    n = x.shape[0]
    periodic = pbc.tolist()
    if any(periodic):
        # wrap into the cell along the periodic directions: fractional coordinates in [0, 1)
        # bound the shifts needed by ceil(r / height) per direction
        inverse = torch.linalg.inv(cell)
        frac = x @ inverse
        wrap = torch.where(pbc, torch.floor(frac), torch.zeros_like(frac))
        x = x - wrap @ cell
        heights = torch.linalg.det(cell).abs() / torch.linalg.cross(
            cell[[1, 2, 0]], cell[[2, 0, 1]]
        ).norm(dim=-1)
        reps = [math.ceil(r / float(h)) if p else 0 for h, p in zip(heights, periodic)]
    else:
        wrap = torch.zeros_like(x)
        reps = [0, 0, 0]
    ranges = [torch.arange(-k, k + 1, dtype=torch.float64, device=x.device) for k in reps]
    shifts = torch.cartesian_prod(*ranges).view(-1, 3)
    offsets = shifts @ cell  # (s, 3)
    r2 = float(r) ** 2
    # a (targets, images, sources, 3) float64 block of about PAIRS_PER_BLOCK numbers
    block = max(1, PAIRS_PER_BLOCK // max(1, 3 * n * shifts.shape[0]))
    edges, edge_shifts = [], []
    zero = shifts.abs().sum(-1) == 0
    for start in range(0, n, block):
        targets = x[start : start + block]  # (t, 3)
        # (t, s, n): target minus the image of every source
        diff = targets[:, None, None, :] - (x[None, None, :, :] + offsets[None, :, None, :])
        near = diff.square().sum(-1) < r2
        if not loop:
            rows = torch.arange(start, start + targets.shape[0], device=x.device)
            self_pair = rows[:, None] == torch.arange(n, device=x.device)[None, :]  # (t, n)
            near &= ~(self_pair[:, None, :] & zero[None, :, None])
        t, s, j = near.nonzero(as_tuple=True)
        edges.append(torch.stack([j, t + start]))
        edge_shifts.append(shifts[s])
    edge_index = torch.cat(edges, 1) if edges else torch.zeros(2, 0, dtype=torch.long)
    shift = torch.cat(edge_shifts) if edge_shifts else torch.zeros(0, 3, dtype=torch.float64)
    # back to the positions as given: x_w = x - W cell, so S = S_w + W_i - W_j
    shift = shift + wrap[edge_index[1]] - wrap[edge_index[0]]
    return edge_index, shift


def _periodic_vesin(x: Tensor, r: float, cell: Tensor, pbc: Tensor, loop: bool):
    import vesin

    finder = vesin.NeighborList(cutoff=float(r), full_list=True)
    points = x.cpu().numpy()
    box = cell.cpu().numpy()
    periodic = pbc.cpu().numpy()
    if not periodic.any():
        box = np.zeros((3, 3))
    i, j, s = finder.compute(points, box, periodic, quantities="ijS")
    # vesin's vector is x_j - x_i + S cell: the image of j at x_j + S cell, target i
    edge_index = torch.from_numpy(np.stack([j, i]).astype(np.int64))
    shift = torch.from_numpy(np.asarray(s, dtype=np.float64)).reshape(-1, 3)
    if loop:
        n = x.shape[0]
        edge_index = torch.cat([edge_index, torch.arange(n).expand(2, n)], 1)
        shift = torch.cat([shift, torch.zeros(n, 3, dtype=torch.float64)])
    return edge_index, shift


def periodic_radius_graph(
    pos: Tensor,
    r: float,
    cell: Tensor,
    pbc: Tensor | bool = True,
    batch: Tensor | None = None,
    loop: bool = False,
    method: str = "auto",
) -> tuple[Tensor, Tensor]:
    """Edges closer than ``r`` (strictly) in periodic cells, with their cell shifts.

    Parameters
    ----------
    pos : Tensor
        ``(N, 3)`` positions, anywhere (they need not lie inside the cell).
    r : float
        Cut-off radius; it may exceed the cell (an atom then meets several images of a
        neighbour, and its own).
    cell : Tensor
        ``(3, 3)`` or ``(B, 3, 3)``: lattice vectors as rows, one cell per graph. Rows of
        directions that are not periodic are ignored (they may be zero).
    pbc : bool or Tensor
        Which directions repeat: one bool, ``(3,)`` or ``(B, 3)``.
    batch : Tensor, optional
        ``(N,)`` graph ids; nodes of different graphs are never joined.
    loop : bool
        Include the self-loops ``(i, i)`` with zero shift.
    method : str
        ``"torch"`` (distances to all images that can be within ``r``, ``O(N^2)`` per graph;
        any device), ``"vesin"`` (cell lists, ``O(N)``; CPU) or ``"auto"`` (vesin from
        :data:`PERIODIC_VESIN_FROM_NODES` nodes in a graph, on the CPU, when it is
        installed).

    Returns
    -------
    edge_index : Tensor
        ``(2, E)`` long, source row 0, target row 1, sorted by target, then source, then shift.
    shifts : Tensor
        ``(E, 3)`` integer-valued, in ``pos.dtype``: the source's image sits at
        ``pos[source] + shifts @ cell`` (see :func:`edge_vectors`).

    Examples
    --------
    A simple cubic crystal of one atom per cell of side 1 has six neighbours closer than 1.1,
    all of them images of itself:

    >>> import torch
    >>> edges, shifts = periodic_radius_graph(torch.zeros(1, 3), 1.1, torch.eye(3))
    >>> edges.shape, sorted(map(tuple, shifts.int().tolist()))[:2]
    (torch.Size([2, 6]), [(-1, 0, 0), (0, -1, 0)])
    """
    _check(pos, batch)
    if pos.shape[1] != 3:
        raise ValueError(f"periodic neighbour lists take 3-D positions, got {pos.shape[1]}-D")
    if not r > 0:
        raise ValueError(f"r must be > 0, got {r!r}")
    if method not in ("auto", "torch", "vesin"):
        raise ValueError(f"method must be 'auto', 'torch' or 'vesin', got {method!r}")
    n = pos.shape[0]
    order, _, ptr = _sorted_by_graph(batch, n, pos.device)
    b = ptr.shape[0] - 1
    cells, pbcs = _cells_per_graph(cell.to(pos.device), pbc, max(b, 1) if batch is None else b)
    x = (pos if order is None else pos[order]).detach().to(torch.float64)
    sizes = (ptr[1:] - ptr[:-1]).tolist()
    if method == "auto":
        big_cpu = pos.device.type == "cpu" and n and max(sizes) >= PERIODIC_VESIN_FROM_NODES
        method = "vesin" if big_cpu and vesin_available() else "torch"
    if method == "vesin" and not vesin_available():
        raise ImportError(
            "periodic_radius_graph(method='vesin') needs vesin: pip install 'erlangen[atoms]'"
        )
    compute = _periodic_vesin if method == "vesin" else _periodic_torch
    pieces, piece_shifts = [], []
    for k, (lo, hi) in enumerate(itertools.pairwise(ptr.tolist())):
        if hi == lo:
            continue
        edges, shift = compute(x[lo:hi], r, cells[k], pbcs[k], loop)
        pieces.append(edges.to(pos.device) + lo)
        piece_shifts.append(shift.to(pos.device))
    if pieces:
        edge_index, shifts = torch.cat(pieces, 1), torch.cat(piece_shifts)
    else:
        edge_index = torch.zeros(2, 0, dtype=torch.long, device=pos.device)
        shifts = torch.zeros(0, 3, dtype=torch.float64, device=pos.device)
    if order is not None:
        edge_index = order[edge_index]
    shifts = shifts.round()
    # sorted by target, source, then shift: a layout independent of the back end
    if shifts.shape[0]:
        s, e = shifts.long().cpu().numpy(), edge_index.cpu().numpy()
        # np.lexsort sorts by its last key first
        perm = torch.from_numpy(np.lexsort((s[:, 2], s[:, 1], s[:, 0], e[0], e[1])))
        perm = perm.to(pos.device)
        edge_index, shifts = edge_index[:, perm], shifts[perm]
    dtype = pos.dtype if pos.is_floating_point() else torch.float64
    return edge_index, shifts.to(dtype)


def edge_vectors(
    pos: Tensor,
    edge_index: Tensor,
    shifts: Tensor | None = None,
    cell: Tensor | None = None,
    batch: Tensor | None = None,
) -> Tensor:
    """``r_ij = pos[i] - (pos[j] + shifts @ cell)`` for every edge ``(j, i)``: ``(E, 3)``,
    differentiable in ``pos`` and ``cell``.

    Parameters
    ----------
    pos : Tensor
        ``(N, 3)``.
    edge_index : Tensor
        ``(2, E)`` (source, target).
    shifts : Tensor, optional
        ``(E, 3)`` from :func:`periodic_radius_graph`; none for open boundaries.
    cell : Tensor, optional
        ``(3, 3)`` or ``(B, 3, 3)`` (then ``batch`` says which graph each node is in).
    batch : Tensor, optional
        ``(N,)`` graph ids.
    """
    source, target = edge_index
    vectors = pos[target] - pos[source]
    if shifts is None:
        return vectors
    if cell is None:
        raise ValueError("edge_vectors: shifts need the cell they count")
    shifts = shifts.to(pos.dtype)
    if cell.dim() == 2:
        return vectors - shifts @ cell.to(pos.dtype)
    graph = batch_or_zeros(batch, pos.shape[0], pos.device)[target]
    return vectors - torch.einsum("ek,ekd->ed", shifts, cell.to(pos.dtype)[graph])
