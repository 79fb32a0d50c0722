"""Registries of built-in models and layer examples, filled by the families at import.

``register_model`` names a model factory (``erlangen train --model NAME`` and ``erlangen info``
list them); ``register_example`` names a small, fully typed layer instance that ``erlangen tour``
and the test suite check for equivariance.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

#: modules that register models and examples when imported (those not present are skipped)
FAMILIES: tuple[str, ...] = (
    "erlangen.nn",
    "erlangen.grid",
    "erlangen.graph",
    "erlangen.ga",
    "erlangen.o3",
)

#: application modules that register models too: the baselines a task compares with the
#: families' models live beside the task (importing ``erlangen.tasks`` registers them)
APPLICATION: tuple[str, ...] = ("erlangen.tasks",)


@dataclass(frozen=True)
class Entry:
    name: str
    family: str
    description: str
    factory: Callable[..., nn.Module]
    #: keyword arguments for :func:`erlangen.check.equivariance` when the example is checked
    #: (a documented tolerance or sampling setting of an approximate layer)
    check: dict = field(default_factory=dict)


MODELS: dict[str, Entry] = {}
EXAMPLES: dict[str, Entry] = {}


def _register(
    table: dict[str, Entry], name: str, family: str, description: str, check: dict | None = None
):
    def decorate(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in table and table[name].factory is not factory:
            raise ValueError(f"{name!r} is already registered by {table[name].family}")
        table[name] = Entry(name, family, description, factory, dict(check or {}))
        return factory

    return decorate


def register_model(name: str, family: str, description: str = ""):
    """Decorator: register a model factory under ``name``."""
    return _register(MODELS, name, family, description)


def register_example(name: str, family: str, description: str = "", check: dict | None = None):
    """Decorator: register a factory of a small typed layer (with ``in_type``/``out_type``).

    ``check`` holds keyword arguments for :func:`erlangen.check.equivariance` that ``erlangen
    tour`` and the tests use for this example (e.g. ``{"rtol": 0.15}``, the documented bound
    of an approximate layer)."""
    return _register(EXAMPLES, name, family, description, check)


def load_all() -> None:
    """Import every family and the tasks so that their registrations take effect."""
    for module in (*FAMILIES, *APPLICATION):
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


def get_model(name: str) -> Entry:
    load_all()
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(sorted(MODELS)) or 'none'}")
    return MODELS[name]
