"""The task registry and the tasks' data wiring."""

from __future__ import annotations

import numpy as np
import pytest

from erlangen.data import DataFileError
from erlangen.data.files import AMAT_TEST, AMAT_TRAIN
from erlangen.tasks import TASKS, Recipe, get_task
from erlangen.tasks.digits import ROTATED_MNIST_ENV


def test_registry_and_recipes():
    assert {"rotated-digits", "digits", "rotated-mnist", "digits-8x8"} <= set(TASKS)
    task = get_task("rotated-digits")
    assert "p4cnn" in task.models and task.num_classes == 10 and task.in_channels == 1
    assert [p.name for p in task.probes] == ["rot90", "rot45"]
    assert task.recipe.replace(lr=None, epochs=3) == Recipe(**{**task.recipe.__dict__, "epochs": 3})
    with pytest.raises(KeyError, match="unknown task"):
        get_task("mnist-rot")
    with pytest.raises(ValueError, match="schedule must be one of"):
        Recipe(schedule="step")


def test_upright_and_rotated_digits_share_their_split():
    rotated, upright = get_task("rotated-digits").load(0), get_task("digits").load(0)
    assert rotated.x_train.shape == upright.x_train.shape == (3000, 1, 28, 28)
    assert np.array_equal(rotated.y_test.numpy(), upright.y_test.numpy())


def test_official_rotated_mnist_needs_its_files(tmp_path, monkeypatch):
    task = get_task("rotated-mnist")
    monkeypatch.delenv(ROTATED_MNIST_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=ROTATED_MNIST_ENV):
        task.load(0)
    monkeypatch.setenv(ROTATED_MNIST_ENV, str(tmp_path))
    with pytest.raises(DataFileError, match=AMAT_TRAIN):
        task.load(0)
    for name, rows in ((AMAT_TRAIN, 12), (AMAT_TEST, 3)):
        (tmp_path / name).write_text("".join("0.5 " * 784 + "7\n" for _ in range(rows)))
    with pytest.raises(DataFileError, match="12 rows, expected 12000"):
        task.load(0)
