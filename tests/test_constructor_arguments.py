"""Constructor arguments that can never work fail at once with one line naming the argument:
a property test over random bad values ("works, or a one-line ValueError/TypeError")."""

import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erlangen.ga import (
    EquiLayerNorm,
    EquiLinear,
    GatedGELU,
    GATr,
    GeometricAttention,
    GeometricBilinear,
)
from erlangen.graph import (
    EGNN,
    GNN,
    EGNNLayer,
    FrameAveraging,
    GNNLayer,
    GraphTransformer,
    LinearDynamics,
)
from erlangen.grid import (
    GCNN,
    LGCNN,
    Z2CNN,
    AllCNNC,
    GroupBatchNorm2d,
    GroupConv2d,
    GroupMaxPool2d,
    GroupPool,
    InvariantPool,
    LearnedGroupConv2d,
    LiftingConv2d,
)
from erlangen.groups import Cyclic, direct_sum, regular
from erlangen.nn import EquivariantLinear
from erlangen.o3 import (
    BesselBasis,
    Convolution,
    DenseProduct,
    GaussianBasis,
    GridMixing,
    GridProduct,
    Irreps,
    IrrepsLayerNorm,
    PolynomialCutoff,
    RadialMLP,
    RadialSpline,
    SphericalGrid,
    SphericalHarmonics,
)

#: values a user might pass by mistake where a count is expected
ODD = st.one_of(
    st.integers(min_value=-3, max_value=3),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.just(regular(Cyclic(4))),
    st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
)
GROUPS = st.sampled_from(["C4", "D4", "C8", "p4m", "Q8", 4, Cyclic(4), None])

