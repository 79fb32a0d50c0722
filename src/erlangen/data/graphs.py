"""torch_geometric ``Data`` objects for the graph datasets (the optional ``graph`` extra).

The layers of :mod:`erlangen.graph` are pure torch; the data side uses torch_geometric's
``Data``, ``Batch`` and ``DataLoader`` so that batches arrive in its layout (``x``, ``pos``,
``edge_index``, ``batch``).
"""

from __future__ import annotations

import importlib

import torch
from torch import Tensor

INSTALL = "pip install 'erlangen[graph]'"


def require(module: str, what: str):
    """Import an optional package, or raise one line naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{what} needs {module.split('.')[0]}: {INSTALL}") from None


def data_class():
    """``torch_geometric.data.Data``."""
    return require("torch_geometric.data", "graph data").Data


def loader(dataset, batch_size: int, shuffle: bool = False, **kwargs):
    """A torch_geometric ``DataLoader`` over a list of ``Data`` objects."""
    module = require("torch_geometric.loader", "the graph DataLoader")
    return module.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, **kwargs)


def complete_edges(n: int) -> Tensor:
    """``edge_index (2, n (n - 1))`` of the complete graph on ``n`` nodes (source, target)."""
    src, dst = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="xy")
    keep = src != dst
    return torch.stack([src[keep], dst[keep]])


def charged_graph(charges: Tensor, pos: Tensor, vel: Tensor, target: Tensor):
    """One charged-particle system as ``Data``: ``x`` the speed ``(N, 1)``, ``pos``, ``vel``,
    ``charges (N, 1)``, ``y`` the target positions ``(N, 3)``, the complete graph and
    ``edge_attr = [q_i q_j, |x_i - x_j|^2] (E, 2)`` (the EGNN paper's inputs)."""
    Data = data_class()
    edge_index = complete_edges(pos.shape[0])
    src, dst = edge_index
    qq = charges[src] * charges[dst]
    r2 = (pos[dst] - pos[src]).square().sum(-1, keepdim=True)
    return Data(
        x=vel.norm(dim=-1, keepdim=True),
        pos=pos,
        vel=vel,
        charges=charges,
        y=target,
        edge_index=edge_index,
        edge_attr=torch.cat([qq, r2], -1),
    )
