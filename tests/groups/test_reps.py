"""Representations: homomorphism, identity, orthogonality, Lie algebras, characters."""

import math

import pytest
import torch
from hypothesis import given

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
    direct_sum,
    irrep,
    irreps,
    permutation,
    regular,
    standard,
    tensor_product,
    trivial,
)

from .strategies import elements, seeds


def all_reps():
    reps = []
    for G in (Cyclic(1), Cyclic(5), Cyclic(8), Dihedral(3), Dihedral(4), Dihedral(6)):
        reps += [*irreps(G), regular(G), standard(G), trivial(G, 3)]
        reps.append(regular(G).tensor(standard(G)))
        reps.append((2 * standard(G) + trivial(G)).dual())
    S = Symmetric(4)
    reps += [permutation(S), regular(S), permutation(S).tensor(permutation(S))]
    reps += irreps(SO2(), 3) + irreps(O2(), 3) + [standard(O2())]
    reps += irreps(SO3(), 3) + irreps(O3(), 2) + [standard(SO3()), standard(O3())]
    reps.append(irrep(SO3(), 1).tensor(irrep(SO3(), 2)))
    reps.append(direct_sum(irrep(O3(), 1, -1), irrep(O3(), 2, 1)).dual())
    for G in (E(3), SE(3), E(2)):
        reps += [standard(G), standard(G).tensor(standard(G)) + trivial(G)]
    reps.append(irrep(E(3), 2, -1))
    return reps


REPS = all_reps()
REP_IDS = [f"{r.group.name}:{r.name}" for r in REPS]


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
@given(seed=seeds)
def test_homomorphism(rep, seed):
    G = rep.group
    g, h = elements(G, seed, n=2)
    lhs = rep(G.compose(g, h), torch.float64)
    rhs = rep(g, torch.float64) @ rep(h, torch.float64)
    assert torch.allclose(lhs, rhs, atol=1e-10)


@pytest.mark.parametrize("rep", REPS, ids=REP_IDS)
def test_identity_and_orthogonality(rep):
    G = rep.group
    e = G.identity(dtype=torch.float64)
    eye = torch.eye(rep.dim, dtype=torch.float64)
    assert torch.allclose(rep(e, torch.float64), eye, atol=1e-12)
    M = rep(elements(G, 7, n=6), torch.float64)
    assert M.shape == (6, rep.dim, rep.dim)
    # every representation we build is orthogonal (real, unitary)
    assert torch.allclose(M.transpose(-1, -2) @ M, eye.expand_as(M), atol=1e-10)


LIE_REPS = [r for r in REPS if r.group.is_lie]


@pytest.mark.parametrize("rep", LIE_REPS, ids=[f"{r.group.name}:{r.name}" for r in LIE_REPS])
def test_lie_algebra_is_the_differential(rep):
    """exp(t d rho(X)) == rho(exp(t X)) for every Lie-algebra basis element X."""
    G = rep.group
    X = G.lie_algebra(torch.float64)
    dX = rep.lie_algebra(torch.float64)
    assert dX.shape == (X.shape[0], rep.dim, rep.dim)
    for t in (0.3, -1.1):
        assert torch.allclose(
            torch.linalg.matrix_exp(t * dX), rep(G.exp(t * X), torch.float64), atol=1e-10
        )


def inner(chi_a, chi_b):
    return float((chi_a * chi_b).mean())


@pytest.mark.parametrize(
    "G",
    [Cyclic(1), Cyclic(2), Cyclic(6), Cyclic(7), Dihedral(1), Dihedral(4), Dihedral(5)],
    ids=str,
)
def test_finite_irreps_are_complete_and_orthogonal(G):
    e = G.elements()
    reps = irreps(G)
    chars = [r.character(e) for r in reps]
    for i, a in enumerate(chars):
        for j, b in enumerate(chars):
            # 1 for absolutely irreducible real irreps; 2 for the 2D irreps of C_n
            # (complex type: each splits into two complex irreps)
            complex_type = isinstance(G, Cyclic) and reps[i].dim == 2
            expected = 0.0 if i != j else (2.0 if complex_type else 1.0)
            assert inner(a, b) == pytest.approx(expected, abs=1e-10)
    # the regular representation contains each irrep as often as its (complex) dimension
    reg = regular(G).character(e)
    total = sum(r.dim**2 / inner(chi, chi) for r, chi in zip(irreps(G), chars))
    assert math.isclose(total, G.order)
    assert math.isclose(float(reg[0]), G.order) and bool((reg[1:].abs() < 1e-12).all())


