"""Learned group convolutions: the known actions, reproduction of the p4 layers with the
quarter-turn action, conditional equivariance (and its failure for other actions), gradients,
structure of each parametrisation, auxiliary losses and errors."""

import pytest
import torch
from torch import nn

from erlangen.check import assert_equivariant, assert_not_equivariant
from erlangen.fields import FieldTypeError
from erlangen.grid import (
    GroupConv2d,
    LearnedGroupConv2d,
    LearnedGroupToGroupConv2d,
    LiftingConv2d,
    auxiliary_loss,
)
from erlangen.grid.functional import tap_permutations
from erlangen.grid.learned import (
    ACTION_PARAMETRISATIONS,
    LOCATIONS,
    PARAMETRISATIONS,
    ActionParametrisation,
    flip_action,
    matrix_powers,
    nearest_toeplitz,
    pooling_action,
    pooling_operators,
    rot90_action,
    rotation_action,
    shift_action,
    toeplitz_matrix,
)
from erlangen.groups import Cyclic, Dihedral

P4 = Cyclic(4)
LAYERS = [(LearnedGroupConv2d, LiftingConv2d), (LearnedGroupToGroupConv2d, GroupConv2d)]
EXACT_PARAMETRISATIONS = ["free", "orthogonal", "multiscale"]  # can start at the quarter turn


def _ids(x):
    return getattr(x, "__name__", None) or str(x)


# ============================================================================= actions
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_rot90_action_turns_filters_as_torch_rot90(k):
    A = rot90_action(k)
    W = torch.randn(k, k, dtype=torch.float64)
    assert torch.equal((A @ W.flatten()).view(k, k), torch.rot90(W, 1, dims=(0, 1)))
    assert torch.equal(torch.linalg.matrix_power(A, 4), torch.eye(k * k, dtype=torch.float64))
    # ... and it is the tap permutation of the p4 layers' generator
    assert torch.equal(A, torch.eye(k * k, dtype=torch.float64)[tap_permutations(P4, k)[1]])


def test_rotation_action_is_exact_at_quarter_turns_and_interpolates_between():
    k = 5
    R = rot90_action(k)
    for j in range(4):
        assert torch.equal(rotation_action(k, 90 * j), torch.linalg.matrix_power(R, j))
    R45 = rotation_action(k, 45)
    # bilinear taps sum to at most 1 per output pixel and the centre stays put
    assert torch.all(R45 >= 0) and torch.all(R45.sum(1) <= 1 + 1e-12)
    assert R45[12, 12] == 1.0
    # two 45-degree interpolations are close to, but not, a quarter turn
    err = (R45 @ R45 - R).abs().max()
    assert 1e-3 < err < 1


@pytest.mark.parametrize("k", [2, 3, 4])
def test_flips_shifts_and_pooling(k):
    eye = torch.eye(k * k, dtype=torch.float64)
    W = torch.randn(k, k, dtype=torch.float64)
    for kind, ref in (
        ("ud", W.flip(0)),
        ("lr", W.flip(1)),
        ("transpose", W.T),
        ("antitranspose", W.flip(0).flip(1).T),
    ):
        M = flip_action(k, kind)
        assert torch.equal((M @ W.flatten()).view(k, k), ref), kind
        assert torch.equal(M @ M, eye)
    # the mirror (x, y) -> (x, -y) of the dihedral groups is "ud"
    F_index = 4  # Dihedral(4) element 4m + r with m = 1, r = 0
    assert torch.equal(flip_action(k, "ud"), eye[tap_permutations(Dihedral(4), k)[F_index]])
    S = shift_action(k, 0, 1)
    assert torch.equal((S @ W.flatten()).view(k, k), torch.roll(W, 1, dims=1))
    assert torch.equal(torch.linalg.matrix_power(S, k), eye)
    D, U = pooling_operators(k)
    assert torch.allclose(D @ U, torch.eye(D.shape[0], dtype=torch.float64), atol=1e-12)
    P = pooling_action(k)
    assert torch.allclose(P @ P, P, atol=1e-12) and torch.allclose(P, P.T, atol=1e-12)
    for M in (rot90_action(k), flip_action(k, "lr"), flip_action(k, "transpose")):
        assert torch.allclose(M @ P, P @ M, atol=1e-12)  # pooling commutes with the grid's D4


