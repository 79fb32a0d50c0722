"""What a parametrisation of the learned actions ``A`` is: the interface the layers call.

A learned layer holds ``L`` actions (one per location), each a ``k^2 x k^2`` matrix on the
row-major ``vec`` of a ``k x k`` filter. A parametrisation says which tensors define them, how
``A`` is computed from those tensors, which parameters realise a given ``A`` (the inits and
:meth:`~erlangen.grid.LearnedGroupConv2d.set_action`), what it penalises and what a transfer
copies. Each parametrisation is one subclass of :class:`ActionParametrisation`.

The tensors live on the layer, not on the parametrisation: ``state_dict`` keys and parameter
names are the layer's own (``weight``, ``bias``, ``action_matrix``, ``action_inverse``, ...),
so checkpoints do not depend on how the code is organised. A parametrisation is a plain
object that creates those tensors on its layer and reads them through it.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from ..actions import flip_action, rot90_action, rotation_action
from ..matrices import inverse

#: initial actions (see :class:`~erlangen.grid.LearnedGroupConv2d`)
INITS = ("identity", "random", "rot90", "rotation", "flip")


def known_action(init: str, kernel_size: int, order: int) -> Tensor:
    """The ``(k^2, k^2)`` float64 action of every ``init`` but ``"random"``: the identity, the
    quarter turn, the turn by ``360 / order`` degrees or the up-down mirror."""
    if init == "identity":
        return torch.eye(kernel_size**2, dtype=torch.float64)
    if init == "rot90":
        return rot90_action(kernel_size)
    if init == "rotation":
        return rotation_action(kernel_size, 360.0 / order)
    if init == "flip":
        return flip_action(kernel_size, "ud")
    raise ValueError(f"init {init!r} is no fixed action: 'identity', 'rot90', 'rotation' or 'flip'")


class ActionParametrisation:
    """How a learned layer holds its ``L`` actions ``A`` (``(L, d, d)``, ``d = k^2``).

    A subclass sets :attr:`name` (its ``parametrisation=`` string), :attr:`options` (the
    layer keywords it takes, e.g. ``bandwidth``) and :attr:`learns_inverse`, and implements
    :meth:`parameter_shapes`, :meth:`action`, :meth:`random_action` and :meth:`realise`.

    When :attr:`learns_inverse` is true the layer also holds ``A~`` (``action_inverse``,
    ``(L, d, d)``, kept equal to ``A^-1`` whenever ``A`` is written) for the invertibility
    loss ``mu ||A A~ - I||_F``; otherwise ``layer.action_inverse`` is ``None`` (an ``A`` that
    is invertible by construction needs no proof).

    Parameters
    ----------
    kernel_size : int
        ``k``.
    num_actions : int
        ``L``.
    """

    #: the ``parametrisation=`` string
    name: ClassVar[str]
    #: the layer keywords this parametrisation takes (others must be left unset)
    options: ClassVar[tuple[str, ...]] = ()
    #: whether ``A~`` and the invertibility loss exist
    learns_inverse: ClassVar[bool] = True

    def __init__(self, kernel_size: int, num_actions: int):
        self.kernel_size = kernel_size
        self.dim = kernel_size * kernel_size
        self.num_actions = num_actions

    # ------------------------------------------------------------------ the tensors
    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """``name -> shape`` of the learned tensors that define ``A``, in registration order."""
        raise NotImplementedError

    def buffer_shapes(self) -> dict[str, tuple[int, ...]]:
        """``name -> shape`` of the fixed tensors (saved in the ``state_dict``) that define
        ``A``."""
        return {}

    def create(self, layer: nn.Module) -> None:
        """Register the (uninitialised) tensors on ``layer``: :meth:`parameter_shapes`, then
        ``action_inverse`` (``None`` when not :attr:`learns_inverse`), then
        :meth:`buffer_shapes`."""
        for name, shape in self.parameter_shapes().items():
            layer.register_parameter(name, nn.Parameter(torch.empty(shape)))
        d, L = self.dim, self.num_actions
        layer.action_inverse = nn.Parameter(torch.empty(L, d, d)) if self.learns_inverse else None
        for name, shape in self.buffer_shapes().items():
            layer.register_buffer(name, torch.empty(shape))

    def parameters_of(self, layer: nn.Module, include_inverse: bool = True) -> list[nn.Parameter]:
        """The parameters of ``layer`` that define ``A`` (and ``A~`` when
        ``include_inverse``)."""
        params = [getattr(layer, name) for name in self.parameter_shapes()]
        if include_inverse and self.learns_inverse:
            params.append(layer.action_inverse)
        return params

    def state_names(self, include_inverse: bool = True) -> list[str]:
        """The ``state_dict`` entries of the layer that define ``A``: what a transfer from a
        checkpoint copies."""
        names = list(self.parameter_shapes())
        if include_inverse and self.learns_inverse:
            names.append("action_inverse")
        return names + list(self.buffer_shapes())

    # ------------------------------------------------------------------ the action
    def action(self, layer: nn.Module) -> Tensor:
        """``A`` from the layer's tensors, ``(L, d, d)`` in their dtype."""
        raise NotImplementedError

    def realise(self, A: Tensor, strict: bool, init: str) -> tuple[dict[str, Tensor], Tensor]:
        """Values of the tensors that realise ``A``.

        Parameters
        ----------
        A : Tensor
            ``(L, d, d)`` float64.
        strict : bool
            Raise when ``A`` cannot be represented; otherwise take its nearest form (where the
            parametrisation has one).
        init : str
            The layer's ``init``, named by errors about it.

        Returns
        -------
        (dict, Tensor)
            ``tensor name -> value`` and the ``(L, d, d)`` float64 action they realise.
        """
        raise NotImplementedError

    def write(self, layer: nn.Module, A: Tensor, strict: bool) -> None:
        """Set the layer's tensors to :meth:`realise` ``A`` (``(L, d, d)`` float64), and
        ``A~`` to the inverse of the realised action."""
        values, realised = self.realise(A, strict, layer.init)
        with torch.no_grad():
            for name, value in values.items():
                getattr(layer, name).copy_(value)
            if self.learns_inverse:
                layer.action_inverse.copy_(inverse(realised))

    # ------------------------------------------------------------------ initialisation
    def random_action(self) -> Tensor:
        """The ``(L, d, d)`` float64 action of ``init="random"``."""
        raise NotImplementedError

    def initial_action(self, init: str, order: int) -> Tensor:
        """The ``(L, d, d)`` float64 action that ``init`` asks for (before :meth:`realise`
        projects it and ``init_noise``)."""
        if init == "random":
            return self.random_action()
        d, L = self.dim, self.num_actions
        return known_action(init, self.kernel_size, order).expand(L, d, d).clone()

    def initialise(self, layer: nn.Module, init: str, order: int) -> None:
        """Write :meth:`initial_action` into the layer (its nearest form where needed)."""
        self.write(layer, self.initial_action(init, order), strict=False)

    def add_noise(self, layer: nn.Module, std: float) -> None:
        """Add Gaussian noise of standard deviation ``std`` to the parameters of ``A``; ``A~``
        follows the noisy ``A``."""
        with torch.no_grad():
            for param in self.parameters_of(layer, include_inverse=False):
                param.add_(torch.randn_like(param) * std)
            if self.learns_inverse:
                layer.action_inverse.copy_(inverse(self.action(layer).double()))

    # ------------------------------------------------------------------ loss
    def invertibility_loss(self, layer: nn.Module, A: Tensor, weight: float) -> Tensor | None:
        """``weight * mean ||A A~ - I||_F`` over the layer's matrices; ``None`` when there is
        nothing to penalise (no ``A~``, or ``weight = 0``).

        Parameters
        ----------
        A : Tensor
            ``(L, d, d)``: :meth:`action` of the layer.
        """
        if weight <= 0 or not self.learns_inverse:
            return None
        eye = torch.eye(self.dim, dtype=A.dtype, device=A.device)
        residual = A @ layer.action_inverse - eye
        return weight * torch.linalg.matrix_norm(residual).mean()


__all__ = ["INITS", "ActionParametrisation", "known_action"]
