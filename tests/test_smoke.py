"""The package imports and the built-in examples pass the checker."""

import pytest

from erlangen import registry
from erlangen.check import equivariance

registry.load_all()


@pytest.mark.parametrize("name", sorted(registry.EXAMPLES))
def test_builtin_example_is_equivariant(name):
    entry = registry.EXAMPLES[name]
    report = equivariance(entry.factory(), **entry.check)
    assert report.passed, str(report)
