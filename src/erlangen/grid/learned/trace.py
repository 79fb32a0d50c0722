"""Where the learned actions stand during training: a few numbers per layer, cheap enough to
record every few dozen steps.

:func:`action_trace` is what a learned model's ``diagnostics()`` returns; the training loop
writes it to ``diagnostics.csv`` in the run folder, and
:func:`erlangen.grid.inspect.plot_action_traces` draws it.
"""

from __future__ import annotations

import torch
from torch import nn

from .known import known_actions, known_distances, rotation_distance
from .matrices import cyclic_residual
from .transfer import learned_layers

#: the numbers recorded per layer (and, prefixed ``mean/``, averaged over the layers)
TRACE_KEYS = ("cyclic_residual", "nearest_distance", "rotation_distance")


@torch.no_grad()
def action_trace(model: nn.Module, angle_step: float = 5.0) -> dict[str, float | str]:
    """Per learned layer ``NAME``, each the mean over the layer's actions:

    - ``NAME/cyclic_residual``: ``||A^n - I||_F`` (0 for a group action of order ``n``);
    - ``NAME/nearest_distance``: relative Frobenius distance to the nearest known action
      (:func:`~erlangen.grid.learned.known.known_actions`: rotations on an ``angle_step``
      grid, mirrors, one-pixel shifts, pooling);
    - ``NAME/rotation_distance``: relative distance to the nearer of the turns by
      ``+-360 / n`` degrees (the generator the layer's declared group claims);
    - ``NAME/nearest``: the label of the known action nearest to the layer's first action;

    and ``mean/<key>`` of the three numbers over the layers whose kernel is larger than 1x1
    (a 1x1 action is a scalar, always a "rotation").

    Returns
    -------
    dict
        Flat, CSV-ready (floats and one string per layer); empty for a model without learned
        layers.
    """
    out: dict[str, float | str] = {}
    sums = dict.fromkeys(TRACE_KEYS, 0.0)
    counted = 0
    for name, layer in learned_layers(model):
        A = layer.action().detach().to(torch.float64).cpu()
        dist = known_distances(A, angle_step)
        values = {
            "cyclic_residual": float(cyclic_residual(A, layer.order).mean()),
            "nearest_distance": float(dist.amin(dim=1).mean()),
            "rotation_distance": float(rotation_distance(A, layer.order).mean()),
        }
        stem = name or "layer"
        for key, value in values.items():
            out[f"{stem}/{key}"] = value
        labels = known_actions(layer.kernel_size, angle_step)
        out[f"{stem}/nearest"] = labels[int(dist[0].argmin())].label
        if layer.kernel_size > 1:
            counted += 1
            for key, value in values.items():
                sums[key] += value
    if counted:
        out.update({f"mean/{key}": value / counted for key, value in sums.items()})
    return out


__all__ = ["TRACE_KEYS", "action_trace"]
