"""EdgeField and GraphField: group-action laws, fibers, validation, shared sampling."""

import pytest
import torch

from erlangen.check import equivariance
from erlangen.fields import EdgeField, EdgeIndexField, FieldTypeError, GraphField
from erlangen.graph.types import point_cloud_group, vector_fiber
from erlangen.groups import Cyclic, Symmetric, standard

G = point_cloud_group(5)


@pytest.mark.parametrize(
    "ftype",
    [
        EdgeField(G, channels=2),
        EdgeField(G, fiber=vector_fiber(G)),
        GraphField(G, channels=3),
        GraphField(G, fiber=vector_fiber(G), num_graphs=2),
    ],
    ids=repr,
)
def test_action_is_a_group_action(ftype):
    x = ftype.sample(generator=torch.Generator().manual_seed(1))
    g, h = G.sample(2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    lhs = ftype.act(g, ftype.act(h, x))
    assert torch.allclose(lhs, ftype.act(G.compose(g, h), x), atol=1e-12)
    assert torch.equal(ftype.act(G.identity(dtype=torch.float64), x), x)


def test_scalars_do_not_move_and_vectors_turn():
    g = G.sample(1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)[0]
    rotation = G.factor(g, 1)[:3, :3]
    x = torch.randn(4, 3, dtype=torch.float64)
    assert torch.equal(EdgeField(G, channels=3).act(g, x), x)
    assert torch.allclose(GraphField(G, fiber=vector_fiber(G)).act(g, x), x @ rotation.T)


def test_empty_edge_features_are_a_valid_layout():
    EdgeField(G, channels=0).validate(torch.zeros(7, 0))
    assert EdgeField(G, channels=0).sample().shape == (16, 0)


def test_validation_names_expected_and_actual():
    with pytest.raises(FieldTypeError, match=r"\(num_edges, 2\), got \(3, 4\)"):
        EdgeField(G, channels=2).validate(torch.zeros(3, 4))
    with pytest.raises(FieldTypeError, match=r"\(num_graphs, 3\), got \(3,\)"):
        GraphField(G, channels=3).validate(torch.zeros(3))
    with pytest.raises(FieldTypeError, match="non-permutation factor"):
        GraphField(G, fiber=standard(Cyclic(4)))
    with pytest.raises(FieldTypeError, match="Symmetric"):
        EdgeField(Cyclic(4), channels=1)
    with pytest.raises(FieldTypeError, match=">= 0"):
        EdgeField(G, channels=-1)


def test_num_edges_setting_reaches_edge_index_and_edge_features():
    """One ``sample={"num_edges": ...}`` draws matching edge_index and edge features."""
    S = Symmetric(6)
    in_type = (EdgeIndexField(S), EdgeField(S, channels=2))

    def weigh(edge_index, attr):  # per-edge features summed at the targets
        return torch.zeros(6, 2, dtype=attr.dtype).index_add_(0, edge_index[1], attr)

    from erlangen.fields import NodeField

    report = equivariance(weigh, in_type, NodeField(S, channels=2), sample={"num_edges": 40})
    assert report.passed
