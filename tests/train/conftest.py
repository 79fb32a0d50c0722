"""Shared fixtures of the training tests: a private data cache, the tiny test models and a
small n-body task."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import train_helpers  # noqa: E402

from erlangen import registry  # noqa: E402
from erlangen.tasks import TASKS  # noqa: E402


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
        ("test-receiving", train_helpers.receiving_cnn),
        ("test-nan", train_helpers.nan_cnn),
        ("test-aux", train_helpers.aux_cnn),
        ("test-nan-nbody", train_helpers.nan_nbody),
    ):
        entry = registry.Entry(name, "test", "tiny model for tests", factory)
        monkeypatch.setitem(registry.MODELS, name, entry)
    return train_helpers


HELPERS_FILE = str(HERE / "train_helpers.py")


@pytest.fixture
def nbody_task(monkeypatch):
    """The small n-body task, registered as ``test-nbody`` for the duration of a test."""
    task = train_helpers.tiny_nbody_task()
    monkeypatch.setitem(TASKS, task.name, task)
    return task


@pytest.fixture
def torchrun_world_of_one(monkeypatch):
    """The environment torchrun sets up, for a world of one process on a free local port;
    restores torch's thread count afterwards (Lightning's DDP set-up changes it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "TORCHELASTIC_RUN_ID": "test",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "WORLD_SIZE": "1",
        "RANK": "0",
        "LOCAL_RANK": "0",
        "GROUP_RANK": "0",
        "LOCAL_WORLD_SIZE": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    threads = torch.get_num_threads()
    yield env
    torch.set_num_threads(threads)