def test_toeplitz_and_powers():
    t = torch.randn(2, 5, dtype=torch.float64)
    A = toeplitz_matrix(t, 6)
    assert A.shape == (2, 6, 6)
    for p in range(6):
        for q in range(6):
            expected = t[:, p - q + 2] if abs(p - q) <= 2 else torch.zeros(2, dtype=A.dtype)
            assert torch.equal(A[:, p, q], expected)
    assert torch.allclose(nearest_toeplitz(A, 2), t)
    M = torch.randn(3, 4, 4, dtype=torch.float64)
    P = matrix_powers(M, 5)
    for j in range(5):
        assert torch.allclose(P[j], torch.linalg.matrix_power(M, j))


# ============================================================================= p4 layers
SETTINGS = [
    dict(),
    dict(padding=1, bias=False),
    dict(stride=2, padding=1),
    dict(dilation=2, padding=2, groups=2),
]


@pytest.mark.parametrize(
    "settings", SETTINGS, ids=lambda s: ",".join(f"{a}={b}" for a, b in s.items()) or "plain"
)
@pytest.mark.parametrize("location", LOCATIONS)
@pytest.mark.parametrize("parametrisation", EXACT_PARAMETRISATIONS)
@pytest.mark.parametrize("learned_cls, ref_cls", LAYERS, ids=_ids)
def test_quarter_turn_action_reproduces_the_p4_layer(
    learned_cls, ref_cls, parametrisation, location, settings
):
    torch.manual_seed(0)
    ref = ref_cls(4, 6, 3, P4, **settings).double()
    layer = learned_cls(
        4, 6, 3, 4, init="rot90", location=location, parametrisation=parametrisation, **settings
    ).double()
    with torch.no_grad():
        layer.weight.copy_(ref.weight)
        if ref.bias is not None:
            layer.bias.copy_(ref.bias)
    shape = (2, 4, 15, 15) if layer.lifting else (2, 4, 4, 15, 15)
    x = torch.randn(*shape, dtype=torch.float64)
    if parametrisation == "free":  # permutation matrices: bit for bit
        assert torch.equal(layer.expanded_weight(), ref.expanded_weight())
        assert torch.equal(layer(x), ref(x))
    else:  # exp(0) and the multiscale split are exact up to float64 rounding
        assert torch.allclose(layer.expanded_weight(), ref.expanded_weight(), atol=1e-14, rtol=0)
        assert torch.allclose(layer(x), ref(x), atol=1e-13, rtol=0)


@pytest.mark.parametrize("learned_cls, ref_cls", LAYERS, ids=_ids)
@pytest.mark.parametrize("order", [1, 2])
def test_half_turn_reproduces_c2_and_c1(learned_cls, ref_cls, order):
    """init='rotation' turns by 360 / n degrees: for n = 2 the half turn (exact)."""
    torch.manual_seed(0)
    ref = ref_cls(3, 2, 3, Cyclic(order)).double()
    layer = learned_cls(3, 2, 3, order, init="rotation").double()
    layer.load_state_dict(ref.state_dict(), strict=False)
    x = torch.randn(2, 3, *([order] if not layer.lifting else []), 9, 9, dtype=torch.float64)
    assert torch.equal(layer(x), ref(x))
    assert layer.is_rotation()


# ============================================================================= equivariance
@pytest.mark.parametrize("parametrisation", EXACT_PARAMETRISATIONS)
@pytest.mark.parametrize("cls", [LearnedGroupConv2d, LearnedGroupToGroupConv2d], ids=_ids)
def test_quarter_turn_action_is_exactly_p4_equivariant(cls, parametrisation):
    torch.manual_seed(0)
    layer = cls(3, 4, 3, 4, init="rot90", parametrisation=parametrisation, location="per_out")
    assert layer.is_rotation() and layer.is_group_action()
    report = assert_equivariant(layer, n=4)
    assert report.max_rel < 1e-13, str(report)


def test_network_of_learned_layers_is_a_g_cnn_with_the_quarter_turn():
    torch.manual_seed(0)
    net = nn.Sequential(
        LearnedGroupConv2d(2, 3, 3, 4, init="rot90", padding=1),
        nn.ReLU(),
        LearnedGroupToGroupConv2d(3, 3, 3, 4, init="rot90", stride=2, padding=1),
        nn.ReLU(),
        LearnedGroupToGroupConv2d(3, 2, 5, 4, init="rot90", location="per_in"),
    )
    net.in_type, net.out_type = net[0].in_type, net[-1].out_type
    assert_equivariant(net, n=4)


class UnshiftedOrientations(LearnedGroupToGroupConv2d):
    """Transforms the filters by A^j but never shifts the input orientation axis."""

    def _orientation_permutations(self):
        return torch.arange(self.order).repeat(self.order, 1)


