"""LGCNN models: registry, the shape of their p4 counterparts, conditional invariance,
auxiliary losses, a short training run on scikit-learn's digits, and knowledge transfer."""

import pytest
import torch
import torch.nn.functional as F

from erlangen import registry
from erlangen.check import assert_equivariant, assert_not_equivariant
from erlangen.grid import (
    LGCNN,
    LearnedGroupConv2d,
    LearnedGroupToGroupConv2d,
    group_actions,
    learned_layers,
    load_group_actions,
)
from erlangen.grid.learned import GroupActionTransfer, rot90_action

registry.load_all()

SMALL_ALLCNNC = dict(widths=(4, 6), input_size=16)


def build(name, **options):
    torch.manual_seed(0)
    return registry.get_model(name).factory(**options)


def test_models_are_registered_in_the_grid_family():
    for name in ("lgcnn", "lg-allcnnc"):
        entry = registry.get_model(name)
        assert entry.family == "grid" and "learned" in entry.description


@pytest.mark.parametrize(
    "name, options, size",
    [("lgcnn", {}, 28), ("lg-allcnnc", SMALL_ALLCNNC, 16), ("lgcnn", dict(order=3), 30)],
)
def test_forward_backward_and_auxiliary_loss(name, options, size):
    model = build(name, num_classes=7, cyclic_weight=0.1, init="random", **options)
    x = torch.randn(3, model.in_channels, size, size)
    y = model(x)
    assert y.shape == (3, 7)
    aux = model.auxiliary_loss()
    assert aux.dim() == 0 and aux.item() > 0
    (y.square().mean() + aux).backward()
    for _, layer in learned_layers(model):
        assert layer.action_matrix.grad is not None
    with pytest.raises(ValueError, match=r"expects images \(batch, "):
        model(torch.randn(3, model.in_channels + 1, size, size))


@pytest.mark.parametrize("name, p4name", [("lgcnn", "p4cnn"), ("lg-allcnnc", "p4-allcnnc")])
def test_same_shape_as_the_p4_model(name, p4name):
    """Layer for layer the same base filters, norms and pools as the p4 model; with the
    quarter-turn action and the p4 model's weights, the same function."""
    learned = build(name, init="rot90").double()
    p4 = build(p4name).double()
    missing, unexpected = learned.load_state_dict(p4.state_dict(), strict=False)
    assert not unexpected
    assert all(k.rsplit(".", 1)[-1] in ("action_matrix", "action_inverse") for k in missing)
    size = p4.in_type.size
    x = torch.randn(2, p4.in_channels, size, size, dtype=torch.float64)
    learned.eval(), p4.eval()
    assert torch.allclose(learned(x), p4(x), atol=1e-12, rtol=0)


@pytest.mark.parametrize("name, options", [("lgcnn", {}), ("lg-allcnnc", SMALL_ALLCNNC)])
def test_the_default_recipe_starts_at_the_quarter_turn_and_learns_it_slowly(name, options):
    """The defaults chosen by the ablation (docs/learned_groups.md): a fresh model is its p4
    counterpart, exactly invariant, and its actions learn at a tenth of the rate."""
    model = build(name, **options)
    assert model.is_rotation() and all(la.init == "rotation" for _, la in learned_layers(model))
    assert_equivariant(model, n=0, elements=model.in_type.group.elements())
    assert [g["lr"] for g in model.parameter_groups(1e-2)] == [1e-2, pytest.approx(1e-3)]
    # other orders start at their own rotation (interpolated), as far as it can be held
    assert build(name, order=2, **options).is_rotation()
    with pytest.raises(ValueError, match=r"toeplitz.*cannot represent init/action 'rotation'"):
        build(name, parametrisation="toeplitz", **options)


@pytest.mark.parametrize("name, options", [("lgcnn", {}), ("lg-allcnnc", SMALL_ALLCNNC)])
def test_invariant_with_the_quarter_turn_and_not_otherwise(name, options):
    model = build(name, init="rot90", **options)
    assert model.is_rotation() and model.is_group_action()
    elements = model.in_type.group.elements()
    report = assert_equivariant(model, n=0, elements=elements)
    assert report.max_rel < 1e-12, str(report)
    broken = build(name, init="random", **options)
    assert not broken.is_rotation()
    report = assert_not_equivariant(broken, n=0, elements=elements)
    assert report.max_rel > 1e-4, str(report)


def _digits(n: int, size: int):
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.images[:n], dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x, torch.tensor(data.target[:n])


@pytest.mark.parametrize(
    "name, options, size",
    [("lgcnn", dict(channels=6), 28), ("lg-allcnnc", dict(SMALL_ALLCNNC, dropout=(0, 0)), 16)],
)
def test_a_few_adam_steps_reduce_the_loss_on_digits(name, options, size):
    x, y = _digits(64, size)
    model = build(name, in_channels=1, **options)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    before = group_actions(model)
    losses = []
    for _ in range(8):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        (loss + model.auxiliary_loss()).backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-3:]) / 3 < 0.85 * losses[0], losses
    after = group_actions(model)
    assert all(not torch.equal(before[k], after[k]) for k in before)  # A is learned


