"""Frame averaging: exact equivariance for E(3), SE(3), O(3), one batched backbone call, the
broken twins (one frame, no sign averaging; SE(3) frames under reflections), degenerate
inputs, the broadened eigenvector gradient."""

import warnings

import pytest
import torch

from erlangen.check import equivariance
from erlangen.graph import GNN, FrameAveraging, GraphTransformer, fully_connected_graph
from erlangen.graph.frames import _BroadenedEigh, pca_frames, sign_frames
from erlangen.graph.models import read_out_types
from erlangen.graph.types import point_cloud_group
from erlangen.testing import assert_broken_fails, assert_honours_types

READOUTS = [
    ("node", "position", 3),
    ("node", "vector", 3),
    ("node", "invariant", 2),
    ("graph", "invariant", 2),
    ("graph", "vector", 3),
]


def averaged(backbone="gnn", group="E3", readout="node", output="position", out=3, **options):
    torch.manual_seed(0)
    c_in = 1 + 3 + 3
    if backbone == "gnn":
        net = GNN(c_in, out, hidden=8, layers=2, readout=readout)
    else:
        net = GraphTransformer(c_in, out, hidden=8, layers=1, heads=2, readout=readout)
    return FrameAveraging(
        net,
        group,
        in_channels=1,
        velocity=True,
        readout=readout,
        output=output,
        out_channels=out,
        **options,
    )


@pytest.mark.parametrize("group", ["E3", "SE3", "O3"])
@pytest.mark.parametrize(("readout", "output", "out"), READOUTS)
def test_gnn_becomes_equivariant(group, readout, output, out):
    reports = assert_honours_types(averaged("gnn", group, readout, output, out))
    assert reports[torch.float64].group.startswith("S5 x ")


@pytest.mark.parametrize(("readout", "output", "out"), READOUTS[::2])
def test_transformer_becomes_equivariant(readout, output, out):
    assert_honours_types(averaged("transformer", "E3", readout, output, out))


def test_the_backbone_alone_is_not_equivariant():
    fa = averaged().double()  # a plain function is not cast by the checker
    G = point_cloud_group(5)
    types = (*fa.in_type[:3], fa.in_type[4])

    def plain(h, pos, edge_index, vel):  # positions and velocities as plain features
        return fa.backbone(torch.cat([h, pos, vel], -1), edge_index)

    assert_broken_fails(plain, in_type=types, out_type=read_out_types(G, "node", "position", 3))


class OneFrame(FrameAveraging):
    """Broken: the frame eigh returns, without averaging over signs."""

    def frames(self, pos, batch, size):
        centroid, frames = super().frames(pos, batch, size)
        return centroid, frames[:1]


def test_a_single_frame_without_sign_averaging_fails():
    torch.manual_seed(0)
    net = GNN(7, 3, hidden=8, layers=2)
    assert_broken_fails(OneFrame(net, in_channels=1, velocity=True))


def test_proper_frames_do_not_cover_reflections():
    se3 = averaged(group="SE3")
    e3 = averaged(group="E3")
    assert equivariance(se3).passed and equivariance(e3).passed
    # the SE(3) model under E(3) types: reflections are not covered by 4 proper frames
    assert not equivariance(se3, in_type=e3.in_type, out_type=e3.out_type).passed


def test_o3_frames_do_not_cover_translations():
    o3, e3 = averaged(group="O3"), averaged(group="E3")
    assert not equivariance(o3, in_type=e3.in_type, out_type=e3.out_type).passed


class CountingGNN(GNN):
    calls: list

    def forward(self, x, edge_index, edge_attr=None, batch=None):
        self.calls.append((x.shape[0], int(batch.max()) + 1))
        return super().forward(x, edge_index, edge_attr, batch)


@pytest.mark.parametrize(("group", "frames"), [("E3", 8), ("SE3", 4), ("O3", 8)])
def test_all_frames_in_one_backbone_call(group, frames):
    net = CountingGNN(7, 3, hidden=8, layers=1)
    net.calls = []
    fa = FrameAveraging(net, group, in_channels=1, velocity=True)
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    pos = torch.randn(7, 3)
    fa(torch.randn(7, 1), pos, fully_connected_graph(batch=batch), vel=pos, batch=batch)
    assert net.calls == [(frames * 7, frames * 2)] and fa.num_frames == frames