BUILDERS = {
    "LiftingConv2d": lambda a, b, c, g: LiftingConv2d(a, b, c, g),
    "GroupConv2d": lambda a, b, c, g: GroupConv2d(a, b, 3, g, stride=c),
    "GroupPool": lambda a, b, c, g: GroupPool(a, g),
    "GroupMaxPool2d": lambda a, b, c, g: GroupMaxPool2d(a, b, g, padding=c),
    "InvariantPool": lambda a, b, c, g: InvariantPool(a, g),
    "GroupBatchNorm2d": lambda a, b, c, g: GroupBatchNorm2d(a, g),
    "GCNN": lambda a, b, c, g: GCNN(g or "C4", a, b, channels=c),
    "Z2CNN": lambda a, b, c, g: Z2CNN(a, b, channels=c),
    "AllCNNC": lambda a, b, c, g: AllCNNC(g, a, b, widths=(c, 2)),
    "LGCNN": lambda a, b, c, g: LGCNN(a, b, channels=c),
    "LearnedGroupConv2d": lambda a, b, c, g: LearnedGroupConv2d(a, b, 3, c),
    "EquivariantLinear": lambda a, b, c, g: EquivariantLinear(a, regular(Cyclic(4))),
    "EquiLinear": lambda a, b, c, g: EquiLinear(a, b, in_s=c),
    "GeometricBilinear": lambda a, b, c, g: GeometricBilinear(a, b, hidden_mv=c),
    "GatedGELU": lambda a, b, c, g: GatedGELU(a, b),
    "EquiLayerNorm": lambda a, b, c, g: EquiLayerNorm(a, b, eps=c),
    "GeometricAttention": lambda a, b, c, g: GeometricAttention(a, heads=b, head_s=c),
    "GATr": lambda a, b, c, g: GATr(1, 1, hidden_mv=a, heads=b, blocks=c),
    "EGNNLayer": lambda a, b, c, g: EGNNLayer(a, b, hidden=c, residual=False),
    "EGNN": lambda a, b, c, g: EGNN(a, b, hidden=c, layers=2),
    "GNNLayer": lambda a, b, c, g: GNNLayer(a, b, edge_dim=c, residual=False),
    "GNN": lambda a, b, c, g: GNN(a, b, layers=c),
    "GraphTransformer": lambda a, b, c, g: GraphTransformer(a, b, heads=c, hidden=8, layers=1),
    "LinearDynamics": lambda a, b, c, g: LinearDynamics(a, nodes=b),
    "FrameAveraging": lambda a, b, c, g: FrameAveraging(
        GNN(4, 3, hidden=4, layers=1), in_channels=a, out_channels=b, nodes=c
    ),
    "BesselBasis": lambda a, b, c, g: BesselBasis(a, b),
    "GaussianBasis": lambda a, b, c, g: GaussianBasis(a, b, c),
    "PolynomialCutoff": lambda a, b, c, g: PolynomialCutoff(a, b),
    "RadialMLP": lambda a, b, c, g: RadialMLP(a, 5.0, b),
    "RadialSpline": lambda a, b, c, g: RadialSpline(a, 5.0, b),
    "SphericalHarmonics": lambda a, b, c, g: SphericalHarmonics(a),
    "SphericalGrid": lambda a, b, c, g: SphericalGrid(a),
    "GridProduct": lambda a, b, c, g: GridProduct(a, b, c),
    "DenseProduct": lambda a, b, c, g: DenseProduct(a, b, c),
    "Irreps": lambda a, b, c, g: Irreps(a),
    "IrrepsLayerNorm": lambda a, b, c, g: IrrepsLayerNorm("4x0e+2x1o", eps=a),
    "Convolution": lambda a, b, c, g: Convolution("4x0e", "4x0e+4x1o", lmax_sh=a, num_basis=b),
    "GridMixing": lambda a, b, c, g: GridMixing("4x0e+4x1o", hidden=a),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
@given(a=ODD, b=ODD, c=ODD, group=GROUPS)
def test_bad_arguments_work_or_raise_one_clear_line(name, a, b, c, group):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            BUILDERS[name](a, b, c, group)
        except (ValueError, TypeError) as error:
            message = str(error)
            assert message and "\n" not in message, message
            assert "division" not in message and "index" not in message.lower(), message


def test_messages_name_the_argument():
    with pytest.raises(ValueError, match="LiftingConv2d: out_channels must be an integer >= 1"):
        LiftingConv2d(3, 0, 3, "C4")
    with pytest.raises(TypeError, match="GroupConv2d: in_channels must be an integer"):
        GroupConv2d(regular(Cyclic(4)), 3, 3, "C4")
    with pytest.raises(ValueError, match="GCNN: channels must be an integer >= 1, got 0"):
        GCNN("C4", channels=0)
    with pytest.raises(ValueError, match=r"Z2CNN: dropout must be a number in \[0, 1\)"):
        Z2CNN(dropout=1.0)
    with pytest.raises(TypeError, match="EquivariantLinear: rep_in must be an erlangen Repr"):
        EquivariantLinear(3, regular(Cyclic(4)))
    with pytest.raises(ValueError, match="GeometricAttention: heads must be an integer >= 1"):
        GeometricAttention(4, heads=0)
    with pytest.raises(ValueError, match="GATr: heads must be an integer >= 1, got 0"):
        GATr(1, 1, heads=0)
    with pytest.raises(ValueError, match="EGNNLayer: in_channels must be an integer >= 1, got 0"):
        EGNNLayer(0)
    with pytest.raises(TypeError, match=r"GNN: layers must be an integer >= 1, got float 2\.5"):
        GNN(3, 1, layers=2.5)
    with pytest.raises(ValueError, match=r"GraphTransformer: hidden \(10\) must be a multiple"):
        GraphTransformer(3, 1, hidden=10, heads=4)
    with pytest.raises(ValueError, match="lmax must be an integer >= 0, got -1"):
        Convolution("4x0e", "4x0e+4x1o", lmax_sh=-1)
    with pytest.raises(TypeError, match="a direct sum takes representations, got int"):
        direct_sum(regular(Cyclic(4)), 1)
