"""The public test kit: what our tests use, checked so that it can fail."""

import pytest
import torch
from torch import nn

from erlangen.fields import VectorField
from erlangen.groups import Cyclic, regular
from erlangen.nn import EquivariantLinear
from erlangen.testing import (
    assert_broken_fails,
    assert_compile_matches,
    assert_honours_types,
    sample_inputs,
)

REP = regular(Cyclic(4))


class Dense(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.in_type = self.out_type = VectorField(REP)

    def forward(self, x):
        return self.linear(x)


def test_honours_types_in_both_dtypes_and_catches_a_dense_layer():
    reports = assert_honours_types(EquivariantLinear(REP, REP))
    assert set(reports) == {torch.float64, torch.float32}
    assert reports[torch.float64].atol < reports[torch.float32].atol
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_honours_types(Dense())
    assert_broken_fails(Dense())
    with pytest.raises(AssertionError, match="expected a failure"):
        assert_broken_fails(EquivariantLinear(REP, REP))


def test_both_dtypes_fixture(both_dtypes):
    x = sample_inputs(EquivariantLinear(REP, REP), dtype=both_dtypes, sample={"batch_shape": (3,)})
    assert x[0].dtype == both_dtypes and x[0].shape == (3, 4)


def test_compile_matches_eager_and_catches_a_difference():
    layer = EquivariantLinear(REP, REP)
    assert_compile_matches(layer, backend="eager")

    class CompiledDiffers(nn.Module):  # a stand-in for a compiler bug
        def __init__(self):
            super().__init__()
            self.in_type = self.out_type = VectorField(REP)

        def forward(self, x):
            return x + 1.0 if torch.compiler.is_compiling() else x

    with pytest.raises(AssertionError, match="output 0"):
        assert_compile_matches(CompiledDiffers(), backend="eager")
