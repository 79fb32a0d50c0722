"""Graphs and point clouds: message passing, EGNN and frame averaging, in torch_geometric's
conventions (``x``/``h (N, C)``, ``pos (N, 3)``, ``edge_index (2, E)`` source to target,
``batch (N,)``), in pure torch: the layers need neither torch_scatter nor torch_geometric
(which the data side uses for ``Data``/``Batch``/``DataLoader``: ``pip install
'erlangen[graph]'``).

- :mod:`~erlangen.graph.functional`: scatter sum/mean, pooling, dense padding per graph;
- :mod:`~erlangen.graph.neighbours`: :func:`radius_graph` (torch blocks or vesin),
  :func:`fully_connected_graph`;
- :mod:`~erlangen.graph.egnn`: :class:`EGNNLayer` (Satorras et al. 2021);
- :mod:`~erlangen.graph.models`: :class:`EGNN` (embedding, layers, node or graph read-out),
  :class:`LinearDynamics` (the linear n-body baseline);
- :mod:`~erlangen.graph.gnn`: :class:`GNNLayer`, :class:`GNN` (the plain baseline);
- :mod:`~erlangen.graph.transformer`: :class:`GraphTransformer`;
- :mod:`~erlangen.graph.frames`: :class:`FrameAveraging` (Puny et al. 2022), PCA frames;
- :mod:`~erlangen.graph.types`: the field types the layers declare
  (``Symmetric(N) * E(3)``).

Importing the package registers the models ``egnn``, ``gnn``, ``linear``, ``fa-gnn``,
``fa-transformer`` and the layer examples of ``erlangen tour``.
"""

from . import examples as _examples  # noqa: F401  (registers layer examples)
from . import registered
from .egnn import EGNNLayer
from .frames import FrameAveraging, pca_frames, sign_frames
from .functional import from_dense_batch, pool, scatter_mean, scatter_sum, to_dense_batch
from .gnn import GNN, GNNLayer
from .models import EGNN, LinearDynamics
from .neighbours import fully_connected_graph, radius_graph
from .transformer import GraphTransformer
from .types import point_cloud_group

__all__ = [
    "EGNN",
    "GNN",
    "EGNNLayer",
    "FrameAveraging",
    "GNNLayer",
    "GraphTransformer",
    "LinearDynamics",
    "from_dense_batch",
    "fully_connected_graph",
    "pca_frames",
    "point_cloud_group",
    "pool",
    "radius_graph",
    "registered",
    "scatter_mean",
    "scatter_sum",
    "sign_frames",
    "to_dense_batch",
]
