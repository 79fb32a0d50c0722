"""e3nn builds its tables in torch's default dtype: comparisons with it run in float64."""

import pytest
import torch


@pytest.fixture
def float64_default():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)
