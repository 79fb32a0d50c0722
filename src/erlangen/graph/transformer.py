"""A plain Transformer on the nodes of each graph: a graph network on the complete graph whose
edge weights (attention) come from the node features. Permutation-equivariant (no positional
encoding); frame averaging makes it E(3)-equivariant."""

from __future__ import annotations

from torch import Tensor, nn

from ..groups import Symmetric
from ..nn import EquivariantModule, arguments
from . import types as T
from .functional import from_dense_batch, num_graphs, pool, to_dense_batch
from .gnn import READOUTS
from .messages import check_graph_inputs, mlp


class GraphTransformer(EquivariantModule):
    """Pre-norm Transformer encoder over the nodes of each graph (padded per graph, padding
    masked out of the attention).

    ``forward(x, edge_index=None, edge_attr=None, batch=None)`` takes the arguments of
    :class:`~erlangen.graph.GNN` so either can be a frame-averaging backbone; ``edge_index``
    is checked but not used (every node attends to every node of its graph) and ``edge_attr``
    is ignored. Returns ``(N, out_channels)`` or, with ``readout="graph"``,
    ``(num_graphs, out_channels)``.

    Parameters
    ----------
    in_channels, out_channels : int
    hidden : int
        Model width.
    layers, heads : int
    readout : str
        ``"node"`` or ``"graph"``.
    pool : str
        ``"sum"`` or ``"mean"``.
    nodes : int
        Nodes of the declared types.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden: int = 64,
        layers: int = 4,
        heads: int = 4,
        readout: str = "node",
        pool: str = "sum",
        edge_dim: int = 0,
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
            heads=heads,
            nodes=nodes,
        )
        arguments.count(edge_dim, "edge_dim", owner, minimum=0)
        if hidden % heads:
            raise ValueError(f"{owner}: hidden ({hidden}) must be a multiple of heads ({heads})")
        if readout not in READOUTS:
            raise ValueError(f"readout must be 'node' or 'graph', got {readout!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.readout, self.pool, self.edge_dim = readout, pool, edge_dim
        self.embed = nn.Linear(in_channels, hidden)
        block = nn.TransformerEncoderLayer(
            hidden, heads, 2 * hidden, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.decoder = mlp([hidden, hidden, out_channels])
        G = Symmetric(nodes)
        self.in_type = T.graph_inputs(G, in_channels, edge_dim)
        self.out_type = T.scalar_readout(G, out_channels, readout)

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor | None = None,
        edge_attr: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> Tensor:
        if edge_index is not None:
            check_graph_inputs(type(self).__name__, x, self.in_channels, edge_index)
        size = num_graphs(batch)
        dense, mask = to_dense_batch(self.embed(x), batch, size)
        if dense.shape[1]:
            dense = self.encoder(dense, src_key_padding_mask=~mask)
        h = self.norm(from_dense_batch(dense, batch))
        if self.readout == "node":
            return self.decoder(h)
        return self.decoder(pool(h, batch, size, self.pool))
