"""Shared settings of the grids tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """The checks run many tiny convolutions; on a shared 2-core machine OpenMP's thread
    hand-off costs far more than it gains (measured: 0.05 ms with one thread against 20-35 ms
    with two under load), so the grids tests run single-threaded and restore the setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
