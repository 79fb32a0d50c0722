"""Clebsch-Gordan coefficients: e3nn's wigner_3j entry for entry (sign included) for all
l <= 6, invariance under O(3), orthonormal columns, and a sign error caught by the checker."""

import math

import pytest
import torch
from e3nn import o3 as e3

from erlangen.check import equivariance
from erlangen.fields import IrrepsField
from erlangen.groups import O3, Irrep
from erlangen.o3 import clebsch_gordan, couple, wigner_3j
from erlangen.testing import assert_broken_fails

TRIPLES = [
    (l1, l2, l3)
    for l1 in range(7)
    for l2 in range(7)
    for l3 in range(abs(l1 - l2), min(l1 + l2, 6) + 1)
]


def test_equals_e3nn_for_every_l_up_to_6(float64_default):
    worst = max((wigner_3j(*t) - e3.wigner_3j(*t)).abs().max().item() for t in TRIPLES)
    assert worst < 1e-13


@pytest.mark.parametrize("triple", [(1, 1, 1), (2, 3, 4), (3, 3, 2), (4, 2, 5), (5, 5, 6)])
def test_coupling_is_invariant(triple):
    l1, l2, l3 = triple
    g = O3().sample(3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    D1, D2, D3 = (Irrep(d, 1).rep()(g) for d in triple)
    C = wigner_3j(l1, l2, l3)
    rotated = torch.einsum("abc,nai,nbj,nck->nijk", C, D1, D2, D3)
    torch.testing.assert_close(rotated, C.expand_as(rotated), atol=1e-13, rtol=0)


def test_normalisations():
    for l1, l2, l3 in TRIPLES[::7]:
        assert wigner_3j(l1, l2, l3).norm().item() == pytest.approx(1.0, abs=1e-14)
        C = clebsch_gordan(l1, l2, l3).flatten(0, 1)
        torch.testing.assert_close(C.T @ C, torch.eye(2 * l3 + 1, dtype=torch.float64))
    # 1 x 1 -> 0 is the dot product, 1 x 1 -> 1 the cross product
    a, b = torch.randn(2, 5, 3, dtype=torch.float64)
    torch.testing.assert_close(couple(a, b, 1, 1, 0)[:, 0], (a * b).sum(-1) / math.sqrt(3))
    torch.testing.assert_close(couple(a, b, 1, 1, 1), torch.linalg.cross(a, b) / math.sqrt(2))


def test_errors():
    with pytest.raises(ValueError, match="triangle rule"):
        wigner_3j(1, 1, 3)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        couple(torch.zeros(2, 5), torch.zeros(2, 3), 1, 1, 0)


def _coupled(l1, l2, l3, cg):
    def fn(x1, x2):
        return torch.einsum("...a,...b,abc->...c", x1, x2, cg.to(x1.dtype))

    types = [IrrepsField(Irrep(d, (-1) ** d)) for d in (l1, l2)]
    return fn, types, IrrepsField(Irrep(l3, (-1) ** (l1 + l2)))


def test_a_sign_error_is_caught():
    cg = clebsch_gordan(2, 1, 2)
    fn, ins, out = _coupled(2, 1, 2, cg)
    assert equivariance(fn, ins, out, n=4).passed
    broken = cg.clone()
    broken[0] = -broken[0]  # one row of m1 with the wrong sign
    fn, ins, out = _coupled(2, 1, 2, broken)
    assert_broken_fails(fn, in_type=ins, out_type=out, n=4)


def test_a_parity_violating_path_fails_under_reflections():
    """1o x 1o -> 1 is the cross product, an axial vector (1e); declared polar (1o) it passes
    every rotation and fails the inversion."""
    fn, ins, _ = _coupled(1, 1, 1, clebsch_gordan(1, 1, 1))
    report = equivariance(fn, ins, IrrepsField("1o"), n=4)
    rows = {r.kind: r for r in report.rows}
    assert not report.passed and rows["generators"].passed is False  # -I among them
    rotations_only = O3().sample(4, generator=torch.Generator().manual_seed(0))
    rotations_only = rotations_only * torch.linalg.det(rotations_only)[:, None, None]
    report = equivariance(fn, ins, IrrepsField("1o"), n=0, elements=rotations_only)
    assert {r.kind: r.passed for r in report.rows}["given"]
