"""Test helpers for equivariant modules: the ones erlangen's own tests use, public for yours.

>>> from erlangen.groups import Cyclic, regular
>>> from erlangen.nn import EquivariantLinear
>>> from erlangen.testing import assert_honours_types
>>> reports = assert_honours_types(EquivariantLinear(regular(Cyclic(4)), regular(Cyclic(4))))
>>> sorted(str(d) for d in reports)
['torch.float32', 'torch.float64']

- :func:`assert_honours_types`: the module honours its declared ``in_type`` / ``out_type`` in
  float64 (tight) and float32 (float32 tolerances);
- :func:`assert_broken_fails`: a deliberately broken variant is caught by the checker;
- :func:`assert_compile_matches`: ``torch.compile`` gives the eager outputs;
- :func:`sample_inputs`: inputs drawn from a module's declared types;
- ``both_dtypes``: a pytest fixture over float64 and float32 (import it into a test module or
  a ``conftest.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .check import EquivarianceReport, assert_equivariant, assert_not_equivariant
from .nn import types_of

#: the dtypes every layer is tested in
DTYPES: tuple[torch.dtype, ...] = (torch.float64, torch.float32)


def assert_honours_types(
    module: nn.Module, dtypes: Sequence[torch.dtype] = DTYPES, **check: Any
) -> dict[torch.dtype, EquivarianceReport]:
    """Check ``module`` against its declared types in each dtype (default tolerances of each
    dtype, unless ``atol`` / ``rtol`` are given in ``check``).

    Parameters
    ----------
    module : nn.Module
        Declares ``in_type`` and ``out_type``.
    dtypes : sequence of torch.dtype
    **check
        Passed to :func:`erlangen.check.equivariance` (``n``, ``sample``, ``seed``, ...).

    Returns
    -------
    dict
        ``dtype -> report``; raises ``AssertionError`` with the failing report otherwise.
    """
    return {dtype: assert_equivariant(module, dtype=dtype, **check) for dtype in dtypes}


def assert_broken_fails(module: nn.Module, **check: Any) -> EquivarianceReport:
    """Assert that the checker catches ``module`` (a variant broken on purpose); a test of a
    layer is only as good as its power to fail."""
    return assert_not_equivariant(module, **check)


def sample_inputs(
    module: nn.Module,
    dtype: torch.dtype = torch.float32,
    seed: int = 0,
    sample: dict[str, Any] | None = None,
) -> tuple[Tensor, ...]:
    """Inputs drawn from ``module.in_type`` (sampling settings from ``sample``)."""
    generator = torch.Generator().manual_seed(seed)
    types = types_of(module.in_type)
    if sample:
        types = tuple(
            t.replace(**{k: v for k, v in sample.items() if k in t.sampling_settings()})
            for t in types
        )
    return tuple(t.sample(generator=generator, dtype=dtype) for t in types)


def assert_compile_matches(
    module: nn.Module,
    inputs: Sequence[Tensor] | None = None,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    **compile_options: Any,
) -> None:
    """Assert that ``torch.compile(module)`` returns the eager outputs (float32 tolerance).

    Parameters
    ----------
    module : nn.Module
        Put in eval mode for the comparison.
    inputs : sequence of Tensor, optional
        Drawn from the module's declared types (float32) when omitted.
    atol, rtol : float
        Passed to :func:`torch.testing.assert_close`.
    **compile_options
        Passed to :func:`torch.compile` (``backend``, ``mode``, ``dynamic``, ...).
    """
    module = module.eval()
    xs = tuple(inputs) if inputs is not None else sample_inputs(module)
    compiled = torch.compile(module, **compile_options)
    with torch.no_grad():
        eager = module(*xs)
        fast = compiled(*xs)
    eager_t = eager if isinstance(eager, tuple | list) else (eager,)
    fast_t = fast if isinstance(fast, tuple | list) else (fast,)
    assert len(eager_t) == len(fast_t), (
        f"compiled returned {len(fast_t)} outputs, eager {len(eager_t)}"
    )
    for i, (a, b) in enumerate(zip(eager_t, fast_t)):
        if a is None or b is None:
            assert a is None and b is None, f"output {i}: None in one of eager/compiled only"
            continue
        torch.testing.assert_close(
            b, a, atol=atol, rtol=rtol, msg=lambda m, i=i: f"output {i}: {m}"
        )


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is a test dependency
    pytest = None

if pytest is not None:

    @pytest.fixture(params=DTYPES, ids=lambda d: str(d).replace("torch.", ""))
    def both_dtypes(request) -> torch.dtype:
        """A test parametrised over float64 and float32 (the dtype is the fixture's value)."""
        return request.param


__all__ = [
    "DTYPES",
    "assert_broken_fails",
    "assert_compile_matches",
    "assert_honours_types",
    "sample_inputs",
]
