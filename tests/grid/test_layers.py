"""Layers: exact p4/p4m equivariance, measured C_n/D_n bounds, broken variants that must fail,
weight sharing against the basis solver, export, pooling and batch norm."""

import warnings

import pytest
import torch
from torch import nn

from erlangen.check import assert_equivariant, assert_not_equivariant, equivariance
from erlangen.fields import FieldTypeError, GroupImageField, ImageField, transform_image
from erlangen.grid import (
    GridSizeWarning,
    GroupAvgPool2d,
    GroupBatchNorm2d,
    GroupConv2d,
    GroupMaxPool2d,
    GroupPool,
    InvariantPool,
    LiftingConv2d,
    RingBasis,
    export,
)
from erlangen.grid.functional import tap_permutations
from erlangen.groups import (
    SO2,
    Cyclic,
    Dihedral,
    Representation,
    equivariant_basis,
    hom_dimension,
    project_to_equivariant,
    regular,
)

P4, P4M = Cyclic(4), Dihedral(4)
EXACT_GROUPS = [P4, P4M, Cyclic(2), Dihedral(1)]

#: documented bound (docs/grids.md) on the largest relative error of ring-basis layers in
#: float64, measured with `python -m erlangen.bench.grid errors` (worst: 0.138, lifting 3x3)
RING_BOUND = 0.15


# ------------------------------------------------------------------------ exact groups
SETTINGS = [
    dict(kernel_size=3),
    dict(kernel_size=3, padding=1),
    dict(kernel_size=4),  # even kernels are exact too: the output sits between input pixels
    dict(kernel_size=5, stride=2, padding=2),
    dict(kernel_size=3, dilation=2, padding=1),
    dict(kernel_size=3, groups=2, padding=1),
    dict(kernel_size=1, bias=False),
]


@pytest.mark.parametrize("group", EXACT_GROUPS, ids=lambda g: g.name)
@pytest.mark.parametrize("cls", [LiftingConv2d, GroupConv2d])
@pytest.mark.parametrize(
    "kwargs", SETTINGS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items())
)
def test_exact_groups_are_exactly_equivariant(group, cls, kwargs):
    torch.manual_seed(0)
    layer = cls(4, 6, group=group, **kwargs)
    report = assert_equivariant(layer)
    assert report.max_rel < 1e-13, str(report)


@pytest.mark.parametrize("size", [13, 15, 16, 28])
def test_even_and_odd_input_sizes_are_exact_at_stride_one(size):
    layer = GroupConv2d(3, 3, 4, P4M)
    assert_equivariant(layer, n=4)


def test_ring_basis_is_exact_for_quarter_turns():
    torch.manual_seed(0)
    for cls in (LiftingConv2d, GroupConv2d):
        assert_equivariant(cls(3, 3, 5, P4M, filter_rotation="ring"), n=8)


def test_outputs_have_the_declared_layout():
    x = torch.randn(2, 3, 17, 17)
    y = LiftingConv2d(3, 5, 3, P4M, stride=2, padding=1)(x)
    assert y.shape == (2, 5, 8, 9, 9)
    z = GroupConv2d(5, 2, 4, P4M)(y)
    assert z.shape == (2, 2, 8, 6, 6)


# ------------------------------------------------------------------------ size rules
def test_stride_that_moves_the_centre_warns_and_breaks_exactness():
    layer = GroupConv2d(3, 3, 3, P4, stride=2, padding=1)
    with pytest.warns(GridSizeWarning, match=r"16x16.*Sizes that keep the centre: .*15"):
        assert_not_equivariant(layer, n=4, sample={"size": 16})
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridSizeWarning)
        assert_equivariant(GroupConv2d(3, 3, 3, P4, stride=2, padding=1), n=4, sample={"size": 17})


def test_settings_that_can_never_be_rotated_raise():
    with pytest.raises(ValueError, match="both axes"):
        LiftingConv2d(1, 2, (3, 5))
    with pytest.raises(ValueError, match="both axes"):
        GroupConv2d(1, 2, 3, stride=(1, 2))
    with pytest.raises(ValueError, match="divisible by groups"):
        GroupConv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="does not permute pixels"):
        GroupConv2d(2, 2, 3, Cyclic(8), filter_rotation="permute")
    with pytest.raises(TypeError, match="Cyclic"):
        LiftingConv2d(1, 2, 3, SO2())
    with pytest.raises(ValueError, match="filter_rotation"):
        LiftingConv2d(1, 2, 3, filter_rotation="nearest")


def test_wrong_input_shape_names_expected_and_actual():
    layer = GroupConv2d(3, 2, 3, P4)
    with pytest.raises(FieldTypeError, match=r"\(batch, 3, 4, H, W\).*\(2, 3, 8, 9, 9\)"):
        layer(torch.randn(2, 3, 8, 9, 9))
    with pytest.raises(FieldTypeError, match=r"\(batch, 1, H, W\)"):
        LiftingConv2d(1, 2, 3)(torch.randn(2, 3, 9, 9))


