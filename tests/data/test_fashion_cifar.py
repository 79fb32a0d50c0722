"""Fashion-MNIST and CIFAR-10 loaders on small files the tests write in the real formats, the
quarter-turned digits, and (slow) the real Fashion-MNIST files when they are installed."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from erlangen.data import (
    DataFileError,
    FashionMNISTUnavailableError,
    cifar10,
    fashion_mnist,
    load_cifar10,
    load_fashion_mnist,
    quarter_turned_digits,
    read_cifar_batch,
    write_idx,
)
from erlangen.data.cifar import CIFAR10_ENV
from erlangen.data.fashion import FASHION_MNIST_ENV, FASHION_MNIST_SYSTEM_DIR, fashion_mnist_folder
from erlangen.fields import disk_mask


# ----------------------------------------------------------------------------- Fashion-MNIST
def _write_fashion(folder, n_train=40, n_test=20, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{split}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", labels)
        arrays[split] = (images, labels)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_reads_the_four_idx_files(tmp_path, gz):
    written = _write_fashion(tmp_path / "f", gz=gz)
    data = load_fashion_mnist(tmp_path / "f")
    for split, key in (("train", "train"), ("test", "t10k")):
        images, labels = data[split]
        assert images.dtype == np.uint8 and labels.dtype == np.int64
        np.testing.assert_array_equal(images, written[key][0])
        np.testing.assert_array_equal(labels, written[key][1])


def test_fashion_splits_are_nested_stratified_and_scaled(tmp_path):
    written = _write_fashion(tmp_path / "f")
    splits = fashion_mnist(seed=3, folder=tmp_path / "f")
    assert splits.x_train.shape == (40, 1, 28, 28) and splits.x_test.shape == (20, 1, 28, 28)
    assert splits.x_train.dtype == torch.float32 and float(splits.x_train.max()) <= 1.0
    # the first 10 training images hold one of every class
    assert sorted(splits.y_train[:10].tolist()) == list(range(10))
    # the test set keeps the file's order
    np.testing.assert_allclose(splits.x_test[:, 0].numpy(), written["t10k"][0] / 255.0, atol=1e-7)
    # every training image is one of the file's, with its label
    flat = {img.tobytes(): int(lab) for img, lab in zip(*written["train"])}
    for img, lab in zip(splits.x_train[:, 0].numpy(), splits.y_train.tolist()):
        assert flat[np.round(img * 255).astype(np.uint8).tobytes()] == lab


def test_rotated_fashion_is_masked_rotated_and_cached(tmp_path):
    _write_fashion(tmp_path / "f")
    upright = fashion_mnist(seed=0, folder=tmp_path / "f")
    rotated = fashion_mnist(seed=0, rotate=True, folder=tmp_path / "f")
    again = fashion_mnist(seed=0, rotate=True, folder=tmp_path / "f")
    assert rotated.x_train.shape == upright.x_train.shape
    assert torch.equal(rotated.x_train, again.x_train)  # from the cache, identical
    assert torch.equal(rotated.y_train, upright.y_train)  # same nested order
    outside = disk_mask(28, 28) == 0
    assert float(rotated.x_train[..., outside].abs().max()) == 0.0
    assert not torch.allclose(rotated.x_test, upright.x_test * disk_mask(28, 28), atol=0.05)
    other = fashion_mnist(seed=1, rotate=True, folder=tmp_path / "f")
    assert not torch.equal(other.x_test, rotated.x_test)  # the angles follow the seed


def test_fashion_missing_names_the_apt_command_and_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(FASHION_MNIST_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FashionMNISTUnavailableError) as info:
        fashion_mnist_folder()
    message = str(info.value)
    assert "apt-get install -y dataset-fashion-mnist" in message
    assert FASHION_MNIST_ENV in message and "nowhere" in message
    assert isinstance(info.value, FileNotFoundError)
    # the environment variable is where the loader looks
    _write_fashion(tmp_path / "nowhere")
    assert fashion_mnist_folder() == tmp_path / "nowhere"


def test_fashion_bad_labels_are_refused(tmp_path):
    _write_fashion(tmp_path / "f")
    write_idx(tmp_path / "f" / "t10k-labels-idx1-ubyte.gz", np.full(20, 11, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.9"):
        load_fashion_mnist(tmp_path / "f")


@pytest.mark.slow
@pytest.mark.skipif(
    not (FASHION_MNIST_SYSTEM_DIR / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="dataset-fashion-mnist is not installed (make data)",
)
def test_real_fashion_mnist_files():
    data = load_fashion_mnist(FASHION_MNIST_SYSTEM_DIR)
    for split, n in (("train", 60000), ("test", 10000)):
        images, labels = data[split]
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert np.bincount(labels).tolist() == [n // 10] * 10


# ----------------------------------------------------------------------------- CIFAR-10
def _write_batch(path, n, seed, protocol=2, bytes_keys=True, **override):
    rng = np.random.default_rng(seed)
    batch = {
        "batch_label": "testing batch",
        "labels": [int(v) for v in rng.integers(0, 10, n)],
        "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        "filenames": [f"img{i}.png" for i in range(n)],
    }
    batch.update(override)
    if bytes_keys:  # as Python 2 wrote the real files
        batch = {k.encode(): v for k, v in batch.items()}
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    return batch


def _write_cifar(folder, n=12):
    folder.mkdir(parents=True)
    for i in range(1, 6):
        _write_batch(folder / f"data_batch_{i}", n, seed=i)
    return _write_batch(folder / "test_batch", n, seed=0)


@pytest.mark.parametrize("protocol, bytes_keys", [(2, True), (4, False)])
def test_read_cifar_batch(tmp_path, protocol, bytes_keys):
    batch = _write_batch(tmp_path / "b", 7, seed=1, protocol=protocol, bytes_keys=bytes_keys)
    images, labels = read_cifar_batch(tmp_path / "b")
    data = batch[b"data" if bytes_keys else "data"]
    assert images.shape == (7, 3, 32, 32) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[3, 1], data[3, 1024:2048].reshape(32, 32))  # green
    assert labels.tolist() == batch[b"labels" if bytes_keys else "labels"]


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize(
    "payload, match",
    [
        (_Evil(), r"refusing to load (__builtin__|builtins)\.print"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1], "x": _Evil()}, "refusing"),
        ({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, "expected 3072"),
        ({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, "uint8"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, "one integer label per image"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 12]}, r"labels must be in 0\.\.9"),
        ({"data": np.zeros((2, 3072), np.uint8)}, "no 'labels'"),
        ([1, 2, 3], "holds a list"),
    ],
)
def test_read_cifar_batch_refuses(tmp_path, payload, match, capsys):
    path = tmp_path / "bad"
    path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(DataFileError, match=match):
        read_cifar_batch(path)
    assert "must never run" not in capsys.readouterr().out


def test_read_cifar_batch_not_a_pickle(tmp_path):
    (tmp_path / "b").write_bytes(b"definitely not a pickle")
    with pytest.raises(DataFileError, match="cannot read it as a CIFAR-10 python batch"):
        read_cifar_batch(tmp_path / "b")
    with pytest.raises(DataFileError, match="no such file"):
        read_cifar_batch(tmp_path / "missing")


def test_cifar10_folder_env_and_splits(tmp_path, monkeypatch):
    test_batch = _write_cifar(tmp_path / "cifar-10-batches-py")
    monkeypatch.setenv(CIFAR10_ENV, str(tmp_path))  # the folder above is accepted too
    data = load_cifar10()
    assert data["train"][0].shape == (60, 3, 32, 32) and data["test"][0].shape == (12, 3, 32, 32)
    splits = cifar10(seed=0)
    assert splits.x_train.shape == (60, 3, 32, 32) and splits.x_train.dtype == torch.float32
    mean = splits.x_train.mean(dim=(0, 2, 3))
    std = splits.x_train.std(dim=(0, 2, 3))
    assert torch.allclose(mean, torch.zeros(3), atol=1e-5)
    assert torch.allclose(std, torch.ones(3), atol=1e-2)
    assert splits.y_test.tolist() == test_batch[b"labels"]


def test_cifar10_missing(tmp_path, monkeypatch):
    monkeypatch.delenv(CIFAR10_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=f"never downloaded: set {CIFAR10_ENV}"):
        cifar10()
    (tmp_path / "c").mkdir()
    with pytest.raises(FileNotFoundError, match="missing data_batch_1"):
        cifar10(folder=tmp_path / "c")


# ----------------------------------------------------------------------------- quarter turns
def test_quarter_turned_digits_are_exact_quarter_turns_of_the_upright_ones():
    from erlangen.data import rotated_digits

    upright = rotated_digits(seed=0, rotate=False)
    turned = quarter_turned_digits(seed=0)
    assert torch.equal(turned.y_train, upright.y_train)
    turns = []
    for a, b in zip(turned.x_train[:200, 0], upright.x_train[:200, 0]):
        match = [k for k in range(4) if torch.equal(a, torch.rot90(b, k, dims=(-2, -1)))]
        assert match, "every image is an exact quarter turn of its upright digit"
        turns.append(match[0])
    assert sorted(set(turns)) == [0, 1, 2, 3]
