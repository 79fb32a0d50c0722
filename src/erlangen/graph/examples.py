"""Small typed graph layers registered for ``erlangen tour`` and the smoke tests.

The coordinate networks start at gain 1 here (not the training default 0.001), so that the
position outputs move visibly and the check tests the coordinate update, not just ``x -> x``.
"""

from __future__ import annotations

from ..registry import register_example
from .egnn import EGNNLayer
from .frames import FrameAveraging
from .gnn import GNN, GNNLayer
from .models import EGNN, LinearDynamics
from .transformer import GraphTransformer


@register_example("graph-egnn-layer", "graph", "EGNNLayer 4 -> 4, 2 edge features, S5 x E(3)")
def _egnn_layer():
    return EGNNLayer(4, 4, hidden=8, edge_dim=2, coord_init_gain=1.0)


@register_example(
    "graph-egnn-layer-velocity", "graph", "EGNNLayer, velocity variant, attention, normalised"
)
def _egnn_velocity():
    return EGNNLayer(4, 4, 8, velocity=True, attention=True, normalize=True, coord_init_gain=1.0)


@register_example("graph-egnn", "graph", "EGNN, 2 layers, graph-level invariant read-out")
def _egnn():
    return EGNN(3, 2, hidden=8, layers=2, readout="graph", coord_init_gain=1.0)


@register_example("graph-gnn-layer", "graph", "plain message passing, S5 (permutations only)")
def _gnn_layer():
    return GNNLayer(4, 4, hidden=8, edge_dim=1)


@register_example("graph-linear", "graph", "linear n-body baseline x + w v")
def _linear():
    return LinearDynamics()


@register_example("graph-fa-gnn", "graph", "frame-averaged GNN (8 frames), positions out")
def _fa_gnn():
    return FrameAveraging(GNN(1 + 6, 3, hidden=8, layers=2), "E3", in_channels=1, velocity=True)


@register_example("graph-fa-transformer", "graph", "frame-averaged Transformer, SE(3), invariant")
def _fa_transformer():
    backbone = GraphTransformer(2 + 3, 2, hidden=8, layers=1, heads=2, readout="graph")
    return FrameAveraging(
        backbone, "SE3", in_channels=2, readout="graph", output="invariant", out_channels=2
    )
