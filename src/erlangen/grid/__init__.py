"""Grids: group-equivariant CNNs (G-CNNs) on the pixel grid.

Primitives (:mod:`erlangen.grid.functional`) <- layers (:mod:`erlangen.grid.layers`) <- models
(:mod:`erlangen.grid.models`, registered as ``z2cnn``, ``p4cnn``, ``p4mcnn``, ``allcnnc``,
``p4-allcnnc``, ``p4m-allcnnc``); learned group convolutions and their models in
:mod:`erlangen.grid.learned` (``lgcnn``, ``lg-allcnnc``). Importing this package registers
the models and the layer examples that ``erlangen tour`` checks.
"""

from . import examples, models
from .functional import RingBasis, centred_sizes, is_pixel_exact, keeps_centre, output_size
from .layers import (
    BankConv2d,
    ExportedConv2d,
    GridSizeWarning,
    GroupAvgPool2d,
    GroupBatchNorm2d,
    GroupBlock,
    GroupConv2d,
    GroupMaxPool2d,
    GroupPool,
    InvariantPool,
    LiftingConv2d,
    export,
)
from .models import GCNN, Z2CNN, AllCNNC

__all__ = [
    "GCNN",
    "Z2CNN",
    "AllCNNC",
    "BankConv2d",
    "ExportedConv2d",
    "GridSizeWarning",
    "GroupAvgPool2d",
    "GroupBatchNorm2d",
    "GroupBlock",
    "GroupConv2d",
    "GroupMaxPool2d",
    "GroupPool",
    "InvariantPool",
    "LiftingConv2d",
    "RingBasis",
    "centred_sizes",
    "examples",
    "export",
    "is_pixel_exact",
    "keeps_centre",
    "models",
    "output_size",
]

# ---- learned group convolutions (Theodosis et al. 2023)
from . import learned
from .learned import (
    LGCNN,
    LearnedGroupConv2d,
    LearnedGroupToGroupConv2d,
    LGAllCNNC,
    auxiliary_loss,
    freeze_group_actions,
    group_actions,
    learned_layers,
    load_group_actions,
)
from .learned import models as learned_models  # the module's name before erlangen.grid.learned

__all__ += [
    "LGCNN",
    "LGAllCNNC",
    "LearnedGroupConv2d",
    "LearnedGroupToGroupConv2d",
    "auxiliary_loss",
    "freeze_group_actions",
    "group_actions",
    "learned",
    "learned_layers",
    "learned_models",
    "load_group_actions",
]