def test_frames_are_orthogonal_with_the_right_determinants():
    pos = torch.randn(12, 3, dtype=torch.float64)
    batch = torch.arange(12) // 6
    centroid, vals, vecs = pca_frames(pos, batch, 2)
    torch.testing.assert_close(centroid[0], pos[:6].mean(0))
    frames = sign_frames(vecs, proper=False)
    eye = torch.eye(3, dtype=torch.float64).expand(8, 2, 3, 3)
    torch.testing.assert_close(frames.transpose(-1, -2) @ frames, eye)
    proper = sign_frames(vecs, proper=True)
    torch.testing.assert_close(torch.linalg.det(proper), torch.ones(4, 2, dtype=torch.float64))
    assert bool((vals[:, :-1] <= vals[:, 1:]).all())


def test_stochastic_frames_in_training_exact_in_eval():
    net = CountingGNN(7, 3, hidden=8, layers=1)
    net.calls = []
    fa = FrameAveraging(net, stochastic=True, in_channels=1, velocity=True).train()
    pos = torch.randn(5, 3)
    args = (torch.randn(5, 1), pos, fully_connected_graph(5), None, torch.randn(5, 3))
    fa(*args)
    fa.eval()
    fa(*args)
    assert net.calls == [(5, 1), (40, 8)]
    assert equivariance(fa).passed  # the checker runs in eval mode


def test_degenerate_inputs_warn_once_and_stay_finite():
    fa = averaged(group="E3")
    collinear = torch.linspace(0, 1, 5)[:, None] * torch.tensor([[1.0, 2.0, 3.0]])
    cases = [
        collinear,  # two zero eigenvalues
        torch.ones(5, 3),  # coincident points
        torch.randn(1, 3),  # a single node
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for pos in cases:
            n = pos.shape[0]
            pos = pos.clone().requires_grad_()
            h = torch.randn(n, 1, requires_grad=True)
            out = fa(h, pos, fully_connected_graph(n), vel=torch.zeros(n, 3))
            out.square().sum().backward()
            assert bool(torch.isfinite(out).all())
            assert bool(torch.isfinite(pos.grad).all()) and bool(torch.isfinite(h.grad).all())
    near_equal = [w for w in caught if "near-equal" in str(w.message)]
    assert len(near_equal) == 1


def test_well_separated_inputs_do_not_warn():
    fa = averaged()
    pos = torch.randn(6, 3) * torch.tensor([1.0, 2.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fa(torch.randn(6, 1), pos, fully_connected_graph(6), vel=torch.zeros(6, 3))


def test_empty_graph():
    for readout, output, out in READOUTS:
        fa = averaged(readout=readout, output=output, out=out)
        none = torch.zeros(2, 0, dtype=torch.long)
        y = fa(
            torch.zeros(0, 1),
            torch.zeros(0, 3),
            none,
            vel=torch.zeros(0, 3),
            batch=torch.zeros(0, dtype=torch.long),
        )
        assert y.shape[0] == 0


def test_broadened_eigh_gradient_is_exact_for_separated_eigenvalues():
    a = torch.randn(4, 3, 3, dtype=torch.float64)
    a = (a + a.transpose(-1, -2)).requires_grad_()

    def loss(eigh):
        vals, vecs = eigh(a)
        # sign-invariant function of the eigenvectors
        return (vals**2).sum() + ((vecs**2) * torch.arange(9.0).view(3, 3)).sum()

    mine = torch.autograd.grad(loss(_BroadenedEigh.apply), a)[0]
    torch_own = torch.autograd.grad(loss(torch.linalg.eigh), a)[0]
    sym = 0.5 * (torch_own + torch_own.transpose(-1, -2))
    torch.testing.assert_close(mine, sym, rtol=1e-8, atol=1e-10)


def test_a_backbone_of_the_wrong_width_is_named():
    fa = FrameAveraging(GNN(7, 2, hidden=8, layers=1), in_channels=1, velocity=True)
    with pytest.raises(ValueError, match=r"backbone must return \(40, 3\).*got \(40, 2\)"):
        fa(torch.zeros(5, 1), torch.randn(5, 3), fully_connected_graph(5), None, torch.zeros(5, 3))


def test_option_errors():
    with pytest.raises(ValueError, match="space must be one of"):
        FrameAveraging(GNN(4, 3), "E2")
    with pytest.raises(ValueError, match="velocity=False"):
        FrameAveraging(GNN(4, 3))(
            torch.zeros(2, 1), torch.zeros(2, 3), fully_connected_graph(2), None, torch.zeros(2, 3)
        )