# ----------------------------------------------------------------------------- transfer
def test_group_actions_and_transfer_from_a_model_freeze_the_target():
    source = build("lgcnn", init="random")
    actions = group_actions(source)
    assert list(actions) == [name for name, _ in learned_layers(source)]
    assert actions["features.0"].shape == (1, 9, 9) and actions["top"].shape == (1, 16, 16)

    target = build("lgcnn", init="identity", location="per_out")
    loaded = load_group_actions(target, source)  # shared -> per_out: broadcast
    assert loaded == list(actions)
    for name, layer in learned_layers(target):
        assert torch.allclose(layer.action(), actions[name].expand_as(layer.action()))
        assert layer.action_frozen and layer.weight.requires_grad

    # training the new task leaves the transferred actions alone
    opt = torch.optim.Adam(target.parameters(), lr=1e-2)
    x, y = _digits(8, 28)
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(target(x), y).backward()
        opt.step()
    for name, A in group_actions(target).items():
        assert torch.allclose(A, actions[name].expand_as(A))


@pytest.mark.parametrize("parametrisation", ["free", "orthogonal", "multiscale"])
def test_transfer_from_a_checkpoint_state_dict(parametrisation):
    source = build("lgcnn", init="rot90", parametrisation=parametrisation, init_noise=0.01)
    state = {k: v.clone() for k, v in source.state_dict().items()}
    target = build("lgcnn", init="random", parametrisation=parametrisation)
    load_group_actions(target, state, freeze=False)
    for name, A in group_actions(target).items():
        assert torch.allclose(A, group_actions(source)[name])
    # a Lightning checkpoint keeps the network under a prefix
    target = build("lgcnn", init="random", parametrisation=parametrisation)
    lightning = {f"model.{k}": v for k, v in state.items()}
    load_group_actions(target, lightning, freeze=False, prefix="model.")
    for name, A in group_actions(target).items():
        assert torch.allclose(A, group_actions(source)[name])
    assert not any(layer.action_frozen for _, layer in learned_layers(target))


def test_transfer_errors_are_clear():
    source = build("lgcnn", parametrisation="free")
    target = build("lgcnn", parametrisation="orthogonal")
    with pytest.raises(
        KeyError, match=r"holds \['action_inverse', 'action_matrix'\].*needs \['skew', 'base'\]"
    ):
        load_group_actions(target, source.state_dict())
    # as matrices the transfer works across parametrisations (when A fits the target)
    rot = {name: rot90_action(layer.kernel_size) for name, layer in learned_layers(target)}
    load_group_actions(target, rot)
    assert target.is_rotation()
    with pytest.raises(KeyError, match=r"no action for learned layer 'features\.3'"):
        load_group_actions(target, {"features.0": rot90_action(3)})
    assert load_group_actions(target, {"features.0": rot90_action(3)}, strict=False) == [
        "features.0"
    ]
    with pytest.raises(ValueError, match=r"expects actions of shape \(9, 9\)"):
        load_group_actions(target, {"features.0": rot90_action(5)}, strict=False)
    with pytest.raises(ValueError, match="no learned group convolutions"):
        load_group_actions(torch.nn.Linear(2, 2), rot)


@pytest.mark.parametrize(
    "name, options",
    [("lgcnn", {}), ("lg-allcnnc", SMALL_ALLCNNC)],
)
def test_transfer_from_copies_freezes_and_names_the_layers(name, options):
    source = build(name, init="random", **options)
    target = build(name, init="identity", parametrisation="orthogonal", **options)
    names = target.transfer_from(source)
    assert names == [n for n, _ in learned_layers(target)] and len(names) > 1
    actions = group_actions(source)
    for n, A in group_actions(target).items():  # random free actions are orthogonal: they fit
        assert torch.allclose(A, actions[n], atol=1e-5)
    assert all(layer.action_frozen for _, layer in learned_layers(target))
    assert all(layer.weight.requires_grad for _, layer in learned_layers(target))
    assert not any(layer.action_frozen for _, layer in learned_layers(source))


def test_transfer_from_needs_learned_layers_on_both_sides():
    class NoLearnedLayers(GroupActionTransfer, torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 2)

    with pytest.raises(ValueError, match=r"needs a model with learned-group layers"):
        NoLearnedLayers().transfer_from(build("lgcnn"))
    target = build("lgcnn", init="identity")
    with pytest.raises(ValueError, match=r"source model \(GCNN\) holds no learned-group layers"):
        target.transfer_from(build("p4cnn"))
    assert target.is_group_action() and not target.is_rotation()  # untouched: still identity
    # a source of another architecture: the layers do not match by name
    with pytest.raises(KeyError, match="no action for learned layer"):
        target.transfer_from(build("lg-allcnnc", **SMALL_ALLCNNC))


def test_layer_options_reach_every_layer():
    model = LGCNN(
        order=6, location="per_in", parametrisation="toeplitz", bandwidth=2, init="identity"
    )
    layers = [layer for _, layer in learned_layers(model)]
    assert len(layers) == 7
    assert isinstance(layers[0], LearnedGroupConv2d)
    assert all(isinstance(la, LearnedGroupToGroupConv2d) for la in layers[1:])
    assert all(la.order == 6 and la.location == "per_in" and la.bandwidth == 2 for la in layers)


@pytest.mark.parametrize("name, options", [("lgcnn", {}), ("lg-allcnnc", SMALL_ALLCNNC)])
def test_transfer_from_receives_and_freezes_the_source_actions(name, options):
    """The trainer's transfer protocol: ``model.transfer_from(source) -> names``."""
    source = build(name, init="random", **options)
    target = build(name, init="identity", **options)
    received = target.transfer_from(source)
    assert received == [n for n, _ in learned_layers(target)] and received
    for layer_name, A in group_actions(target).items():
        assert torch.allclose(A, group_actions(source)[layer_name])
    assert all(layer.action_frozen for _, layer in learned_layers(target))
    with pytest.raises(ValueError, match=r"source model \(GCNN\) holds no learned-group layers"):
        build(name, **options).transfer_from(build("p4cnn"))
