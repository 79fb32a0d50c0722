"""Rotated digits: the embedded MNIST sample, the split, the nested subsets, the rotation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from erlangen.data import (
    digit_arrays,
    load_mnist_5k,
    mask_loss,
    nested_stratified_order,
    rotated_digits,
    sklearn_digits,
)
from erlangen.data import digits as digits_module
from erlangen.fields import disk_mask, rotate_image, rotate_images


@pytest.fixture(scope="module")
def rotated():
    return digit_arrays(rotate=True)


@pytest.fixture(scope="module")
def upright():
    return digit_arrays(rotate=False)


def test_embedded_mnist_sample():
    images, labels = load_mnist_5k()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10
    assert images.max() == 255 and images.min() == 0
    # MNIST digits sit in the middle: the border rows are (nearly) empty
    assert images[:, :2].mean() < 1.0 and images[:, 10:18, 10:18].mean() > 50


def test_a_missing_mnist_package_is_an_import_error_naming_it(monkeypatch):
    monkeypatch.setattr(digits_module, "MNIST_5K_RESOURCE", ("erlangen_no_such_package", "x.gz"))
    with pytest.raises(digits_module.DigitsUnavailableError, match=r"erlangen\[train\]") as info:
        load_mnist_5k()
    assert isinstance(info.value, ImportError) and info.value.name == "erlangen_no_such_package"


def test_split_is_stratified_and_disjoint(rotated):
    assert rotated["x_train"].shape == (3000, 28, 28)
    assert rotated["x_test"].shape == (2000, 28, 28)
    assert np.bincount(rotated["y_test"]).tolist() == [200] * 10
    sources = np.concatenate([rotated["source_train"], rotated["source_test"]])
    assert sorted(sources.tolist()) == list(range(5000))  # every digit used once
    _, labels = load_mnist_5k()
    assert np.array_equal(labels[rotated["source_train"]], rotated["y_train"])


@pytest.mark.parametrize("n", [10, 100, 300, 1000, 3000])
def test_training_prefixes_are_class_balanced(rotated, n):
    counts = np.bincount(rotated["y_train"][:n], minlength=10)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n


def test_subsets_are_nested(rotated):
    data = rotated_digits()
    x300, _ = data.train_subset(300)
    x1000, _ = data.train_subset(1000)
    assert torch.equal(x300, x1000[:300])
    with pytest.raises(ValueError, match=r"\[1, 3000\]"):
        data.train_subset(3001)


def test_values_and_disk_mask(rotated):
    x = rotated["x_train"]
    assert x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0
    outside = 1.0 - disk_mask(28, 28).numpy()
    assert np.abs(x * outside).max() == 0.0
    assert mask_loss(load_mnist_5k()[0]) < 0.01  # the mask removes under 1% of the ink


def test_every_digit_is_its_upright_twin_rotated_by_its_angle(rotated, upright):
    assert np.array_equal(rotated["source_train"], upright["source_train"])
    assert np.all(upright["angle_train"] == 0.0)
    angles = rotated["angle_train"]
    assert 0.0 <= angles.min() and angles.max() < 2 * math.pi
    # roughly uniform: every quarter of the circle holds about a quarter of the digits
    quarters = np.bincount((angles // (math.pi / 2)).astype(int), minlength=4)
    assert quarters.min() > 600
    mask = disk_mask(28, 28, dtype=torch.float64)
    for i in (0, 1, 7, 123):
        source = torch.from_numpy(upright["x_train"][i]).double()
        expected = rotate_image(source, float(angles[i]), mode="bilinear") * mask
        got = torch.from_numpy(rotated["x_train"][i]).double()
        assert torch.allclose(got, expected, atol=1e-6)
        assert not torch.allclose(got, source, atol=0.1)


def test_generation_is_deterministic_and_cached(rotated, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the cached arrays should have been used")

    monkeypatch.setattr(digits_module, "_build_digits", refuse)
    again = digit_arrays(rotate=True)
    for key in rotated:
        assert np.array_equal(again[key], rotated[key])


def test_another_seed_gives_another_split():
    a = digits_module._build_digits(seed=0, rotate=False, test_per_class=200)
    b = digits_module._build_digits(seed=1, rotate=False, test_per_class=200)
    assert not np.array_equal(a["source_test"], b["source_test"])


@pytest.mark.parametrize("degrees", [0, 30, 90, 180, 270, 333])
def test_rotate_images_matches_rotate_image(degrees):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(3, 2, 11, 11, generator=gen, dtype=torch.float64)
    angle = math.radians(degrees)
    got = rotate_images(x, torch.full((3,), angle, dtype=torch.float64))
    expected = rotate_image(x, angle, interpolate=True)
    assert torch.allclose(got, expected, atol=1e-12)
    if degrees % 90 == 0:  # quarter turns land on pixel centres: a permutation
        assert torch.allclose(got, torch.rot90(x, degrees // 90, (-2, -1)), atol=1e-12)


def test_rotate_images_uses_each_images_own_angle():
    x = torch.rand(2, 1, 9, 9, dtype=torch.float64)
    got = rotate_images(x, torch.tensor([math.pi / 2, math.pi], dtype=torch.float64))
    assert torch.allclose(got[0], torch.rot90(x[0], 1, (-2, -1)), atol=1e-12)
    assert torch.allclose(got[1], torch.rot90(x[1], 2, (-2, -1)), atol=1e-12)


def test_rotate_images_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(batch, channels, H, W\)"):
        rotate_images(torch.zeros(1, 9, 9), torch.zeros(1))
    with pytest.raises(ValueError, match="one angle per image"):
        rotate_images(torch.zeros(2, 1, 9, 9), torch.zeros(3))


def test_nested_stratified_order_on_unbalanced_labels():
    labels = np.array([0] * 7 + [1] * 3 + [2] * 5)
    order = nested_stratified_order(labels, np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(15))
    for n in range(1, 10):  # while every class still has samples: counts differ by <= 1
        counts = np.bincount(labels[order[:n]], minlength=3)
        assert counts.max() - counts.min() <= 1


def test_sklearn_digits():
    data = sklearn_digits()
    assert data.x_train.shape[1:] == (1, 8, 8) and data.x_test.shape[1:] == (1, 8, 8)
    assert data.x_train.shape[0] + data.x_test.shape[0] == 1797
    assert 0.0 <= float(data.x_train.min()) and float(data.x_train.max()) <= 1.0
    counts = torch.bincount(data.y_train[:100], minlength=10)
    assert int(counts.max() - counts.min()) <= 1