# ------------------------------------------------------------------------ broken variants
class PerPlaneBias(GroupConv2d):
    """A bias per (channel, orientation): breaks the weight sharing over the group axis."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plane_bias = nn.Parameter(torch.randn(self.out_channels * self.order))

    def expanded_bias(self):
        return self.plane_bias


class UnrotatedFilters(GroupConv2d):
    """Permutes the orientation axis but never turns the spatial taps."""

    def _tap_permutations(self):
        return torch.arange(self.kernel_size**2).repeat(self.order, 1)


class UnrotatedLifting(LiftingConv2d):
    def _tap_permutations(self):
        return torch.arange(self.kernel_size**2).repeat(self.order, 1)


class UnrotatedRingLifting(LiftingConv2d):
    """Ring-basis filters sampled unrotated for every orientation."""

    def _filter_operators(self):
        ops = super()._filter_operators()
        return ops[:1].expand_as(ops).clone()


class WrongWayLifting(LiftingConv2d):
    """Turns output plane h's filter by h^-1 instead of h."""

    def _tap_permutations(self):
        perm = tap_permutations(self.group, self.kernel_size)
        return perm[self.group.inverse_index]


class ShiftTheWrongWay(GroupConv2d):
    """Re-indexes input orientations by h h' instead of h^-1 h'."""

    def _orientation_permutations(self):
        return self.group.cayley_table.clone()


class RightMultiplied(GroupConv2d):
    """Uses h' h^-1 instead of h^-1 h' (the same for C4, wrong for the non-abelian D4)."""

    def _orientation_permutations(self):
        G = self.group
        return G.cayley_table[:, G.inverse_index].T.contiguous()


class NoAxisPermutation(GroupConv2d):
    def _orientation_permutations(self):
        return torch.arange(self.order).repeat(self.order, 1)


@pytest.mark.parametrize(
    "broken, group",
    [
        (PerPlaneBias, P4),
        (PerPlaneBias, P4M),
        (UnrotatedFilters, P4),
        (UnrotatedFilters, P4M),
        (UnrotatedLifting, P4),
        (WrongWayLifting, P4),
        (ShiftTheWrongWay, P4),
        (NoAxisPermutation, P4M),
        (RightMultiplied, P4M),
        (ShiftTheWrongWay, Cyclic(8)),  # the ring-basis path re-indexes orientations too
        (UnrotatedRingLifting, Dihedral(8)),
    ],
    ids=lambda x: getattr(x, "__name__", None) or x.name,
)
def test_broken_variants_fail_the_check(broken, group):
    torch.manual_seed(0)
    layer = broken(3, 3, 3, group)
    report = assert_not_equivariant(layer, n=4)
    assert report.max_rel > 1e-3, str(report)


def test_right_multiplication_is_harmless_for_the_abelian_p4():
    assert_equivariant(RightMultiplied(3, 3, 3, P4), n=4)


# ------------------------------------------------------------------------ basis solver
class TapRep(Representation):
    """How a planar group permutes the taps of a k x k patch (the image action on it)."""

    def __init__(self, group, k):
        super().__init__(group, k * k, f"taps{k}x{k}")
        self.perm = tap_permutations(group, k)

    def _matrix(self, g, dtype):
        idx = self.perm[self.group.index(g)]  # (..., k*k): (P v)[p] = v[idx[p]]
        return torch.eye(self.dim, dtype=dtype)[idx]


def _pair_bank(layer):
    """Expanded bank of output channel 0 and input channel 0: (|G|, |G_in| * k * k)."""
    bank = layer.expanded_weight().detach().double()
    G, k = layer.order, layer.kernel_size
    g_in = 1 if layer.lifting else G
    bank = bank.view(layer.out_channels, G, -1, g_in, k, k)[0, :, 0]
    return bank.reshape(G, g_in * k * k)


def _param_to_bank_jacobian(layer):
    """Columns: the pair bank for each unit parameter of the (0, 0) channel pair."""
    cols = []
    with torch.no_grad():
        pair = layer.weight[0, 0]
        for i in range(pair.numel()):
            layer.weight.zero_()
            pair.view(-1)[i] = 1.0
            cols.append(_pair_bank(layer).flatten())
    return torch.stack(cols, dim=1)


