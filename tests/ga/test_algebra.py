"""The algebra against the independent `clifford` package, and its own identities."""

import numpy as np
import pytest
import torch

from erlangen.ga import algebra as ga

clifford = pytest.importorskip("clifford")


@pytest.fixture(scope="module")
def cl():
    layout, _ = clifford.Cl(3, 0, 1, firstIdx=0)
    # explicit map: our component i is clifford's component order[i], matched by blade name
    names = ["1" if n == "" else n for n in layout.names]
    order = [names.index(n) for n in ga.BLADE_NAMES]
    assert layout.sig.tolist() == [0, 1, 1, 1]  # e0^2 = 0, ei^2 = 1
    return layout, np.array(order)


def to_cl(layout, order, x):
    value = np.zeros(16)
    value[order] = x.numpy()
    return layout.MultiVector(value=value)


def from_cl(order, mv):
    return torch.from_numpy(np.asarray(mv.value, dtype=np.float64)[order])


def test_component_order_matches_reference(cl):
    _, order = cl
    assert order.tolist() == list(range(16))  # clifford's PGA layout is the reference order
    assert ga.BLADE_NAMES[11:] == ("e012", "e013", "e023", "e123", "e0123")


def _samples(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 16, generator=g, dtype=torch.float64)
    x[: n // 3] *= (torch.rand(n // 3, 16, generator=g) < 0.4).double()  # sparse ones too
    return x


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (ga.geometric_product, lambda a, b: a * b),
        (ga.outer_product, lambda a, b: a ^ b),
        (ga.join, lambda a, b: a.vee(b)),
    ],
    ids=["geometric", "outer", "join"],
)
def test_binary_products_match_clifford(cl, ours, theirs):
    layout, order = cl
    x, y = _samples(seed=1), _samples(seed=2)
    got = ours(x, y)
    for a, b, z in zip(x, y, got):
        expected = from_cl(order, theirs(to_cl(layout, order, a), to_cl(layout, order, b)))
        torch.testing.assert_close(z, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (ga.reverse, lambda a: ~a),
        (ga.grade_involute, lambda a: a.gradeInvol()),
        (ga.dual, lambda a: a.dual()),
    ],
    ids=["reverse", "involute", "dual"],
)
def test_unary_operations_match_clifford(cl, ours, theirs):
    layout, order = cl
    x = _samples(seed=3)
    for a, z in zip(x, ours(x)):
        torch.testing.assert_close(z, from_cl(order, theirs(to_cl(layout, order, a))))


def test_inner_product_is_scalar_part_of_reverse_product(cl):
    layout, order = cl
    x, y = _samples(seed=4), _samples(seed=5)
    for a, b, z in zip(x, y, ga.inner_product(x, y)):
        expected = ((~to_cl(layout, order, a)) * to_cl(layout, order, b)).value[0]
        assert abs(float(z) - expected) < 1e-12
    # it cannot see e0 components
    e0_parts = torch.zeros(16, dtype=torch.float64)
    e0_parts[[1, 5, 6, 7, 11, 12, 13, 15]] = 1.0
    assert float(ga.inner_product(e0_parts, _samples()[0])) == 0.0


def test_tables_follow_the_definition():
    gp = ga.table("gp", dtype=torch.float64)
    e = {n: i for i, n in enumerate(ga.BLADE_NAMES)}
    assert gp[e["e0"], e["e0"]].abs().sum() == 0  # e0^2 = 0
    for v in ("e1", "e2", "e3"):
        assert gp[e[v], e[v], 0] == 1
    assert gp[e["e1"], e["e2"], e["e12"]] == 1 and gp[e["e2"], e["e1"], e["e12"]] == -1
    assert gp[e["e12"], e["e12"], 0] == -1  # bivectors square to -1
    assert gp[e["e0123"], e["e0123"]].abs().sum() == 0
    # cached per device and dtype
    assert ga.table("gp", dtype=torch.float64) is gp
    assert ga.table("gp", dtype=torch.float32).dtype == torch.float32


def test_dual_is_invertible_and_grades_complement():
    x = _samples()
    torch.testing.assert_close(ga.undual(ga.dual(x)), x)
    for k in range(5):
        d = ga.dual(ga.grade_project(x, k))
        torch.testing.assert_close(ga.grade_project(d, 4 - k), d)


