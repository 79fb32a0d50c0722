"""The E(n)-equivariant graph layer of Satorras, Hoogeboom and Welling (ICML 2021)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..nn import EquivariantModule, arguments
from . import types as T
from .functional import counts, scatter_sum
from .messages import check_graph_inputs, mlp, pair_linear

AGGREGATIONS = ("sum", "mean")


class EGNNLayer(EquivariantModule):
    r"""E(n)-equivariant message passing (Satorras et al., "E(n) Equivariant Graph Neural
    Networks", ICML 2021).

    For each edge ``j -> i`` (``edge_index[0] = j``, ``edge_index[1] = i``):

    .. math::

        m_{ij} &= \phi_e(h_i, h_j, \|x_i - x_j\|^2, a_{ij}) \\
        x_i' &= x_i + C \sum_j (x_i - x_j)\, \phi_x(m_{ij}) \\
        h_i' &= h_i + \phi_h(h_i, \textstyle\sum_j m_{ij})

    with ``C = 1 / deg(i)`` (``coord_aggregation="mean"``, the paper's ``1 / (M - 1)`` on a
    complete graph) or ``C = 1`` (``"sum"``). Velocity variant: ``v_i' = phi_v(h_i) v_i +
    C sum_j (x_i - x_j) phi_x(m_ij)`` and ``x_i' = x_i + v_i'`` (pass the initial velocities to
    every layer, as the paper does). With ``attention``, ``m_ij`` is gated by
    ``sigmoid(w^T m_ij)``. With ``normalize``, ``x_i - x_j`` is divided by
    ``||x_i - x_j|| + normalize_eps``. The last layer of ``phi_x`` starts at Xavier gain
    ``coord_init_gain`` (0.001) for stability.

    Shapes: ``h (N, in_channels)``, ``pos (N, 3)``, ``edge_index (2, E)`` long,
    ``edge_attr (E, edge_dim)``, ``vel (N, 3)``; returns ``h' (N, out_channels)``,
    ``pos' (N, 3)`` and, in the velocity variant, ``vel' (N, 3)``. Any ``N`` (0 included).

    Parameters
    ----------
    in_channels, out_channels : int
        Node features in and out (``out_channels`` defaults to ``in_channels``).
    hidden : int, optional
        Message width (``in_channels`` by default); also the default of the hidden widths of
        ``phi_e`` (``edge_hidden``), ``phi_x`` (``coord_hidden``) and ``phi_h`` (``node_hidden``).
    edge_dim : int
        Edge-attribute channels ``a_ij`` (0: none).
    update_coords : bool
        Update positions (off: ``pos`` is returned unchanged).
    velocity : bool
        The velocity variant (needs ``update_coords``).
    attention : bool
        Gate each message with a learned sigmoid.
    normalize : bool, normalize_eps : float
        Use ``(x_i - x_j) / (||x_i - x_j|| + normalize_eps)`` in the coordinate update.
    aggregation, coord_aggregation : str
        ``"sum"`` or ``"mean"`` over incoming edges, for messages and for coordinates.
    coord_init_gain : float
        Xavier gain of the last layer of ``phi_x``.
    residual : bool
        ``h' = h + phi_h(...)`` (needs ``out_channels == in_channels``).
    space : str
        ``"E3"``, ``"SE3"`` or ``"O3"``: the group of the declared types (the layer is
        E(3)-equivariant in all cases).
    nodes : int
        Nodes of the declared types (what the checker draws).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        hidden: int | None = None,
        edge_dim: int = 0,
        *,
        update_coords: bool = True,
        velocity: bool = False,
        attention: bool = False,
        normalize: bool = False,
        normalize_eps: float = 1.0,
        aggregation: str = "sum",
        coord_aggregation: str = "mean",
        coord_init_gain: float = 0.001,
        edge_hidden: int | None = None,
        coord_hidden: int | None = None,
        node_hidden: int | None = None,
        residual: bool = True,
        act: type[nn.Module] = nn.SiLU,
        space: str = "E3",
        nodes: int = T.NODES,
    ):
        super().__init__()
        owner = type(self).__name__
        in_channels = arguments.count(in_channels, "in_channels", owner)
        out_channels = in_channels if out_channels is None else out_channels
        hidden = in_channels if hidden is None else hidden
        out_channels = arguments.count(out_channels, "out_channels", owner)
        hidden = arguments.count(hidden, "hidden", owner)
        edge_dim = arguments.count(edge_dim, "edge_dim", owner, minimum=0)
        nodes = arguments.count(nodes, "nodes", owner)
        for name, value in (("aggregation", aggregation), ("coord_aggregation", coord_aggregation)):
            if value not in AGGREGATIONS:
                raise ValueError(f"{name} must be 'sum' or 'mean', got {value!r}")
        if velocity and not update_coords:
            raise ValueError("the velocity variant moves positions: it needs update_coords=True")
        if residual and out_channels != in_channels:
            raise ValueError(
                f"residual=True needs out_channels == in_channels, got {in_channels} -> "
                f"{out_channels}"
            )
        self.in_channels, self.out_channels, self.hidden = in_channels, out_channels, hidden
        self.edge_dim = edge_dim
        self.update_coords, self.velocity, self.attention = update_coords, velocity, attention
        self.normalize, self.normalize_eps = normalize, float(normalize_eps)
        self.aggregation, self.coord_aggregation = aggregation, coord_aggregation
        self.residual = residual

        edge_hidden = hidden if edge_hidden is None else edge_hidden
        coord_hidden = hidden if coord_hidden is None else coord_hidden
        node_hidden = hidden if node_hidden is None else node_hidden
        arguments.counts(
            owner, edge_hidden=edge_hidden, coord_hidden=coord_hidden, node_hidden=node_hidden
        )
        self.edge_mlp = mlp([2 * in_channels + 1 + edge_dim, edge_hidden, hidden], act, True)
        self.node_mlp = mlp([in_channels + hidden, node_hidden, out_channels], act)
        self.attention_gate = nn.Linear(hidden, 1) if attention else None
        if update_coords:
            self.coord_mlp = mlp([hidden, coord_hidden, 1], act)
            last = self.coord_mlp[-1]
            last.bias = None
            nn.init.xavier_uniform_(last.weight, gain=coord_init_gain)
        else:
            self.coord_mlp = None
        self.velocity_mlp = mlp([in_channels, node_hidden, 1], act) if velocity else None

        G = T.point_cloud_group(nodes, space)
        ins = [T.node_scalars(G, in_channels), T.positions(G), T.edges(G)]
        outs = [T.node_scalars(G, out_channels), T.positions(G)]
        if edge_dim or velocity:
            ins.append(T.edge_scalars(G, edge_dim))
        if velocity:
            ins.append(T.node_vectors(G))
            outs.append(T.node_vectors(G))
        self.in_type, self.out_type = tuple(ins), tuple(outs)

    def edge_vectors(self, pos: Tensor, src: Tensor, dst: Tensor) -> Tensor:
        """``x_i - x_j`` per edge ``(E, 3)``: relative positions, so translations cancel."""
        return pos.index_select(0, dst) - pos.index_select(0, src)

    def forward(
        self,
        h: Tensor,
        pos: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor | None = None,
        vel: Tensor | None = None,
    ) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Tensor]:
        who = type(self).__name__
        check_graph_inputs(who, h, self.in_channels, edge_index, pos, edge_attr, self.edge_dim, vel)
        if self.velocity and vel is None:
            raise ValueError(f"{who}: the velocity variant needs vel (num_nodes, 3)")
        if vel is not None and not self.velocity:
            raise ValueError(f"{who}: vel given, but the layer was built with velocity=False")
        n = h.shape[0]
        src, dst = edge_index[0], edge_index[1]
        diff = self.edge_vectors(pos, src, dst)
        r2 = diff.square().sum(-1, keepdim=True)
        extra = r2 if edge_attr is None or not self.edge_dim else torch.cat([r2, edge_attr], -1)
        first = self.edge_mlp[0]
        if first.out_features <= self.in_channels:
            pre = pair_linear(first, h, src, dst, extra)
        else:  # a wide phi_e: gathering h is cheaper than gathering its projections
            pre = first(torch.cat([h.index_select(0, dst), h.index_select(0, src), extra], -1))
        m = self.edge_mlp[1:](pre)
        if self.attention_gate is not None:
            m = m * torch.sigmoid(self.attention_gate(m))

        degree = None
        if "mean" in (self.aggregation, self.coord_aggregation):
            degree = counts(dst, n, h.dtype).clamp_min(1.0).unsqueeze(-1)
        if self.coord_mlp is not None:
            if self.normalize:
                # the tiny shift keeps the gradient of the norm finite at coincident points
                diff = diff / (torch.sqrt(r2 + 1e-30) + self.normalize_eps)
            shift = diff * self.coord_mlp(m)
            # one scatter for messages and coordinate shifts together
            both = scatter_sum(torch.cat([m, shift], -1), dst, n)
            m_sum, shift_sum = both[:, : self.hidden], both[:, self.hidden :]
            if self.coord_aggregation == "mean":
                shift_sum = shift_sum / degree
        else:
            m_sum = scatter_sum(m, dst, n)
        if self.aggregation == "mean":
            m_sum = m_sum / degree

        out = self.node_mlp(torch.cat([h, m_sum], -1))
        if self.residual:
            out = h + out
        if self.coord_mlp is None:
            return out, pos
        if self.velocity_mlp is not None:
            new_vel = self.velocity_mlp(h) * vel + shift_sum
            return out, pos + new_vel, new_vel
        return out, pos + shift_sum

    def extra_repr(self) -> str:
        flags = [
            f"{self.in_channels} -> {self.out_channels}, hidden={self.hidden}",
            f"edge_dim={self.edge_dim}" if self.edge_dim else "",
            "velocity" if self.velocity else "",
            "attention" if self.attention else "",
            "normalize" if self.normalize else "",
            "" if self.update_coords else "no coordinate update",
            f"aggregation={self.aggregation}/{self.coord_aggregation}",
        ]
        return ", ".join(f for f in flags if f)
