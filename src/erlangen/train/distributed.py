"""Several processes: rank and world size, broadcast from rank 0, the torchrun process group.

Launch the same command with ``torchrun --nproc_per_node=N``; :func:`init_process_group` joins
the group (gloo on CPU, NCCL on GPUs) and :func:`~erlangen.train.fit` then uses Lightning's DDP
strategy. Without torchrun every helper here is the single-process identity.
"""

from __future__ import annotations

import os
from typing import Any

import torch


def launched_by_torchrun() -> bool:
    """Whether torchrun started this process (and set up its rendezvous)."""
    return "TORCHELASTIC_RUN_ID" in os.environ and "WORLD_SIZE" in os.environ


def rank() -> int:
    """This process's rank (0 without a process group, or ``RANK`` before one exists)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """Processes in the group (1 without one)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return 1


def broadcast(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (identity without a process group)."""
    if world_size() == 1:
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def accelerator(device: str) -> str:
    """Lightning's accelerator for ``device`` (``auto``, ``cpu`` or ``cuda``)."""
    if device == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but torch sees no CUDA device")
        return "gpu"
    if device == "cpu":
        return "cpu"
    raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")


def init_process_group(accelerator: str) -> bool:
    """Join the torchrun process group (gloo on CPU); True when this call created it."""
    if not launched_by_torchrun() or torch.distributed.is_initialized():
        return False
    backend = "nccl" if accelerator == "gpu" else "gloo"
    if accelerator == "gpu":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    torch.distributed.init_process_group(backend=backend)
    if accelerator == "cpu":
        local = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, local)))
    return True
