"""Learned group convolutions: layers that learn the action of their group on filters.

A G-CNN fixes how a group element transforms a filter (a quarter turn permutes the taps of a
``k x k`` filter). A *learned* group convolution (Theodosis, Helwani and Ba, "Learning Linear
Groups in Neural Networks", 2023) learns that action instead: an invertible ``k^2 x k^2``
matrix ``A`` acting on vectorised filters, ``phi_A(W) = unvec(A vec(W))``, and uses the orbit
``[W, A W, ..., A^(n-1) W]`` as its filter bank.

Modules, bottom up:

- :mod:`~erlangen.grid.learned.actions`: known actions on ``k x k`` filters
  (:func:`rot90_action`, :func:`rotation_action`, :func:`flip_action`,
  :func:`shift_action`, :func:`pooling_operators` / :func:`pooling_action`,
  :func:`blur_action`);
- :mod:`~erlangen.grid.learned.matrices`: :func:`matrix_powers`, :func:`cyclic_residual`,
  :func:`toeplitz_matrix`, :func:`nearest_toeplitz`;
- :mod:`~erlangen.grid.learned.parametrisations`: one class per parametrisation of ``A``
  (:class:`FreeAction`, :class:`OrthogonalAction`, :class:`ToeplitzAction`,
  :class:`MultiscaleAction`), by name in :data:`ACTION_PARAMETRISATIONS`;
- :mod:`~erlangen.grid.learned.layers`: :class:`LearnedGroupConv2d` (images -> group
  feature maps) and :class:`LearnedGroupToGroupConv2d` (group feature maps -> group feature
  maps);
- :mod:`~erlangen.grid.learned.transfer`: :func:`learned_layers`, :func:`auxiliary_loss`,
  :func:`group_actions`, :func:`freeze_group_actions`, :func:`load_group_actions` and the
  ``transfer_from`` protocol (:class:`GroupActionTransfer`);
- :mod:`~erlangen.grid.learned.models`: :class:`LGCNN` (``lgcnn``) and :class:`LGAllCNNC`
  (``lg-allcnnc``); :mod:`~erlangen.grid.learned.examples`: the registered layer examples.

:mod:`erlangen.grid.inspect` reads what a layer learned.
"""

from . import examples, models
from .actions import (
    FLIPS,
    blur_action,
    flip_action,
    pooling_action,
    pooling_operators,
    rot90_action,
    rotation_action,
    shift_action,
)
from .layers import LOCATIONS, LearnedGroupConv2d, LearnedGroupToGroupConv2d
from .matrices import cyclic_residual, matrix_powers, nearest_toeplitz, toeplitz_matrix
from .models import LGCNN, LGAllCNNC
from .parametrisations import (
    ACTION_PARAMETRISATIONS,
    INITS,
    PARAMETRISATIONS,
    ActionParametrisation,
    FreeAction,
    MultiscaleAction,
    OrthogonalAction,
    ToeplitzAction,
)
from .transfer import (
    GroupActionTransfer,
    auxiliary_loss,
    freeze_group_actions,
    group_actions,
    learned_layers,
    load_group_actions,
)

__all__ = [
    "ACTION_PARAMETRISATIONS",
    "FLIPS",
    "INITS",
    "LGCNN",
    "LOCATIONS",
    "PARAMETRISATIONS",
    "ActionParametrisation",
    "FreeAction",
    "GroupActionTransfer",
    "LGAllCNNC",
    "LearnedGroupConv2d",
    "LearnedGroupToGroupConv2d",
    "MultiscaleAction",
    "OrthogonalAction",
    "ToeplitzAction",
    "auxiliary_loss",
    "blur_action",
    "cyclic_residual",
    "examples",
    "flip_action",
    "freeze_group_actions",
    "group_actions",
    "learned_layers",
    "load_group_actions",
    "matrix_powers",
    "models",
    "nearest_toeplitz",
    "pooling_action",
    "pooling_operators",
    "rot90_action",
    "rotation_action",
    "shift_action",
    "toeplitz_matrix",
]
