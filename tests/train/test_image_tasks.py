"""The Fashion-MNIST, CIFAR-10 and quarter-digits tasks: registered, loading through their
environment variables (small files the tests write), the CIFAR augmentation, and a few
training steps of an All-CNN-C on Fashion-MNIST's format."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from erlangen.data import write_idx
from erlangen.data.cifar import CIFAR10_ENV
from erlangen.data.fashion import FASHION_MNIST_ENV
from erlangen.tasks import TASKS, get_task
from erlangen.tasks.cifar import random_crop_flip


@pytest.fixture
def fashion_folder(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for split, n in (("train", 30), ("t10k", 20)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    monkeypatch.setenv(FASHION_MNIST_ENV, str(tmp_path))
    return tmp_path


def test_the_tasks_are_registered():
    for name in ("fashion", "rotated-fashion", "cifar10", "quarter-digits"):
        assert name in TASKS
    assert get_task("cifar10").in_channels == 3 and get_task("cifar10").recipe.augment
    assert get_task("fashion").model_options("lg-allcnnc") == {"input_size": 28}


@pytest.mark.parametrize("name", ["fashion", "rotated-fashion"])
def test_fashion_tasks_load_from_the_environment_folder(fashion_folder, name):
    data = get_task(name).load(0)
    assert data.x_train.shape == (30, 1, 28, 28) and data.x_test.shape == (20, 1, 28, 28)


def test_fashion_task_trains_an_allcnnc(fashion_folder, tmp_path):
    from erlangen.train import TrainConfig, fit

    config = TrainConfig(
        task="fashion",
        model="lg-allcnnc",
        model_options={"widths": [2, 3], "trace_every": 0},
        steps=2,
        batch_size=8,
    )
    result = fit(config, run_dir=tmp_path / "run", progress=False)
    assert result.metrics["status"] == "finished" and result.metrics["test_samples"] == 20
    assert 0.0 <= result.metrics["rot90_rel_error"]
    assert not (tmp_path / "run" / "diagnostics.csv").exists()  # trace_every=0


def test_random_crop_flip():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    out = random_crop_flip(x, 2, torch.Generator().manual_seed(0))
    again = random_crop_flip(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.equal(out, again)
    # every output is a shifted (and maybe mirrored) window of the zero-padded input
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for b in range(2):
        windows = [
            w
            for dy in range(5)
            for dx in range(5)
            for w in (padded[b, :, dy : dy + 8, dx : dx + 8],)
            for w in (w, w.flip(-1))
        ]
        assert any(torch.equal(out[b], w) for w in windows)
    flips = [
        random_crop_flip(x[:1], 0, torch.Generator().manual_seed(s)).equal(x[:1].flip(-1))
        for s in range(20)
    ]
    assert 0 < sum(flips) < 20  # with no padding: the image or its mirror, both happen


def test_cifar_task_loads_and_augments(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
            b"labels": [0, 1, 2, 3],
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    monkeypatch.setenv(CIFAR10_ENV, str(folder))
    task = get_task("cifar10")
    data = task.load(0)
    assert data.x_train.shape == (20, 3, 32, 32)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    batch = (data.x_train[:4], data.y_train[:4])
    gen = torch.Generator().manual_seed(1)
    loss, extra = task.loss(model, batch, augment=True, generator=gen)
    plain, _ = task.loss(model, batch, augment=False)
    assert loss.shape == () and "acc" in extra and not torch.equal(loss, plain)
