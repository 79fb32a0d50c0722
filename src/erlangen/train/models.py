"""The model of a run: built from its name or ``module:factory`` spec for a task, and a
digest of its weights to compare copies (ranks, resumed and uninterrupted runs)."""

from __future__ import annotations

import hashlib
from typing import Any

import torch
from torch import nn

from ..registry import get_model, load_factory
from ..tasks import Task


def build_model(spec: str, task: Task, options: dict[str, Any] | None = None) -> nn.Module:
    """Build ``spec`` (a registered name or ``module:factory``) for ``task``'s data: the
    factory gets ``task.model_kwargs()`` and ``options``."""
    factory = load_factory(spec) if ":" in spec else get_model(spec).factory
    model = factory(**task.model_kwargs(), **(options or {}))
    if not isinstance(model, nn.Module):
        raise TypeError(f"model factory {spec!r} returned {type(model).__name__}, not nn.Module")
    return model


def weights_digest(model: nn.Module, buffers: bool = True) -> str:
    """SHA-256 of the parameters (and buffers) by name, shape and bytes, to compare copies."""
    tensors = dict(model.named_parameters())
    if buffers:
        tensors.update(model.named_buffers())
    h = hashlib.sha256()
    for name, t in sorted(tensors.items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
