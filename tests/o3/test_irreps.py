"""Irreps: e3nn's notation, layout and matrices; IrrepsField acts with rotations and parity."""

import pytest
import torch
from e3nn import o3 as e3

from erlangen.fields import FieldTypeError, IrrepsField
from erlangen.groups import O3, Irrep, Irreps, hom_dimension


def test_parse_print_and_layout():
    irreps = Irreps("16x0e + 8x1o + 4x2e")
    assert str(irreps) == "16x0e+8x1o+4x2e"
    assert irreps.dim == 16 + 24 + 20 and irreps.num_irreps == 28 and irreps.lmax == 2
    assert irreps.slices() == [slice(0, 16), slice(16, 40), slice(40, 60)]
    assert Irreps("1o") == Irreps([(1, (1, -1))]) == Irreps([Irrep("1o")]) == "1x1o"
    assert (Irreps("2x1o") + "1o").simplify() == "3x1o"
    assert 2 * Irreps("1e") == "1x1e+1x1e"
    assert Irreps.spherical_harmonics(2) == "0e + 1o + 2e"
    assert Irreps.spherical_harmonics(2, p=1) == "0e + 1e + 2e"
    assert [str(ir) for ir in Irrep("1o") * Irrep("2e")] == ["1o", "2o", "3o"]
    assert Irreps("3x0e + 2x1o").count("1o") == 2 and "0e" in Irreps("3x0e")
    assert Irreps("").dim == 0


@pytest.mark.parametrize("text", ["16x0e + 8x1o + 4x2e", "0e + 0o + 3x3o + 2x2e", "1e"])
def test_converts_both_ways_with_e3nn(text):
    ours, theirs = Irreps(text), e3.Irreps(text)
    assert ours.to_e3nn() == theirs and Irreps.from_e3nn(theirs) == ours == Irreps(theirs)
    assert ours.dim == theirs.dim
    assert ours.slices() == list(theirs.slices())


def test_matrices_equal_e3nns_for_rotations_and_reflections():
    """Same basis and layout: e3nn's D_from_matrix is our representation matrix, so tensors
    made for e3nn transform the same way here."""
    irreps = Irreps("2x0e + 0o + 2x1o + 1e + 2e + 3o")
    rotations = O3().sample(3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    g = torch.cat([rotations, mirror @ rotations, -rotations])
    ours = irreps(g)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn builds its generators in the default dtype
    try:
        theirs = irreps.to_e3nn().D_from_matrix(g)
    finally:
        torch.set_default_dtype(previous)
    torch.testing.assert_close(ours, theirs, atol=1e-12, rtol=0)
    torch.testing.assert_close(Irreps("1o")(g), g)  # the polar vector is the matrix itself


def test_representation_is_a_homomorphism_and_feeds_the_basis_solver():
    irreps = Irreps("0e + 1o + 2e")
    a, b = O3().sample(2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(irreps(a @ b), irreps(a) @ irreps(b), atol=1e-12, rtol=0)
    assert hom_dimension(Irreps("2x1o + 0e"), Irreps("3x1o + 1e")) == 6


def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="cannot parse"):
        Irreps("16x0q")
    with pytest.raises(ValueError, match="multiplicities"):
        Irreps([(-1, "1o")])
    with pytest.raises(ValueError, match="parity"):
        Irrep(1, 2)


def test_irreps_field_acts_blockwise_with_parity():
    t = IrrepsField("2x0e + 0o + 1o + 1e")
    x = t.sample(generator=torch.Generator().manual_seed(0))
    y = t.act(-torch.eye(3, dtype=torch.float64), x)
    torch.testing.assert_close(y, x * torch.tensor([1, 1, -1, -1, -1, -1, 1, 1, 1.0]))
    g = O3().sample(1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)[0]
    torch.testing.assert_close(t.act(g, x), x @ t.irreps(g).T)
    with pytest.raises(FieldTypeError, match=r"\(\.\.\., 9\) for 2x0e\+1x0o\+1x1o\+1x1e"):
        t.validate(torch.zeros(4, 8))
    assert t.replace(batch_shape=(2, 3)).sample().shape == (2, 3, 9)
