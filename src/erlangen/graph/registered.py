"""The graph family's models for ``erlangen train --model`` and ``erlangen info``.

Defaults follow the EGNN paper's charged-particle n-body recipe (64 hidden features, 4
layers; node input: the speed, edge inputs: the product of charges and the squared
distance; positions and velocities in, positions out). Every option is a keyword argument.
"""

from __future__ import annotations

from typing import Any

from ..registry import register_model
from .frames import FrameAveraging
from .gnn import GNN
from .models import EGNN, LinearDynamics
from .transformer import GraphTransformer

NBODY = {"in_channels": 1, "hidden": 64, "layers": 4, "edge_dim": 2}


@register_model("egnn", "graph", "EGNN (Satorras et al. 2021), E(3)- and permutation-equivariant")
def egnn(**options: Any) -> EGNN:
    kwargs = {**NBODY, "output": "position", "velocity": True, **options}
    return EGNN(**kwargs)


@register_model("gnn", "graph", "plain message-passing GNN baseline (permutations only)")
def gnn(**options: Any) -> GNN:
    kwargs = {**NBODY, "in_channels": 6, "out_channels": 3, **options}
    return GNN(**kwargs)


@register_model("linear", "graph", "linear n-body baseline: x + w v")
def linear(**options: Any) -> LinearDynamics:
    return LinearDynamics(**options)


def _frame_averaged(make_backbone, options: dict[str, Any]) -> FrameAveraging:
    fa_keys = ("group", "stochastic", "in_channels", "velocity", "readout", "output")
    fa = {"group": "E3", "in_channels": 1, "velocity": True, "readout": "node"}
    fa["output"] = "position"
    fa.update({k: options.pop(k) for k in fa_keys if k in options})
    edge_dim = options.pop("edge_dim", NBODY["edge_dim"])
    out_channels = options.pop("out_channels", 1)
    nodes = options.pop("nodes", None)
    back_in = fa["in_channels"] + 3 + 3 * fa["velocity"]
    back_out = 3 if fa["output"] != "invariant" else out_channels
    extra = {"nodes": nodes} if nodes is not None else {}
    backbone = make_backbone(back_in, back_out, fa["readout"], edge_dim, options)
    return FrameAveraging(
        backbone, fa.pop("group"), out_channels=out_channels, edge_dim=edge_dim, **fa, **extra
    )


@register_model("fa-gnn", "graph", "frame-averaged GNN: exactly E(3)-equivariant (8 frames)")
def fa_gnn(**options: Any) -> FrameAveraging:
    def backbone(c_in, c_out, readout, edge_dim, rest):
        rest = {"hidden": NBODY["hidden"], "layers": NBODY["layers"], **rest}
        return GNN(c_in, c_out, readout=readout, edge_dim=edge_dim, **rest)

    return _frame_averaged(backbone, dict(options))


@register_model("fa-transformer", "graph", "frame-averaged Transformer: exactly E(3)-equivariant")
def fa_transformer(**options: Any) -> FrameAveraging:
    def backbone(c_in, c_out, readout, edge_dim, rest):
        rest = {"hidden": NBODY["hidden"], "layers": NBODY["layers"], **rest}
        return GraphTransformer(c_in, c_out, readout=readout, edge_dim=edge_dim, **rest)

    return _frame_averaged(backbone, dict(options))
