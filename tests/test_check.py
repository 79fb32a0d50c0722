"""The checker passes equivariant maps and catches broken ones."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from erlangen.check import assert_equivariant, assert_not_equivariant, equivariance
from erlangen.fields import (
    EdgeIndexField,
    ImageField,
    InvariantField,
    NodeField,
    PositionField,
    VectorField,
    disk_mask,
)
from erlangen.groups import (
    O3,
    SO2,
    Cyclic,
    Dihedral,
    E,
    Symmetric,
    euclidean,
    irrep,
    regular,
    standard,
)
from erlangen.nn import EquivariantLinear


class Typed(nn.Module):
    """Wrap a module with declared types."""

    def __init__(self, inner, in_type, out_type):
        super().__init__()
        self.inner, self.in_type, self.out_type = inner, in_type, out_type

    def forward(self, *x):
        return self.inner(*x)


def symmetric_kernel(k: torch.Tensor) -> torch.Tensor:
    """A C4-invariant 3x3 filter: one weight for the centre, one for the edges, one for the
    corners (taken from ``k``), so quarter turns leave it exactly unchanged."""
    centre = torch.zeros(3, 3)
    centre[1, 1] = 1.0
    edges = torch.tensor([[0.0, 1, 0], [1, 0, 1], [0, 1, 0]])
    corners = torch.tensor([[1.0, 0, 1], [0, 0, 0], [1, 0, 1]])
    return k[..., 1:2, 1:2] * centre + k[..., 0:1, 1:2] * edges + k[..., 0:1, 0:1] * corners


class Conv(nn.Module):
    def __init__(self, symmetric: bool, bias_pattern: bool):
        super().__init__()
        k = torch.randn(3, 2, 3, 3)
        self.weight = nn.Parameter(symmetric_kernel(k) if symmetric else k)
        self.bias = nn.Parameter(
            torch.randn(3, 1, 1) * (torch.arange(9.0).reshape(1, 1, 9) if bias_pattern else 1)
        )
        self.in_type = ImageField(Cyclic(4), channels=2, size=9)
        self.out_type = ImageField(Cyclic(4), channels=3, size=9)

    def forward(self, x):
        return F.conv2d(x, self.weight, padding=1) + self.bias


def test_equivariant_linear_passes_and_dense_layer_fails():
    G = Dihedral(4)
    rep_in, rep_out = regular(G), 2 * irrep(G, 1, 1)
    report = assert_equivariant(EquivariantLinear(rep_in, rep_out))
    assert [r.kind for r in report.rows] == ["identity", "generators", "random"]
    assert [r.count for r in report.rows] == [1, 2, 16]
    assert report.max_abs < 1e-12
    dense = Typed(nn.Linear(rep_in.dim, rep_out.dim), VectorField(rep_in), VectorField(rep_out))
    bad = assert_not_equivariant(dense)
    assert bad.rows[0].passed  # the identity always passes
    assert not bad.rows[1].passed and not bad.rows[2].passed


def test_convolution_with_symmetric_kernel_passes_and_asymmetric_bias_fails():
    torch.manual_seed(0)
    assert_equivariant(Conv(symmetric=True, bias_pattern=False))
    assert_not_equivariant(Conv(symmetric=True, bias_pattern=True))
    assert_not_equivariant(Conv(symmetric=False, bias_pattern=False))


def test_invariance_and_several_inputs_and_outputs():
    G = Symmetric(6)
    v = VectorField(standard(G))

    def fn(x, y):
        return x * y, (x + y).sum(-1, keepdim=True)

    report = assert_equivariant(fn, (v, v), (v, InvariantField(G)))
    assert report.passed and report.group == "S6"

    def broken(x, y):
        return x * y.roll(1, -1), x.sum(-1, keepdim=True)

    assert_not_equivariant(broken, (v, v), (v, InvariantField(G)))


def test_graph_message_passing():
    G = Symmetric(7)
    in_type = (NodeField(G, channels=3), EdgeIndexField(G, num_edges=20))

    def aggregate(x, edge_index):
        src, dst = edge_index
        return torch.zeros_like(x).index_add_(0, dst, x[src]) + x

    assert_equivariant(aggregate, in_type, NodeField(G, channels=3))

    def positional(x, edge_index):  # depends on the node order
        return aggregate(x, edge_index) + torch.arange(7.0, dtype=x.dtype)[:, None]

    assert_not_equivariant(positional, in_type, NodeField(G, channels=3))


def test_point_cloud_centring():
    G = E(3)
    vectors = VectorField(euclidean(G, standard(G.point_group)), batch_shape=(2, 8))
    report = assert_equivariant(lambda x: x - x.mean(-2, keepdim=True), PositionField(G), vectors)
    assert report.rows[1].count == G.generators().shape[0]
    assert_not_equivariant(lambda x: x, PositionField(G), vectors)  # translations leak


def test_interpolated_rotations_use_a_disk_and_a_documented_tolerance():
    ftype = ImageField(SO2(), channels=1, size=21)
    mask = disk_mask(21, 21, dtype=torch.float64)
    report = equivariance(lambda x: (x * mask).sum((-1, -2)), ftype, InvariantField(SO2()))
    assert report.passed and report.rtol == 0.1
    assert report.max_rel > 1e-8  # interpolation is not exact...
    assert report.max_rel < 0.05  # ...but close on smooth inputs
    assert_not_equivariant(lambda x: x[..., :10].sum((-1, -2)), ftype, InvariantField(SO2()))


def test_the_callers_module_is_left_alone():
    layer = EquivariantLinear(regular(Cyclic(4)), regular(Cyclic(4)))
    layer.train()
    equivariance(layer)
    assert layer.training
    assert next(layer.parameters()).dtype == torch.float32


def test_report_formats():
    report = equivariance(EquivariantLinear(regular(Cyclic(3)), regular(Cyclic(3))))
    text = str(report)
    assert "C3-equivariance in float64" in text and "overall: PASS" in text
    d = report.to_dict()
    assert d["passed"] and len(d["rows"]) == 3
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(report.rich_table())
    assert "random" in console.export_text()
    with pytest.raises(AssertionError, match="FAIL"):
        dense = Typed(
            nn.Linear(3, 3), VectorField(regular(Cyclic(3))), VectorField(regular(Cyclic(3)))
        )
        assert_equivariant(dense)


def test_given_inputs_and_elements():
    G = Cyclic(8)
    layer = EquivariantLinear(regular(G), regular(G))
    x = torch.randn(3, 8)
    report = equivariance(layer, inputs=x, elements=torch.tensor([3, 5]))
    assert report.rows[-1].kind == "given" and report.rows[-1].count == 2 and report.passed


def test_errors():
    with pytest.raises(ValueError, match="declares no in_type and out_type"):
        equivariance(lambda x: x)
    with pytest.raises(ValueError, match="share one group"):
        equivariance(lambda x: x, VectorField(regular(Cyclic(4))), VectorField(regular(Cyclic(3))))
    with pytest.raises(ValueError, match="returned 1 outputs but 2"):
        v = VectorField(regular(Cyclic(4)))
        equivariance(lambda x: x, v, (v, v))
    with pytest.raises(TypeError, match="FieldType"):
        equivariance(lambda x: x, "image", "image")


def test_keyword_arguments_pass_through():
    G = Symmetric(5)
    v = VectorField(standard(G))

    def scaled(x, scale, mask=None):
        return x * scale if mask is None else x * scale * mask

    report = equivariance(scaled, v, v, kwargs={"scale": torch.tensor(2.0)})
    assert report.passed
    # a mask tied to positions is not something the group ignores: the check says so
    mask = torch.tensor([1.0, 0, 1, 1, 1])
    assert not equivariance(scaled, v, v, kwargs={"scale": 2.0, "mask": mask}).passed


# ------------------------------------------------------------ several symmetries at once
def test_point_cloud_graph_under_permutations_and_motions_together():
    """Node permutations and E(3) in one check: the group is their direct product."""
    G = Symmetric(5) * E(3)
    velocity = NodeField(G, fiber=euclidean(E(3), standard(O3())))
    in_type = (NodeField(G, channels=2), PositionField(G), velocity, EdgeIndexField(G))
    out_type = (NodeField(G, channels=2), PositionField(G))

    def step(h, pos, vel, edge_index):
        src, dst = edge_index
        diff = pos[dst] - pos[src]
        weight = (diff**2).sum(-1, keepdim=True) * h[src, :1]
        moved = torch.zeros_like(pos).index_add_(0, dst, diff * weight)
        messages = torch.zeros_like(h).index_add_(0, dst, h[src] * weight)
        return h + messages, pos + moved + vel

    report = assert_equivariant(step, in_type, out_type)
    # generators of both factors, then joint random elements
    assert report.rows[1].count == G.generators().shape[0] and report.group == "S5 x E(3)"

    def absolute(h, pos, vel, edge_index):  # uses absolute positions: breaks translations
        h2, pos2 = step(h, pos, vel, edge_index)
        return h2 + pos[:, :1], pos2

    def ordered(h, pos, vel, edge_index):  # depends on the node order
        h2, pos2 = step(h, pos, vel, edge_index)
        return h2 + torch.arange(5.0, dtype=h.dtype)[:, None], pos2

    assert_not_equivariant(absolute, in_type, out_type)
    assert_not_equivariant(ordered, in_type, out_type)


def test_types_of_one_factor_need_the_product_for_joint_checks():
    with pytest.raises(ValueError, match="direct product"):
        equivariance(
            lambda x, p: (x, p),
            (NodeField(Symmetric(3)), PositionField(E(3))),
            (NodeField(Symmetric(3)), PositionField(E(3))),
        )


# ------------------------------------------------------------ non-finite values never pass
class NaNColumn(nn.Module):
    """A non-equivariant map with one NaN output column: max(0, nan) hides it in Python."""

    def __init__(self, bad: float):
        super().__init__()
        rep = regular(Cyclic(4))
        self.in_type = self.out_type = VectorField(rep)
        self.bad = bad

    def forward(self, x):
        y = x.roll(1, -1) * torch.arange(1.0, 5.0, dtype=x.dtype)  # not equivariant
        y = y.clone()
        y[..., 2] = self.bad
        return y


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_outputs_fail_and_say_where(bad):
    report = equivariance(NaNColumn(bad))
    assert not report.passed
    assert "output 0 of f(x)" in report.problems[0] and "(0, 2)" in report.problems[0]
    assert "FAIL: output 0" in str(report)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(NaNColumn(bad))


def test_non_finite_output_of_an_equivariant_map_fails_too():
    rep = regular(Cyclic(4))

    def fn(x):
        return x / (x - x)  # 0/0 everywhere: "equivariant" NaNs

    report = equivariance(fn, VectorField(rep), VectorField(rep))
    assert not report.passed and report.problems


def test_non_finite_input_is_refused():
    rep = regular(Cyclic(4))
    x = torch.zeros(2, 4, dtype=torch.float64)
    x[1, 3] = float("nan")
    with pytest.raises(
        ValueError, match=r"input 0 holds a non-finite value \(nan\) at index \(1, 3\)"
    ):
        equivariance(lambda v: v, VectorField(rep), VectorField(rep), inputs=x)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": -1}, "n .random group elements. must be an integer >= 0, got -1"),
        ({"n": 2.5}, "must be an integer"),
        ({"dtype": torch.int64}, "dtype must be a floating torch dtype"),
        ({"atol": -1.0}, "atol must be a finite number >= 0"),
        ({"rtol": float("nan")}, "rtol must be a finite number >= 0"),
        ({"sample": {"size": 9}}, r"settings \['size'\] that no input type takes"),
        ({"sample": [{}, {}]}, "one mapping per input"),
    ],
)
def test_bad_checker_arguments_get_clear_errors(kwargs, message):
    layer = EquivariantLinear(regular(Cyclic(4)), regular(Cyclic(4)))
    with pytest.raises(ValueError, match=message):
        equivariance(layer, **kwargs)


# ------------------------------------------------------------ sampling settings
def test_sampling_settings_go_to_the_checker_not_into_the_type():
    layer = Conv(symmetric=True, bias_pattern=False)
    before = layer.in_type
    report = equivariance(layer, sample={"size": 11, "batch_shape": (3,)})
    assert report.passed and layer.in_type is before and before.size == 9
    with pytest.raises(Exception, match="cannot assign"):
        before.size = 11  # frozen
    assert before.replace(size=11).size == 11 and before.replace(size=11) == before  # same law


def test_none_outputs_are_skipped_with_their_types():
    rep = regular(Cyclic(4))
    v = VectorField(rep)
    report = assert_equivariant(lambda x: (x.flip(-1).flip(-1), None), v, (v, v))
    assert report.passed
