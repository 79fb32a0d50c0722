"""Shared test settings: float64 math, a fixed hypothesis profile, temp caches."""

import os

import pytest
from hypothesis import HealthCheck, settings

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
