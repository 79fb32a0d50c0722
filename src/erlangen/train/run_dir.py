"""A run's folder: its name, its files, and JSON written into it atomically.

``<out>/<task>-<model>-<YYYYmmdd-HHMMSS>/`` holds ``config.json`` (configuration and
environment), ``checkpoints/last.ckpt``, ``logs/`` and ``results.json`` (and
``evaluation.json`` after ``erlangen evaluate``; ``diagnostics.csv`` for models that have
``diagnostics()``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..data import atomic_write_bytes

CONFIG_FILE = "config.json"
RESULTS_FILE = "results.json"
EVALUATION_FILE = "evaluation.json"
DIAGNOSTICS_FILE = "diagnostics.csv"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"


def check_can_create(parent: str | os.PathLike) -> None:
    """Raise before any work when no folder can be created in ``parent``: it (or the nearest
    of its ancestors that exists) is a file, or a folder this process cannot write to.

    Raises
    ------
    NotADirectoryError, PermissionError
        With one line naming ``parent`` and the obstacle.
    """
    parent = Path(parent)
    existing = parent
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    shown = os.path.abspath(existing)  # not ".": the working directory, by name
    if existing.exists() and not existing.is_dir():
        raise NotADirectoryError(
            f"cannot create folders in {parent}: {shown} is a file, not a folder"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot create folders in {parent}: {shown} is not writable")


def unique_dir(parent: str | os.PathLike, prefix: str) -> Path:
    """Create and return ``parent/<prefix>-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``... if taken)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(parent) / f"{prefix}-{stamp}"
    path, k = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            k += 1
            path = base.with_name(f"{base.name}-{k}")


def new_run_dir(out: str | os.PathLike, task: str, model: str) -> Path:
    """``out/<task>-<model>-<YYYYmmdd-HHMMSS>``, created; ``model`` may be a
    ``module:factory`` spec (its factory name is used)."""
    return unique_dir(out, f"{task}-{model.rsplit(':', 1)[-1]}")


def write_json(path: Path, obj: Any) -> None:
    """``obj`` as indented JSON (paths and numpy scalars as plain values), written atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_json_default) + "\n").encode())


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"cannot write {type(o).__name__} to JSON")
