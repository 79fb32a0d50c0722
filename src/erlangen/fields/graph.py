"""Graphs under node permutations: node features and ``edge_index``."""

from __future__ import annotations

import torch

from ..groups import Group, Symmetric
from .base import FieldType, FieldTypeError, shape_error


def _symmetric(group: Group) -> Symmetric:
    if not isinstance(group, Symmetric):
        raise FieldTypeError(f"graph fields transform under Symmetric(num_nodes), got {group.name}")
    return group


class NodeField(FieldType):
    """Per-node tensors whose node axis is permuted: ``out[g(i)] = x[i]``.

    Parameters
    ----------
    group : Symmetric
        ``Symmetric(num_nodes)``.
    channels : int or None
        Trailing feature size for ``sample`` (``None``: one value per node, e.g. a batch vector).
    node_dim : int
        The node axis (0 for torch_geometric's ``(num_nodes, channels)``).
    integer : bool
        Whether ``sample`` draws integers (labels, atom types) instead of floats.
    """

    def __init__(
        self,
        group: Group,
        channels: int | None = 4,
        node_dim: int = 0,
        integer: bool = False,
    ):
        super().__init__(_symmetric(group))
        self.num_nodes = group.n
        self.channels = channels
        self.node_dim = node_dim
        self.integer = integer

    def _validate(self, x, what):
        if x.dim() == 0 or x.dim() <= self.node_dim or x.shape[self.node_dim] != self.num_nodes:
            raise shape_error(self, what, f"{self.num_nodes} nodes on axis {self.node_dim}", x)

    def _act(self, g, x):
        inv = self.group.inverse(g).to(x.device)
        return x.index_select(self.node_dim, inv)

    def sample(self, generator=None, dtype=torch.float64, device=None):
        shape = [self.num_nodes] if self.channels is None else [self.num_nodes, self.channels]
        if self.node_dim != 0:
            shape = [2] * self.node_dim + shape
        if self.integer:
            x = torch.randint(0, 5, shape, generator=generator)
        else:
            x = torch.randn(*shape, generator=generator, dtype=dtype)
        return x.to(device) if device is not None else x

    def __repr__(self):
        return f"NodeField({self.group.name}, channels={self.channels})"


class EdgeIndexField(FieldType):
    """``edge_index (2, num_edges)`` of node ids: relabelled by the permutation,
    ``out = g[edge_index]``, so the edge order (and edge features) stay aligned.

    Parameters
    ----------
    group : Symmetric
    num_edges : int
        Edges drawn by ``sample`` (random, without self-loops).
    """

    def __init__(self, group: Group, num_edges: int = 16):
        super().__init__(_symmetric(group))
        self.num_nodes = group.n
        self.num_edges = num_edges

    def _validate(self, x, what):
        if x.dim() != 2 or x.shape[0] != 2:
            raise shape_error(self, what, "(2, num_edges)", x)
        if x.is_floating_point():
            raise FieldTypeError(f"{self!r}: {what} must hold integer node ids, got {x.dtype}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.num_nodes):
            raise FieldTypeError(f"{self!r}: {what} has node ids outside [0, {self.num_nodes})")

    def _act(self, g, x):
        return g.to(x.device)[x]

    def sample(self, generator=None, dtype=torch.float64, device=None):
        n = self.num_nodes
        src = torch.randint(0, n, (self.num_edges,), generator=generator)
        shift = torch.randint(1, max(n, 2), (self.num_edges,), generator=generator)
        dst = (src + shift) % n
        x = torch.stack([src, dst])
        return x.to(device) if device is not None else x

    def __repr__(self):
        return f"EdgeIndexField({self.group.name})"