def test_wigner_character_formula_is_independent_of_e3nn():
    """chi_l(rotation by theta) = sin((2l+1) theta / 2) / sin(theta / 2)."""
    G = SO3()
    theta = torch.tensor([0.4, 1.3, 2.9], dtype=torch.float64)
    axis = torch.nn.functional.normalize(torch.tensor([0.3, -1.0, 0.5], dtype=torch.float64), dim=0)
    X = torch.einsum("i,ijk->jk", axis, G.lie_algebra(torch.float64))
    R = torch.linalg.matrix_exp(theta[:, None, None] * X)
    for l in range(5):  # noqa: E741
        expected = torch.sin((2 * l + 1) * theta / 2) / torch.sin(theta / 2)
        assert torch.allclose(irrep(G, l).character(R), expected, atol=1e-10)


def test_wigner_conventions_match_e3nn():
    from e3nn import o3

    R = O3().sample(4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn builds its generators in the default dtype
    try:
        for l, p in [(0, 1), (1, -1), (2, 1), (3, -1), (2, -1)]:  # noqa: E741
            theirs = o3.Irrep(l, p).D_from_matrix(R)
            assert torch.allclose(irrep(O3(), l, p)(R), theirs, atol=1e-10)
    finally:
        torch.set_default_dtype(previous)
    # degree 1, odd parity is the standard representation
    assert torch.allclose(irrep(O3(), 1, -1)(R), R, atol=1e-12)


def test_planar_irreps_restrict_consistently():
    n = 8
    C, S = Cyclic(n), SO2()
    r = C.elements()
    rot = C.planar_matrix(r, torch.float64)
    for k in range(1, 4):
        assert torch.allclose(irrep(S, k)(rot), irrep(C, k)(r, torch.float64), atol=1e-12)
    D, O = Dihedral(n), O2()  # noqa: E741
    d = D.elements()
    mats = D.planar_matrix(d, torch.float64)
    for k in range(1, 4):
        assert torch.allclose(irrep(O, 1, k)(mats), irrep(D, 1, k)(d, torch.float64), atol=1e-12)
    assert torch.allclose(irrep(O, 1, 0)(mats), irrep(D, 1, 0)(d, torch.float64))


def test_combinators():
    G = Dihedral(5)
    e = G.elements()
    a, b = irrep(G, 1, 1), irrep(G, 1, 2)
    assert torch.allclose(a.tensor(b).character(e), a.character(e) * b.character(e), atol=1e-12)
    assert torch.allclose((a + b).character(e), a.character(e) + b.character(e), atol=1e-12)
    s = 3 * a + b
    assert s.dim == 8 and s.name == "3xirrep[1,1] + irrep[1,2]"
    assert tensor_product(a, b, a).dim == 8
    g = elements(G, 5, n=4)
    assert torch.allclose(
        a.dual()(g, torch.float64), a(G.inverse(g), torch.float64).transpose(-1, -2)
    )
    # representations compare by value
    assert irrep(G, 1, 1) == a and hash(irrep(G, 1, 1)) == hash(a) and a != b


def test_euclidean_reps_act_through_rotations():
    G = E(3)
    g = elements(G, 2, n=3)
    assert torch.allclose(standard(G)(g), G.rotation_part(g))
    assert torch.allclose(irrep(G, 1, -1)(g), G.rotation_part(g), atol=1e-12)


def test_pullback_without_lie_map_reports_it():
    G = SO3()
    rep = Pullback(standard(G), G, lambda g: g)
    with pytest.raises(NotImplementedError, match="Lie-algebra map"):
        rep.lie_algebra()


def test_errors_are_clear():
    with pytest.raises(ValueError, match="different groups"):
        standard(Cyclic(4)) + standard(Cyclic(5))
    with pytest.raises(ValueError, match=r"frequency 0\.\.2"):
        irrep(Cyclic(4), 3)
    with pytest.raises(ValueError, match=r"\(1, k\)"):
        irrep(Dihedral(6), 0, 1)
    with pytest.raises(TypeError, match="finite group"):
        regular(SO2())
    with pytest.raises(ValueError, match="max_frequency"):
        irreps(SO3())
    with pytest.raises(ValueError, match="positive integer"):
        0 * standard(SO3())
    assert trivial(SE(3)).lie_algebra().shape == (6, 1, 1)