@pytest.mark.parametrize("group", [P4, P4M], ids=lambda g: g.name)
def test_1x1_group_conv_has_as_many_parameters_as_the_solver_finds(group):
    layer = GroupConv2d(2, 2, 1, group).double()
    params_per_pair = layer.weight[0, 0].numel()
    assert params_per_pair == hom_dimension(regular(group), regular(group)) == group.order
    J = _param_to_bank_jacobian(layer)
    assert torch.linalg.matrix_rank(J) == params_per_pair
    # every bank the layer can express is an equivariant map regular -> regular ...
    banks = J.T.reshape(-1, group.order, group.order)
    proj = project_to_equivariant(banks, regular(group), regular(group))
    assert torch.allclose(proj, banks, atol=1e-12)
    # ... and together they span all of them
    basis = equivariant_basis(regular(group), regular(group)).reshape(group.order, -1)
    both = torch.cat([basis, J.T])
    assert torch.linalg.matrix_rank(both) == params_per_pair


@pytest.mark.parametrize("group", [P4, P4M], ids=lambda g: g.name)
@pytest.mark.parametrize("cls", [LiftingConv2d, GroupConv2d])
def test_kxk_banks_span_all_equivariant_patch_maps(group, cls):
    """The (0, 0) bank maps a patch (orientations x taps) to the output fiber (regular);
    the solver's Hom_G(patch, regular) must be exactly what the parameters reach."""
    k = 3
    layer = cls(1, 1, k, group).double()
    taps = TapRep(group, k)
    patch = taps if layer.lifting else regular(group).tensor(taps)
    dim = hom_dimension(patch, regular(group))
    assert layer.weight[0, 0].numel() == dim
    J = _param_to_bank_jacobian(layer)
    assert torch.linalg.matrix_rank(J) == dim
    banks = J.T.reshape(-1, group.order, patch.dim)
    proj = project_to_equivariant(banks, patch, regular(group))
    assert torch.allclose(proj, banks, atol=1e-12)


@pytest.mark.parametrize("group", [P4, P4M], ids=lambda g: g.name)
def test_bank_commutes_with_the_group_action(group):
    """Transforming the bank on its output-orientation axis, input-orientation axis and taps
    by the same g gives the bank back: rho_out(g) W rho_in(g)^-1 = W."""
    torch.manual_seed(0)
    layer = GroupConv2d(3, 2, 3, group).double()
    G, k = group.order, 3
    bank = layer.expanded_weight().detach().view(2, G, 3, G, k, k)
    in_action = GroupImageField(group, 3)
    for g in group.elements():
        src = group.cayley_table[group.inverse_index[int(g)]]  # new[h] = old[g^-1 h]
        moved = bank[:, src]  # output orientation axis
        moved = in_action.act(g, moved.reshape(2 * G, 3, G, k, k)).view_as(bank)
        assert torch.equal(moved, bank), int(g)
    lift = LiftingConv2d(3, 2, 3, group).double()
    bank = lift.expanded_weight().detach().view(2, G, 3, k, k)
    for g in group.elements():
        src = group.cayley_table[group.inverse_index[int(g)]]
        moved = transform_image(group, g, bank[:, src])
        assert torch.equal(moved, bank), int(g)


# ------------------------------------------------------------------------ C_n / D_n
APPROX = [
    (LiftingConv2d, Cyclic(8), 3),
    (GroupConv2d, Cyclic(8), 5),
    (LiftingConv2d, Dihedral(8), 5),
    (GroupConv2d, Dihedral(6), 3),
    (GroupConv2d, Cyclic(3), 7),
    (LiftingConv2d, Cyclic(16), 3),
]


@pytest.mark.parametrize(
    "cls, group, k", APPROX, ids=lambda x: getattr(x, "__name__", getattr(x, "name", str(x)))
)
def test_interpolated_groups_stay_within_the_documented_bound(cls, group, k):
    for seed in range(3):  # the seeds of the table in docs/grids.md
        torch.manual_seed(seed)
        layer = cls(4, 4, k, group)
        assert layer.filter_rotation == "ring"
        assert_equivariant(layer, seed=seed, rtol=RING_BOUND)


def test_bilinear_filters_exceed_the_ring_bound():
    """The checker tells the two methods apart: pixel filters resampled by bilinear
    interpolation lose their corners at 45 degrees."""
    torch.manual_seed(0)
    layer = GroupConv2d(4, 4, 3, Cyclic(8), filter_rotation="bilinear")
    assert_not_equivariant(layer, rtol=RING_BOUND)


def test_ring_layers_follow_dtype_and_keep_small_state_dicts():
    layer = GroupConv2d(2, 3, 5, Dihedral(8), ring=RingBasis(5, sigma=0.7))
    assert set(layer.state_dict()) == {"weight", "bias"}
    assert layer.weight.shape == (3, 2, 16, len(RingBasis(5)))
    y = layer.double()(torch.randn(1, 2, 16, 11, 11, dtype=torch.float64))
    assert y.dtype == torch.float64
    assert set(GroupConv2d(2, 3, 3).state_dict()) == {"weight", "bias"}