@pytest.mark.parametrize(
    "build",
    [
        lambda: LearnedGroupConv2d(3, 4, 3, 4, init="random"),
        lambda: LearnedGroupToGroupConv2d(3, 4, 3, 4, init="random", location="per_out"),
        lambda: LearnedGroupConv2d(3, 4, 3, 4, init="identity", parametrisation="orthogonal"),
        lambda: LearnedGroupToGroupConv2d(3, 4, 3, 4, init="flip", parametrisation="multiscale"),
        lambda: LearnedGroupConv2d(3, 4, 3, 4, init="rot90", init_noise=1e-3),
    ],
    ids=["random", "random-per-out", "identity", "flip", "noisy-rot90"],
)
def test_other_actions_fail_the_check(build):
    torch.manual_seed(0)
    layer = build()
    assert not layer.is_rotation()
    report = assert_not_equivariant(layer, n=4)
    assert report.max_rel > 1e-5, str(report)


def test_the_orientation_shift_is_needed():
    """With the quarter turn but without the cyclic shift of the input orientations, a
    group-to-group layer is no G-CNN layer."""
    torch.manual_seed(0)
    layer = UnshiftedOrientations(3, 4, 3, 4, init="rot90")
    assert layer.is_rotation()
    report = assert_not_equivariant(layer, n=4)
    assert report.max_rel > 1e-3, str(report)


def test_interpolated_rotation_compounds_its_error():
    """For n = 8 the 45-degree bilinear action is no group action (A^8 != I): its powers
    blur the filter again and again, far beyond the checker's interpolation tolerance."""
    torch.manual_seed(0)
    layer = LearnedGroupConv2d(3, 3, 5, 8, init="rotation")
    assert layer.is_rotation() and not layer.is_group_action(1e-2)
    assert_not_equivariant(layer, n=4)


# ============================================================================= parameters
def _all_layers(parametrisations=PARAMETRISATIONS, **kwargs):
    for cls in (LearnedGroupConv2d, LearnedGroupToGroupConv2d):
        for p in parametrisations:
            for loc in LOCATIONS:
                yield cls(3, 4, 3, 4, parametrisation=p, location=loc, **kwargs)


def test_gradients_reach_the_action_and_its_inverse():
    torch.manual_seed(0)
    for layer in _all_layers(init="random", init_noise=0.05, cyclic_weight=1.0):
        x = torch.randn(2, 3, *([] if layer.lifting else [4]), 9, 9)
        (layer(x).square().mean() + layer.auxiliary_loss()).backward()
        for name in layer.action_state_names():
            param = getattr(layer, name)
            if isinstance(param, nn.Parameter):
                assert param.grad is not None and param.grad.abs().sum() > 0, (layer, name)
        assert layer.weight.grad.abs().sum() > 0


def _train_action(layer, steps=5, lr=0.2):
    opt = torch.optim.SGD(layer.parameters(), lr=lr)
    x = torch.randn(4, 3, *([] if layer.lifting else [4]), 9, 9)
    target = torch.randn_like(layer(x))
    start = layer.action().detach().clone()
    for _ in range(steps):
        opt.zero_grad()
        ((layer(x) - target).square().mean() + layer.auxiliary_loss()).backward()
        opt.step()
    A = layer.action().detach()
    assert (A - start).abs().max() > 1e-3, "the action did not move"
    return A


@pytest.mark.parametrize("location", LOCATIONS)
def test_parametrisations_keep_their_structure(location):
    torch.manual_seed(0)
    d = 9
    eye = torch.eye(d)
    layer = LearnedGroupConv2d(
        3, 4, 3, 4, parametrisation="orthogonal", init="flip", location=location
    )
    A = _train_action(layer)
    assert torch.allclose(A.mT @ A, eye.expand_as(A), atol=1e-5)
    assert torch.allclose(torch.linalg.det(A), -torch.ones(A.shape[0]), atol=1e-5)  # flip: det -1

    layer = LearnedGroupToGroupConv2d(
        3, 4, 3, 4, parametrisation="toeplitz", bandwidth=3, location=location
    )
    A = _train_action(layer)
    p = torch.arange(d)
    offset = p.view(-1, 1) - p.view(1, -1)
    assert torch.all(A[:, offset.abs() > 3] == 0)
    for o in range(-3, 4):
        diag = torch.diagonal(A, o, -2, -1)
        assert torch.allclose(diag, diag[:, :1].expand_as(diag))

    layer = LearnedGroupConv2d(3, 4, 3, 4, parametrisation="multiscale", location=location)
    A = _train_action(layer).double()
    P = pooling_action(3)
    assert torch.allclose((torch.eye(d, dtype=A.dtype) - P) @ A @ P, torch.zeros_like(A), atol=1e-5)


