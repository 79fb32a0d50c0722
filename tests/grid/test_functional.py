"""Primitives: tap and orientation permutations, the centring rule, filter operators."""

import pytest
import torch
import torch.nn.functional as F

from erlangen.fields import transform_image
from erlangen.grid.functional import (
    RingBasis,
    bilinear_operators,
    centred_sizes,
    check_planar_group,
    is_pixel_exact,
    keeps_centre,
    orientation_permutations,
    output_size,
    ring_operators,
    tap_permutations,
)
from erlangen.groups import SO2, Cyclic, Dihedral, Symmetric

EXACT = [Cyclic(1), Cyclic(2), Cyclic(4), Dihedral(1), Dihedral(2), Dihedral(4)]


def test_pixel_exact_groups():
    assert all(is_pixel_exact(G) for G in EXACT)
    assert not any(is_pixel_exact(G) for G in (Cyclic(3), Cyclic(8), Dihedral(8), Dihedral(6)))


@pytest.mark.parametrize("group", EXACT, ids=lambda g: g.name)
@pytest.mark.parametrize("k", [1, 3, 4])
def test_tap_permutations_are_the_image_action(group, k):
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(k, k, generator=gen, dtype=torch.float64)
    perm = tap_permutations(group, k)
    for h in group.elements():
        expected = transform_image(group, h, w).flatten()
        assert torch.equal(w.flatten()[perm[int(h)]], expected)


def test_tap_permutations_refuse_inexact_groups():
    with pytest.raises(ValueError, match="not quarter turns"):
        tap_permutations(Cyclic(8), 3)


@pytest.mark.parametrize("group", [Cyclic(4), Dihedral(4), Dihedral(3)], ids=lambda g: g.name)
def test_orientation_permutations_are_h_inverse_h_prime(group):
    perm = orientation_permutations(group)
    e = group.elements()
    for h in e:
        for hp in e:
            assert int(perm[int(h), int(hp)]) == int(group.compose(group.inverse(h), hp))


def test_check_planar_group_names_the_problem():
    for bad in (SO2(), Symmetric(3)):
        with pytest.raises(TypeError, match="Cyclic"):
            check_planar_group(bad)


def _centres(size, k, s, p, d):
    """Input coordinate of each output pixel's receptive-field centre (an independent
    derivation of the rule from the definition of a strided correlation)."""
    n = output_size(size, k, s, p, d)
    return [s * i - p + d * (k - 1) / 2 for i in range(n)]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("s", [1, 2, 3])
@pytest.mark.parametrize("p", [0, 1, 2])
@pytest.mark.parametrize("d", [1, 2])
def test_keeps_centre_is_symmetry_of_the_sampling_grid(k, s, p, d):
    for size in range(max(1, d * (k - 1) + 1 - 2 * p), 40):
        centres = _centres(size, k, s, p, d)
        if not centres:
            continue
        symmetric = all(
            abs((a + b) - (size - 1)) < 1e-9 for a, b in zip(centres, reversed(centres))
        )
        assert keeps_centre(size, k, s, p, d) == symmetric, (size, k, s, p, d)


def test_output_size_matches_conv2d():
    for size, k, s, p, d in [
        (15, 3, 2, 1, 1),
        (28, 4, 1, 0, 1),
        (32, 4, 2, 1, 1),
        (17, 3, 3, 0, 2),
    ]:
        y = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, k, k), None, s, p, d)
        assert y.shape[-1] == output_size(size, k, s, p, d)


def test_centred_sizes():
    assert centred_sizes(2, 2, 0, count=3, start=1) == [2, 4, 6]  # 2x2 pooling: even sizes
    assert centred_sizes(3, 2, 1, count=3, start=30) == [31, 33, 35]


@pytest.mark.parametrize("k", [3, 4, 5])
def test_ring_operators_are_exact_for_quarter_turns_and_mirrors(k):
    """Sampling the rotated continuous filter must agree with permuting the taps whenever the
    element permutes pixels: one convention for the 'ring' and the 'permute' paths."""
    for group, exact_elements in ((Cyclic(8), [0, 2, 4, 6]), (Dihedral(8), [0, 2, 8, 10, 12])):
        ops = ring_operators(group, RingBasis(k))
        d4 = Dihedral(4) if group.has_reflections else Cyclic(4)
        perms = tap_permutations(d4, k)
        for h in exact_elements:
            m, r = divmod(h, 8)
            h4 = 4 * m + r // 2
            assert torch.allclose(ops[h], ops[0][perms[h4]], atol=1e-12), (group.name, h)


def test_ring_basis_counts():
    assert len(RingBasis(3)) == 6  # centre; r=1: m=0, cos/sin m=1, 2
    assert len(RingBasis(5)) == 11
    assert len(RingBasis(5, max_frequency=0)) == 3


def test_bilinear_operator_of_identity_is_identity():
    ops = bilinear_operators(Cyclic(8), 5)
    assert torch.allclose(ops[0], torch.eye(25, dtype=torch.float64))
    # a quarter turn is a permutation (no resampling)
    perm = tap_permutations(Cyclic(4), 5)[1]
    assert torch.allclose(ops[2], torch.eye(25, dtype=torch.float64)[perm])
