"""Spherical harmonics: e3nn's values and gradients to 1e-12 (float64, l <= 8), O(3)
equivariance in both dtypes, the normalisations, and a wrongly oriented variant failing."""

import math

import pytest
import torch
from e3nn import o3 as e3

from erlangen.check import equivariance
from erlangen.fields import IrrepsField
from erlangen.o3 import SphericalGrid, SphericalHarmonics, _sphericart, spherical_harmonics
from erlangen.testing import assert_broken_fails, assert_honours_types

LMAX = 8


def _vectors(n=64, seed=0):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("normalization", ["integral", "component", "norm"])
@pytest.mark.parametrize("normalize", [True, False])
def test_values_and_gradients_equal_e3nn(normalization, normalize, float64_default):
    ls = list(range(LMAX + 1))
    x = _vectors().requires_grad_()
    ours = spherical_harmonics(ls, x, normalize, normalization, backend="torch")
    theirs = e3.spherical_harmonics(ls, x, normalize, normalization=normalization)
    scale = theirs.abs().max()
    assert (ours - theirs).abs().max() <= 1e-12 * scale
    probe = torch.randn_like(ours)
    (g_ours,) = torch.autograd.grad((ours * probe).sum(), x)
    (g_theirs,) = torch.autograd.grad((theirs * probe).sum(), x)
    assert (g_ours - g_theirs).abs().max() <= 1e-12 * g_theirs.abs().max()


def test_selected_degrees_and_irreps():
    x = _vectors(8)
    every = spherical_harmonics([0, 1, 2, 3, 4], x)
    picked = spherical_harmonics("1o + 3o", x)
    torch.testing.assert_close(picked, torch.cat([every[:, 1:4], every[:, 9:16]], -1))
    torch.testing.assert_close(spherical_harmonics(2, x), every[:, 4:9])
    with pytest.raises(ValueError, match=r"parity \(-1\)\^l"):
        spherical_harmonics("1o + 2o", x)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        spherical_harmonics(2, torch.zeros(4, 2))


def test_normalisations():
    x = _vectors(16)
    for l in range(LMAX + 1):  # noqa: E741
        y = spherical_harmonics(l, x, normalization="component")
        expected = torch.full((16,), 2.0 * l + 1, dtype=torch.float64)
        torch.testing.assert_close(y.pow(2).sum(-1), expected)
        y = spherical_harmonics(l, x, normalization="norm")
        torch.testing.assert_close(y.norm(dim=-1), torch.ones(16, dtype=torch.float64))
    grid = SphericalGrid(LMAX)  # quadrature exact to degree 2 LMAX: orthonormality
    y = spherical_harmonics(list(range(LMAX + 1)), grid.points, normalization="integral")
    gram = torch.einsum("ab,abi,abj->ij", grid.weights, y, y)
    torch.testing.assert_close(gram, torch.eye((LMAX + 1) ** 2, dtype=torch.float64))
    torch.testing.assert_close(
        spherical_harmonics(0, x, normalization="integral"),
        torch.full((16, 1), 1 / math.sqrt(4 * math.pi), dtype=torch.float64),
    )


def test_layer_honours_o3_in_both_dtypes():
    assert_honours_types(SphericalHarmonics(LMAX), n=4)
    assert_honours_types(SphericalHarmonics("0e + 1e + 2e"), n=4)  # axial input


def test_standard_order_without_e3nns_axes_fails():
    """The textbook harmonics at (x, y, z) instead of (z, x, y) are still a basis, but not the
    one in which WignerD acts: the checker catches the mismatch."""

    def textbook(x):
        return spherical_harmonics(2, x[..., [1, 2, 0]])

    assert_broken_fails(textbook, in_type=IrrepsField("1o"), out_type=IrrepsField("2e"), n=4)
    report = equivariance(
        lambda x: spherical_harmonics(2, x), IrrepsField("1o"), IrrepsField("2e"), n=4
    )
    assert report.passed


@pytest.mark.skipif(not _sphericart.available(), reason="sphericart-torch is not installed")
@pytest.mark.parametrize("normalize", [True, False])
def test_sphericart_path_agrees_with_gradients(normalize):
    ls = list(range(LMAX + 1))
    x = _vectors(512).requires_grad_()
    for normalization in ("integral", "component", "norm"):
        fast = spherical_harmonics(ls, x, normalize, normalization, backend="sphericart")
        slow = spherical_harmonics(ls, x, normalize, normalization, backend="torch")
        torch.testing.assert_close(fast, slow, atol=1e-10 * float(slow.abs().max()), rtol=0)
    probe = torch.randn_like(fast)
    (g_fast,) = torch.autograd.grad((fast * probe).sum(), x, create_graph=True)
    (g_slow,) = torch.autograd.grad((slow * probe).sum(), x, create_graph=True)
    torch.testing.assert_close(g_fast, g_slow, atol=1e-10 * float(g_slow.abs().max()), rtol=0)
    (gg_fast,) = torch.autograd.grad(g_fast.pow(2).sum(), x)
    (gg_slow,) = torch.autograd.grad(g_slow.pow(2).sum(), x)
    torch.testing.assert_close(gg_fast, gg_slow, atol=1e-10 * float(gg_slow.abs().max()), rtol=0)
    auto = spherical_harmonics(ls, x, normalize, normalization)  # auto: sphericart
    torch.testing.assert_close(auto, fast)
