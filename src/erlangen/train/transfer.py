"""Knowledge transfer between runs: a new model receives what it shares with a trained one.

The trainer knows no family. A model that can receive transferred knowledge has a method

    ``transfer_from(self, source: nn.Module) -> list[str]``

that copies what it shares with the trained ``source`` model into itself, freezes it, and
returns the names of what it received (for the learned-group models of :mod:`erlangen.grid`:
the group actions ``A`` of their layers). ``erlangen train --transfer-from RUN_DIR`` rebuilds
the model of ``RUN_DIR`` (:func:`~erlangen.train.load_run`) and hands it to that method.
"""

from __future__ import annotations

import os

from torch import nn

from .evaluation import load_run


def transfer_from_run(
    model: nn.Module, source_run: str | os.PathLike, *, name: str | None = None
) -> list[str]:
    """Hand ``model`` what it shares with the model trained in ``source_run``, frozen.

    Parameters
    ----------
    model : nn.Module
        The receiving model; it needs a ``transfer_from(source)`` method.
    source_run : path-like
        A run folder (``config.json`` and ``checkpoints/last.ckpt``).
    name : str, optional
        The model's name in messages (default: its class name).

    Returns
    -------
    list of str
        What ``model`` received (e.g. the names of layers that received a group action).

    Raises
    ------
    ValueError
        When ``model`` has no ``transfer_from`` method (raised before the source run is
        read), or when its method refuses the source (the message names ``source_run``).
    """
    receive = getattr(model, "transfer_from", None)
    if not callable(receive):
        raise ValueError(
            f"model {name or type(model).__name__!r} cannot receive a transfer: it has no "
            "transfer_from(source) method"
        )
    _, _, source = load_run(source_run)
    try:
        return list(receive(source))
    except ValueError as e:
        raise ValueError(f"cannot transfer from {source_run}: {e}") from e


#: the name this function had when the only transfer was that of learned group actions
transfer_group_actions = transfer_from_run