# the state_dict keys of each parametrisation are the checkpoint format: they must not change
STATE_KEYS = {
    "free": {"weight", "bias", "action_matrix", "action_inverse"},
    "orthogonal": {"weight", "bias", "skew", "base"},
    "toeplitz": {"weight", "bias", "diagonals", "action_inverse"},
    "multiscale": {"weight", "bias", "fine", "coarse", "action_inverse"},
}


@pytest.mark.parametrize("parametrisation", PARAMETRISATIONS)
def test_each_parametrisation_is_one_class_owning_its_tensors(parametrisation):
    cls = ACTION_PARAMETRISATIONS[parametrisation]
    assert issubclass(cls, ActionParametrisation) and cls.name == parametrisation
    layer = LearnedGroupToGroupConv2d(4, 6, 3, 4, parametrisation=parametrisation)
    form = layer.action_parametrisation
    assert type(form) is cls and layer.parametrisation == parametrisation
    assert set(layer.state_dict()) == STATE_KEYS[parametrisation]
    # what a transfer copies is exactly the layer's action state, and its parameters are learned
    assert set(layer.action_state_names()) == STATE_KEYS[parametrisation] - {"weight", "bias"}
    params = dict(layer.named_parameters())
    assert [id(p) for p in layer.action_parameters()] == [
        id(params[n]) for n in layer.action_state_names() if n in params
    ]
    assert (layer.action_inverse is not None) == cls.learns_inverse
    A = layer.action()
    assert A.shape == (1, 9, 9) and torch.equal(A, form.action(layer))


# ============================================================================= losses
def test_auxiliary_losses_are_zero_at_exact_actions_and_positive_otherwise():
    for init in ("rot90", "identity"):
        kinds = EXACT_PARAMETRISATIONS if init == "rot90" else PARAMETRISATIONS
        for layer in _all_layers(kinds, init=init, cyclic_weight=1.0):
            # multiscale composes float32 pooling operators: zero up to their rounding
            bound = 1e-6 if layer.parametrisation == "multiscale" else 0.0
            assert layer.auxiliary_loss().item() <= bound, (init, layer)
            assert layer.double().auxiliary_loss().item() < 1e-14, (init, layer)
    torch.manual_seed(0)
    for layer in _all_layers(init="random", cyclic_weight=1.0):
        assert layer.auxiliary_loss().item() > 1e-3, layer  # A^4 != I
    layer = LearnedGroupConv2d(2, 2, 3, 4, init="rot90", cyclic_weight=0.0)
    with torch.no_grad():
        layer.action_matrix.add_(0.01 * torch.randn_like(layer.action_matrix))
    loss = layer.auxiliary_loss()
    assert loss.item() > 0  # the invertibility term: A A~ != I
    expected = 1e-4 * torch.linalg.matrix_norm(
        layer.action_matrix @ layer.action_inverse - torch.eye(9)
    )
    assert torch.allclose(loss, expected.mean())
    layer.invertibility_weight = 0.0
    assert layer.auxiliary_loss().item() == 0.0


def test_model_auxiliary_loss_sums_the_layers():
    torch.manual_seed(0)
    net = nn.Sequential(
        LearnedGroupConv2d(1, 2, 3, 4, cyclic_weight=0.5),
        LearnedGroupToGroupConv2d(2, 2, 3, 4, cyclic_weight=0.1, location="per_in"),
    )
    total = auxiliary_loss(net)
    assert total.dim() == 0
    assert torch.allclose(total, net[0].auxiliary_loss() + net[1].auxiliary_loss())
    assert auxiliary_loss(nn.Linear(2, 2)).item() == 0.0


def test_group_action_diagnostics():
    assert LearnedGroupConv2d(1, 1, 3, 4, init="identity").is_group_action()
    assert not LearnedGroupConv2d(1, 1, 3, 4, init="identity").is_rotation()
    assert LearnedGroupConv2d(1, 1, 3, 2, init="flip").is_group_action()
    assert not LearnedGroupConv2d(1, 1, 3, 4, init="random").is_group_action()
    assert LearnedGroupConv2d(1, 1, 3, 4, init="rot90", location="per_out").is_rotation()


