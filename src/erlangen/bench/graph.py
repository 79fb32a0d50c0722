"""Benchmarks and measurements of the graph family.

Benchmarks (``erlangen bench NAME``):

- ``graph-egnn-fc-n{5,50,500}`` and ``graph-egnn-radius-n{5,50,500,5000}``:
  :class:`~erlangen.graph.EGNNLayer` forward+backward against egnn-pytorch's ``EGNN`` layer
  (the peer, when importable: ``make bench`` installs it into ``.venv-bench``) with the same
  widths and parameters, on the same graphs: fully connected, or a radius graph with about 24
  neighbours per node (egnn-pytorch gets the adjacency matrix and
  ``only_sparse_neighbors=True``). Graphs of N nodes come in batches of ``max(1, 500 // N)``.
  Always also against the same layer written the plain way (the ``(E, 2C + 1)``
  concatenation into ``phi_e``), the reference when the peer is missing.
- ``graph-fa-gnn``: :class:`~erlangen.graph.FrameAveraging` around a GNN (8 frames, one
  batched call) against the backbone alone on the same batch (the goal: at most 8x), and
  against the 8 frames run one after the other.

Fully connected graphs of 5,000 nodes (25 million edges) are left out: egnn-pytorch's dense
``(b, n, n, 2d + 1)`` edge inputs need tens of GB for forward+backward, more than these
machines have (set ``ERLANGEN_BENCH_LARGE=1`` to register them anyway).

Measurements (``python -m erlangen.bench.graph ...``):

- ``memory``: peak memory of an EGNNLayer forward+backward on radius graphs up to 20,000
  nodes, per edge, and the largest single allocation (no ``N^2`` tensor);
- ``radius``: :func:`~erlangen.graph.radius_graph` with the torch back end against vesin;
- ``variants``: the layer against two other forms of ``phi_e``'s first linear map (per-node
  projections gathered per edge; dense per-pair tensors on complete graphs).
"""

from __future__ import annotations

import functools
import math
import os
import statistics
import sys
import time

import torch

from ..graph import GNN, EGNNLayer, FrameAveraging, fully_connected_graph, radius_graph
from ..graph.functional import scatter_sum
from ..graph.messages import pair_linear
from . import BenchPair, fwd_bwd, peer_available, register

#: node features and message width (egnn-pytorch's default m_dim is 16)
DIM, M_DIM = 32, 16
#: neighbours per node of the radius graphs (points uniform at unit density)
NEIGHBOURS = 24
RADIUS = (3 * NEIGHBOURS / (4 * math.pi)) ** (1 / 3)


def matched_layer(dim: int = DIM, m_dim: int = M_DIM) -> EGNNLayer:
    """Our layer with egnn-pytorch's widths: phi_e (2d+1) -> 2(2d+1) -> m, phi_x m -> 4m -> 1,
    phi_h (d+m) -> 2d -> d, coordinates summed (no mean), residual features."""
    return EGNNLayer(
        dim,
        dim,
        hidden=m_dim,
        edge_hidden=2 * (2 * dim + 1),
        coord_hidden=4 * m_dim,
        node_hidden=2 * dim,
        coord_aggregation="sum",
    )


