"""The equivariant-basis solver against known dimensions and the character formula."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from erlangen.groups import (
    O2,
    O3,
    SE,
    SO2,
    SO3,
    Cyclic,
    Dihedral,
    E,
    Pullback,
    Symmetric,
    equivariant_basis,
    hom_dimension,
    irrep,
    irreps,
    permutation,
    project_to_equivariant,
    regular,
    standard,
    trivial,
)
from erlangen.groups.basis import MAX_DENSE_UNKNOWNS

from .strategies import elements


@pytest.mark.parametrize("n", [1, 2, 3, 4, 8])
def test_regular_cyclic_is_group_convolution(n):
    assert hom_dimension(regular(Cyclic(n)), regular(Cyclic(n))) == n


def test_deepsets():
    for n in (2, 3, 5, 7):
        G = Symmetric(n)
        B = equivariant_basis(permutation(G), permutation(G))
        assert B.shape == (2, n, n)
        # spanned by the identity and the all-ones matrix
        target = torch.stack([torch.eye(n), torch.ones(n, n)]).double().reshape(2, -1)
        coeff = torch.linalg.lstsq(target.T, B.reshape(2, -1).T).solution
        assert torch.allclose(target.T @ coeff, B.reshape(2, -1).T, atol=1e-10)


def test_cross_product_exists_for_so3_not_o3():
    v = standard(SO3())
    B = equivariant_basis(v.tensor(v), v)
    assert B.shape[0] == 1
    # it is the cross product (up to scale): W (a (x) b) = c a x b
    a, b = torch.randn(2, 3, dtype=torch.float64)
    out = B[0] @ torch.outer(a, b).reshape(-1)
    cross = torch.linalg.cross(a, b)
    assert torch.allclose(
        out / out.norm(), cross / cross.norm() * torch.sign(out @ cross), atol=1e-10
    )
    w = standard(O3())
    assert hom_dimension(w.tensor(w), w) == 0
    # for pseudovectors the cross product comes back
    assert hom_dimension(w.tensor(w), irrep(O3(), 1, 1)) == 1


def test_euclidean_groups():
    for G, expected in ((E(3), 0), (SE(3), 1)):
        v = standard(G)
        assert hom_dimension(v, v) == 1
        assert hom_dimension(v.tensor(v), v) == expected
        assert hom_dimension(v.tensor(v), trivial(G)) == 1  # the dot product


@pytest.mark.parametrize("l1,l2", [(1, 1), (1, 2), (2, 2), (0, 3)])
def test_so3_selection_rules(l1, l2):
    G = SO3()
    prod = irrep(G, l1).tensor(irrep(G, l2))
    for l in range(6):  # noqa: E741
        expected = int(abs(l1 - l2) <= l <= l1 + l2)
        assert hom_dimension(prod, irrep(G, l)) == expected
    O = O3()  # noqa: E741
    for p1, p2, p in [(1, 1, 1), (1, -1, -1), (-1, -1, 1), (1, 1, -1)]:
        prod = irrep(O, l1, p1).tensor(irrep(O, l2, p2))
        expected = int(abs(l1 - l2) <= l1 + l2 and p1 * p2 == p)
        assert hom_dimension(prod, irrep(O, l1 + l2, p)) == expected


def test_planar_lie_groups():
    # SO(2) irreps are of complex type: 2D endomorphisms (a rotation and a scaling)
    assert hom_dimension(irrep(SO2(), 1), irrep(SO2(), 1)) == 2
    assert hom_dimension(irrep(O2(), 1, 1), irrep(O2(), 1, 1)) == 1
    prod = irrep(SO2(), 1).tensor(irrep(SO2(), 2))  # frequencies 3 and 1
    assert [hom_dimension(prod, irrep(SO2(), k)) for k in range(5)] == [0, 2, 0, 2, 0]


FINITE = [Cyclic(3), Cyclic(4), Cyclic(6), Dihedral(3), Dihedral(4), Symmetric(3)]


def candidate_reps(G):
    base = [regular(G), trivial(G)]
    if not isinstance(G, Symmetric):
        base += [*irreps(G), standard(G)]
    else:
        base.append(permutation(G))
    return base


@pytest.mark.parametrize("G", FINITE, ids=str)
@given(data=st.data())
def test_character_formula(G, data):
    """dim Hom_G(V, W) = 1/|G| sum_g chi_V(g) chi_W(g) (real characters)."""
    reps = candidate_reps(G)
    pick = st.lists(st.sampled_from(reps), min_size=1, max_size=3)
    vs, ws = data.draw(pick), data.draw(pick)
    tensor = data.draw(st.booleans())
    V = vs[0]
    for r in vs[1:]:
        V = V + r
    W = ws[0].tensor(ws[-1]) if tensor and ws[0].dim * ws[-1].dim <= 36 else ws[0]
    for r in ws[1:]:
        W = W + r
    e = G.elements()
    expected = float((V.character(e) * W.character(e)).mean())
    assert hom_dimension(V, W) == round(expected)
    assert abs(expected - round(expected)) < 1e-9


@pytest.mark.parametrize(
    "rep_in,rep_out",
    [
        (regular(Dihedral(4)), regular(Dihedral(4)) + irrep(Dihedral(4), 1, 1)),
        (standard(SO3()).tensor(standard(SO3())), irrep(SO3(), 2) + standard(SO3())),
        (2 * irrep(O3(), 1, -1), irrep(O3(), 0, 1) + irrep(O3(), 1, -1)),
        (permutation(Symmetric(4)), trivial(Symmetric(4), 2)),
    ],
    ids=["D4", "SO3", "O3", "S4"],
)
def test_basis_is_orthonormal_and_equivariant_on_random_elements(rep_in, rep_out):
    B = equivariant_basis(rep_in, rep_out)
    k = B.shape[0]
    gram = torch.einsum("aoi,boi->ab", B, B)
    assert torch.allclose(gram, torch.eye(k, dtype=torch.float64), atol=1e-10)
    g = elements(rep_in.group, 11, n=8)
    lhs = rep_out(g, torch.float64)[:, None] @ B[None]
    rhs = B[None] @ rep_in(g, torch.float64)[:, None]
    assert torch.allclose(lhs, rhs, atol=1e-10)


def test_projection():
    G = Dihedral(4)
    rep_in, rep_out = regular(G), 2 * irrep(G, 1, 1)
    W = torch.randn(5, rep_out.dim, rep_in.dim, dtype=torch.float64)
    P = project_to_equivariant(W, rep_in, rep_out)
    assert torch.allclose(project_to_equivariant(P, rep_in, rep_out), P, atol=1e-12)
    # the residual is orthogonal to every equivariant map
    B = equivariant_basis(rep_in, rep_out)
    assert torch.allclose(
        torch.einsum("noi,koi->nk", W - P, B),
        torch.zeros(5, B.shape[0], dtype=torch.float64),
        atol=1e-10,
    )
    with pytest.raises(ValueError, match=r"\(\.\.\., 4, 8\)"):
        project_to_equivariant(torch.zeros(8, 4), rep_in, rep_out)


def test_random_element_fallback_without_lie_algebra():
    """A representation with no known differential is solved from random elements."""
    G = SO3()
    v = Pullback(standard(G), G, lambda g: g)  # no lie_map
    assert hom_dimension(v.tensor(v), v) == 1
    assert hom_dimension(v, irrep(G, 2)) == 0


def test_too_large_for_dense_solver():
    G = Symmetric(3)
    big = Pullback(trivial(G, 150), G, lambda g: g, name="big")
    assert 150 * 150 > MAX_DENSE_UNKNOWNS
    with pytest.raises(ValueError, match="block by block"):
        equivariant_basis(big, big)


def test_mixed_groups_rejected():
    with pytest.raises(ValueError, match="different groups"):
        equivariant_basis(regular(Cyclic(4)), regular(Cyclic(3)))
