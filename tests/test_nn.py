"""EquivariantLinear: parameter counts, bias placement, layouts, gradients, errors."""

import pytest
import torch

from erlangen.check import assert_equivariant
from erlangen.fields import FieldTypeError
from erlangen.groups import (
    O3,
    SO3,
    Cyclic,
    Dihedral,
    hom_dimension,
    irrep,
    regular,
    standard,
    trivial,
)
from erlangen.nn import EquivariantLinear


def test_parameters_match_the_solver():
    G = Dihedral(4)
    rep_in = 3 * regular(G) + trivial(G)
    rep_out = 2 * regular(G) + irrep(G, 1, 1)
    layer = EquivariantLinear(rep_in, rep_out, bias=False)
    assert layer.num_basis == hom_dimension(rep_in, rep_out)
    assert sum(p.numel() for p in layer.parameters()) == layer.num_basis


def test_interleaved_summands_are_placed_correctly():
    G = SO3()
    a, b = irrep(G, 1), irrep(G, 2)
    rep_in = a + b + a + trivial(G)
    rep_out = b + trivial(G) + a + b
    layer = EquivariantLinear(rep_in, rep_out)
    assert layer._unsort_in is not None and layer._unsort_out is not None
    assert_equivariant(layer)


def test_bias_only_on_invariant_components():
    G = Cyclic(4)
    layer = EquivariantLinear(regular(G), regular(G) + standard(G))
    with torch.no_grad():
        for name, p in layer.named_parameters():
            if name.startswith("bias"):
                p.fill_(1.0)
    b = layer.bias()
    assert torch.allclose(b[:4], b[0].expand(4)) and b[0] != 0  # constant on the regular part
    assert torch.equal(b[4:], torch.zeros(2))  # no invariant in the 2D irrep
    assert EquivariantLinear(standard(G), standard(G)).bias() is None


def test_no_equivariant_maps_gives_zeros():
    G = O3()
    layer = EquivariantLinear(irrep(G, 1, -1), irrep(G, 2, 1))
    assert layer.num_basis == 0
    assert torch.equal(layer(torch.randn(4, 3)), torch.zeros(4, 5))


def test_gradients_and_state_dict():
    G = Cyclic(8)
    layer = EquivariantLinear(4 * regular(G), 4 * regular(G))
    x = torch.randn(16, 32)
    layer(x).pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in layer.parameters())
    state = layer.state_dict()
    assert not any("basis" in k for k in state)  # bases are rebuilt, not stored
    clone = EquivariantLinear(4 * regular(G), 4 * regular(G))
    clone.load_state_dict(state)
    assert torch.equal(clone(x), layer(x))


def test_initial_scale():
    G = Cyclic(8)
    layer = EquivariantLinear(16 * regular(G), 16 * regular(G), bias=False)
    x = torch.randn(4096, 128)
    with torch.no_grad():
        ratio = float(layer(x).var() / x.var())
    assert 0.3 < ratio < 3.0


def test_bad_input_shape():
    layer = EquivariantLinear(regular(Cyclic(4)), regular(Cyclic(4)))
    with pytest.raises(FieldTypeError, match=r"\(\.\.\., 4\) for regular, got \(2, 5\)"):
        layer(torch.zeros(2, 5))


# ------------------------------------------------------------------ the module contract
def test_equivariant_module_contract():
    from erlangen.fields import VectorField
    from erlangen.nn import Equivariant, EquivariantModule

    class Centre(EquivariantModule):
        def __init__(self):
            super().__init__()
            self.in_type = self.out_type = VectorField(regular(Cyclic(5)))

        def forward(self, x):
            self.validate_inputs(x)
            return x - x.mean(-1, keepdim=True)

    layer = Centre()
    assert isinstance(layer, Equivariant) and layer.check().passed
    with pytest.raises(FieldTypeError, match=r"input must have shape \(\.\.\., 5\)"):
        layer(torch.zeros(2, 4))
    assert not isinstance(torch.nn.Linear(2, 2), Equivariant)


def test_every_registered_model_and_example_declares_its_types():
    from erlangen import registry
    from erlangen.nn import Equivariant

    registry.load_all()
    entries = [*registry.MODELS.values(), *registry.EXAMPLES.values()]
    for entry in [e for e in entries if e.factory.__module__.startswith("erlangen.")]:
        torch.manual_seed(0)
        assert isinstance(entry.factory(), Equivariant), entry.name


def test_wrong_dtype_or_device_gets_an_erlangen_error_naming_both():
    from erlangen.grid import GroupConv2d, LiftingConv2d

    layer = LiftingConv2d(2, 3, 3, "C4")  # float32 weights on the CPU
    x = torch.zeros(1, 2, 9, 9, dtype=torch.float64)
    with pytest.raises(FieldTypeError, match="LiftingConv2d holds float32 weights but input 0"):
        layer(x)
    meta = torch.zeros(1, 3, 4, 9, 9, device="meta")
    with pytest.raises(FieldTypeError, match="GroupConv2d is on cpu but input 0 is on meta"):
        GroupConv2d(3, 3, 3, "C4")(meta)
    layer.double()(x)  # converted: fine
