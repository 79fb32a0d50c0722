"""Scatter, pooling and dense padding in torch_geometric's layout."""

import torch

from erlangen.graph.functional import (
    counts,
    from_dense_batch,
    num_graphs,
    pool,
    scatter_mean,
    scatter_sum,
    to_dense_batch,
)


def test_scatter_sum_and_mean_match_a_loop():
    src = torch.randn(9, 2)
    index = torch.tensor([0, 2, 2, 0, 1, 2, 0, 0, 2])
    total, mean = scatter_sum(src, index, 4), scatter_mean(src, index, 4)
    for k in range(3):
        assert torch.allclose(total[k], src[index == k].sum(0))
        assert torch.allclose(mean[k], src[index == k].mean(0))
    assert torch.equal(total[3], torch.zeros(2)) and torch.equal(mean[3], torch.zeros(2))
    assert counts(index, 4).tolist() == [4.0, 1.0, 4.0, 0.0]


def test_dense_batch_round_trip_with_unsorted_batch():
    x = torch.randn(7, 3)
    batch = torch.tensor([1, 0, 1, 2, 0, 1, 1])
    dense, mask = to_dense_batch(x, batch)
    assert dense.shape == (3, 4, 3) and mask.sum(1).tolist() == [2, 4, 1]
    assert torch.equal(dense[1, :4], x[batch == 1])  # node order kept within a graph
    assert torch.equal(from_dense_batch(dense, batch), x)
    assert torch.equal(from_dense_batch(*to_dense_batch(x, None)[:1], None), x)


def test_pool_and_graph_counts():
    x = torch.ones(5, 2)
    batch = torch.tensor([0, 0, 1, 1, 1])
    assert pool(x, batch, 2).tolist() == [[2.0, 2.0], [3.0, 3.0]]
    assert pool(x, None, 1, "mean").tolist() == [[1.0, 1.0]]
    assert num_graphs(None) == 1 and num_graphs(torch.zeros(0, dtype=torch.long)) == 0
    empty, mask = to_dense_batch(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    assert empty.shape == (0, 0, 2) and mask.shape == (0, 0)
