"""TensorProduct: e3nn's numbers with the same paths and weights, O(3) equivariance in both
dtypes, unit-variance outputs, invalid paths refused, broken variants caught."""

import pytest
import torch
from e3nn import o3 as e3

from erlangen.fields import IrrepsField
from erlangen.o3 import TensorProduct
from erlangen.o3.kernels import ChannelwiseKernel, GenericKernel
from erlangen.testing import assert_broken_fails, assert_compile_matches, assert_honours_types

CASES = {
    "conv-uvu": ("8x0e + 8x1o + 8x2e", "0e + 1o + 2e", "8x0e + 8x1o + 8x2e + 8x1e + 8x0o", "uvu"),
    "uvu-mul2": ("3x0e + 2x1o", "2x0e + 1x1o", "3x0e + 2x1o + 2x1e", "uvu"),
    "uvw": ("3x0e + 2x1o", "2x0e + 1x1o + 1x2e", "4x0e + 2x1o + 3x2e + 1x1e", "uvw"),
}


def _e3nn_twin(tp: TensorProduct):
    instructions = [(p.i1, p.i2, p.i_out, tp.mode, True) for p in tp.paths]
    internal = tp.weights == "internal"
    twin = e3.TensorProduct(
        tp.irreps_in1.to_e3nn(),
        tp.irreps_in2.to_e3nn(),
        tp.irreps_out.to_e3nn(),
        instructions,
        internal_weights=internal,
        shared_weights=internal,
    )
    if internal:
        with torch.no_grad():
            twin.weight.copy_(tp.weight)
    return twin


@pytest.mark.parametrize("weights", ["internal", "external"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_equals_e3nn(case, weights, float64_default):
    a, b, c, mode = CASES[case]
    torch.manual_seed(0)
    tp = TensorProduct(a, b, c, mode=mode, weights=weights)
    expected_kernel = ChannelwiseKernel if case == "conv-uvu" else GenericKernel
    assert isinstance(tp.kernel, expected_kernel)
    twin = _e3nn_twin(tp)
    x1, x2 = torch.randn(7, tp.irreps_in1.dim), torch.randn(7, tp.irreps_in2.dim)
    args = () if weights == "internal" else (torch.randn(7, tp.weight_numel),)
    torch.testing.assert_close(tp(x1, x2, *args), twin(x1, x2, *args), atol=1e-12, rtol=0)


def test_user_instructions_in_any_order_keep_e3nns_weight_layout(float64_default):
    torch.manual_seed(0)
    ins = [(1, 1, 2), (0, 0, 0), (1, 1, 0), (0, 1, 1), (1, 0, 1), (1, 2, 1)]
    tp = TensorProduct(
        "4x0e + 4x1o", "0e + 1o + 2e", "4x0e + 4x1o + 4x1e", weights="external", instructions=ins
    )
    assert isinstance(tp.kernel, ChannelwiseKernel)
    twin = _e3nn_twin(tp)
    x1, x2, w = torch.randn(5, 16), torch.randn(5, 9), torch.randn(5, tp.weight_numel)
    torch.testing.assert_close(tp(x1, x2, w), twin(x1, x2, w), atol=1e-12, rtol=0)


@pytest.mark.parametrize("case", sorted(CASES))
def test_honours_o3_in_both_dtypes(case):
    a, b, c, mode = CASES[case]
    torch.manual_seed(0)
    assert_honours_types(TensorProduct(a, b, c, mode=mode, weights="external"), n=4)
    assert_honours_types(TensorProduct(a, b, c, mode=mode), n=4)


def test_channelwise_kernel_equals_generic_kernel():
    torch.manual_seed(0)
    tp = TensorProduct(*CASES["conv-uvu"][:3], weights="external").double()
    generic = GenericKernel(tp.irreps_in1, tp.irreps_in2, tp.irreps_out, tp.paths, "uvu")
    x1 = torch.randn(3, 4, tp.irreps_in1.dim, dtype=torch.float64)  # two batch dimensions
    x2 = torch.randn(4, tp.irreps_in2.dim, dtype=torch.float64)  # broadcast
    w = torch.randn(3, 1, tp.weight_numel, dtype=torch.float64)
    torch.testing.assert_close(tp(x1, x2, w), generic(x1, x2, w), atol=1e-12, rtol=0)


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_have_unit_variance(case):
    a, b, c, mode = CASES[case]
    torch.manual_seed(0)
    tp = TensorProduct(a, b, c, mode=mode, weights="external")
    n = 4000
    y = tp(
        torch.randn(n, tp.irreps_in1.dim),
        torch.randn(n, tp.irreps_in2.dim),
        torch.randn(n, tp.weight_numel),
    )
    reached = {p.i_out for p in tp.paths}
    slices = tp.irreps_out.slices()
    second_moment = torch.cat([y[:, slices[i]].pow(2).mean(0) for i in sorted(reached)])
    assert second_moment.mean().item() == pytest.approx(1.0, abs=0.05)
    assert second_moment.min().item() > 0.8 and second_moment.max().item() < 1.2


def test_invalid_paths_are_refused():
    with pytest.raises(ValueError, match="violates parity"):
        TensorProduct("1o", "1o", "1o", instructions=[(0, 0, 0)])
    with pytest.raises(ValueError, match="triangle"):
        TensorProduct("1o", "1o", "3o", instructions=[(0, 0, 0)])
    with pytest.raises(ValueError, match="multiplicity 4"):
        TensorProduct("4x1o", "1o", "2x0e", instructions=[(0, 0, 0)])
    assert TensorProduct("1o", "1o", "1o").paths == []  # no valid path: nothing computed
    tp = TensorProduct("2x1o", "1o", "2x0e", weights="external")
    with pytest.raises(ValueError, match=rf"\(\.\.\., {tp.weight_numel}\)"):
        tp(torch.zeros(3, 6), torch.zeros(3, 3))


class _ParityViolating(TensorProduct):
    """The cross-product path (1o x 1o -> 1e) with its output declared polar."""

    def __init__(self):
        super().__init__("2x1o", "1o", "2x1e", weights="external")
        self.out_type = IrrepsField("2x1o")


class _WrongSign(TensorProduct):
    """The channel-wise product with one Clebsch-Gordan entry of the wrong sign."""

    def __init__(self):
        super().__init__("2x0e + 2x1o + 2x2e", "0e + 1o + 2e", "2x1o + 2x2e", weights="external")
        with torch.no_grad():
            table = self.kernel.table1.view(-1)
            table[table.abs().argmax()] *= -1


def test_broken_variants_fail():
    assert_broken_fails(_ParityViolating(), n=4)
    assert_broken_fails(_WrongSign(), n=4)


@pytest.mark.slow
def test_compile_matches_eager():
    torch.manual_seed(0)
    tp = TensorProduct(*CASES["conv-uvu"][:3], weights="external")
    assert_compile_matches(tp)
