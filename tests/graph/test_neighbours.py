"""Radius and complete graphs: both back ends against a brute-force reference."""

import pytest
import torch

from erlangen.graph import neighbours
from erlangen.graph.neighbours import fully_connected_graph, radius_graph, vesin_available


def reference(pos, r, batch=None, loop=False):
    """Every pair by a double loop over the distance matrix, sorted by (target, source)."""
    batch = torch.zeros(len(pos), dtype=torch.long) if batch is None else batch
    d = torch.cdist(pos.double(), pos.double())
    pairs = [
        (j, i)
        for i in range(len(pos))
        for j in range(len(pos))
        if d[i, j] < r and batch[i] == batch[j] and (loop or i != j)
    ]
    return torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).T


NO_VESIN = pytest.mark.skipif(not vesin_available(), reason="vesin is not installed")
METHODS = ["torch", pytest.param("vesin", marks=NO_VESIN)]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("loop", [False, True])
def test_radius_graph_matches_the_reference(method, loop):
    gen = torch.Generator().manual_seed(0)
    pos = torch.randn(60, 3, generator=gen)
    batch = torch.randint(0, 3, (60,), generator=gen)  # unsorted on purpose
    for b in (None, batch):
        got = radius_graph(pos, 0.9, b, loop=loop, method=method)
        assert torch.equal(got, reference(pos, 0.9, b, loop))


def test_small_blocks_give_the_same_edges(monkeypatch):
    """Memory stays O(block x N): blocks far smaller than N^2 give the same edges."""
    pos = torch.randn(80, 3, generator=torch.Generator().manual_seed(1))
    batch = torch.arange(80) // 30
    full = radius_graph(pos, 1.0, batch, method="torch")
    monkeypatch.setattr(neighbours, "PAIRS_PER_BLOCK", 50)
    assert torch.equal(radius_graph(pos, 1.0, batch, method="torch"), full)


def test_radius_graph_edge_cases():
    assert radius_graph(torch.zeros(0, 3), 1.0).shape == (2, 0)
    assert radius_graph(torch.zeros(1, 3), 1.0).shape == (2, 0)
    two = torch.zeros(2, 3)  # coincident points are neighbours
    assert radius_graph(two, 0.1).tolist() == [[1, 0], [0, 1]]
    assert radius_graph(torch.randn(5, 2), 10.0).shape == (2, 20)  # 2-D with torch
    with pytest.raises(ValueError, match="r must be > 0"):
        radius_graph(two, 0.0)
    with pytest.raises(ValueError, match=r"batch must be \(2,\)"):
        radius_graph(two, 1.0, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="method must be"):
        radius_graph(two, 1.0, method="kd")


def test_missing_vesin_names_the_extra(monkeypatch):
    monkeypatch.setattr(neighbours, "vesin_available", lambda: False)
    with pytest.raises(ImportError, match=r"pip install 'erlangen\[graph\]'"):
        radius_graph(torch.zeros(2, 3), 1.0, method="vesin")
    big = torch.randn(neighbours.VESIN_FROM_NODES, 3)
    assert radius_graph(big, 0.05, method="auto").shape[0] == 2  # falls back to torch


def test_fully_connected_graph():
    batch = torch.tensor([0, 1, 0, 1, 1])
    edges = fully_connected_graph(batch=batch)
    assert edges.shape == (2, 2 + 6)
    assert bool((batch[edges[0]] == batch[edges[1]]).all()) and bool((edges[0] != edges[1]).all())
    far = torch.zeros(5, 3)
    assert torch.equal(edges, radius_graph(far, 1.0, batch))
    assert fully_connected_graph(4).shape == (2, 12)
    assert fully_connected_graph(4, loop=True).shape == (2, 16)
    assert fully_connected_graph(0).shape == (2, 0)
