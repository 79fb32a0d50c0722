"""Registries of built-in models and layer examples, filled by the families at import.

``register_model`` names a model factory (``erlangen train --model NAME`` and ``erlangen info``
list them); ``register_example`` names a small, fully typed layer instance that ``erlangen tour``
and the test suite check for equivariance. :func:`load_factory` resolves a factory of the
user's own (``package.module:factory`` or ``path/to/file.py:factory``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

#: modules that register models and examples when imported (a family adds itself here)
FAMILIES: tuple[str, ...] = (
    "erlangen.nn",
    "erlangen.grid",
    "erlangen.ga",
    "erlangen.graph",
    "erlangen.o3",
)


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
    """Import every family so that its registrations take effect."""
    for module in FAMILIES:
        importlib.import_module(module)


def get_model(name: str) -> Entry:
    load_all()
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(sorted(MODELS)) or 'none'}")
    return MODELS[name]


def load_factory(spec: str) -> Callable:
    """Resolve ``package.module:factory`` or ``path/to/file.py:factory`` to a callable.

    A module path is imported with the current directory on ``sys.path``; a file is executed
    as a module named after its stem (and entered in ``sys.modules``, so that the objects it
    defines can be pickled).

    Raises
    ------
    ValueError
        When ``spec`` has no ``:``.
    FileNotFoundError, ImportError, AttributeError
        When the file, the module or the attribute does not exist.
    """
    if ":" not in spec:
        raise ValueError(f"expected MODULE:FACTORY (e.g. mypkg.models:build), got {spec!r}")
    module_name, _, attr = spec.rpartition(":")
    if module_name.endswith(".py") or "/" in module_name:
        path = Path(module_name)
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        mod_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[path.stem] = module
        mod_spec.loader.exec_module(module)
    else:
        if "" not in sys.path:
            sys.path.insert(0, "")
        module = importlib.import_module(module_name)
    if not hasattr(module, attr):
        raise AttributeError(f"{module_name} has no attribute {attr!r}")
    return getattr(module, attr)
