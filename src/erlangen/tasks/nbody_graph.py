"""Graph networks as n-body models: the adapter between the n-body tasks' tensors and the
graph family's layout.

The n-body tasks (:mod:`erlangen.tasks.nbody`, :mod:`erlangen.tasks.charged`) hand every
model ``(scalars (B, N, 1), positions (B, N, 3), velocities (B, N, 3))`` (the scalar is the
mass or the charge of each body) and expect final positions ``(B, N, 3)``.
:class:`GraphNBody` flattens a batch of systems into one graph of ``B N`` nodes, each system
complete (every ordered pair of its bodies), and builds the EGNN paper's inputs: node
features from the speed ``|v|`` (and, when asked, the scalar, or positions and velocities for
the plain GNN), edge features ``[s_i s_j, |x_i - x_j|^2]``.

Importing this module registers ``egnn-nbody``, ``gnn-nbody``, ``linear-nbody``,
``fa-gnn-nbody`` and ``fa-transformer-nbody``: the graph family's models (``egnn``, ``gnn``,
...) inside the adapter. The tasks accept the short names (``--model egnn``) and record these.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..ga.models import check_nbody_inputs, nbody_types
from ..graph import EGNN, FrameAveraging, LinearDynamics, fully_connected_graph
from ..registry import get_model, register_model

#: node features the adapter can build, and their widths
NODE_INPUTS = {
    "speed": 1,  # |v|: the EGNN paper's node input
    "speed+scalar": 2,  # |v| and the body's mass or charge
    "position+velocity": 6,  # [x, v]: the reference code's GNN input
    "position+velocity+scalar": 7,
}

#: models called as ``model(h, pos, edge_index, edge_attr, vel[, batch])``; the others as
#: ``model(x, edge_index, edge_attr, batch)``
_GEOMETRIC = (EGNN, FrameAveraging, LinearDynamics)


class GraphNBody(nn.Module):
    """An n-body model made of a graph network.

    ``forward(scalars (B, N, 1), positions (B, N, 3), velocities (B, N, 3))`` -> final
    positions ``(B, N, 3)``, as the graph network predicts them (EGNN and the frame-averaged
    models move the positions; the plain GNN outputs them from ``[x, v]``, as in the EGNN
    paper's code).

    Parameters
    ----------
    graph : nn.Module
        An :class:`~erlangen.graph.EGNN`, :class:`~erlangen.graph.FrameAveraging` or
        :class:`~erlangen.graph.LinearDynamics` (called with positions and velocities), or
        a plain :class:`~erlangen.graph.GNN` (called with node features only), whose
        ``in_channels`` match ``node_inputs`` and whose ``edge_dim`` is 0, 1 (``s_i s_j``) or
        2 (``s_i s_j`` and ``|x_i - x_j|^2``).
    node_inputs : str
        A key of :data:`NODE_INPUTS`.
    """

    def __init__(self, graph: nn.Module, node_inputs: str = "speed"):
        super().__init__()
        if node_inputs not in NODE_INPUTS:
            raise ValueError(
                f"node_inputs must be one of {', '.join(NODE_INPUTS)}, got {node_inputs!r}"
            )
        channels = getattr(graph, "in_channels", NODE_INPUTS[node_inputs])
        if channels != NODE_INPUTS[node_inputs]:
            raise ValueError(
                f"node_inputs={node_inputs!r} gives {NODE_INPUTS[node_inputs]} node features, "
                f"the graph network takes {channels}"
            )
        edge_dim = getattr(graph, "edge_dim", 0)
        if edge_dim not in (0, 1, 2):
            raise ValueError(f"the graph network's edge_dim must be 0, 1 or 2, got {edge_dim}")
        self.graph, self.node_inputs, self.edge_dim = graph, node_inputs, edge_dim
        self.geometric = isinstance(graph, _GEOMETRIC)
        self.in_type, self.out_type = nbody_types(bodies=5)

    def inputs(
        self, scalars: Tensor, positions: Tensor, velocities: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor | None, Tensor, Tensor]:
        """The graph of a batch of systems: ``(h (B N, C), pos (B N, 3), edge_index
        (2, B N (N - 1)), edge_attr (E, edge_dim) or None, vel (B N, 3), batch (B N,))``."""
        b, n, _ = positions.shape
        pos, vel, s = (
            positions.reshape(b * n, 3),
            velocities.reshape(b * n, 3),
            scalars.reshape(-1, 1),
        )
        batch = torch.arange(b, device=pos.device).repeat_interleave(n)
        edge_index = fully_connected_graph(batch=batch)
        speed = vel.norm(dim=-1, keepdim=True)
        h = {
            "speed": lambda: speed,
            "speed+scalar": lambda: torch.cat([speed, s], -1),
            "position+velocity": lambda: torch.cat([pos, vel], -1),
            "position+velocity+scalar": lambda: torch.cat([pos, vel, s], -1),
        }[self.node_inputs]()
        edge_attr = None
        if self.edge_dim:
            src, dst = edge_index
            parts = [s.index_select(0, src) * s.index_select(0, dst)]
            if self.edge_dim == 2:
                parts.append(
                    (pos.index_select(0, dst) - pos.index_select(0, src))
                    .square()
                    .sum(-1, keepdim=True)
                )
            edge_attr = torch.cat(parts, -1)
        return h, pos, edge_index, edge_attr, vel, batch

    def forward(
        self, scalars: Tensor, positions: Tensor, velocities: Tensor, mask: Tensor | None = None
    ) -> Tensor:
        """Predicted final positions ``(B, N, 3)``; ``mask`` must be None or all True (every
        system is a graph of its own, so systems of different sizes need no padding)."""
        who = f"GraphNBody({type(self.graph).__name__})"
        check_nbody_inputs(who, scalars, positions, velocities)
        if mask is not None and not bool(mask.all()):
            raise ValueError(f"{who}: padded (masked) bodies are not supported")
        h, pos, edge_index, edge_attr, vel, batch = self.inputs(scalars, positions, velocities)
        if isinstance(self.graph, LinearDynamics):
            out = self.graph(h, pos, edge_index, None, vel)
        elif self.geometric:
            velocity = getattr(self.graph, "velocity", False)
            out = self.graph(h, pos, edge_index, edge_attr, vel if velocity else None, batch)
        else:
            out = self.graph(h, edge_index, edge_attr, batch)
        return out.reshape(positions.shape)


def _adapted(graph_model: str, node_inputs: str, options: dict[str, Any]) -> GraphNBody:
    options = dict(options)
    node_inputs = options.pop("node_inputs", node_inputs)
    if node_inputs not in NODE_INPUTS:
        raise ValueError(
            f"node_inputs must be one of {', '.join(NODE_INPUTS)}, got {node_inputs!r}"
        )
    options.setdefault("in_channels", NODE_INPUTS[node_inputs])
    return GraphNBody(get_model(graph_model).factory(**options), node_inputs)


@register_model("egnn-nbody", "tasks", "EGNN (velocity variant) on the n-body tasks' tensors")
def egnn_nbody(**options: Any) -> GraphNBody:
    return _adapted("egnn", "speed", options)


@register_model("gnn-nbody", "tasks", "plain GNN on positions, velocities (EGNN baseline), n-body")
def gnn_nbody(**options: Any) -> GraphNBody:
    return _adapted("gnn", "position+velocity", options)


@register_model("linear-nbody", "tasks", "linear baseline x + w v on the n-body tasks' tensors")
def linear_nbody(**options: Any) -> GraphNBody:
    return _adapted("linear", "speed", options)


@register_model("fa-gnn-nbody", "tasks", "frame-averaged GNN (E(3), 8 frames), n-body")
def fa_gnn_nbody(**options: Any) -> GraphNBody:
    return _adapted("fa-gnn", "speed", options)


@register_model("fa-transformer-nbody", "tasks", "frame-averaged Transformer (E(3)), n-body")
def fa_transformer_nbody(**options: Any) -> GraphNBody:
    return _adapted("fa-transformer", "speed", options)
