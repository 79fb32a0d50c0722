"""Checkpoints written atomically and read back with ``torch.load(..., weights_only=True)``.

``atomic_torch_save`` writes a temporary file in the same folder, flushed and fsynced, then
``os.replace``s it, so a crash mid-write leaves the previous checkpoint whole;
:class:`AtomicCheckpointIO` makes Lightning save and load that way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
from torch import Tensor, nn

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
            f"{path}: cannot load it as a checkpoint with weights_only=True ({_why(e)}); the "
            "file is damaged or was not written by erlangen"
        ) from None  # not chained: torch's message advises weights_only=False
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise CheckpointError(f"{path}: not a training checkpoint (no state_dict)")
    return checkpoint


def _why(error: Exception) -> str:
    """One line on why ``torch.load`` failed, without torch's advice to load with
    ``weights_only=False`` (which would run whatever code the file holds)."""
    text = str(error)
    inner = re.search(
        r"WeightsUnpickler error:\s*(.*?)\s*(?:Please use|Check the documentation|$)", text, re.S
    )
    if inner:
        found = " ".join(inner.group(1).split())
        name = re.search(r"GLOBAL (\S+) was not an allowed global", found)
        if name:
            return f"it holds a Python object ({name.group(1)}), not only tensors and plain data"
        return f"not a torch checkpoint: {found}"
    first = " ".join(text.split()).split(". ")[0]
    if "weights_only" in first:
        first = ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


#: the prefix of the model's tensors in a checkpoint's state_dict (the TaskModule's ``model``)
MODEL_PREFIX = "model."


def model_state(checkpoint: Mapping[str, Any]) -> dict[str, Tensor]:
    """The model's tensors in a training checkpoint, without the ``model.`` prefix."""
    return {
        k[len(MODEL_PREFIX) :]: v
        for k, v in checkpoint["state_dict"].items()
        if k.startswith(MODEL_PREFIX)
    }


def _few(names: Sequence[str], shown: int = 3) -> str:
    more = f", ... ({len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def check_state_matches(
    model: nn.Module, state: Mapping[str, Tensor], path: str | os.PathLike, model_text: str
) -> None:
    """Raise :class:`CheckpointError` when the tensors ``state`` read from the checkpoint at
    ``path`` do not fit ``model`` (names and shapes), with one line saying what differs.

    ``model_text`` says what the model is (e.g. ``"'p4cnn' with options {...}"``).
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    reshaped = [
        f"{k} {tuple(state[k].shape)} in the checkpoint, {tuple(expected[k].shape)} in the model"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    parts = []
    if missing:
        parts.append(f"{len(missing)} tensor(s) missing ({_few(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected ({_few(unexpected)})")
    if reshaped:
        parts.append(f"{len(reshaped)} of another shape ({_few(reshaped, 2)})")
    if parts:
        raise CheckpointError(
            f"{path} does not match the model its config describes ({model_text}): "
            + "; ".join(parts)
            + ". Was config.json edited, or the model's code changed, after training?"
        )


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
