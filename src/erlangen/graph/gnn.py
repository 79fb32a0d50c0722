"""A plain message-passing layer and network: the EGNN paper's GNN baseline, and the usual
backbone for frame averaging. Permutation-equivariant only: positions, when given, are just
more input channels."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..groups import Symmetric
from ..nn import EquivariantModule, arguments
from . import types as T
from .egnn import AGGREGATIONS
from .functional import num_graphs, pool, scatter_mean, scatter_sum
from .messages import check_graph_inputs, mlp, pair_linear

READOUTS = ("node", "graph")


class GNNLayer(EquivariantModule):
    r"""Message passing (Gilmer et al. 2017, in the form of the EGNN paper's GNN baseline):

    .. math::

        m_{ij} = \phi_e(h_i, h_j, a_{ij}), \qquad h_i' = h_i + \phi_h(h_i, \textstyle\sum_j m_{ij})

    Shapes: ``h (N, in_channels)``, ``edge_index (2, E)`` (``j -> i``), ``edge_attr
    (E, edge_dim)``; returns ``(N, out_channels)``.

    Parameters
    ----------
    in_channels, out_channels, hidden : int
    edge_dim : int
    aggregation : str
        ``"sum"`` or ``"mean"`` of the incoming messages.
    residual : bool
        Add the input (needs ``out_channels == in_channels``).
    nodes : int
        Nodes of the declared types.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        hidden: int | None = None,
        edge_dim: int = 0,
        aggregation: str = "sum",
        residual: bool = True,
        act: type[nn.Module] = nn.SiLU,
        nodes: int = T.NODES,
    ):
        super().__init__()
        owner = type(self).__name__
        in_channels = arguments.count(in_channels, "in_channels", owner)
        out_channels = in_channels if out_channels is None else out_channels
        hidden = in_channels if hidden is None else hidden
        arguments.counts(owner, out_channels=out_channels, hidden=hidden, nodes=nodes)
        arguments.count(edge_dim, "edge_dim", owner, minimum=0)
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be 'sum' or 'mean', got {aggregation!r}")
        if residual and out_channels != in_channels:
            raise ValueError("residual=True needs out_channels == in_channels")
        self.in_channels, self.out_channels, self.edge_dim = in_channels, out_channels, edge_dim
        self.aggregation, self.residual = aggregation, residual
        self.edge_mlp = mlp([2 * in_channels + edge_dim, hidden, hidden], act, True)
        self.node_mlp = mlp([in_channels + hidden, hidden, out_channels], act)
        G = Symmetric(nodes)
        self.in_type = T.graph_inputs(G, in_channels, edge_dim)
        self.out_type = T.node_scalars(G, out_channels)

    def forward(self, h: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        who = type(self).__name__
        check_graph_inputs(who, h, self.in_channels, edge_index, None, edge_attr, self.edge_dim)
        src, dst = edge_index[0], edge_index[1]
        extra = edge_attr if self.edge_dim else None
        m = self.edge_mlp[1:](pair_linear(self.edge_mlp[0], h, src, dst, extra))
        agg = scatter_sum if self.aggregation == "sum" else scatter_mean
        out = self.node_mlp(torch.cat([h, agg(m, dst, h.shape[0])], -1))
        return h + out if self.residual else out


class GNN(EquivariantModule):
    """Embedding, ``layers`` :class:`GNNLayer` blocks and a read-out (node-level, or pooled
    per graph).

    ``forward(x, edge_index, edge_attr=None, batch=None)``: ``x (N, in_channels)``; returns
    ``(N, out_channels)`` (``readout="node"``) or ``(num_graphs, out_channels)``
    (``readout="graph"``; one graph when ``batch`` is None).

    Parameters
    ----------
    in_channels, out_channels : int
    hidden : int
    layers : int
    edge_dim : int
    readout : str
        ``"node"`` or ``"graph"``.
    pool : str
        ``"sum"`` or ``"mean"`` over the nodes of each graph (graph read-out).
    aggregation : str
        Of messages in each layer.
    nodes : int
        Nodes of the declared types.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden: int = 64,
        layers: int = 4,
        edge_dim: int = 0,
        readout: str = "node",
        pool: str = "sum",
        aggregation: str = "sum",
        act: type[nn.Module] = nn.SiLU,
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
        if readout not in READOUTS:
            raise ValueError(f"readout must be 'node' or 'graph', got {readout!r}")
        self.in_channels, self.out_channels, self.edge_dim = in_channels, out_channels, edge_dim
        self.readout, self.pool = readout, pool
        self.embed = nn.Linear(in_channels, hidden)
        self.layers = nn.ModuleList(
            GNNLayer(hidden, hidden, hidden, edge_dim, aggregation, act=act, nodes=nodes)
            for _ in range(layers)
        )
        self.decoder = mlp([hidden, hidden, out_channels], act)
        if readout == "graph":
            self.decoder = mlp([hidden, hidden, hidden], act)
            self.graph_decoder = mlp([hidden, hidden, out_channels], act)
        G = Symmetric(nodes)
        self.in_type = T.graph_inputs(G, in_channels, edge_dim)
        self.out_type = T.scalar_readout(G, out_channels, readout)

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> Tensor:
        who = type(self).__name__
        check_graph_inputs(who, x, self.in_channels, edge_index, None, edge_attr, self.edge_dim)
        h = self.embed(x)
        for layer in self.layers:
            h = layer(h, edge_index, edge_attr)
        h = self.decoder(h)
        if self.readout == "node":
            return h
        return self.graph_decoder(pool(h, batch, num_graphs(batch), self.pool))
