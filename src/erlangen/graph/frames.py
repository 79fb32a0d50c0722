"""Frame averaging (Puny et al., "Frame Averaging for Invariant and Equivariant Network
Design", ICLR 2022) with PCA frames: any backbone becomes exactly E(3)-, SE(3)- or
O(3)-equivariant.

Per graph: the centroid ``t`` (none for O(3)), the eigenvectors ``U`` of the 3 x 3 covariance
of the centred positions, and the frames ``U diag(s)`` for the 8 sign vectors ``s`` (the 4
with ``det = +1`` for SE(3)). The backbone sees the positions in each frame,
``(x - t) U diag(s)``, all frames stacked into one batch (one backbone call); its outputs are
turned back (``y diag(s) U^T``, plus ``t`` for positions) and averaged.

Eigenvectors are defined up to sign, so averaging over all signs is what makes the result
independent of which sign ``eigh`` returns; a single frame is not (see the tests). Near-equal
eigenvalues (symmetric molecules, collinear points, one or two nodes) leave the frame
ill-defined and the output discontinuous there: a warning says so (once per module). The
eigenvector gradient ``1 / (lambda_j - lambda_i)`` is broadened near degeneracy so gradients
stay finite.
"""

from __future__ import annotations

import itertools
import warnings

import torch
from torch import Tensor, nn

from ..nn import EquivariantModule, arguments
from . import types as T
from .functional import batch_or_zeros, num_graphs, scatter_mean, scatter_sum
from .gnn import READOUTS
from .messages import check_graph_inputs
from .models import read_out_types

#: eigenvalue gaps below this fraction of the largest eigenvalue count as degenerate
DEGENERATE_GAP = 1e-3

#: the 8 sign vectors, ordered so that the first 4 have product +1
_SIGNS = sorted(itertools.product((1.0, -1.0), repeat=3), key=lambda s: -s[0] * s[1] * s[2])


class _BroadenedEigh(torch.autograd.Function):
    """``torch.linalg.eigh`` whose backward replaces ``1 / (lambda_j - lambda_i)`` by
    ``d / (d^2 + eps)``: the same for separated eigenvalues, finite at degenerate ones."""

    @staticmethod
    def forward(ctx, a: Tensor) -> tuple[Tensor, Tensor]:
        vals, vecs = torch.linalg.eigh(a)
        ctx.save_for_backward(vals, vecs)
        return vals, vecs

    @staticmethod
    def backward(ctx, g_vals: Tensor | None, g_vecs: Tensor | None) -> Tensor:
        vals, vecs = ctx.saved_tensors
        inner = torch.zeros_like(vecs)
        if g_vecs is not None:
            d = vals.unsqueeze(-2) - vals.unsqueeze(-1)  # d[i, j] = lambda_j - lambda_i
            scale = vals.abs().amax(-1, keepdim=True).unsqueeze(-1)
            eps = (1e-7 * scale) ** 2 + torch.finfo(vals.dtype).tiny
            inner = (d / (d * d + eps)) * (vecs.transpose(-1, -2) @ g_vecs)
        if g_vals is not None:
            inner = inner + torch.diag_embed(g_vals)
        grad = vecs @ inner @ vecs.transpose(-1, -2)
        return 0.5 * (grad + grad.transpose(-1, -2))


def pca_frames(
    pos: Tensor, batch: Tensor | None, size: int, centre: bool = True
) -> tuple[Tensor, Tensor, Tensor]:
    """Centroids, covariance eigenvalues and eigenvectors per graph.

    Parameters
    ----------
    pos : Tensor
        ``(N, 3)``.
    batch : Tensor or None
        ``(N,)`` graph ids.
    size : int
        Number of graphs.
    centre : bool
        Subtract each graph's centroid (E(3), SE(3)); O(3) frames use the second moment
        about the origin.

    Returns
    -------
    centroid : Tensor
        ``(size, 3)`` (zeros when ``centre`` is False).
    eigenvalues : Tensor
        ``(size, 3)`` ascending.
    eigenvectors : Tensor
        ``(size, 3, 3)``, one eigenvector per column.
    """
    index = batch_or_zeros(batch, pos.shape[0], pos.device)
    centroid = scatter_mean(pos, index, size) if centre else pos.new_zeros(size, 3)
    x = pos - centroid.index_select(0, index)
    outer = (x.unsqueeze(-1) * x.unsqueeze(-2)).reshape(-1, 9)
    cov = scatter_sum(outer, index, size).reshape(size, 3, 3)
    vals, vecs = _BroadenedEigh.apply(cov)
    return centroid, vals, vecs


