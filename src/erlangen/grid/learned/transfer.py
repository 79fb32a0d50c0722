"""The learned layers of a model, their summed penalties, and knowledge transfer: copying the
actions a model learned into another model, and freezing them there.

:class:`GroupActionTransfer` gives a model the protocol the training code calls,
``model.transfer_from(source) -> list of layer names``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch
from torch import Tensor, nn

from .layers import _LearnedGroupConv


def learned_layers(model: nn.Module) -> Iterator[tuple[str, _LearnedGroupConv]]:
    """``(qualified name, layer)`` of every learned group convolution in ``model``
    (``""`` for the model itself)."""
    for name, module in model.named_modules():
        if isinstance(module, _LearnedGroupConv):
            yield name, module


def auxiliary_loss(model: nn.Module) -> Tensor:
    """The sum of :meth:`~erlangen.grid.LearnedGroupConv2d.auxiliary_loss` over the learned
    layers of ``model`` (a scalar zero tensor when there are none)."""
    total: Tensor | None = None
    for _, layer in learned_layers(model):
        loss = layer.auxiliary_loss()
        total = loss if total is None else total + loss
    if total is None:
        p = next(model.parameters(), None)
        return torch.zeros((), dtype=None if p is None else p.dtype)
    return total


def group_actions(model: nn.Module) -> dict[str, Tensor]:
    """The current actions of ``model``'s learned layers.

    Returns
    -------
    dict
        ``layer name -> A`` of shape ``(L, k^2, k^2)`` (detached copies).
    """
    with torch.no_grad():
        return {name: layer.action().detach().clone() for name, layer in learned_layers(model)}


def freeze_group_actions(model: nn.Module, frozen: bool = True) -> None:
    """Freeze (or unfreeze) the actions of every learned layer of ``model``."""
    for _, layer in learned_layers(model):
        layer.freeze_action(frozen)


def load_group_actions(
    model: nn.Module,
    source: nn.Module | Mapping[str, Tensor],
    freeze: bool = True,
    strict: bool = True,
    prefix: str = "",
) -> list[str]:
    """Copy learned actions into ``model`` (knowledge transfer) and optionally freeze them.

    Parameters
    ----------
    model : nn.Module
        The receiving model; its learned layers are matched by qualified name.
    source : nn.Module or mapping
        - a model with learned layers (its :func:`group_actions` are taken);
        - the dict of :func:`group_actions` (``layer name -> A``);
        - a ``state_dict`` of a model of the same architecture (e.g. a checkpoint's): for each
          learned layer, its action parameters ``NAME.<param>`` are copied as they are (the
          source must use the same parametrisation; otherwise build the source model and pass
          it).
        An action with one location (``shared``) is broadcast to every location of a
        ``per_out`` / ``per_in`` layer.
    freeze : bool
        Set ``requires_grad = False`` on the copied action parameters (and ``A~``), so the
        new task learns only the filters.
    strict : bool
        Raise when a learned layer of ``model`` has no action in ``source``.
    prefix : str
        Prepended to the layer names when looking them up in ``source`` (e.g. ``"model."``
        for a Lightning checkpoint's ``state_dict`` whose module holds the network as
        ``self.model``).

    Returns
    -------
    list of str
        Names of the layers that received an action.
    """
    if isinstance(source, nn.Module):
        source = group_actions(source)
    if prefix:
        source = {k[len(prefix) :]: v for k, v in source.items() if k.startswith(prefix)}
    layers = dict(learned_layers(model))
    if not layers:
        raise ValueError(f"{type(model).__name__} has no learned group convolutions")
    # keyed by layer names (group_actions), or else a state_dict of the same architecture
    load = _load_action if any(name in source for name in layers) else _load_state
    loaded = []
    for name, layer in layers.items():
        if load(name, layer, source, strict):
            if freeze:
                layer.freeze_action()
            loaded.append(name)
    return loaded


def _load_action(
    name: str, layer: _LearnedGroupConv, actions: Mapping[str, Tensor], strict: bool
) -> bool:
    """Set ``layer``'s action to ``actions[name]``; whether there was one."""
    if name in actions:
        layer.set_action(actions[name])
        return True
    if strict:
        raise KeyError(
            f"no action for learned layer {name!r} in the source (it has {sorted(actions)})"
        )
    return False


def _load_state(
    name: str, layer: _LearnedGroupConv, state: Mapping[str, Tensor], strict: bool
) -> bool:
    """Copy ``layer``'s action tensors (:meth:`~_LearnedGroupConv.action_state_names`) from
    the ``state_dict`` entries ``NAME.<tensor>``; whether there were any."""
    prefix = f"{name}." if name else ""
    wanted = layer.action_state_names()
    held = [key[len(prefix) :] for key in state if key.startswith(prefix)]
    held = [n for n in held if "." not in n and n not in ("weight", "bias")]
    if not held:
        if strict:
            raise KeyError(
                f"no action for learned layer {name!r} in the source: expected a key "
                f"{name!r} (group_actions) or {[prefix + n for n in wanted]} "
                "(state_dict of the same architecture)"
            )
        return False
    found = {n: state[prefix + n] for n in wanted if n in held}
    if set(found) != set(wanted):
        raise KeyError(
            f"the source state_dict holds {sorted(held)} for layer {name!r}, which "
            f"needs {wanted} ({layer.parametrisation}); build the source model and "
            "pass it (or its group_actions) instead"
        )
    for n, value in found.items():
        shape = getattr(layer, n).shape
        if value.shape[1:] != shape[1:] or value.shape[0] not in (1, shape[0]):
            raise ValueError(
                f"{name}.{n}: source shape {tuple(value.shape)} does not fit {tuple(shape)}"
            )
    with torch.no_grad():
        for n, value in found.items():
            target = getattr(layer, n)
            target.copy_(value.expand_as(target))
    return True


class GroupActionTransfer:
    """For models with learned-group layers: receive the actions of a trained model.

    The knowledge-transfer protocol of the training code: a model that can receive
    transferred knowledge has ``transfer_from(source) -> list of layer names``.
    """

    def transfer_from(self: nn.Module, source: nn.Module) -> list[str]:
        """Copy the actions of ``source``'s learned layers into this model's layers of the
        same names and freeze them (the new task learns only the filters).

        Parameters
        ----------
        source : nn.Module
            The trained model, of the same architecture (any parametrisation whose actions
            this model's parametrisation can hold).

        Returns
        -------
        list of str
            Names of the layers that received an action.

        Raises
        ------
        ValueError
            When this model or ``source`` has no learned-group layers, or an action does not
            fit; ``KeyError`` when a layer of this model has no counterpart in ``source``.
        """
        if next(learned_layers(self), None) is None:
            raise ValueError("transfer_from needs a model with learned-group layers (e.g. lgcnn)")
        if next(learned_layers(source), None) is None:
            raise ValueError(
                f"the source model ({type(source).__name__}) holds no learned-group layers to "
                "transfer from"
            )
        return load_group_actions(self, source, freeze=True)


__all__ = [
    "GroupActionTransfer",
    "auxiliary_loss",
    "freeze_group_actions",
    "group_actions",
    "learned_layers",
    "load_group_actions",
]
