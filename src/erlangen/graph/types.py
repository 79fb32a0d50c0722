"""Field types of graph and point-cloud layers, in one place.

Every layer declares its types at a small, fixed number of nodes (``nodes``, 5 by default):
that is what the checker draws. The layers themselves take any number of nodes.

The group of a point cloud seen as a graph is ``Symmetric(N) * E(3)`` (or ``SE(3)`` /
``O(3)``): one check covers node relabelling and rigid motions together.
"""

from __future__ import annotations

from ..fields import EdgeField, EdgeIndexField, GraphField, NodeField, PositionField
from ..groups import (
    O3,
    SE,
    DirectProduct,
    E,
    EuclideanGroup,
    Group,
    Symmetric,
    euclidean,
    standard,
)

#: nodes of the declared types (what the checker draws); layers take any number
NODES = 5

SPACES = ("E3", "SE3", "O3")


def space_group(space: str) -> Group:
    """``E(3)``, ``SE(3)`` or ``O(3)`` by name."""
    if space == "E3":
        return E(3)
    if space == "SE3":
        return SE(3)
    if space == "O3":
        return O3()
    raise ValueError(f"space must be one of {', '.join(SPACES)}, got {space!r}")


def point_cloud_group(nodes: int = NODES, space: str = "E3") -> DirectProduct:
    """``Symmetric(nodes) * E(3)`` (or ``SE(3)``, ``O(3)``)."""
    return Symmetric(nodes) * space_group(space)


def vector_fiber(group: DirectProduct):
    """The standard representation of the rotation part of the spatial factor of ``group``
    (how velocities and other 3-vectors turn)."""
    spatial = group.factors[1]
    if isinstance(spatial, EuclideanGroup):
        return euclidean(spatial, standard(spatial.point_group))
    return standard(spatial)


def node_scalars(group: Group, channels: int) -> NodeField:
    """Invariant node features ``(N, channels)``."""
    return NodeField(group, channels=channels)


def node_vectors(group: DirectProduct) -> NodeField:
    """One 3-vector per node ``(N, 3)`` (velocities, forces)."""
    return NodeField(group, fiber=vector_fiber(group))


def positions(group: Group) -> PositionField:
    """Node positions ``(N, 3)``."""
    return PositionField(group)


def edges(group: Group, num_edges: int = 16) -> EdgeIndexField:
    """``edge_index (2, E)``."""
    return EdgeIndexField(group, num_edges=num_edges)


def edge_scalars(group: Group, channels: int, num_edges: int = 16) -> EdgeField:
    """Invariant edge features ``(E, channels)``."""
    return EdgeField(group, channels=channels, num_edges=num_edges)


def graph_scalars(group: Group, channels: int) -> GraphField:
    """Invariant graph-level read-outs ``(num_graphs, channels)``."""
    return GraphField(group, channels=channels)


def graph_vectors(group: DirectProduct) -> GraphField:
    """One 3-vector per graph ``(num_graphs, 3)``."""
    return GraphField(group, fiber=vector_fiber(group))


def graph_inputs(group: Group, channels: int, edge_dim: int = 0) -> tuple:
    """The inputs of a network on graphs without positions: node features, ``edge_index``
    and, when ``edge_dim`` is not 0, edge features."""
    ins = [node_scalars(group, channels), edges(group)]
    if edge_dim:
        ins.append(edge_scalars(group, edge_dim))
    return tuple(ins)


def scalar_readout(group: Group, channels: int, readout: str) -> NodeField | GraphField:
    """Invariant outputs per node (``readout="node"``) or per graph (``"graph"``)."""
    if readout == "node":
        return node_scalars(group, channels)
    return graph_scalars(group, channels)
