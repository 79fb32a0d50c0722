"""EGNNLayer: the contract (S_N x E(3) in float64 and float32), broken twins, the plain
formula, degenerate inputs, batching, input errors."""

import pytest
import torch

from erlangen.graph import EGNNLayer, fully_connected_graph
from erlangen.graph.functional import scatter_sum
from erlangen.testing import assert_broken_fails, assert_compile_matches, assert_honours_types

VARIANTS = {
    "plain": {},
    "edge-attr": {"edge_dim": 2},
    "velocity": {"velocity": True},
    "attention-normalized-mean": {"attention": True, "normalize": True, "aggregation": "mean"},
    "sum-coordinates": {"coord_aggregation": "sum", "edge_dim": 1},
    "no-coordinate-update": {"update_coords": False},
    "velocity-se3": {"velocity": True, "space": "SE3"},
    "o3": {"space": "O3", "edge_dim": 1},
}


def layer(**options):
    torch.manual_seed(0)
    options = {"hidden": 8, "coord_init_gain": 1.0, **options}
    return EGNNLayer(4, 4, **options)


@pytest.mark.parametrize("options", VARIANTS.values(), ids=VARIANTS.keys())
def test_honours_its_types(options):
    reports = assert_honours_types(layer(**options), sample={"num_edges": 14})
    assert reports[torch.float64].group.startswith("S5 x ")


def test_declared_types():
    egnn = layer(edge_dim=2, velocity=True)
    assert [repr(t) for t in egnn.in_type] == [
        "NodeField(S5 x E(3), channels=4)",
        "PositionField(S5 x E(3))",
        "EdgeIndexField(S5 x E(3))",
        "EdgeField(S5 x E(3), channels=2)",
        "NodeField(S5 x E(3), channels=3, fiber=standard)",
    ]
    assert [repr(t) for t in egnn.out_type] == [
        "NodeField(S5 x E(3), channels=4)",
        "PositionField(S5 x E(3))",
        "NodeField(S5 x E(3), channels=3, fiber=standard)",
    ]


class AbsolutePositions(EGNNLayer):
    """Broken: moves nodes along absolute neighbour positions (breaks translations)."""

    def edge_vectors(self, pos, src, dst):
        return pos.index_select(0, src)


class OrderDependent(EGNNLayer):
    """Broken: the message depends on the node numbering."""

    def forward(self, h, pos, edge_index, edge_attr=None, vel=None):
        h = h + torch.arange(h.shape[0], dtype=h.dtype).unsqueeze(-1)
        return super().forward(h, pos, edge_index, edge_attr, vel)


class SquaredPositions(EGNNLayer):
    """Broken: a non-linear function of the relative vector (breaks rotations only)."""

    def edge_vectors(self, pos, src, dst):
        return (pos.index_select(0, dst) - pos.index_select(0, src)) ** 3


def test_broken_twins_fail():
    for broken in (AbsolutePositions, OrderDependent, SquaredPositions):
        torch.manual_seed(0)
        assert_broken_fails(broken(4, 4, hidden=8, coord_init_gain=1.0))


def naive_layer(egnn, h, pos, edge_index, edge_attr=None):
    """The update rule written out with the concatenation [h_i, h_j, |x_i - x_j|^2, a_ij]."""
    src, dst = edge_index
    diff = pos[dst] - pos[src]
    r2 = (diff**2).sum(-1, keepdim=True)
    parts = [h[dst], h[src], r2] + ([edge_attr] if edge_attr is not None else [])
    m = egnn.edge_mlp(torch.cat(parts, -1))
    n = h.shape[0]
    degree = torch.bincount(dst, minlength=n).clamp_min(1).unsqueeze(-1).to(h.dtype)
    shift = scatter_sum(diff * egnn.coord_mlp(m), dst, n) / degree
    h_new = h + egnn.node_mlp(torch.cat([h, scatter_sum(m, dst, n)], -1))
    return h_new, pos + shift


def test_matches_the_written_out_formula():
    torch.manual_seed(1)
    egnn = layer(edge_dim=3).double()
    h, pos = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64)
    edge_index = fully_connected_graph(6)
    attr = torch.randn(edge_index.shape[1], 3, dtype=torch.float64)
    expected = naive_layer(egnn, h, pos, edge_index, attr)
    for got, want in zip(egnn(h, pos, edge_index, attr), expected):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_a_batch_is_its_graphs_side_by_side():
    torch.manual_seed(2)
    egnn = layer(velocity=True)
    sizes = [3, 5]
    h, pos, vel = torch.randn(8, 4), torch.randn(8, 3), torch.randn(8, 3)
    batch = torch.repeat_interleave(torch.arange(2), torch.tensor(sizes))
    together = egnn(h, pos, fully_connected_graph(batch=batch), vel=vel)
    start = 0
    for n in sizes:
        part = slice(start, start + n)
        alone = egnn(h[part], pos[part], fully_connected_graph(n), vel=vel[part])
        for a, b in zip(together, alone):
            torch.testing.assert_close(a[part], b)
        start += n


