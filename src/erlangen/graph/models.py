"""Networks of the graph family: the EGNN stack, and the linear n-body baseline."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..nn import EquivariantModule, arguments
from . import types as T
from .egnn import EGNNLayer
from .functional import batch_or_zeros, num_graphs, pool, scatter_mean
from .gnn import READOUTS
from .messages import check_graph_inputs, mlp

OUTPUTS = ("invariant", "position", "vector")


def read_out_types(G, readout: str, output: str, channels: int):
    """The output type of a model with this read-out (``channels`` for invariant outputs)."""
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    if readout not in READOUTS:
        raise ValueError(f"readout must be 'node' or 'graph', got {readout!r}")
    if readout == "node":
        return {
            "invariant": T.node_scalars(G, channels),
            "position": T.positions(G),
            "vector": T.node_vectors(G),
        }[output]
    if output == "position":
        raise ValueError("a graph-level read-out gives 'invariant' or 'vector' outputs")
    return T.graph_scalars(G, channels) if output == "invariant" else T.graph_vectors(G)


class EGNN(EquivariantModule):
    """A stack of :class:`EGNNLayer` with an embedding and a read-out.

    ``forward(h, pos, edge_index, edge_attr=None, vel=None, batch=None)`` with ``h (N,
    in_channels)``, ``pos (N, 3)``, ``edge_index (2, E)``, ``edge_attr (E, edge_dim)``,
    ``vel (N, 3)`` (velocity variant: the initial velocities go to every layer), ``batch (N,)``.
    Returns, by ``readout`` and ``output``:

    - node, ``"invariant"``: ``(N, out_channels)`` from the final node features;
    - node, ``"position"``: the final positions ``(N, 3)`` (n-body prediction);
    - node, ``"vector"``: the displacement ``pos_out - pos`` ``(N, 3)``;
    - graph, ``"invariant"``: node decoder, ``pool`` per graph, graph decoder
      ``(num_graphs, out_channels)`` (QM9 properties);
    - graph, ``"vector"``: ``sum_i (x_i - centroid) w(h_i)`` ``(num_graphs, 3)`` from the
      final positions (a dipole-like vector).

    Parameters
    ----------
    in_channels : int
    out_channels : int
        Invariant output channels (ignored for position/vector outputs).
    hidden, layers : int
    edge_dim : int
    readout, output : str
        See above.
    pool : str
        ``"sum"`` or ``"mean"`` (graph read-out).
    velocity, attention, normalize, aggregation, coord_aggregation, coord_init_gain : ...
        Passed to each :class:`EGNNLayer`.
    space : str
        Group of the declared types: ``"E3"``, ``"SE3"`` or ``"O3"``.
    nodes : int
        Nodes of the declared types.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int = 1,
        hidden: int = 64,
        layers: int = 4,
        edge_dim: int = 0,
        readout: str = "node",
        output: str = "invariant",
        pool: str = "sum",
        velocity: bool = False,
        attention: bool = False,
        normalize: bool = False,
        aggregation: str = "sum",
        coord_aggregation: str = "mean",
        coord_init_gain: float = 0.001,
        update_coords: bool | None = None,
        act: type[nn.Module] = nn.SiLU,
        space: str = "E3",
        nodes: int = T.NODES,
    ):
        super().__init__()
        owner = type(self).__name__
        arguments.counts(
            owner,
            in_channels=in_channels,
            out_channels=out_channels,
            hidden=hidden,
            layers=layers,
            nodes=nodes,
        )
        arguments.count(edge_dim, "edge_dim", owner, minimum=0)
        G = T.point_cloud_group(nodes, space)
        self.out_type = read_out_types(G, readout, output, out_channels)
        moves = output != "invariant"
        update_coords = (moves or velocity) if update_coords is None else update_coords
        if moves and not update_coords:
            raise ValueError(f"output={output!r} needs update_coords=True")
        self.in_channels, self.out_channels, self.edge_dim = in_channels, out_channels, edge_dim
        self.readout, self.output, self.pool, self.velocity = readout, output, pool, velocity
        self.embed = nn.Linear(in_channels, hidden)
        self.layers = nn.ModuleList(
            EGNNLayer(
                hidden,
                hidden,
                hidden,
                edge_dim,
                update_coords=update_coords,
                velocity=velocity,
                attention=attention,
                normalize=normalize,
                aggregation=aggregation,
                coord_aggregation=coord_aggregation,
                coord_init_gain=coord_init_gain,
                act=act,
                space=space,
                nodes=nodes,
            )
            for _ in range(layers)
        )
        if output == "invariant":
            width = hidden if readout == "graph" else out_channels
            self.decoder = mlp([hidden, hidden, width], act)
            if readout == "graph":
                self.graph_decoder = mlp([hidden, hidden, out_channels], act)
        elif readout == "graph":
            self.weight = mlp([hidden, hidden, 1], act)
        ins = [T.node_scalars(G, in_channels), T.positions(G), T.edges(G)]
        if edge_dim or velocity:
            ins.append(T.edge_scalars(G, edge_dim))
        if velocity:
            ins.append(T.node_vectors(G))
        self.in_type = tuple(ins)

    def forward(
        self,
        h: Tensor,
        pos: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor | None = None,
        vel: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> Tensor:
        who = type(self).__name__
        check_graph_inputs(who, h, self.in_channels, edge_index, pos, edge_attr, self.edge_dim, vel)
        if self.velocity and vel is None:
            raise ValueError(f"{who}: the velocity variant needs vel (num_nodes, 3)")
        x = self.embed(h)
        p = pos
        for layer in self.layers:
            if self.velocity:
                x, p, _ = layer(x, p, edge_index, edge_attr, vel)
            else:
                x, p = layer(x, p, edge_index, edge_attr)
        if self.output == "position":
            return p
        if self.readout == "node":
            return self.decoder(x) if self.output == "invariant" else p - pos
        size = num_graphs(batch)
        if self.output == "invariant":
            return self.graph_decoder(pool(self.decoder(x), batch, size, self.pool))
        index = batch_or_zeros(batch, p.shape[0], p.device)
        centred = p - scatter_mean(p, index, size).index_select(0, index)
        return pool(centred * self.weight(x), batch, size, "sum")


class LinearDynamics(EquivariantModule):
    """The EGNN paper's linear n-body baseline: ``x' = x + w v`` with one learned scalar ``w``
    (a constant-velocity motion over a learned time step).

    ``forward(h, pos, edge_index, edge_attr=None, vel=None)`` takes the n-body models'
    arguments so that a task can swap the models; only ``pos (N, 3)`` and ``vel (N, 3)`` are
    used. Returns ``(N, 3)``.
    """

    def __init__(self, in_channels: int = 1, space: str = "E3", nodes: int = T.NODES):
        super().__init__()
        arguments.counts(type(self).__name__, in_channels=in_channels, nodes=nodes)
        self.in_channels = in_channels
        self.step = nn.Parameter(torch.tensor(1.0))
        G = T.point_cloud_group(nodes, space)
        self.in_type = (
            T.node_scalars(G, in_channels),
            T.positions(G),
            T.edges(G),
            T.edge_scalars(G, 0),
            T.node_vectors(G),
        )
        self.out_type = T.positions(G)

    def forward(
        self,
        h: Tensor,
        pos: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor | None = None,
        vel: Tensor | None = None,
    ) -> Tensor:
        who = type(self).__name__
        check_graph_inputs(who, h, self.in_channels, edge_index, pos, None, 0, vel)
        if vel is None:
            raise ValueError(f"{who}: needs vel (num_nodes, 3)")
        return pos + self.step * vel
