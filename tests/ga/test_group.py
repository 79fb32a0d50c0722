"""Pin(3,0,1) as a group: axioms (hypothesis), its action, field types and the 9 linear maps."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from erlangen.fields import FieldTypeError, InvariantField
from erlangen.ga import algebra as ga
from erlangen.ga.group import (
    MultivectorField,
    MultivectorRep,
    Pin301,
    equi_linear_basis,
)
from erlangen.groups import E, equivariant_basis

G = Pin301()
seeds = st.integers(0, 2**31 - 1)


def _elements(seed, n=3):
    return G.sample(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_group_axioms(seed):
    a, b, c = _elements(seed)
    e = G.identity(torch.float64)
    close = G.allclose
    assert close(G.compose(G.compose(a, b), c), G.compose(a, G.compose(b, c)), atol=1e-9)
    assert close(G.compose(a, e), a) and close(G.compose(e, a), a)
    assert close(G.compose(a, G.inverse(a)), e, atol=1e-9)
    assert close(G.compose(G.inverse(a), a), e, atol=1e-9)
    assert close(G.inverse(G.compose(a, b)), G.compose(G.inverse(b), G.inverse(a)), atol=1e-9)
    assert bool(G.is_element(torch.stack([a, b, c, G.compose(a, b)])).all())


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_action_is_a_homomorphism_and_sign_blind(seed):
    a, b, _ = _elements(seed)
    x = torch.randn(5, 16, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    ab = G.compose(a, b)
    torch.testing.assert_close(ga.sandwich(ab, x), ga.sandwich(a, ga.sandwich(b, x)))
    torch.testing.assert_close(ga.sandwich(-a, x), ga.sandwich(a, x))
    assert bool(G.same_action(a, -a)) and not bool(G.allclose(a, -a))
    assert bool(G.is_odd(ab)) == (bool(G.is_odd(a)) != bool(G.is_odd(b)))


def test_sampler_reaches_both_components_and_translations():
    u = G.sample(400, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    odd = G.is_odd(u)
    assert 0.3 < float(odd.double().mean()) < 0.7
    m = G.euclidean_matrix(u)
    det = torch.linalg.det(m[:, :3, :3])
    torch.testing.assert_close(det, torch.where(odd, -1.0, 1.0).double())
    assert float(m[:, :3, 3].norm(dim=-1).median()) > 0.3  # real translations
    assert bool(G.is_element(G.generators(torch.float64)).all())
    assert bool(G.is_element(u).all())
    bad = torch.zeros(2, 16, dtype=torch.float64)
    bad[:, 0], bad[:, 2] = 1.0, 1.0  # 1 + e1 mixes parities
    assert not bool(G.is_element(bad).any())


def test_euclidean_matrix_is_a_homomorphism_onto_e3():
    a, b, _ = _elements(5)
    E3 = E(3)
    ma, mb = G.euclidean_matrix(a), G.euclidean_matrix(b)
    torch.testing.assert_close(G.euclidean_matrix(G.compose(a, b)), E3.compose(ma, mb))
    R = ma[:3, :3]
    torch.testing.assert_close(R.T @ R, torch.eye(3, dtype=torch.float64))


def test_solver_finds_exactly_the_nine_linear_maps():
    """The core solver (random elements, no Lie algebra) and our hand-built basis agree."""
    rep = MultivectorRep(G)
    solved = equivariant_basis(rep, rep).reshape(-1, 256)
    assert solved.shape[0] == 9
    ours = equi_linear_basis(dtype=torch.float64).reshape(9, 256)
    assert torch.linalg.matrix_rank(ours) == 9
    projector = solved.T @ solved  # the solver's basis is orthonormal
    torch.testing.assert_close(ours @ projector, ours, atol=1e-10, rtol=0)


def test_representation_matches_the_field_action():
    u = _elements(3, n=1)[0]
    x = torch.randn(2, 4, 16, dtype=torch.float64)
    field = MultivectorField(G, channels=4)
    torch.testing.assert_close(field.act(u, x), x @ MultivectorRep(G)(u).T)


def test_field_types_validate_shapes():
    field = MultivectorField(G, channels=4)
    with pytest.raises(FieldTypeError, match=r"\(\.\.\., 4, 16\)"):
        field.validate(torch.zeros(2, 3, 16))
    with pytest.raises(FieldTypeError, match=r"\(\.\.\., 4, 16\)"):
        field.validate(torch.zeros(2, 4, 15))
    with pytest.raises(FieldTypeError, match="Pin"):
        MultivectorField(E(3))
    with pytest.raises(FieldTypeError, match=r"\(\.\.\., 3\)"):
        InvariantField(G, channels=3).validate(torch.zeros(2, 4))  # scalars beside multivectors