# ------------------------------------------------------------------------ export
@pytest.mark.parametrize("group", [P4, P4M, Cyclic(8)], ids=lambda g: g.name)
def test_export_gives_the_same_outputs(group):
    torch.manual_seed(0)
    lift = LiftingConv2d(3, 4, 3, group, stride=2, padding=1).double()
    conv = GroupConv2d(4, 6, 3, group, groups=2, padding=1).double()
    x = torch.randn(2, 3, 15, 15, dtype=torch.float64)
    y = lift(x)
    exported = lift.export()
    assert isinstance(exported, nn.Conv2d)
    assert torch.allclose(exported(x).unflatten(1, (4, group.order)), y, atol=1e-12)
    z = conv.export()(y.flatten(1, 2)).unflatten(1, (6, group.order))
    assert torch.allclose(z, conv(y), atol=1e-12)

    model = nn.Sequential(lift, nn.ReLU(), conv)
    frozen = export(model)
    assert not any(isinstance(m, LiftingConv2d | GroupConv2d) for m in frozen.modules())
    assert torch.allclose(frozen(x), model(x), atol=1e-12)
    assert isinstance(model[0], LiftingConv2d)  # the original is left alone


def test_exported_layer_keeps_types_and_equivariance():
    torch.manual_seed(0)
    assert_equivariant(export(GroupConv2d(3, 3, 3, P4M)), n=4)


# ------------------------------------------------------------------------ pooling, norms
@pytest.mark.parametrize("mode", ["max", "mean", "norm"])
@pytest.mark.parametrize("group", [P4, P4M], ids=lambda g: g.name)
def test_group_pool(mode, group):
    pool = GroupPool(3, group, mode)
    assert isinstance(pool.out_type, ImageField)
    assert_equivariant(pool, n=4)
    x = torch.randn(2, 3, group.order, 5, 5)
    ref = {"max": x.max(2).values, "mean": x.mean(2), "norm": (x**2).sum(2).sqrt()}[mode]
    assert torch.allclose(pool(x), ref, atol=1e-6)


@pytest.mark.parametrize("cls", [GroupMaxPool2d, GroupAvgPool2d])
def test_spatial_pooling_exact_on_centred_sizes(cls):
    pool = cls(2, 2, P4M)
    assert_equivariant(pool, n=4, sample={"size": 14})
    with pytest.warns(GridSizeWarning):
        assert_not_equivariant(cls(2, 2, P4M), n=4, sample={"size": 15})
    assert_equivariant(cls(2, 3, P4, stride=2, padding=1), n=4, sample={"size": 15})


def test_invariant_pool():
    for gm in ("max", "mean"):
        for sm in ("max", "mean"):
            assert_equivariant(InvariantPool(3, P4M, gm, sm), n=4)


def test_group_batch_norm_shares_statistics_over_the_group_axis():
    torch.manual_seed(0)
    bn = GroupBatchNorm2d(3, P4).double()
    x = torch.randn(4, 3, 4, 5, 5, dtype=torch.float64) * 3 + 1
    y = bn(x)
    mean = x.mean(dim=(0, 2, 3, 4)).view(1, 3, 1, 1, 1)
    var = x.var(dim=(0, 2, 3, 4), unbiased=False).view(1, 3, 1, 1, 1)
    assert torch.allclose(y, (x - mean) / torch.sqrt(var + bn.eps), atol=1e-10)
    assert bn.running_mean.shape == (3,)
    # batch statistics over (batch, |G|, H, W) are invariant: equivariant in training mode too
    bn = GroupBatchNorm2d(3, P4M)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    assert_equivariant(bn, eval_mode=False, n=4)
    assert_equivariant(bn, n=4)


def test_per_orientation_batch_norm_is_caught():
    """BatchNorm2d over (channels x orientations) keeps separate running statistics and
    affine parameters per orientation: once they differ (after training), eval mode breaks.
    (With batch statistics alone it would move along with the planes and pass.)"""

    class PerOrientation(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm2d(3 * 4)
            self.in_type = self.out_type = GroupImageField(P4, 3)

        def forward(self, x):
            return self.bn(x.flatten(1, 2)).view_as(x)

    torch.manual_seed(0)
    broken = PerOrientation()
    with torch.no_grad():
        broken.bn.running_mean.uniform_(-1, 1)
        broken.bn.weight.uniform_(0.5, 2)
    assert_not_equivariant(broken, n=4)


def test_gradients_reach_the_base_filters():
    layer = GroupConv2d(2, 2, 3, P4M)
    layer(torch.randn(2, 2, 8, 7, 7)).square().sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    assert layer.bias.grad.shape == (2,)


def test_report_reads_types_from_the_layer():
    report = equivariance(LiftingConv2d(1, 2, 3, P4M))
    assert report.group == "D4" and report.passed
    assert "ImageField(D4, channels=1)" in report.in_types[0]
