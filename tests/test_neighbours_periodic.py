"""Periodic neighbour lists (core, shared by graph and o3): both back ends against a brute-force
reference and against ASE, the shift convention, edge vectors, and one-line errors."""

import itertools

import pytest
import torch

from erlangen.graph import neighbours as graph_neighbours
from erlangen.nn import neighbours
from erlangen.nn.neighbours import (
    edge_vectors,
    periodic_radius_graph,
    radius_graph,
    vesin_available,
)

NO_VESIN = pytest.mark.skipif(not vesin_available(), reason="vesin is not installed")
METHODS = ["torch", pytest.param("vesin", marks=NO_VESIN)]

TRICLINIC = torch.tensor([[3.0, 0.2, 0.1], [0.3, 2.5, 0.0], [0.5, -0.4, 2.8]], dtype=torch.float64)


def brute_force(pos, r, cell, pbc, reach=4):
    """Every (source, target, shift) with ``|x_i - x_j - S cell| < r`` over a generous box of
    shifts, as a sorted list."""
    ranges = [range(-reach, reach + 1) if p else range(1) for p in pbc]
    found = []
    for s in itertools.product(*ranges):
        shift = torch.tensor(s, dtype=torch.float64)
        for i in range(len(pos)):
            for j in range(len(pos)):
                if i == j and not any(s):
                    continue
                if (pos[i] - pos[j] - shift @ cell).norm() < r:
                    found.append((i, j, *s))
    return sorted(found)


def as_list(edges, shifts):
    return sorted(
        (int(i), int(j), *map(int, s)) for (j, i), s in zip(edges.T.tolist(), shifts.tolist())
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True), (False, False, False)])
def test_periodic_lists_match_brute_force(method, pbc):
    gen = torch.Generator().manual_seed(0)
    pos = torch.randn(9, 3, generator=gen, dtype=torch.float64) * 3  # outside the cell too
    edges, shifts = periodic_radius_graph(pos, 3.2, TRICLINIC, torch.tensor(pbc), method=method)
    assert as_list(edges, shifts) == brute_force(pos, 3.2, TRICLINIC, pbc)
    # sorted by target, then source
    key = edges[1] * 100 + edges[0]
    assert bool((key[1:] >= key[:-1]).all())


@NO_VESIN
def test_both_back_ends_give_the_same_edges_and_shifts():
    gen = torch.Generator().manual_seed(1)
    pos = torch.rand(40, 3, generator=gen, dtype=torch.float64) * 6
    cell = torch.diag(torch.tensor([6.0, 6.0, 6.0], dtype=torch.float64))
    a = periodic_radius_graph(pos, 2.5, cell, method="torch")
    b = periodic_radius_graph(pos, 2.5, cell, method="vesin")
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_shift_convention_agrees_with_ase():
    """ASE's neighbour list gives ``D = x_j - x_i + S cell``: the same ``S`` as ours."""
    ase = pytest.importorskip("ase")
    from ase.neighborlist import neighbor_list

    gen = torch.Generator().manual_seed(2)
    pos = torch.rand(12, 3, generator=gen, dtype=torch.float64) * 3
    atoms = ase.Atoms("Cu12", positions=pos.numpy(), cell=TRICLINIC.numpy(), pbc=True)
    i, j, s = neighbor_list("ijS", atoms, 2.9)
    theirs = sorted((int(a), int(b), *map(int, c)) for a, b, c in zip(i, j, s))
    edges, shifts = periodic_radius_graph(pos, 2.9, TRICLINIC, method="torch")
    assert as_list(edges, shifts) == theirs


def test_small_cells_meet_their_own_images():
    edges, shifts = periodic_radius_graph(torch.zeros(1, 3), 1.1, torch.eye(3))
    assert edges.shape == (2, 6) and bool((edges == 0).all())
    assert sorted(map(tuple, shifts.int().tolist())) == [
        (-1, 0, 0),
        (0, -1, 0),
        (0, 0, -1),
        (0, 0, 1),
        (0, 1, 0),
        (1, 0, 0),
    ]
    # the cut-off larger than the cell: the 18 images within sqrt(2) + a bit
    edges, _ = periodic_radius_graph(torch.zeros(1, 3), 1.5, torch.eye(3))
    assert edges.shape == (2, 18)
    loops, shifts = periodic_radius_graph(torch.zeros(1, 3), 0.5, torch.eye(3), loop=True)
    assert loops.tolist() == [[0], [0]] and shifts.tolist() == [[0.0, 0.0, 0.0]]