def test_grade_projections_sum_to_identity():
    x = _samples()
    torch.testing.assert_close(sum(ga.grade_project(x, k) for k in range(5)), x)
    with pytest.raises(ValueError, match=r"grades 0\.\.4"):
        ga.grade_project(x, 5)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"\(\.\.\., 16\)"):
        ga.geometric_product(torch.zeros(3, 15), torch.zeros(3, 16))


def _origin_fixing_versors(n, g):
    """Products of 1-4 reflections in planes through the origin (O(3), no translations)."""
    u = torch.zeros(n, 16, dtype=torch.float64)
    u[:, 0] = 1.0
    counts = torch.randint(1, 5, (n,), generator=g)
    for k in range(4):
        v = ga.reflection_vectors((n,), g)
        v[:, 1] = 0.0  # no e0 part: the plane contains the origin
        u = torch.where((counts > k).unsqueeze(-1), ga.geometric_product(u, v), u)
    return u


def test_dual_and_join_signs_under_the_group():
    """The dual commutes with O(3) up to the sign of odd versors (not with translations: it
    swaps e0 and the origin e123); the plain join flips sign under odd versors of all of
    Pin(3,0,1); the e123 component of a reference fixes the join."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(64, 16, generator=g, dtype=torch.float64)
    y = torch.randn(64, 16, generator=g, dtype=torch.float64)
    ref = torch.randn(64, 16, generator=g, dtype=torch.float64)
    act = ga.sandwich

    def sign(u):
        return torch.where(ga.is_odd(u), -1.0, 1.0).double().unsqueeze(-1)

    o3 = _origin_fixing_versors(64, g)
    assert ga.is_odd(o3).any() and (~ga.is_odd(o3)).any()
    torch.testing.assert_close(ga.dual(act(o3, x)), sign(o3) * act(o3, ga.dual(x)))

    u = ga.random_versors(64, g)
    assert ga.is_odd(u).any() and (~ga.is_odd(u)).any()
    translation = ga.sandwich_matrix(u).new_zeros(16)
    translation[0], translation[5] = 1.0, -0.5
    assert not torch.allclose(ga.dual(act(translation, x)), act(translation, ga.dual(x)))
    torch.testing.assert_close(ga.join(act(u, x), act(u, y)), sign(u) * act(u, ga.join(x, y)))
    torch.testing.assert_close(
        ga.join(act(u, x), act(u, y), act(u, ref)), act(u, ga.join(x, y, ref))
    )


def test_products_and_involutions_are_equivariant():
    g = torch.Generator().manual_seed(8)
    u = ga.random_versors(32, g)
    x = torch.randn(32, 16, generator=g, dtype=torch.float64)
    y = torch.randn(32, 16, generator=g, dtype=torch.float64)
    act = ga.sandwich
    for f in (ga.geometric_product, ga.outer_product):
        torch.testing.assert_close(f(act(u, x), act(u, y)), act(u, f(x, y)))
    for f in (ga.reverse, ga.grade_involute, lambda t: ga.grade_project(t, 2)):
        torch.testing.assert_close(f(act(u, x)), act(u, f(x)))
    torch.testing.assert_close(ga.inner_product(act(u, x), act(u, y)), ga.inner_product(x, y))


def test_versors_sandwich_and_matrix_agree():
    g = torch.Generator().manual_seed(9)
    u = ga.random_versors(20, g)
    one = torch.zeros(16, dtype=torch.float64)
    one[0] = 1
    torch.testing.assert_close(ga.geometric_product(u, ga.versor_inverse(u)), one.expand(20, 16))
    x = torch.randn(20, 5, 16, generator=g, dtype=torch.float64)
    M = ga.sandwich_matrix(u)
    torch.testing.assert_close(torch.einsum("nij,ncj->nci", M, x), ga.sandwich(u[:, None], x))
    # u and -u act identically
    torch.testing.assert_close(ga.sandwich(-u[:, None], x), ga.sandwich(u[:, None], x))
    # reflections: each random vector is its own inverse up to normalisation
    v = ga.reflection_vectors((10,), g)
    torch.testing.assert_close(ga.geometric_product(v, v), one.expand(10, 16))
