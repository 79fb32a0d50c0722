"""The data tests generate into a private cache folder."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ERLANGEN_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield
