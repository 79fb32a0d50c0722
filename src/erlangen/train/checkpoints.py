"""Checkpoints written atomically and read back with ``torch.load(..., weights_only=True)``.

``atomic_torch_save`` writes a temporary file in the same folder, flushed and fsynced, then
``os.replace``s it, so a crash mid-write leaves the previous checkpoint whole;
:class:`AtomicCheckpointIO` makes Lightning save and load that way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO

from ..data import atomic_write


class CheckpointError(RuntimeError):
    """A checkpoint is missing, damaged or not one of ours."""


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to ``path`` atomically: readers see the old file or the whole new one."""
    atomic_write(path, lambda f: torch.save(obj, f))


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(..., weights_only=True)``.

    Raises
    ------
    CheckpointError
        When the file is missing, damaged, or holds anything but tensors and plain data.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"{path}: cannot load it as a checkpoint with weights_only=True ({type(e).__name__}: "
            f"{e}); the file is damaged or was not written by erlangen"
        ) from e
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path}: not a training checkpoint (no state_dict)")
    return checkpoint


class AtomicCheckpointIO(CheckpointIO):
    """Lightning checkpoint I/O: atomic writes (:func:`atomic_torch_save`) and
    ``weights_only=True`` reads (:func:`load_checkpoint`)."""

    def save_checkpoint(self, checkpoint, path, storage_options=None):
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(self, path, map_location=None, weights_only=None):
        return load_checkpoint(path, map_location=map_location or "cpu")

    def remove_checkpoint(self, path):
        Path(path).unlink(missing_ok=True)