def sign_frames(vecs: Tensor, proper: bool) -> Tensor:
    """All frames ``U diag(s)`` per graph: ``(K, B, 3, 3)`` with ``K = 8``, or ``K = 4``
    proper rotations (``det = +1``) when ``proper``."""
    signs = torch.tensor(_SIGNS, dtype=vecs.dtype, device=vecs.device)  # (8, 3)
    frames = vecs.unsqueeze(0) * signs[:, None, None, :]  # (8, B, 3, 3)
    if not proper:
        return frames
    # det(U diag(s)) = det(U) prod(s): keep the four sign vectors whose product is det(U)
    positive = torch.linalg.det(vecs) > 0  # (B,)
    return torch.where(positive[None, :, None, None], frames[:4], frames[4:])


class FrameAveraging(EquivariantModule):
    """Make ``backbone`` equivariant by averaging over PCA frames.

    ``forward(h, pos, edge_index, edge_attr=None, vel=None, batch=None)``: ``h (N, C)``
    invariant node features, ``pos (N, 3)``, ``vel (N, 3)`` (when ``velocity``). The backbone
    is called once as ``backbone(x, edge_index, edge_attr, batch)`` on the ``K`` framed copies
    of the batch, with ``x = [h, framed pos, framed vel] (K N, C + 3 (+ 3))``; it returns
    ``(K N, c)`` (node read-out) or ``(K B, c)`` (graph read-out), ``c = 3`` for
    position/vector outputs. Returns what ``readout``/``output`` say, as for
    :class:`~erlangen.graph.EGNN`: node positions are turned back and re-centred, vectors
    turned back, invariants averaged.

    Parameters
    ----------
    backbone : nn.Module
        Any graph network with ``(x, edge_index, edge_attr, batch)`` arguments, e.g.
        :class:`~erlangen.graph.GNN` or :class:`~erlangen.graph.GraphTransformer`.
    group : str
        ``"E3"`` (8 frames), ``"SE3"`` (4 proper frames) or ``"O3"`` (8 frames, no centring:
        rotations and reflections about the origin).
    stochastic : bool
        In training mode, one random frame per graph and step (``1/K`` of the cost); in eval
        mode all frames (exact).
    in_channels : int
        Invariant node features ``C``.
    velocity : bool
        Whether ``vel`` is given (and framed like positions, without centring).
    readout, output : str
        ``"node"``/``"graph"`` and ``"invariant"``/``"position"``/``"vector"``.
    out_channels : int
        Channels of invariant outputs.
    edge_dim : int
        Edge-attribute channels passed to the backbone.
    nodes : int
        Nodes of the declared types.
    """

    def __init__(
        self,
        backbone: nn.Module,
        group: str = "E3",
        stochastic: bool = False,
        *,
        in_channels: int = 1,
        velocity: bool = False,
        readout: str = "node",
        output: str = "position",
        out_channels: int = 1,
        edge_dim: int = 0,
        nodes: int = T.NODES,
    ):
        super().__init__()
        owner = type(self).__name__
        arguments.counts(owner, in_channels=in_channels, out_channels=out_channels, nodes=nodes)
        arguments.count(edge_dim, "edge_dim", owner, minimum=0)
        G = T.point_cloud_group(nodes, group)
        if readout not in READOUTS:
            raise ValueError(f"readout must be 'node' or 'graph', got {readout!r}")
        self.out_type = read_out_types(G, readout, output, out_channels)
        self.backbone, self.group, self.stochastic = backbone, group, stochastic
        self.in_channels, self.velocity, self.edge_dim = in_channels, velocity, edge_dim
        self.readout, self.output = readout, output
        self._warned = False
        ins = [T.node_scalars(G, in_channels), T.positions(G), T.edges(G)]
        if edge_dim or velocity:
            ins.append(T.edge_scalars(G, edge_dim))
        if velocity:
            ins.append(T.node_vectors(G))
        self.in_type = tuple(ins)

    @property
    def backbone_in_channels(self) -> int:
        """Channels of ``x`` that the backbone receives."""
        return self.in_channels + 3 + 3 * self.velocity

    @property
    def num_frames(self) -> int:
        return 4 if self.group == "SE3" else 8

    def _warn_if_degenerate(self, vals: Tensor) -> None:
        if self._warned or vals.numel() == 0 or torch.compiler.is_compiling():
            return
        gaps = (vals[:, 1:] - vals[:, :-1]).amin(-1)
        scale = vals.abs().amax(-1).clamp_min(torch.finfo(vals.dtype).tiny)
        bad = int((gaps <= DEGENERATE_GAP * scale).sum())
        if bad:
            self._warned = True
            warnings.warn(
                f"FrameAveraging: {bad} of {vals.shape[0]} graphs have near-equal covariance "
                f"eigenvalues (gap <= {DEGENERATE_GAP:g} of the largest): their frames are "
                "ill-defined and outputs may jump under small motions (warned once)",
                RuntimeWarning,
                stacklevel=3,
            )

    def frames(self, pos: Tensor, batch: Tensor | None, size: int) -> tuple[Tensor, Tensor]:
        """``(centroids (B, 3), frames (K, B, 3, 3))``."""
        centroid, vals, vecs = pca_frames(pos, batch, size, centre=self.group != "O3")
        self._warn_if_degenerate(vals.detach())
        return centroid, sign_frames(vecs, proper=self.group == "SE3")

    def forward(
        self,
        h: Tensor,
        pos: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor | None = None,
        vel: Tensor | None = None,
        batch: Tensor | None = None,
    ) -> Tensor:
        who = type(self).__name__
        check_graph_inputs(who, h, self.in_channels, edge_index, pos, edge_attr, self.edge_dim, vel)
        if self.velocity != (vel is not None):
            given = "given" if vel is not None else "missing"
            raise ValueError(f"{who}: built with velocity={self.velocity}, but vel is {given}")
        n = h.shape[0]
        size = num_graphs(batch)
        index = batch_or_zeros(batch, n, pos.device)
        centroid, frames = self.frames(pos, batch, size)
        if self.stochastic and self.training:
            pick = torch.randint(0, frames.shape[0], (size,), device=pos.device)
            frames = frames[pick, torch.arange(size, device=pos.device)].unsqueeze(0)
        k = frames.shape[0]
        node_frames = frames[:, index]  # (K, N, 3, 3)

        def to_frame(v: Tensor) -> Tensor:  # rows v (N, 3) -> v U diag(s), per copy
            return (v.unsqueeze(0).unsqueeze(-2) @ node_frames).squeeze(-2)

        parts = [h.expand(k, n, h.shape[1]), to_frame(pos - centroid.index_select(0, index))]
        if vel is not None:
            parts.append(to_frame(vel))
        x = torch.cat(parts, -1).reshape(k * n, sum(p.shape[-1] for p in parts))
        offsets = torch.arange(k, device=pos.device)
        edges = (edge_index.unsqueeze(0) + (offsets * n).view(k, 1, 1)).permute(1, 0, 2)
        edges = edges.reshape(2, -1)
        attr = None if edge_attr is None else edge_attr.repeat(k, 1)
        copies = (index.unsqueeze(0) + (offsets * size).view(k, 1)).reshape(-1)
        y = self.backbone(x, edges, attr, copies)
        rows = k * (n if self.readout == "node" else size)
        if y.dim() != 2 or y.shape[0] != rows or (self.output != "invariant" and y.shape[1] != 3):
            width = "3" if self.output != "invariant" else "channels"
            raise ValueError(
                f"{who}: the backbone must return ({rows}, {width}) for {k} frames "
                f"({self.readout} read-out, {self.output} output), got {tuple(y.shape)}"
            )

        if self.readout == "node":
            y = y.reshape(k, n, y.shape[-1])
            back = node_frames
        else:
            y = y.reshape(k, size, y.shape[-1])
            back = frames
        if self.output != "invariant":
            # rows y (.., 3) -> y diag(s) U^T
            y = (y.unsqueeze(-2) @ back.transpose(-1, -2)).squeeze(-2)
        y = y.mean(0)
        if self.output == "position":
            y = y + centroid.index_select(0, index)
        return y
