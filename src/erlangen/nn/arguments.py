"""Constructor-argument checks shared by every family: a count that can never work fails at
construction with the argument's name, not later inside the layer with a ZeroDivisionError.

>>> count(0, "out_channels", "LiftingConv2d")
Traceback (most recent call last):
...
ValueError: LiftingConv2d: out_channels must be an integer >= 1, got 0
"""

from __future__ import annotations

import numbers
from typing import Any


def count(value: Any, name: str, owner: str, minimum: int = 1) -> int:
    """``value`` as an ``int >= minimum``.

    Raises
    ------
    TypeError
        When ``value`` is not an integer (a float, a bool, a representation, ...).
    ValueError
        When it is smaller than ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{owner}: {name} must be an integer >= {minimum}, got {type(value).__name__} {value!r}"
        )
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value}")
    return int(value)


def counts(owner: str, minimum: int = 1, **values: Any) -> None:
    """:func:`count` for several named arguments at once."""
    for name, value in values.items():
        count(value, name, owner, minimum)


def probability(value: Any, name: str, owner: str) -> float:
    """``value`` as a float in ``[0, 1)`` (dropout rates)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{owner}: {name} must be a number in [0, 1), got {value!r}")
    return float(value)
