"""Shared test settings: float64 math, a fixed hypothesis profile, temp caches."""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

from erlangen.testing import both_dtypes  # noqa: F401  (a fixture for every test module)

settings.register_profile(
    "erlangen",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "erlangen"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Generated datasets go to a per-session temp folder unless ERLANGEN_CACHE is set."""
    if "ERLANGEN_CACHE" not in os.environ:
        monkeypatch.setenv("ERLANGEN_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(autouse=True)
def _one_thread():
    """The checks run many tiny operations; on a shared 2-core machine OpenMP's thread hand-off
    costs far more than it gains (measured: a small float64 conv2d took 0.05 ms with one thread
    and 20-35 ms with two under load), so tests run single-threaded and restore the setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
