"""Neighbour lists: re-exported from :mod:`erlangen.nn.neighbours` (in the core, shared with
:mod:`erlangen.o3`).

Every public name of the core module is here, and a setting assigned on this module (such as
``PAIRS_PER_BLOCK``, or a replaced ``vesin_available`` in a test) is assigned on the core
module too, so the two never disagree about how lists are computed.
"""

import sys
import types

from ..nn import neighbours as _core
from ..nn.neighbours import (
    PAIRS_PER_BLOCK,
    PERIODIC_VESIN_FROM_NODES,
    SMALL_GRAPH,
    VESIN_FROM_NODES,
    batch_or_zeros,
    counts,
    edge_vectors,
    fully_connected_graph,
    num_graphs,
    periodic_radius_graph,
    radius_graph,
    vesin_available,
)


class _ForwardingModule(types.ModuleType):
    """Assignments reach the core module as well."""

    def __setattr__(self, name, value):
        if hasattr(_core, name):
            setattr(_core, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _ForwardingModule

__all__ = [
    "PAIRS_PER_BLOCK",
    "PERIODIC_VESIN_FROM_NODES",
    "SMALL_GRAPH",
    "VESIN_FROM_NODES",
    "batch_or_zeros",
    "counts",
    "edge_vectors",
    "fully_connected_graph",
    "num_graphs",
    "periodic_radius_graph",
    "radius_graph",
    "vesin_available",
]
