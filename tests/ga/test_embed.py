"""Embeddings: round trips, and the versors act on embedded objects as E(3) acts on them."""

import math

import pytest
import torch

from erlangen.ga import algebra as ga
from erlangen.ga import embed as em
from erlangen.ga.group import Pin301

gen = torch.Generator().manual_seed(0)


def rand(*shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def unit_quaternions(n):
    q = rand(n, 4)
    return q / q.norm(dim=-1, keepdim=True)


def test_round_trips():
    s, p, t, q = rand(6, 1), rand(6, 3), rand(6, 3), unit_quaternions(6)
    torch.testing.assert_close(em.extract_scalar(em.embed_scalar(s)), s)
    torch.testing.assert_close(em.extract_pseudoscalar(em.embed_pseudoscalar(s)), s)
    torch.testing.assert_close(em.extract_point(em.embed_point(p)), p)
    torch.testing.assert_close(em.extract_point(3.0 * em.embed_point(p)), p)  # any weight
    torch.testing.assert_close(em.extract_translation(em.embed_translation(t)), t)
    torch.testing.assert_close(em.extract_rotation(em.embed_rotation(q)), q)
    n = rand(6, 3)
    normal, offset = em.extract_plane(em.embed_plane(n, p))
    torch.testing.assert_close(normal, n)
    torch.testing.assert_close(offset, -(n * p).sum(-1))
    torch.testing.assert_close(em.extract_oriented_plane(em.embed_plane(n)), n)
    d, m = em.extract_line(em.embed_line(p, t))
    torch.testing.assert_close(d, t)
    torch.testing.assert_close(m, torch.linalg.cross(p, t, dim=-1))


def test_component_layout_of_a_point():
    x = em.embed_point(torch.tensor([[1.0, 2.0, 3.0]]))[0]
    e = {n: i for i, n in enumerate(ga.BLADE_NAMES)}
    assert x[e["e123"]] == 1 and x[e["e023"]] == -1 and x[e["e013"]] == 2 and x[e["e012"]] == -3
    assert x.abs().sum() == 7


def test_rotating_then_embedding_equals_embedding_then_sandwich():
    q, p = unit_quaternions(8), rand(8, 3)
    R = em.quaternion_to_matrix(q)
    rotated = torch.einsum("nij,nj->ni", R, p)
    torch.testing.assert_close(
        ga.sandwich(em.embed_rotation(q), em.embed_point(p)), em.embed_point(rotated)
    )
    # translations move points by +t; a translation then a rotation composes as matrices do
    t = rand(8, 3)
    torch.testing.assert_close(
        ga.sandwich(em.embed_translation(t), em.embed_point(p)), em.embed_point(p + t)
    )
    motion = ga.geometric_product(em.embed_rotation(q), em.embed_translation(t))
    expected = torch.einsum("nij,nj->ni", R, p + t)
    torch.testing.assert_close(em.extract_point(ga.sandwich(motion, em.embed_point(p))), expected)


def test_reflections_and_the_chirality_of_points():
    n = rand(8, 3)
    n = n / n.norm(dim=-1, keepdim=True)
    c, p = rand(8, 3), rand(8, 3)
    u = em.embed_reflection(n, c)
    image = ga.sandwich(u, em.embed_point(p))
    mirrored = p - 2 * ((p - c) * n).sum(-1, keepdim=True) * n
    torch.testing.assert_close(em.extract_point(image), mirrored)
    # the mirrored point comes out with weight e123 = -1: embedding is not reflection-equivariant
    torch.testing.assert_close(image[:, ga.E123], -torch.ones(8, dtype=torch.float64))
    torch.testing.assert_close(image, -em.embed_point(mirrored))


def test_planes_lines_and_translators_transform_as_geometry():
    u = Pin301().sample(8, generator=gen, dtype=torch.float64)
    g = Pin301().euclidean_matrix(u)
    R, t = g[:, :3, :3], g[:, :3, 3]
    sign = torch.where(ga.is_odd(u), -1.0, 1.0).double().unsqueeze(-1)
    p, d = rand(8, 3), rand(8, 3)

    def move(x):
        return torch.einsum("nij,nj->ni", R, x) + t

    def turn(x):
        return torch.einsum("nij,nj->ni", R, x)

    # lines through moved points, with moved directions; odd versors flip the orientation
    # (a line is the join of two points, and the join changes sign under odd versors)
    line = ga.sandwich(u, em.embed_line(p, d))
    torch.testing.assert_close(line, em.embed_line(move(p), turn(d)) * sign)
    # translators are conjugated: the moved translation is R t_v (for every u, odd included)
    v = rand(8, 3)
    torch.testing.assert_close(
        ga.sandwich(u, em.embed_translation(v)), em.embed_translation(turn(v))
    )
    # planes: normal turns with R, the plane passes through the moved point (up to sign)
    plane = ga.sandwich(u, em.embed_plane(d, p))
    normal, offset = em.extract_plane(plane)
    torch.testing.assert_close((normal * move(p)).sum(-1) + offset, torch.zeros(8).double())
    torch.testing.assert_close(normal.abs(), turn(d).abs())


def test_extract_translation_is_not_equivariant_in_general():
    """The documented caveat: exact for translators, wrong for a general multivector."""
    x = rand(16)
    T = em.embed_translation(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
    moved = em.extract_translation(ga.sandwich(T, x))
    assert not torch.allclose(moved, em.extract_translation(x))  # a translation changed it
    translator = em.embed_translation(rand(3))
    torch.testing.assert_close(
        em.extract_translation(ga.sandwich(T, translator)), em.extract_translation(translator)
    )


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        em.embed_point(torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        em.embed_rotation(torch.zeros(3))
    with pytest.raises(ValueError, match=r"\(\.\.\., 16\)"):
        em.extract_point(torch.zeros(5, 15))


def test_extract_point_stays_finite_at_infinity():
    direction = torch.zeros(16)
    direction[13] = 1.0  # an ideal point: e123 = 0
    assert torch.isfinite(em.extract_point(direction)).all()
    assert math.isclose(float(em.extract_point(direction)[0]), -1000.0, rel_tol=1e-6)
