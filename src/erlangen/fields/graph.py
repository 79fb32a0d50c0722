"""Graphs under node permutations: node features and ``edge_index``.

The group is ``Symmetric(num_nodes)``, or a direct product that contains it, such as
``Symmetric(N) * E(3)`` for a point cloud seen as a graph: the permutation factor relabels the
nodes, the other factors act on the features through ``fiber`` (and trivially without one).

- :class:`NodeField`: per-node tensors (the node axis is permuted);
- :class:`EdgeIndexField`: ``edge_index (2, num_edges)`` (node ids are relabelled);
- :class:`EdgeField`: per-edge tensors ``(num_edges, channels)``, aligned with ``edge_index``
  (a relabelling keeps the edge order, so only ``fiber`` acts);
- :class:`GraphField`: per-graph tensors ``(num_graphs, channels)`` (read-outs), which the
  permutation leaves alone and ``fiber`` rotates.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..groups import DirectProduct, Group, Representation, Symmetric
from .base import FieldType, FieldTypeError, on_device, sampling, shape_error


def split_symmetric(group: Group) -> tuple[Symmetric, int | None]:
    """``(Symmetric factor, its index in the product)``; index None when ``group`` is
    ``Symmetric`` itself. Raises when ``group`` permutes no nodes."""
    if isinstance(group, Symmetric):
        return group, None
    if isinstance(group, DirectProduct):
        i = group.find(Symmetric)
        if i is not None:
            return group.factors[i], i  # type: ignore[return-value]
    raise FieldTypeError(
        f"graph fields transform under Symmetric(num_nodes) or a product containing it, "
        f"got {group.name}"
    )


def node_permutation(group: Group, g):
    """The permutation part of ``g`` (``(num_nodes,)`` long)."""
    _, i = split_symmetric(group)
    return g if i is None else group.factor(g, i)


def other_factor(group: Group, rep_group: Group, g):
    """The element of the factor ``rep_group`` of a product (``g`` itself otherwise)."""
    if isinstance(group, DirectProduct):
        for i, f in enumerate(group.factors):
            if f == rep_group:
                return group.factor(g, i)
    return g


@dataclass(frozen=True, repr=False)
class NodeField(FieldType):
    """Per-node tensors whose node axis is permuted: ``out[g(i)] = x[i]``.

    Parameters
    ----------
    group : Symmetric or DirectProduct
        ``Symmetric(num_nodes)``, or a product with it (``Symmetric(N) * E(3)``).
    channels : int or None
        Trailing feature size for ``sample`` (``None``: one value per node, e.g. a batch
        vector); with a ``fiber``, its dimension.
    fiber : Representation, optional
        A representation of another factor of a product group acting on the last axis
        (e.g. ``euclidean(E(3), standard(O3()))`` for velocities). Without one, the other
        factors leave the features unchanged (scalars).
    node_dim : int
        The node axis (0 for torch_geometric's ``(num_nodes, channels)``).
    integer : bool
        Whether ``sample`` draws integers (labels, atom types) instead of floats.
    """

    channels: int | None = 4
    fiber: Representation | None = None
    node_dim: int = 0
    integer: bool = False

    def __post_init__(self):
        split_symmetric(self.group)
        _check_fiber(self, self.fiber)
        if self.fiber is not None:
            object.__setattr__(self, "channels", self.fiber.dim)

    @property
    def num_nodes(self) -> int:
        return split_symmetric(self.group)[0].n

    def _validate(self, x, what):
        if x.dim() == 0 or x.dim() <= self.node_dim or x.shape[self.node_dim] != self.num_nodes:
            raise shape_error(self, what, f"{self.num_nodes} nodes on axis {self.node_dim}", x)
        if self.fiber is not None and x.shape[-1] != self.fiber.dim:
            raise shape_error(self, what, f"(..., {self.fiber.dim}) for {self.fiber.name}", x)

    def _act(self, g, x):
        perm = node_permutation(self.group, g)
        inv = torch.argsort(perm).to(x.device)
        return _act_on_fiber(self, self.fiber, g, x.index_select(self.node_dim, inv))

    def sample(self, generator=None, dtype=torch.float64, device=None):
        shape = [self.num_nodes] if self.channels is None else [self.num_nodes, self.channels]
        if self.node_dim != 0:
            shape = [2] * self.node_dim + shape
        if self.integer:
            x = torch.randint(0, 5, shape, generator=generator)
        else:
            x = torch.randn(*shape, generator=generator, dtype=dtype)
        return on_device(x, device)

    def __repr__(self):
        fiber = f", fiber={self.fiber.name}" if self.fiber is not None else ""
        return f"NodeField({self.group.name}, channels={self.channels}{fiber})"


@dataclass(frozen=True, repr=False)
class EdgeIndexField(FieldType):
    """``edge_index (2, num_edges)`` of node ids: relabelled by the permutation,
    ``out = g[edge_index]``, so the edge order (and edge features) stay aligned.

    Parameters
    ----------
    group : Symmetric or DirectProduct
    num_edges : int
        Sampling setting: edges drawn by ``sample`` (random, without self-loops).
    """

    num_edges: int = sampling(16)

    def __post_init__(self):
        split_symmetric(self.group)

    @property
    def num_nodes(self) -> int:
        return split_symmetric(self.group)[0].n

    def _validate(self, x, what):
        if x.dim() != 2 or x.shape[0] != 2:
            raise shape_error(self, what, "(2, num_edges)", x)
        if x.is_floating_point():
            raise FieldTypeError(f"{self!r}: {what} must hold integer node ids, got {x.dtype}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.num_nodes):
            raise FieldTypeError(f"{self!r}: {what} has node ids outside [0, {self.num_nodes})")

    def _act(self, g, x):
        return node_permutation(self.group, g).to(x.device)[x]

    def sample(self, generator=None, dtype=torch.float64, device=None):
        n = self.num_nodes
        src = torch.randint(0, n, (self.num_edges,), generator=generator)
        shift = torch.randint(1, max(n, 2), (self.num_edges,), generator=generator)
        dst = (src + shift) % n
        return on_device(torch.stack([src, dst]), device)

    def __repr__(self):
        return f"EdgeIndexField({self.group.name})"


def _check_fiber(ftype: FieldType, fiber: Representation | None) -> None:
    if fiber is None:
        return
    factors = getattr(ftype.group, "factors", ())
    if fiber.group not in factors or isinstance(fiber.group, Symmetric):
        raise FieldTypeError(
            f"fiber must be a representation of a non-permutation factor of "
            f"{ftype.group.name}, got one of {fiber.group.name}"
        )


def _act_on_fiber(ftype: FieldType, fiber: Representation | None, g, x):
    if fiber is None:
        return x
    h = other_factor(ftype.group, fiber.group, g)
    return x @ fiber(h, x.dtype).to(x.device).transpose(-1, -2)


@dataclass(frozen=True, repr=False)
class EdgeField(FieldType):
    """Per-edge tensors ``(num_edges, channels)`` aligned with an ``edge_index``.

    A node permutation relabels the ends of each edge but keeps the edge order (see
    :class:`EdgeIndexField`), so edge features do not move; a ``fiber`` of another factor acts
    on the last axis (edge vectors under rotations). ``channels=0`` is a valid, empty layout
    (a layer without edge features that still takes the argument).

    Parameters
    ----------
    group : Symmetric or DirectProduct
    channels : int
        Features per edge (the fiber's dimension when ``fiber`` is given).
    fiber : Representation, optional
        A representation of a non-permutation factor of the product group.
    num_edges : int
        Sampling setting, shared with :class:`EdgeIndexField`: ``sample={"num_edges": 40}``
        draws both with 40 edges.
    """

    channels: int = 1
    fiber: Representation | None = None
    num_edges: int = sampling(16)

    def __post_init__(self):
        split_symmetric(self.group)
        _check_fiber(self, self.fiber)
        if self.fiber is not None:
            object.__setattr__(self, "channels", self.fiber.dim)
        if not isinstance(self.channels, int) or self.channels < 0:
            raise FieldTypeError(f"channels must be an integer >= 0, got {self.channels!r}")

    def _validate(self, x, what):
        if x.dim() != 2 or x.shape[1] != self.channels:
            raise shape_error(self, what, f"(num_edges, {self.channels})", x)

    def _act(self, g, x):
        return _act_on_fiber(self, self.fiber, g, x)

    def sample(self, generator=None, dtype=torch.float64, device=None):
        x = torch.randn(self.num_edges, self.channels, generator=generator, dtype=dtype)
        return on_device(x, device)

    def __repr__(self):
        fiber = f", fiber={self.fiber.name}" if self.fiber is not None else ""
        return f"EdgeField({self.group.name}, channels={self.channels}{fiber})"


@dataclass(frozen=True, repr=False)
class GraphField(FieldType):
    """Per-graph tensors ``(num_graphs, channels)``: graph-level read-outs.

    Node permutations leave them unchanged (invariance); a ``fiber`` of another factor acts
    on the last axis (a dipole-like vector per graph under rotations).

    Parameters
    ----------
    group : Symmetric or DirectProduct
    channels : int
        Features per graph (the fiber's dimension when ``fiber`` is given).
    fiber : Representation, optional
        A representation of a non-permutation factor of the product group.
    num_graphs : int
        Sampling setting: graphs drawn by ``sample``.
    """

    channels: int = 1
    fiber: Representation | None = None
    num_graphs: int = sampling(1)

    def __post_init__(self):
        split_symmetric(self.group)
        _check_fiber(self, self.fiber)
        if self.fiber is not None:
            object.__setattr__(self, "channels", self.fiber.dim)

    def _validate(self, x, what):
        if x.dim() != 2 or x.shape[1] != self.channels:
            raise shape_error(self, what, f"(num_graphs, {self.channels})", x)

    def _act(self, g, x):
        return _act_on_fiber(self, self.fiber, g, x)

    def sample(self, generator=None, dtype=torch.float64, device=None):
        x = torch.randn(self.num_graphs, self.channels, generator=generator, dtype=dtype)
        return on_device(x, device)

    def __repr__(self):
        fiber = f", fiber={self.fiber.name}" if self.fiber is not None else ""
        return f"GraphField({self.group.name}, channels={self.channels}{fiber})"
