"""Group axioms, checked with hypothesis on random elements of every group."""

import math

import pytest
import torch
from hypothesis import given

from erlangen.groups import (
    O3,
    SO2,
    SO3,
    Cyclic,
    Dihedral,
    DirectProduct,
    E,
    GroupElementError,
    Symmetric,
    as_group,
    parse_group,
)

from .strategies import ALL_GROUPS, FINITE, LIE, elements, seeds

ids = [g.name for g in ALL_GROUPS]


def close(group, a, b):
    return bool(group.allclose(a, b, atol=1e-9).all())


@pytest.mark.parametrize("group", ALL_GROUPS, ids=ids)
@given(seed=seeds)
def test_associativity(group, seed):
    a, b, c = elements(group, seed)
    assert close(
        group, group.compose(group.compose(a, b), c), group.compose(a, group.compose(b, c))
    )


@pytest.mark.parametrize("group", ALL_GROUPS, ids=ids)
@given(seed=seeds)
def test_identity_and_inverse(group, seed):
    a = elements(group, seed, n=4)
    e = group.identity(dtype=torch.float64)
    assert close(group, group.compose(e, a), a)
    assert close(group, group.compose(a, e), a)
    ident = e.expand_as(a)
    assert close(group, group.compose(a, group.inverse(a)), ident)
    assert close(group, group.compose(group.inverse(a), a), ident)


@pytest.mark.parametrize("group", ALL_GROUPS, ids=ids)
def test_sample_and_generators_are_valid_elements(group):
    g = elements(group, 0, n=5)
    assert group.validate(g) == (5,)
    gens = group.generators(dtype=torch.float64)
    group.validate(gens)
    if group.is_lie:
        point = group.point_group if hasattr(group, "point_group") else group
        rot = g[..., : point.n, : point.n]
        assert bool(point.is_element(rot, atol=1e-10).all())


@pytest.mark.parametrize("group", FINITE, ids=[g.name for g in FINITE])
def test_finite_group_structure(group):
    elems = group.elements()
    assert elems.shape[0] == group.order
    assert torch.equal(group.index(elems), torch.arange(group.order))
    table = group.cayley_table
    # a Cayley table is a Latin square
    for row in table:
        assert torch.equal(torch.sort(row).values, torch.arange(group.order))
    for col in table.T:
        assert torch.equal(torch.sort(col).values, torch.arange(group.order))
    # the generators generate the whole group
    reached = {int(group.index(group.identity()))}
    frontier = list(reached)
    gen_idx = group.index(group.generators()).tolist()
    while frontier:
        nxt = []
        for i in frontier:
            for j in gen_idx:
                k = int(table[i, j])
                if k not in reached:
                    reached.add(k)
                    nxt.append(k)
        frontier = nxt
    assert len(reached) == group.order


def test_dihedral_encoding_matches_p4m_convention():
    D4 = Dihedral(4)
    r, f = D4.rotation(1), D4.reflection(0)
    # F R F = R^-1
    assert int(D4.compose(D4.compose(f, r), f)) == int(D4.inverse(r))
    # element 4m + r is R^r F^m
    for m in (0, 1):
        for k in range(4):
            g = D4.compose(D4.power(r, k), D4.power(f, m))
            assert int(g) == 4 * m + k
    angle, reflect = D4.planar(torch.tensor([5]), torch.float64)
    assert math.isclose(float(angle), math.pi / 2) and bool(reflect)


def test_planar_matrices_are_homomorphisms():
    for group in (Cyclic(6), Dihedral(5)):
        e = group.elements()
        prod = group.compose(e[:, None], e[None, :])
        M = group.planar_matrix(e, torch.float64)
        assert torch.allclose(
            group.planar_matrix(prod, torch.float64), M[:, None] @ M[None, :], atol=1e-12
        )


def test_symmetric_group_conventions():
    S = Symmetric(4)
    p = torch.tensor([1, 2, 3, 0])
    q = torch.tensor([1, 0, 2, 3])
    # compose(p, q)[i] = p[q[i]]
    assert S.compose(p, q).tolist() == [2, 1, 3, 0]
    assert int(S.index(S.identity())) == 0
    assert int(S.index(torch.tensor([3, 2, 1, 0]))) == S.order - 1
    with pytest.raises(ValueError, match="limited"):
        Symmetric(12).elements()