# ============================================================================= api
def test_shapes_export_state_dict_and_dtype():
    torch.manual_seed(0)
    lift = LearnedGroupConv2d(3, 5, 3, 6, stride=2, padding=1)
    y = lift(torch.randn(2, 3, 17, 17))
    assert y.shape == (2, 5, 6, 9, 9)
    conv = LearnedGroupToGroupConv2d(5, 2, 4, 6, parametrisation="orthogonal", init="rot90")
    z = conv(y)
    assert z.shape == (2, 2, 6, 6, 6)
    assert torch.allclose(conv.export()(y.flatten(1, 2)).unflatten(1, (2, 6)), z, atol=1e-5)
    # the orthogonal base is part of the state: a fresh layer restores the same function
    fresh = LearnedGroupToGroupConv2d(5, 2, 4, 6, parametrisation="orthogonal", init="identity")
    fresh.load_state_dict(conv.state_dict())
    assert torch.equal(fresh(y), z)
    multi = LearnedGroupConv2d(1, 2, 3, 4, parametrisation="multiscale", init="rot90").double()
    assert multi(torch.randn(1, 1, 7, 7, dtype=torch.float64)).dtype == torch.float64
    assert set(multi.state_dict()) == {"weight", "bias", "fine", "coarse", "action_inverse"}


def test_set_action_and_freezing():
    layer = LearnedGroupConv2d(2, 3, 3, 4, location="per_out")
    layer.set_action(rot90_action(3))  # one matrix is broadcast to every location
    assert layer.is_rotation()
    layer.freeze_action()
    assert layer.action_frozen and not layer.action_inverse.requires_grad
    assert layer.weight.requires_grad
    layer.freeze_action(False)
    assert not layer.action_frozen
    ortho = LearnedGroupConv2d(2, 3, 3, 4, parametrisation="orthogonal")
    ortho.set_action(flip_action(3, "lr"))
    assert torch.allclose(ortho.action()[0].double(), flip_action(3, "lr"))


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="order must be an int >= 1"):
        LearnedGroupConv2d(1, 2, 3, 0)
    with pytest.raises(ValueError, match="location must be one of"):
        LearnedGroupConv2d(1, 2, 3, 4, location="per_pixel")
    with pytest.raises(ValueError, match="parametrisation must be one of"):
        LearnedGroupConv2d(1, 2, 3, 4, parametrisation="lower")
    with pytest.raises(ValueError, match="init must be one of"):
        LearnedGroupConv2d(1, 2, 3, 4, init="rot45")
    with pytest.raises(ValueError, match="both axes"):
        LearnedGroupConv2d(1, 2, (3, 5), 4)
    with pytest.raises(ValueError, match=r"toeplitz.*cannot represent init/action 'rot90'"):
        LearnedGroupConv2d(1, 2, 3, 4, parametrisation="toeplitz", init="rot90")
    with pytest.raises(ValueError, match=r"bandwidth must be an int in \[0, 8\]"):
        LearnedGroupConv2d(1, 2, 3, 4, parametrisation="toeplitz", bandwidth=9)
    with pytest.raises(ValueError, match="coarse_size is an option of"):
        LearnedGroupConv2d(1, 2, 3, 4, coarse_size=2)
    with pytest.raises(ValueError, match="bandwidth is an option of parametrisation='toeplitz'"):
        LearnedGroupConv2d(1, 2, 3, 4, parametrisation="multiscale", bandwidth=2)
    with pytest.raises(ValueError, match=r"coarse_size must be an int in \[1, 3\]"):
        LearnedGroupConv2d(1, 2, 3, 4, parametrisation="multiscale", coarse_size=4)
    with pytest.raises(ValueError, match=">= 0"):
        LearnedGroupConv2d(1, 2, 3, 4, invertibility_weight=-1)
    layer = LearnedGroupToGroupConv2d(3, 2, 3, 4, location="per_in")
    with pytest.raises(FieldTypeError, match=r"\(batch, 3, 4, H, W\).*\(2, 3, 8, 9, 9\)"):
        layer(torch.randn(2, 3, 8, 9, 9))
    with pytest.raises(ValueError, match=r"\(9, 9\), \(1, 9, 9\) or \(3, 9, 9\).*\(2, 9, 9\)"):
        layer.set_action(torch.eye(9).expand(2, 9, 9))
    with pytest.raises(ValueError, match=r"orthogonal.*cannot represent"):
        LearnedGroupConv2d(1, 2, 3, 4, parametrisation="orthogonal").set_action(
            rotation_action(3, 30)
        )
    with pytest.raises(ValueError, match=r"multiscale.*coarse filters"):
        LearnedGroupConv2d(1, 2, 3, 4, parametrisation="multiscale").set_action(
            shift_action(3, 0, 1)
        )
    with pytest.raises(ValueError, match="flip kind"):
        flip_action(3, "diagonal")