def test_open_boundaries_equal_radius_graph():
    gen = torch.Generator().manual_seed(3)
    pos = torch.randn(30, 3, generator=gen)
    batch = torch.randint(0, 3, (30,), generator=gen)
    edges, shifts = periodic_radius_graph(pos, 1.2, torch.zeros(3, 3), False, batch)
    assert torch.equal(edges, radius_graph(pos, 1.2, batch))
    assert shifts.shape == (edges.shape[1], 3) and not shifts.any()
    assert shifts.dtype == pos.dtype


def test_batched_cells_and_edge_vectors():
    """Two crystals in one batch (unsorted nodes), each with its own cell: the vectors of the
    edges are shorter than r and equal the per-crystal lists."""
    gen = torch.Generator().manual_seed(4)
    cells = torch.stack([TRICLINIC, 1.3 * torch.eye(3, dtype=torch.float64) * 3])
    pos = torch.rand(14, 3, generator=gen, dtype=torch.float64) * 3
    batch = torch.tensor([0, 1] * 7)
    edges, shifts = periodic_radius_graph(pos, 2.4, cells, True, batch)
    vectors = edge_vectors(pos, edges, shifts, cells, batch)
    assert bool((vectors.norm(dim=-1) < 2.4).all())
    assert bool((batch[edges[0]] == batch[edges[1]]).all())
    for b in (0, 1):
        nodes = (batch == b).nonzero().flatten()
        alone = as_list(*periodic_radius_graph(pos[nodes], 2.4, cells[b]))
        mine = edges[1].new_tensor([batch[i] == b for i in edges[1]]).bool()
        relabel = {int(n): k for k, n in enumerate(nodes)}
        together = sorted(
            (relabel[int(i)], relabel[int(j)], *map(int, s))
            for (j, i), s in zip(edges[:, mine].T.tolist(), shifts[mine].tolist())
        )
        assert together == alone


def test_edge_vectors_are_differentiable_in_pos_and_cell():
    pos = torch.rand(5, 3, dtype=torch.float64, requires_grad=True)
    cell = (2.0 * torch.eye(3, dtype=torch.float64)).requires_grad_()
    edges, shifts = periodic_radius_graph(pos, 1.9, cell)
    vectors = edge_vectors(pos, edges, shifts, cell)
    vectors.square().sum().backward()
    assert pos.grad is not None and cell.grad is not None and cell.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="need the cell"):
        edge_vectors(pos, edges, shifts)


def test_periodic_errors_are_one_line():
    pos = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"cell must be \(3, 3\)"):
        periodic_radius_graph(pos, 1.0, torch.eye(2))
    with pytest.raises(ValueError, match="pbc must be"):
        periodic_radius_graph(pos, 1.0, torch.eye(3), torch.ones(2, dtype=torch.bool))
    with pytest.raises(ValueError, match="singular but periodic"):
        periodic_radius_graph(pos, 1.0, torch.zeros(3, 3), True)
    with pytest.raises(ValueError, match="3-D positions"):
        periodic_radius_graph(torch.zeros(2, 2), 1.0, torch.eye(3))
    with pytest.raises(ValueError, match="r must be > 0"):
        periodic_radius_graph(pos, -1.0, torch.eye(3))
    with pytest.raises(ValueError, match="method must be"):
        periodic_radius_graph(pos, 1.0, torch.eye(3), method="kd")


def test_graph_family_reexports_the_core_module(monkeypatch):
    assert graph_neighbours.radius_graph is neighbours.radius_graph
    monkeypatch.setattr(graph_neighbours, "PAIRS_PER_BLOCK", 7)
    assert neighbours.PAIRS_PER_BLOCK == 7  # one setting, seen by the core


def test_missing_vesin_names_the_extra(monkeypatch):
    monkeypatch.setattr(neighbours, "vesin_available", lambda: False)
    with pytest.raises(ImportError, match=r"erlangen\[atoms\]"):
        periodic_radius_graph(torch.zeros(2, 3), 1.0, torch.eye(3), method="vesin")