def test_lie_algebra_exponentiates_into_the_group():
    for group in LIE:
        X = group.lie_algebra(torch.float64)
        g = group.exp(0.7 * X)
        group.validate(g)
        point = getattr(group, "point_group", group)
        rot = g[..., : point.n, : point.n]
        assert bool(point.is_element(rot, atol=1e-10).all())
    # SO(3): (L_x, L_y, L_z) order
    Lz = SO3().lie_algebra(torch.float64)[2]
    R = torch.linalg.matrix_exp(Lz * math.pi / 2)
    assert torch.allclose(
        R @ torch.tensor([1.0, 0, 0], dtype=torch.float64),
        torch.tensor([0.0, 1, 0], dtype=torch.float64),
        atol=1e-12,
    )


def test_euclidean_group_acts_on_points():
    G = E(3)
    g, h = elements(G, 3, n=2)
    x = torch.randn(5, 3, dtype=torch.float64)
    assert torch.allclose(
        G.act_on_points(G.compose(g, h), x), G.act_on_points(g, G.act_on_points(h, x))
    )
    assert torch.allclose(G.act_on_points(G.inverse(g), G.act_on_points(g, x)), x)


def test_haar_sampling_of_so2_is_uniform():
    angles, _ = SO2().planar(
        SO2().sample(20000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    )
    hist = torch.histc(angles, bins=8, min=-math.pi, max=math.pi)
    assert float((hist / hist.sum() - 1 / 8).abs().max()) < 0.02


def test_bad_elements_are_rejected_with_shapes():
    with pytest.raises(GroupElementError, match=r"\(\.\.\., 3, 3\).*got \(3, 4\)"):
        SO3().validate(torch.zeros(3, 4))
    with pytest.raises(GroupElementError, match="integer"):
        Cyclic(4).validate(torch.zeros(2))
    with pytest.raises(ValueError, match="n >= 1"):
        Cyclic(0)
    assert O3().discrete_generators().shape == (1, 3, 3)


def test_parse_group():
    assert parse_group("C4") == Cyclic(4)
    assert parse_group("p4m") == Dihedral(4)
    assert parse_group("SO(3)") == SO3()
    assert parse_group("E3").name == "E(3)"
    with pytest.raises(ValueError, match="unknown group"):
        parse_group("Q8")


def test_as_group_takes_groups_and_names():
    assert as_group("D4") == Dihedral(4) and as_group(Cyclic(4)) == Cyclic(4)
    with pytest.raises(TypeError, match=r"group must be an erlangen Group or a name.*int"):
        as_group(4)
    with pytest.raises(ValueError, match="unknown group"):
        as_group("Q8")


def test_direct_product_structure():
    G = Symmetric(3) * E(3)
    assert isinstance(G, DirectProduct) and G.name == "S3 x E(3)" and G.order is None
    assert (G * Cyclic(2)).factors == (Symmetric(3), E(3), Cyclic(2))  # flattened
    # each factor's generators, with the other factors at the identity
    assert (
        G.generators().shape[0] == Symmetric(3).generators().shape[0] + E(3).generators().shape[0]
    )
    perm, motion = G.split(G.sample(5, dtype=torch.float64))
    assert perm.dtype == torch.long and perm.shape == (5, 3) and motion.shape == (5, 4, 4)
    assert bool(Symmetric(3).allclose(perm.sort(-1).values, torch.arange(3)).all())
    H = Cyclic(2) * Cyclic(3)
    assert H.order == 6 and H.elements().shape == (6, 2)
    assert bool(H.allclose(H.compose(H.elements(), H.inverse(H.elements())), H.identity()).all())


def test_direct_product_rejects_bad_input():
    with pytest.raises(ValueError, match="at least two factors"):
        DirectProduct(Cyclic(2))
    with pytest.raises(TypeError, match="takes groups"):
        DirectProduct(Cyclic(2), "C3")
    G = Symmetric(3) * Cyclic(2)
    bad = G.join([torch.tensor([0, 0, 1]), torch.tensor(1)])  # not a permutation...
    G.validate(bad)  # ...shapes are fine: validation checks layouts, not membership
    with pytest.raises(GroupElementError, match=r"\(\.\.\., 4\)"):
        G.validate(torch.zeros(3))
