"""Shared fixtures of the training tests: a private data cache, the tiny test models and a
small n-body task."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import train_helpers  # noqa: E402

from erlangen import registry  # noqa: E402
from erlangen.tasks import TASKS  # noqa: E402
from erlangen.tasks.nbody import NBODY_GRAVITY  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Generated data go to a temporary cache, shared by the session."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ERLANGEN_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture
def tiny_models(monkeypatch):
    """Register the tiny models under test-only names for the duration of a test."""
    for name, factory in (
        ("test-tiny", train_helpers.tiny_cnn),
        ("test-invariant", train_helpers.invariant_cnn),
        ("test-nan", train_helpers.nan_cnn),
        ("test-aux", train_helpers.aux_cnn),
        ("test-nan-nbody", train_helpers.nan_nbody),
    ):
        entry = registry.Entry(name, "test", "tiny model for tests", factory)
        monkeypatch.setitem(registry.MODELS, name, entry)
    return train_helpers


HELPERS_FILE = str(HERE / "train_helpers.py")


#: models of a few hundred parameters, so the n-body tests take seconds
TINY_NBODY_OPTIONS = {
    "gatr-nbody": {"hidden_mv": 2, "hidden_s": 4, "blocks": 1, "heads": 1},
    "transformer-nbody": {"hidden": 8, "blocks": 1, "heads": 1},
    "mlp-nbody": {"hidden": 16, "layers": 2},
}


def tiny_nbody_task(name: str = "test-nbody"):
    """``nbody-gravity`` on 200 training and 48 test systems per set, with tiny models and a
    recipe of 6 steps of batch 16."""
    return dataclasses.replace(
        NBODY_GRAVITY,
        name=name,
        train_pool=200,
        test_samples=48,
        equivariance_samples=8,
        equivariance_elements=4,
        default_options=TINY_NBODY_OPTIONS,
        recipe=dataclasses.replace(NBODY_GRAVITY.recipe, steps=6, batch_size=16),
        sweep_sizes=(20, 40),
        sweep_steps=3,
    )


@pytest.fixture
def nbody_task(monkeypatch):
    """The small n-body task, registered as ``test-nbody`` for the duration of a test."""
    task = tiny_nbody_task()
    monkeypatch.setitem(TASKS, task.name, task)
    return task