def finite_with_gradients(egnn, h, pos, edge_index, vel=None):
    h = h.clone().requires_grad_()
    pos = pos.clone().requires_grad_()
    attr = torch.ones(edge_index.shape[1], egnn.edge_dim) if egnn.edge_dim else None
    outs = egnn(h, pos, edge_index, attr, vel)
    assert all(bool(torch.isfinite(o).all()) for o in outs)
    sum(o.sum() for o in outs).backward()
    assert bool(torch.isfinite(h.grad).all()) and bool(torch.isfinite(pos.grad).all())
    return outs


@pytest.mark.parametrize("options", VARIANTS.values(), ids=VARIANTS.keys())
def test_degenerate_inputs_give_finite_outputs_and_gradients(options):
    egnn = layer(**options)
    vel = torch.zeros(4, 3) if options.get("velocity") else None  # zero velocities
    h = torch.randn(4, 4)
    # coincident points
    finite_with_gradients(egnn, h, torch.ones(4, 3), fully_connected_graph(4), vel)
    # isolated nodes: only 0 -> 1; nodes 2 and 3 receive nothing and keep their positions
    pos = torch.randn(4, 3)
    _, new_pos, *_ = finite_with_gradients(egnn, h, pos, torch.tensor([[0], [1]]), vel)
    if not options.get("velocity"):
        assert torch.equal(new_pos[2:], pos[2:])
    # a single node
    one = None if vel is None else vel[:1]
    finite_with_gradients(egnn, h[:1], pos[:1], torch.zeros(2, 0, dtype=torch.long), one)


@pytest.mark.parametrize("options", VARIANTS.values(), ids=VARIANTS.keys())
def test_empty_graph_gives_empty_outputs(options):
    egnn = layer(**options)
    edge_dim = options.get("edge_dim", 0)
    vel = torch.zeros(0, 3) if options.get("velocity") else None
    attr = torch.zeros(0, edge_dim) if edge_dim else None
    none = torch.zeros(2, 0, dtype=torch.long)
    outs = egnn(torch.zeros(0, 4), torch.zeros(0, 3), none, attr, vel)
    assert [tuple(o.shape) for o in outs] == [(0, 4), (0, 3)] + [(0, 3)] * (vel is not None)


def test_bad_inputs_are_named_before_any_work():
    egnn = layer(edge_dim=2)
    h, pos, e = torch.zeros(3, 4), torch.zeros(3, 3), torch.tensor([[0, 1], [1, 2]])
    attr = torch.zeros(2, 2)
    with pytest.raises(ValueError, match=r"node features must be \(num_nodes, 4\), got \(3, 5\)"):
        egnn(torch.zeros(3, 5), pos, e, attr)
    with pytest.raises(ValueError, match=r"pos must be \(3, 3\)"):
        egnn(h, torch.zeros(3, 2), e, attr)
    with pytest.raises(ValueError, match=r"outside \[0, 3\)"):
        egnn(h, pos, torch.tensor([[0], [3]]), torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"edge_attr \(2, 2\) is required"):
        egnn(h, pos, e)
    with pytest.raises(ValueError, match=r"edge_attr must be \(2, 2\), got \(2, 3\)"):
        egnn(h, pos, e, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="integer node ids"):
        egnn(h, pos, e.float(), attr)
    with pytest.raises(ValueError, match="needs vel"):
        layer(velocity=True)(h, pos, e)
    with pytest.raises(ValueError, match="velocity=False"):
        layer()(h, pos, e, None, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="update_coords=True"):
        EGNNLayer(4, velocity=True, update_coords=False)
    with pytest.raises(ValueError, match="'sum' or 'mean'"):
        EGNNLayer(4, aggregation="max")
    with pytest.raises(ValueError, match="out_channels == in_channels"):
        EGNNLayer(4, 5)
    assert EGNNLayer(4, 5, residual=False)(h, pos, e)[0].shape == (3, 5)


def test_initial_coordinate_layer_is_small():
    egnn = EGNNLayer(16)
    last = egnn.coord_mlp[-1]
    bound = 0.001 * (6 / (16 + 1)) ** 0.5  # Xavier uniform with gain 0.001
    assert last.bias is None and float(last.weight.detach().abs().max()) <= bound


@pytest.mark.slow
def test_compiles():
    egnn = layer(velocity=True, edge_dim=1)
    h, pos, vel = torch.randn(6, 4), torch.randn(6, 3), torch.randn(6, 3)
    e = fully_connected_graph(6)
    assert_compile_matches(egnn, (h, pos, e, torch.randn(e.shape[1], 1), vel))