def graphs(nodes: int, kind: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``(pos (b n, 3), edge_index, b)``: ``b = max(1, 500 // nodes)`` graphs of ``nodes``
    points uniform in a cube at unit density, fully connected or within :data:`RADIUS`."""
    gen = torch.Generator().manual_seed(seed)
    b = max(1, 500 // nodes)
    side = nodes ** (1 / 3)
    pos = torch.rand(b * nodes, 3, generator=gen) * side
    batch = torch.arange(b).repeat_interleave(nodes)
    if kind == "fc":
        edges = fully_connected_graph(batch=batch)
    else:
        edges = radius_graph(pos, RADIUS, batch, method="torch")
    return pos, edges, b


def plain_layer_forward(layer: EGNNLayer, h, pos, edge_index):
    """The same layer as the paper writes it: ``phi_e`` on the concatenation."""
    src, dst = edge_index
    diff = pos[dst] - pos[src]
    r2 = diff.square().sum(-1, keepdim=True)
    m = layer.edge_mlp(torch.cat([h[dst], h[src], r2], -1))
    n = h.shape[0]
    shift = scatter_sum(diff * layer.coord_mlp(m), dst, n)
    out = h + layer.node_mlp(torch.cat([h, scatter_sum(m, dst, n)], -1))
    return out, pos + shift


def gathered_layer_forward(layer: EGNNLayer, h, pos, edge_index):
    """The layer with ``phi_e``'s first linear map applied per node and gathered per edge
    (``W_i h_i + W_j h_j + w r_ij^2``), whatever its width (the layer itself does this only
    when that map is no wider than the node features)."""
    src, dst = edge_index
    diff = pos.index_select(0, dst) - pos.index_select(0, src)
    r2 = diff.square().sum(-1, keepdim=True)
    m = layer.edge_mlp[1:](pair_linear(layer.edge_mlp[0], h, src, dst, r2))
    n, width = h.shape[0], m.shape[1]
    both = scatter_sum(torch.cat([m, diff * layer.coord_mlp(m)], -1), dst, n)
    out = h + layer.node_mlp(torch.cat([h, both[:, :width]], -1))
    return out, pos + both[:, width:]


def dense_layer_forward(layer: EGNNLayer, h, pos, nodes: int):
    """The layer on complete graphs of ``nodes`` nodes each, as dense ``(B, n, n, .)``
    tensors: per-node projections broadcast over pairs instead of gathered, sums over the
    source axis instead of scatters, the diagonal masked out."""
    n_all, c = h.shape
    b = n_all // nodes
    hd, pd = h.view(b, nodes, c), pos.view(b, nodes, 3)
    first = layer.edge_mlp[0]
    w = first.weight
    diff = pd.unsqueeze(2) - pd.unsqueeze(1)  # [b, i, j] = x_i - x_j
    r2 = diff.square().sum(-1, keepdim=True)
    at_i = torch.nn.functional.linear(hd, w[:, :c], first.bias)
    at_j = torch.nn.functional.linear(hd, w[:, c : 2 * c])
    pre = torch.addcmul(at_i.unsqueeze(2) + at_j.unsqueeze(1), r2, w[:, 2 * c])
    off_diagonal = 1.0 - torch.eye(nodes, dtype=h.dtype, device=h.device).unsqueeze(-1)
    m = layer.edge_mlp[1:](pre) * off_diagonal
    shift = (diff * layer.coord_mlp(m)).sum(2).reshape(n_all, 3)
    out = h + layer.node_mlp(torch.cat([h, m.sum(2).reshape(n_all, -1)], -1))
    return out, pos + shift


def _backward_of(forward) -> None:
    sum(t.sum() for t in forward()).backward()


def first_layer_variants(
    layouts=(("fc", 5), ("fc", 50), ("fc", 500), ("radius", 50), ("radius", 500)),
    rounds: int = 9,
) -> list[dict]:
    """Forward+backward time of the matched layer against two other ways of computing
    ``phi_e``'s first linear map: per-node projections gathered per edge, and (complete
    graphs) dense per-pair tensors. Interleaved rounds; the median and quartiles of the
    per-round ratios ``variant / layer`` (``rounds >= 2``)."""
    if rounds < 2:
        raise ValueError(f"quartiles need rounds >= 2, got {rounds}")
    rows = []
    for kind, nodes in layouts:
        torch.manual_seed(0)
        pos, edges, _ = graphs(nodes, kind)
        layer = matched_layer()
        h = torch.randn(pos.shape[0], DIM, requires_grad=True)
        pos.requires_grad_(True)
        forms = {
            "layer": functools.partial(layer, h, pos, edges),
            "gathered": functools.partial(gathered_layer_forward, layer, h, pos, edges),
        }
        if kind == "fc":
            forms["dense"] = functools.partial(dense_layer_forward, layer, h, pos, nodes)
        steps = {k: functools.partial(_backward_of, f) for k, f in forms.items()}
        for step in steps.values():
            step()
        times: dict[str, list[float]] = {k: [] for k in steps}
        for _ in range(rounds):
            for k, step in steps.items():
                start = time.perf_counter()
                step()
                times[k].append(time.perf_counter() - start)
        row = {"kind": kind, "nodes": nodes, "edges": edges.shape[1]}
        row["layer_ms"] = 1e3 * statistics.median(times["layer"])
        for k in steps:
            if k != "layer":
                ratios = [a / b for a, b in zip(times[k], times["layer"])]
                q = statistics.quantiles(ratios, n=4)
                row[k] = (statistics.median(ratios), q[0], q[2])
        rows.append(row)
    return rows


def _peer(dim: int, m_dim: int, sparse: bool):
    from egnn_pytorch import EGNN as PeerEGNN

    return PeerEGNN(dim=dim, m_dim=m_dim, only_sparse_neighbors=sparse)


def _egnn_pair(nodes: int, kind: str, device: str) -> BenchPair:
    torch.manual_seed(0)
    pos, edges, b = graphs(nodes, kind)
    n = pos.shape[0]
    layer = matched_layer().to(device)
    h = torch.randn(n, DIM, device=device)
    pos, edges = pos.to(device), edges.to(device)
    refs = {
        "same layer, plain concatenation": fwd_bwd(
            lambda h, p: plain_layer_forward(layer, h, p, edges), h, pos, params=layer.parameters()
        )
    }
    if peer_available("egnn_pytorch"):
        peer = _peer(DIM, M_DIM, sparse=kind != "fc").to(device)
        feats, coors = h.view(b, nodes, DIM), pos.view(b, nodes, 3)
        if kind == "fc":
            refs["egnn-pytorch EGNN"] = fwd_bwd(peer, feats, coors)
        else:
            adj = torch.zeros(b, nodes, nodes, dtype=torch.bool, device=device)
            local = edges % nodes
            adj[edges[1] // nodes, local[1], local[0]] = True
            refs["egnn-pytorch EGNN"] = fwd_bwd(
                lambda f, c: peer(f, c, adj_mat=adj), feats, coors, params=peer.parameters()
            )
    ours_params = sum(p.numel() for p in layer.parameters())
    ours = fwd_bwd(lambda h, p: layer(h, p, edges), h, pos, params=layer.parameters())
    return BenchPair(
        ours=ours,
        references=refs,
        ours_label="EGNNLayer",
        note=(
            f"{b} graph(s) x {nodes} nodes, {edges.shape[1]} edges ({kind}), d={DIM}, "
            f"m={M_DIM}, {ours_params} parameters, forward+backward"
        ),
    )


_SIZES = {"fc": [5, 50, 500], "radius": [5, 50, 500, 5000]}
if os.environ.get("ERLANGEN_BENCH_LARGE") == "1":
    _SIZES["fc"].append(5000)

for _kind, _sizes in _SIZES.items():
    for _n in _sizes:
        register(
            f"graph-egnn-{_kind}-n{_n}",
            "graph",
            f"EGNNLayer vs egnn-pytorch, {_n}-node {_kind} graphs, fwd+bwd",
        )(lambda device, _n=_n, _kind=_kind: _egnn_pair(_n, _kind, device))


@register("graph-fa-gnn", "graph", "frame averaging (8 frames, one call) vs its GNN backbone")
def _frame_averaging(device: str) -> BenchPair:
    torch.manual_seed(0)
    graphs_, nodes = 100, 5  # an n-body batch
    batch = torch.arange(graphs_).repeat_interleave(nodes).to(device)
    n = graphs_ * nodes
    edges = fully_connected_graph(batch=batch)
    backbone = GNN(1 + 6, 3, hidden=64, layers=4).to(device)
    fa = FrameAveraging(backbone, "E3", in_channels=1, velocity=True).to(device)
    h = torch.randn(n, 1, device=device)
    pos = torch.randn(n, 3, device=device, requires_grad=True)
    vel = torch.randn(n, 3, device=device)
    x = torch.cat([h, pos.detach(), vel], -1)

    def looped(pos):
        centroid, frames = fa.frames(pos, batch, graphs_)
        out = 0
        for k in range(frames.shape[0]):
            f = frames[k, batch]
            c = centroid[batch]
            xk = torch.cat(
                [h, ((pos - c).unsqueeze(-2) @ f).squeeze(-2), (vel.unsqueeze(-2) @ f).squeeze(-2)],
                -1,
            )
            yk = backbone(xk, edges, None, batch)
            out = out + (yk.unsqueeze(-2) @ f.transpose(-1, -2)).squeeze(-2)
        return out / frames.shape[0] + centroid[batch]

    return BenchPair(
        ours=fwd_bwd(lambda p: fa(h, p, edges, None, vel, batch), pos, params=fa.parameters()),
        references={
            "backbone alone (1 frame)": fwd_bwd(
                lambda xx: backbone(xx, edges, None, batch), x, params=backbone.parameters()
            ),
            "8 frames one after the other": fwd_bwd(looped, pos, params=backbone.parameters()),
        },
        ours_label="FrameAveraging (8 frames batched)",
        note=f"{graphs_} graphs x {nodes} nodes, GNN 64 x 4 layers, forward+backward",
    )


# --------------------------------------------------------------------- measurements
def edge_memory(sizes=(5_000, 10_000, 20_000)) -> list[dict]:
    """Peak memory of one EGNNLayer forward+backward (matched widths) on radius graphs at unit
    density, from the CPU allocator events of ``torch.profiler``."""
    from .ga import _peak_bytes

    rows = []
    for nodes in sizes:
        torch.manual_seed(0)
        pos = torch.rand(nodes, 3) * nodes ** (1 / 3)
        build = time.perf_counter()
        edges = radius_graph(pos, RADIUS, method="torch")
        build = time.perf_counter() - build
        layer = matched_layer()
        h = torch.randn(nodes, DIM)
        step = fwd_bwd(
            lambda h, p, layer=layer, edges=edges: layer(h, p, edges),
            h,
            pos,
            params=layer.parameters(),
        )
        peak, largest = _peak_bytes(step)
        graph_peak, _ = _peak_bytes(lambda pos=pos: radius_graph(pos, RADIUS, method="torch"))
        e = edges.shape[1]
        rows.append(
            {
                "nodes": nodes,
                "edges": e,
                "peak_mb": peak / 2**20,
                "bytes_per_edge": peak / e,
                "largest_mb": largest / 2**20,
                "n2_float32_mb": nodes**2 * 4 / 2**20,
                "radius_graph_s": build,
                "radius_graph_peak_mb": graph_peak / 2**20,
            }
        )
    return rows


def radius_times(
    layouts=((1, 50), (1, 500), (1, 2_000), (1, 10_000), (100, 18), (1_000, 18)),
    repeats: int = 5,
) -> list[dict]:
    """Milliseconds per :func:`radius_graph` call, torch back end vs vesin (median of
    ``repeats``), for ``(graphs, nodes)`` layouts: points uniform at unit density, about 24
    neighbours each (the 18-node graphs are molecule-sized batches)."""
    rows = []
    for graphs_, nodes in layouts:
        gen = torch.Generator().manual_seed(0)
        pos = torch.rand(graphs_ * nodes, 3, generator=gen) * nodes ** (1 / 3)
        batch = torch.arange(graphs_).repeat_interleave(nodes) if graphs_ > 1 else None
        row = {"graphs": graphs_, "nodes": nodes}
        for method in ("torch", "vesin"):
            radius_graph(pos, RADIUS, batch, method=method)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                edges = radius_graph(pos, RADIUS, batch, method=method)
                times.append(time.perf_counter() - start)
            row[method] = 1e3 * statistics.median(times)
            row["edges"] = edges.shape[1]
        rows.append(row)
    return rows


def _main(argv: list[str]) -> None:
    if argv[:1] == ["memory"]:
        sizes = [int(a) for a in argv[1:]] or [5_000, 10_000, 20_000]
        print(
            "| nodes | edges | peak MB | bytes/edge | largest alloc MB | N^2 float32 MB "
            "| radius_graph peak MB |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in edge_memory(sizes):
            print(
                f"| {r['nodes']:,} | {r['edges']:,} | {r['peak_mb']:.0f} | "
                f"{r['bytes_per_edge']:.0f} | {r['largest_mb']:.1f} | {r['n2_float32_mb']:.0f} "
                f"| {r['radius_graph_peak_mb']:.0f} |"
            )
        return
    if argv[:1] == ["radius"]:
        print(f"radius graphs, {torch.get_num_threads()} thread(s)")
        print("| graphs x nodes | edges | torch ms | vesin ms | torch / vesin |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        for r in radius_times():
            print(
                f"| {r['graphs']:,} x {r['nodes']:,} | {r['edges']:,} | {r['torch']:.1f} | "
                f"{r['vesin']:.1f} | "
                f"{r['torch'] / r['vesin']:.1f} |"
            )
        return
    if argv[:1] == ["variants"]:
        print(f"phi_e's first layer, {torch.get_num_threads()} thread(s): variant / layer")
        print("| graphs | edges | layer ms | gathered / layer | dense / layer |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for r in first_layer_variants():
            cells = [
                f"{r[k][0]:.2f} ({r[k][1]:.2f}-{r[k][2]:.2f})" if k in r else "-"
                for k in ("gathered", "dense")
            ]
            b = max(1, 500 // r["nodes"])
            print(
                f"| {b} x {r['nodes']}, {r['kind']} | {r['edges']:,} | {r['layer_ms']:.1f} | "
                + " | ".join(cells)
                + " |"
            )
        return
    print("usage: python -m erlangen.bench.graph memory [NODES ...] | radius | variants")
    raise SystemExit(2)


if __name__ == "__main__":
    _main(sys.argv[1:])


__all__ = [
    "dense_layer_forward",
    "edge_memory",
    "first_layer_variants",
    "gathered_layer_forward",
    "graphs",
    "matched_layer",
    "plain_layer_forward",
    "radius_times",
]
