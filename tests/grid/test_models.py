"""Models: registry, shapes, exact invariance on their natural sizes, and the size rules."""

import warnings

import pytest
import torch

from erlangen import registry
from erlangen.check import assert_equivariant, assert_not_equivariant
from erlangen.grid import AllCNNC, GridSizeWarning, export
from erlangen.groups import Cyclic

registry.load_all()

NAMES = ["z2cnn", "p4cnn", "p4mcnn", "allcnnc", "p4-allcnnc", "p4m-allcnnc"]
EQUIVARIANT = ["p4cnn", "p4mcnn", "p4-allcnnc", "p4m-allcnnc"]
PLAIN = ["z2cnn", "allcnnc"]


def build(name, **options):
    torch.manual_seed(0)
    return registry.get_model(name).factory(**options)


def all_elements(model):
    """Every element of the model's (finite) group: a complete invariance check."""
    return model.in_type.group.elements()


def test_models_are_registered_in_the_grid_family():
    for name in NAMES:
        entry = registry.get_model(name)
        assert entry.family == "grid" and entry.description


@pytest.mark.parametrize("name", NAMES)
def test_forward_maps_images_to_logits(name):
    model = build(name, num_classes=7)
    size = model.in_type.size
    x = torch.randn(3, model.in_channels, size, size)
    y = model(x)
    assert y.shape == (3, 7) and y.dtype == torch.float32
    model.train()
    model(x).sum().backward()
    with pytest.raises(ValueError, match=r"expects images \(batch, "):
        model(torch.randn(3, model.in_channels + 1, size, size))


def test_natural_input_sizes_and_channels():
    assert build("p4cnn").in_type.size == 28 and build("p4cnn").in_channels == 1
    assert build("p4-allcnnc").in_type.size == 32 and build("p4-allcnnc").in_channels == 3


@pytest.mark.parametrize("name", EQUIVARIANT)
def test_equivariant_models_are_exactly_invariant(name):
    model = build(name)
    report = assert_equivariant(model, n=0, elements=all_elements(model))
    assert report.max_rel < 1e-12, str(report)


@pytest.mark.parametrize("name", PLAIN)
def test_plain_baselines_are_not_invariant(name):
    model = build(name)
    report = assert_not_equivariant(model, n=0, elements=all_elements(model))
    assert report.max_rel > 1e-4, str(report)


@pytest.mark.parametrize("name", ["p4cnn", "p4mcnn"])
def test_gcnn_is_invariant_in_training_mode_too(name):
    """Batch norm with statistics shared over the group axis keeps training-mode invariance."""
    model = build(name)
    assert_equivariant(model, n=0, elements=all_elements(model), eval_mode=False)


def test_p4cnn_exact_on_even_sizes_only():
    """The 2x2 pooling after the second layer needs an even map: H - 4 even."""
    for size in (30, 36):
        with warnings.catch_warnings():
            warnings.simplefilter("error", GridSizeWarning)
            assert_equivariant(
                build("p4cnn"), n=0, elements=Cyclic(4).elements(), sample={"size": size}
            )
    with pytest.warns(GridSizeWarning, match="GroupMaxPool2d: a 25x25 input"):
        assert_not_equivariant(build("p4cnn"), n=4, sample={"size": 29})


def test_allcnnc_downsampling_rule():
    """4x4/stride-2 layers keep the centre on sizes divisible by 4; the paper's 3x3/stride-2
    layers only on sizes 4k + 1."""
    small = dict(widths=(4, 6))
    model = AllCNNC(Cyclic(4), downsample_kernel=3, **small)
    with pytest.warns(GridSizeWarning) as record:
        assert_not_equivariant(model, n=4)
    messages = [str(w.message) for w in record]
    assert any("a 32x32 input with kernel 3, stride 2" in m for m in messages), messages
    assert_equivariant(AllCNNC(Cyclic(4), downsample_kernel=3, **small), n=4, sample={"size": 33})
    assert_equivariant(AllCNNC(Cyclic(4), **small), n=4, sample={"size": 28})


def test_parameter_matched_widths():
    counts = {name: sum(p.numel() for p in build(name).parameters()) for name in NAMES}
    assert abs(counts["p4cnn"] / counts["z2cnn"] - 1) < 0.2
    assert abs(counts["p4mcnn"] / counts["p4cnn"] - 1) < 0.1
    for name in ("p4-allcnnc", "p4m-allcnnc"):
        assert abs(counts[name] / counts["allcnnc"] - 1) < 0.02


@pytest.mark.parametrize("name", ["p4cnn", "p4m-allcnnc"])
def test_exported_model_matches_and_stays_invariant(name):
    options = {"widths": (8, 12)} if "allcnnc" in name else {}
    model = build(name, **options).double().eval()
    frozen = export(model)
    size = model.in_type.size
    x = torch.randn(2, model.in_channels, size, size, dtype=torch.float64)
    assert torch.allclose(frozen(x), model(x), atol=1e-12)
    assert_equivariant(frozen, n=0, elements=all_elements(model))
