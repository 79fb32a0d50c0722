"""The spherical grid and Gaunt products: exact quadrature, grid product == dense product,
Gaunt coefficients == integrals of three harmonics, the lost odd paths, O(3) checks."""

import math

import pytest
import torch

from erlangen.check import equivariance
from erlangen.fields import IrrepsField
from erlangen.o3 import (
    DenseProduct,
    GauntTensorProduct,
    GridProduct,
    SphericalGrid,
    TensorProduct,
    exact_resolution,
    gaunt_coefficients,
    grid_product,
    spherical_harmonics,
)
from erlangen.testing import assert_broken_fails, assert_honours_types


def test_grid_samples_the_harmonics_and_projects_back():
    grid = SphericalGrid(5)
    x = torch.randn(3, 36, dtype=torch.float64)
    f = grid.to_grid(x)
    y = spherical_harmonics(list(range(6)), grid.points, normalization="integral")
    torch.testing.assert_close(f, torch.einsum("abk,nk->nab", y, x))
    torch.testing.assert_close(grid.from_grid(f), x)
    torch.testing.assert_close(grid.from_grid(grid.to_grid(x[:, :9]), 2), x[:, :9])
    assert grid.weights.sum().item() == pytest.approx(4 * math.pi, abs=1e-12)
    with pytest.raises(ValueError, match=r"\(L \+ 1\)\^2"):
        grid.to_grid(torch.zeros(3, 10))


def test_exact_resolution_is_the_smallest_exact_grid():
    assert exact_resolution(8) == (5, 9)
    # one node less in theta and the quadrature of Y_4 Y_4 is no longer exact
    x = torch.zeros(1, 25, dtype=torch.float64)
    x[0, 20] = 1.0
    for resolution, exact in (((5, 9), True), ((4, 9), False)):
        grid = SphericalGrid(4, resolution)
        norm = (grid.weights * grid.to_grid(x)[0] ** 2).sum().item()
        assert (abs(norm - 1) < 1e-12) is exact


def test_gaunt_coefficients_are_integrals_of_three_harmonics():
    grid = SphericalGrid(6)  # exact to degree 12 >= l1 + l2 + l3 below
    y = spherical_harmonics(list(range(7)), grid.points, normalization="integral")
    for l1, l2, l3 in [(1, 1, 0), (1, 1, 2), (2, 2, 2), (1, 2, 3), (2, 3, 3), (3, 3, 6), (1, 1, 1)]:
        blocks = [y[..., d * d : (d + 1) ** 2] for d in (l1, l2, l3)]
        integral = torch.einsum("ab,abi,abj,abk->ijk", grid.weights, *blocks)
        torch.testing.assert_close(gaunt_coefficients(l1, l2, l3), integral, atol=1e-13, rtol=0)


@pytest.mark.parametrize("lmax", [1, 2, 3, 5])
def test_grid_product_equals_dense_product(lmax):
    x1 = torch.randn(4, (lmax + 1) ** 2, dtype=torch.float64)
    x2 = torch.randn(4, (lmax + 1) ** 2, dtype=torch.float64)
    grid, dense = GridProduct(lmax, lmax)(x1, x2), DenseProduct(lmax, lmax)(x1, x2)
    torch.testing.assert_close(grid, dense, atol=1e-12 * dense.abs().max(), rtol=0)
    torch.testing.assert_close(grid_product(x1, x2, lmax), grid[:, : (lmax + 1) ** 2])


def test_the_grid_product_has_no_odd_paths():
    """Two vectors multiplied on the sphere give degrees 0 and 2 only: the cross product
    (1 x 1 -> 1, l1 + l2 + l3 odd) is out of reach whatever the weights; the CG product
    computes it."""
    a, b = torch.randn(2, 16, 3, dtype=torch.float64)
    pad = torch.zeros(16, 1, dtype=torch.float64)
    z = GridProduct(1, 1)(torch.cat([pad, a], -1), torch.cat([pad, b], -1))
    assert z[:, 1:4].abs().max() < 1e-14 and z[:, 4:9].abs().max() > 0.1
    gaunt = GauntTensorProduct("1x1o", "1x1o", 2).double()
    with torch.no_grad():
        for w in (gaunt.weight1, gaunt.weight2, gaunt.weight_out):
            w.normal_()
    out = gaunt(a, b)
    assert out[:, 1:4].abs().max() < 1e-14  # the 1e block
    cg = TensorProduct("1o", "1o", "1e").double()
    cross = torch.linalg.cross(a, b)
    ratio = cg(a, b) / cross
    torch.testing.assert_close(ratio, ratio[0, 0].expand_as(ratio))


@pytest.mark.parametrize(
    "irreps",
    [("4x0e + 4x1o + 4x2e", "0e + 1o + 2e", 3), ("3x0o + 3x1e", "1x0e + 1x1o", 2)],
)
def test_gaunt_tensor_product_honours_o3(irreps):
    torch.manual_seed(0)
    layer = GauntTensorProduct(*irreps)
    with torch.no_grad():
        for w in (layer.weight1, layer.weight2, layer.weight_out):
            w.normal_()
    assert_honours_types(layer, n=4)


def test_gaunt_outputs_have_unit_variance():
    torch.manual_seed(0)
    layer = GauntTensorProduct("8x0e + 8x1o + 8x2e", "8x0e + 8x1o + 8x2e", 4, weights=False)
    y = layer(torch.randn(2000, 72), torch.randn(2000, 72))
    assert y.pow(2).mean().item() == pytest.approx(1.0, abs=0.05)


def test_gaunt_with_wrong_output_parity_fails():
    class Mislabelled(GauntTensorProduct):
        def __init__(self):
            super().__init__("2x0e + 2x1o", "0e + 1o", 2)
            self.out_type = IrrepsField("2x0e + 2x1e + 2x2e")  # 1o x 0e gives 1o

    assert_broken_fails(Mislabelled(), n=4)


def test_gaunt_errors():
    with pytest.raises(ValueError, match=r"parity \(-1\)\^l"):
        GauntTensorProduct("2x0e + 2x1e", "0e", 1)
    with pytest.raises(ValueError, match="channel-wise"):
        GauntTensorProduct("2x0e + 3x1o", "0e", 1)
    with pytest.raises(ValueError, match="exceeds"):
        GauntTensorProduct("2x0e + 2x1o", "0e + 1o", 3)


def test_grid_product_primitive_passes_the_checker():
    lmax = 2
    irreps = IrrepsField("0e + 1o + 2e")
    out = IrrepsField("0e + 1o + 2e + 3o + 4e")
    report = equivariance(GridProduct(lmax, lmax), [irreps, irreps], out, n=4)
    assert report.passed, str(report)
