"""What a run, a sweep or a benchmark records about the software and the machine it ran on.

>>> from erlangen.environment import environment
>>> record = environment(stamp="started", world_size=1)
>>> record["world_size"] == 1 and "started" in record
True
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import sys
from typing import Any

import torch

from . import __version__


def _installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (without importing it), None when absent."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment(stamp: str = "time", **extra: Any) -> dict[str, Any]:
    """Versions, machine, threads and the command line of this process, and the time now.

    Parameters
    ----------
    stamp : str
        Key of the time stamp (ISO 8601 to the second): ``started`` for a training run,
        ``finished`` for a sweep's results, ``time`` for a benchmark.
    **extra
        More entries (e.g. ``world_size``), added last.

    Returns
    -------
    dict
        JSON-ready: ``erlangen``, ``python``, ``torch``, ``lightning`` (None when not
        installed), ``platform``, ``machine``, ``processor``, ``cpus``, ``threads``, ``cuda``
        (the first device's name, or None), ``argv`` and ``stamp``.
    """
    return {
        "erlangen": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": _installed_version("lightning"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "argv": list(sys.argv),
        stamp: _dt.datetime.now().isoformat(timespec="seconds"),
        **extra,
    }
