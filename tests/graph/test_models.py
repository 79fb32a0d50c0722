"""EGNN, GNN, GraphTransformer and the linear baseline: read-outs, types, batches, registry."""

import pytest
import torch

from erlangen import registry
from erlangen.check import equivariance
from erlangen.fields import NodeField
from erlangen.graph import EGNN, GNN, GraphTransformer, LinearDynamics, fully_connected_graph
from erlangen.graph.types import point_cloud_group
from erlangen.testing import assert_broken_fails, assert_honours_types

READOUTS = [
    ("node", "invariant"),
    ("node", "position"),
    ("node", "vector"),
    ("graph", "invariant"),
    ("graph", "vector"),
]


def egnn(readout, output, **options):
    torch.manual_seed(0)
    options = {"hidden": 8, "layers": 2, "coord_init_gain": 1.0, **options}
    return EGNN(3, 2, readout=readout, output=output, **options)


@pytest.mark.parametrize(("readout", "output"), READOUTS)
def test_egnn_read_outs_honour_their_types(readout, output):
    assert_honours_types(egnn(readout, output, edge_dim=1, velocity=output == "position"))


@pytest.mark.parametrize("backbone", [GNN, GraphTransformer])
@pytest.mark.parametrize("readout", ["node", "graph"])
def test_permutation_networks_honour_their_types(backbone, readout):
    torch.manual_seed(0)
    net = backbone(3, 2, hidden=8, layers=2, readout=readout, edge_dim=2)
    reports = assert_honours_types(net)
    assert reports[torch.float64].group == "S5"


def test_linear_baseline():
    model = LinearDynamics()
    assert_honours_types(model)
    pos, vel = torch.randn(4, 3), torch.randn(4, 3)
    e = torch.zeros(2, 0, dtype=torch.long)
    torch.testing.assert_close(model(torch.zeros(4, 1), pos, e, None, vel), pos + vel)
    with pytest.raises(ValueError, match="needs vel"):
        model(torch.zeros(4, 1), pos, e)


class NotCentred(EGNN):
    """Broken: a graph vector from absolute positions (breaks translations)."""

    def forward(self, h, pos, edge_index, edge_attr=None, vel=None, batch=None):
        return super().forward(h, pos, edge_index, edge_attr, vel, batch) + pos.sum(0)


def test_broken_read_out_fails():
    torch.manual_seed(0)
    assert_broken_fails(NotCentred(3, hidden=8, layers=1, readout="graph", output="vector"))


@pytest.mark.parametrize(("readout", "output"), READOUTS)
def test_batched_check_with_graph_ids(readout, output):
    """With a batch vector (drawn per node, so graphs mix node numbers), permutations and
    motions act on all graphs at once."""
    model = egnn(readout, output).double()  # a plain function is not cast by the checker
    G = point_cloud_group(6)
    model_types = EGNN(3, 2, readout=readout, output=output, nodes=6)
    in_type = (*model_types.in_type, NodeField(G, channels=None, integer=True))
    out_type = model_types.out_type
    if readout == "graph":
        out_type = out_type.replace(num_graphs=5)

    def run(h, pos, edge_index, batch):
        # edges only within graphs; graphs are the batch ids 0..4 drawn by the type
        keep = batch[edge_index[0]] == batch[edge_index[1]]
        out = model(h, pos, edge_index[:, keep], batch=batch)
        if readout == "graph":  # always 5 graphs, some possibly empty
            out = torch.cat([out, out.new_zeros(5 - out.shape[0], out.shape[1])])
        return out

    report = equivariance(run, in_type, out_type, sample={"num_edges": 30}, n=8)
    assert report.passed, str(report)


def test_graph_read_out_of_a_batch_is_per_graph():
    model = egnn("graph", "invariant")
    h, pos = torch.randn(7, 3), torch.randn(7, 3)
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    together = model(h, pos, fully_connected_graph(batch=batch), batch=batch)
    first = model(h[:3], pos[:3], fully_connected_graph(3))
    second = model(h[3:], pos[3:], fully_connected_graph(4))
    torch.testing.assert_close(together, torch.cat([first, second]))


@pytest.mark.parametrize(("readout", "output"), READOUTS)
def test_empty_and_single_node_graphs(readout, output):
    model = egnn(readout, output)
    none = torch.zeros(2, 0, dtype=torch.long)
    out = model(torch.zeros(0, 3), torch.zeros(0, 3), none, batch=torch.zeros(0, dtype=torch.long))
    assert out.shape[0] == 0
    pos = torch.randn(1, 3, requires_grad=True)
    out = model(torch.randn(1, 3), pos, none)
    out.sum().backward()
    assert bool(torch.isfinite(out).all()) and bool(torch.isfinite(pos.grad).all())
    for net in (GNN(3, 2, 8, 1, readout=readout), GraphTransformer(3, 2, 8, 1, readout=readout)):
        empty = net(torch.zeros(0, 3), none, batch=torch.zeros(0, dtype=torch.long))
        assert empty.shape == (0, 2)


def test_option_errors():
    with pytest.raises(ValueError, match="output must be one of"):
        EGNN(3, output="scalar")
    with pytest.raises(ValueError, match="readout must be"):
        GNN(3, 2, readout="edge")
    with pytest.raises(ValueError, match="graph-level read-out"):
        EGNN(3, readout="graph", output="position")
    with pytest.raises(ValueError, match="needs update_coords=True"):
        EGNN(3, output="position", update_coords=False)
    with pytest.raises(ValueError, match="needs vel"):
        EGNN(3, velocity=True)(torch.zeros(2, 3), torch.zeros(2, 3), fully_connected_graph(2))


def test_registered_models_build_with_keyword_options():
    registry.load_all()
    for name in ("egnn", "gnn", "linear", "fa-gnn", "fa-transformer"):
        assert registry.MODELS[name].family == "graph"
    small = {"hidden": 8, "layers": 1}
    assert equivariance(registry.MODELS["egnn"].factory(**small, coord_init_gain=1.0)).passed
    assert equivariance(registry.MODELS["gnn"].factory(**small)).passed
    fa = registry.MODELS["fa-gnn"].factory(**small, group="SE3", stochastic=True)
    assert fa.group == "SE3" and fa.stochastic and equivariance(fa).passed
    fa = registry.MODELS["fa-transformer"].factory(
        **small, heads=2, readout="graph", output="invariant", out_channels=4, velocity=False
    )
    assert fa.out_type.channels == 4 and equivariance(fa).passed
