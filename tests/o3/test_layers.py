"""Gate, layer norm, linear, grid mixing, radial functions and the point convolution: O(3)
checks in float64 and float32, and broken variants caught."""

import pytest
import torch
import torch.nn.functional as F

from erlangen import registry
from erlangen.check import equivariance
from erlangen.o3 import (
    BesselBasis,
    Convolution,
    Gate,
    GaussianBasis,
    GridMixing,
    IrrepsLayerNorm,
    Linear,
    PolynomialCutoff,
    RadialMLP,
    RadialSpline,
    exact_resolution,
    radius_graph,
)
from erlangen.testing import assert_broken_fails, assert_honours_types

LAYERS = {
    "gate": lambda: Gate("4x0e + 2x0o", "2x0e + 1x0o", "2x1o + 1x2e"),
    "gate-even-act-on-odd": lambda: Gate("2x0o", "1x0o", "1x1o", act_odd=torch.abs),
    "layer-norm": lambda: IrrepsLayerNorm("4x0e + 2x0o + 3x1o + 2x2e"),
    "linear": lambda: Linear("4x0e + 3x1o + 2x2e + 1x1o", "2x0e + 5x1o + 1x2e + 1x3o"),
    "mixing-linear": lambda: GridMixing("3x0e + 3x1o + 3x2e", "2x0e + 2x1o", activation=None),
    "mixing-silu-fine-grid": lambda: GridMixing(
        "3x0e + 3x1o + 3x2e", hidden=6, resolution=exact_resolution(32)
    ),
    "conv-mlp": lambda: Convolution("3x0e + 3x1o", "2x0e + 2x1o + 1x2e", r_max=10.0),
    "conv-spline": lambda: Convolution(
        "3x0e + 3x1o + 3x2e", "2x0e + 2x1o + 1x1e", lmax_sh=3, r_max=2.5, radial="spline"
    ),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_honours_o3_in_both_dtypes(name):
    torch.manual_seed(0)
    assert_honours_types(LAYERS[name](), n=4)


def test_gate_parities_and_values():
    gate = Gate("1x0e + 1x0o", "1x0e + 1x0o", "1x1o + 1x1o")
    assert str(gate.irreps_out) == "1x0e+1x0o+1x1o+1x1e"
    x = torch.randn(5, gate.irreps_in.dim)
    y = gate(x)
    torch.testing.assert_close(y[:, 0], F.silu(x[:, 0]))
    torch.testing.assert_close(y[:, 1], torch.tanh(x[:, 1]))
    torch.testing.assert_close(y[:, 2:5], x[:, 4:7] * torch.sigmoid(x[:, 2:3]))
    torch.testing.assert_close(y[:, 5:8], x[:, 7:10] * torch.tanh(x[:, 3:4]))
    with pytest.raises(ValueError, match="odd or even"):
        Gate("1x0o", "", "", act_odd=F.silu)
    with pytest.raises(ValueError, match="one gate per gated irrep"):
        Gate("1x0e", "1x0e", "2x1o")


class _GateOnComponents(Gate):
    """A gate that also puts the activation on every component of the gated vectors."""

    def forward(self, x):
        y = super().forward(x)
        return torch.cat([y[..., : self.n_scalars], F.silu(y[..., self.n_scalars :])], -1)


class _NormWithVectorBias(IrrepsLayerNorm):
    """Layer norm that shifts vectors too."""

    def forward(self, x):
        return super().forward(x) + 0.1


def test_broken_variants_fail():
    assert_broken_fails(_GateOnComponents("2x0e", "2x0e", "2x1o"), n=4)
    assert_broken_fails(_NormWithVectorBias("2x0e + 2x1o"), n=4)
    coarse = GridMixing("3x0e + 3x1o + 3x2e", hidden=6, resolution=exact_resolution(6))
    assert_broken_fails(coarse, n=4)  # aliasing of SiLU on a coarse grid


def test_mixing_error_falls_with_resolution():
    torch.manual_seed(0)
    errors = []
    for degree in (6, 12, 24):
        layer = GridMixing("3x0e + 3x1o + 3x2e", hidden=6, resolution=exact_resolution(degree))
        errors.append(equivariance(layer, n=4).max_rel)
    assert errors[0] > 10 * errors[1] > 100 * errors[2]


def test_layer_norm_normalises():
    norm = IrrepsLayerNorm("8x0e + 4x1o", affine=False)
    y = norm(3 + 5 * torch.randn(6, 20))
    torch.testing.assert_close(y[:, :8].mean(-1), torch.zeros(6), atol=1e-5, rtol=0)
    torch.testing.assert_close(y[:, :8].pow(2).mean(-1), torch.ones(6), atol=1e-3, rtol=0)
    torch.testing.assert_close(y[:, 8:].pow(2).mean(-1), torch.ones(6), atol=1e-3, rtol=0)


def test_radial_functions():
    r = torch.linspace(0.05, 6.0, 200, dtype=torch.float64, requires_grad=True)
    cutoff = PolynomialCutoff(5.0)(r)[:, 0]
    assert cutoff[0] > 0.99 and (cutoff[r > 5.0] == 0).all()
    (slope,) = torch.autograd.grad(cutoff.sum(), r)
    assert slope[(r - 5.0).abs() < 0.02].abs().max() < 1e-3  # smooth at r_max
    bessel = BesselBasis(5.0, 4).double()(r)
    assert bessel.shape == (200, 4)
    torch.testing.assert_close(bessel[:, 0], (2 / 5) ** 0.5 * torch.sin(torch.pi * r / 5) / r)
    gauss = GaussianBasis(0.0, 5.0, 6).double()(r)
    assert gauss.argmax(-1)[0] == 0 and gauss.argmax(-1)[-1] == 5
    assert RadialMLP(7, 5.0).double()(r).shape == (200, 7)


def test_spline_is_a_cubic_b_spline():
    spline = RadialSpline(3, r_max=4.0, num_knots=8, cutoff=False).double()
    with torch.no_grad():
        spline.coefficients.fill_(2.0)
    r = torch.linspace(0.0, 4.0, 50, dtype=torch.float64)
    torch.testing.assert_close(spline(r), torch.full((50, 3), 2.0, dtype=torch.float64))
    scipy = pytest.importorskip("scipy.interpolate")
    with torch.no_grad():
        spline.coefficients.normal_()
    step = spline.step
    knots = (torch.arange(-3, spline.num_knots + 1, dtype=torch.float64) * step).numpy()
    reference = scipy.BSpline(knots, spline.coefficients.detach().numpy(), 3)(r.numpy())
    torch.testing.assert_close(spline(r), torch.from_numpy(reference), atol=1e-12, rtol=0)


def test_convolution_graph_and_errors():
    torch.manual_seed(0)
    conv = Convolution("2x0e + 2x1o", "2x0e + 2x1o", r_max=1.5).double()
    pos = torch.randn(7, 3, dtype=torch.float64)
    x = torch.randn(7, 8, dtype=torch.float64)
    edges = radius_graph(pos, 1.5)
    assert (torch.cdist(pos, pos)[edges[1], edges[0]] < 1.5).all()
    torch.testing.assert_close(conv(x, pos), conv(x, pos, edges))
    with pytest.raises(ValueError, match="same N"):
        conv(x[:5], pos)
    with pytest.raises(ValueError, match="needs one"):
        Convolution("2x0e + 1x1o", "2x0e")


def test_examples_are_registered():
    registry.load_all()
    names = {name for name, e in registry.EXAMPLES.items() if e.family == "o3"}
    assert {"o3-tp-uvu", "o3-gaunt", "o3-gate", "o3-convolution", "o3-grid-mixing"} <= names
