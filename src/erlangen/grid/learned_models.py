"""Models built from learned group convolutions (LGCNNs), and their registered examples.

- :class:`LGCNN` (``lgcnn``): the rotated-MNIST P4CNN of Cohen & Welling
  (:class:`~erlangen.grid.GCNN`) with every lifting / group convolution replaced by its
  learned counterpart: same widths, depth, pooling, batch norm and invariant read-out.
- :class:`LGAllCNNC` (``lg-allcnnc``): All-CNN-C in the shape of
  :class:`~erlangen.grid.AllCNNC` on a group, with learned layers.

Both map images ``(batch, in_channels, H, W)`` to logits ``(batch, num_classes)``, expose
:meth:`auxiliary_loss` (the sum of the layers' invertibility and cyclic penalties, for the
training loop to add to the task loss) and declare ``in_type = ImageField(Cyclic(n))`` and
``out_type = InvariantField(Cyclic(n))``: a conditional claim, exact when every layer's
action is the quarter turn (``init="rot90"``, ``order=4``, kept frozen), and a measurement
otherwise. Every option of the learned layers (``location``, ``parametrisation``, ``init``,
``invertibility_weight``, ``cyclic_weight``, ...) is passed through to all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from torch import Tensor, nn

from ..fields import ImageField, InvariantField
from ..groups import Cyclic
from ..registry import register_example, register_model
from .examples import _seeded
from .layers import GroupBatchNorm2d, GroupBlock, InvariantPool
from .learned import (
    LearnedGroupConv2d,
    LearnedGroupToGroupConv2d,
    auxiliary_loss,
    learned_layers,
    load_group_actions,
)
from .models import _allcnnc_widths, _build_allcnnc, _build_gcnn, _check_input, _ConvFactory


def _learned(cls: type[nn.Module], order: int, layer_options: dict) -> _ConvFactory:
    """``cls(in_channels, out_channels, kernel_size, order, **geometry, **layer_options)``."""

    def make(in_channels: int, out_channels: int, kernel_size: int, **geometry) -> nn.Module:
        return cls(in_channels, out_channels, kernel_size, order, **geometry, **layer_options)

    return make


class _LearnedModel(nn.Module):
    """The model-level views of the learned layers."""

    in_channels: int

    def auxiliary_loss(self) -> Tensor:
        """Sum of the learned layers' invertibility and cyclic penalties (a scalar)."""
        return auxiliary_loss(self)

    def is_rotation(self, tol: float = 1e-6) -> bool:
        """Whether every layer's action is the turn by ``360 / n`` degrees (exact invariance
        for ``n`` = 1, 2, 4)."""
        return all(layer.is_rotation(tol) for _, layer in learned_layers(self))

    def is_group_action(self, tol: float = 1e-6) -> bool:
        """Whether every layer's action satisfies ``||A^n - I|| <= tol``."""
        return all(layer.is_group_action(tol) for _, layer in learned_layers(self))

    def transfer_from(self, source: nn.Module) -> list[str]:
        """Knowledge transfer: copy the learned group actions of the trained ``source`` into
        this model's layers (matched by name) and freeze them, so that training learns only
        the filters; returns the names of the layers that received one.

        Raises
        ------
        ValueError
            When ``source`` has no learned-group layers, or its layers do not match these.
        """
        if not any(True for _ in learned_layers(source)):
            raise ValueError(
                f"the source model ({type(source).__name__}) holds no learned-group layers to "
                "transfer from"
            )
        return load_group_actions(self, source, freeze=True)


class LGCNN(_LearnedModel):
    """P4CNN with learned group actions (LGCNN on the rotated-MNIST G-CNN).

    A learned lifting convolution and six learned group-to-group convolutions, all 'valid':
    five 3x3 after the lifting one, each with batch norm (statistics shared over the
    orientation axis) and ReLU, a 2x2 max-pool after the second layer, a last 4x4 layer to
    the classes, then the maximum over orientations and space. On 28x28 inputs the spatial
    size goes 26, 24, 12, 10, 8, 6, 4, 1 (inputs need at least 28 pixels a side).

    Parameters
    ----------
    in_channels, num_classes : int
    order : int
        ``n``, the number of orientations (4 as P4CNN).
    channels : int
        Channels of every hidden layer (10, as P4CNN).
    dropout : float
        Dropout after every hidden layer (off by default).
    batch_norm : bool
    input_size : int
        Side of the images ``in_type`` samples (28 for MNIST).
    **layer_options
        Passed to every :class:`~erlangen.grid.LearnedGroupConv2d` /
        :class:`~erlangen.grid.LearnedGroupToGroupConv2d` (``location``, ``parametrisation``,
        ``init``, ``init_noise``, ``invertibility_weight``, ``cyclic_weight``, ...).

    Shape
    -----
    ``(batch, in_channels, H, W) -> (batch, num_classes)``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        order: int = 4,
        channels: int = 10,
        dropout: float = 0.0,
        batch_norm: bool = True,
        input_size: int = 28,
        **layer_options,
    ):
        super().__init__()
        self.in_channels, self.num_classes, self.order = in_channels, num_classes, order
        self.group = G = Cyclic(order)
        lifting = _learned(LearnedGroupConv2d, order, layer_options)
        group_conv = _learned(LearnedGroupToGroupConv2d, order, layer_options)
        _build_gcnn(self, lifting, group_conv, G, channels, dropout, batch_norm)
        self.pool = InvariantPool(num_classes, G, "max", "max")
        self.in_type = ImageField(G, channels=in_channels, size=input_size)
        self.out_type = InvariantField(G, shape=(2, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return self.pool(self.top(self.features(x)))


class LGAllCNNC(_LearnedModel):
    """All-CNN-C with learned group actions.

    The shape of :class:`~erlangen.grid.AllCNNC` on a group: three 3x3 convolutions per stage
    (the third a 4x4 / stride 2 / padding 1 downsampling by default, which keeps the rotation
    centre on every size divisible by 4), two stages, a 3x3 'valid' convolution, two 1x1
    convolutions and global mean pooling over orientations and space; batch norm and ReLU
    after every hidden layer, dropout on the input and after each stage. Every convolution is
    learned (the first lifts, the others are group-to-group; a 1x1 layer's action is a
    learned scalar).

    Parameters
    ----------
    in_channels, num_classes : int
    order : int
        ``n`` (4 by default).
    widths : (int, int), optional
        Channels of the two stages; by default ``(96, 192) / sqrt(n)`` rounded, as
        p4-All-CNN-C ((48, 96) for ``n = 4``).
    dropout : (float, float)
        Input dropout and dropout after each stage.
    batch_norm : bool
    downsample_kernel : int
        3 (the paper) or 4 (exact rotation centre on 32x32).
    input_size : int
    **layer_options
        Passed to every learned layer (see :class:`LGCNN`).

    Shape
    -----
    ``(batch, in_channels, H, W) -> (batch, num_classes)``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        order: int = 4,
        widths: Sequence[int] | None = None,
        dropout: Sequence[float] = (0.2, 0.5),
        batch_norm: bool = True,
        downsample_kernel: int = 4,
        input_size: int = 32,
        **layer_options,
    ):
        super().__init__()
        widths = _allcnnc_widths(order, widths, downsample_kernel)
        self.in_channels, self.num_classes, self.order = in_channels, num_classes, order
        self.group = G = Cyclic(order)
        lift = _learned(LearnedGroupConv2d, order, layer_options)  # the first layer lifts
        conv = _learned(LearnedGroupToGroupConv2d, order, layer_options)
        norm = partial(GroupBatchNorm2d, group=G)
        _build_allcnnc(self, lift, conv, norm, widths, dropout, batch_norm, downsample_kernel)
        self.pool = InvariantPool(num_classes, G, "mean", "mean")
        self.in_type = ImageField(G, channels=in_channels, size=input_size)
        self.out_type = InvariantField(G, shape=(2, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return self.pool(self.top(self.features(x)))


# ----------------------------------------------------------------------------- registry
@register_model(
    "lgcnn",
    family="grid",
    description="P4CNN with learned group actions (Theodosis et al.): learned lifting + 6 "
    "learned group convs, 10 channels, order 4; invariant only where A is the quarter turn",
)
def lgcnn(in_channels: int = 1, num_classes: int = 10, **options) -> LGCNN:
    return LGCNN(in_channels, num_classes, **options)


@register_model(
    "lg-allcnnc",
    family="grid",
    description="All-CNN-C with learned group actions, order 4, widths 48/96 (as "
    "p4-All-CNN-C); invariant only where A is the quarter turn",
)
def lg_allcnnc(in_channels: int = 3, num_classes: int = 10, **options) -> LGAllCNNC:
    return LGAllCNNC(in_channels, num_classes, **options)


# ----------------------------------------------------------------------------- examples
@register_example(
    "learned-lifting-rot90",
    "grid",
    "LearnedGroupConv2d 3 -> 4, 3x3, order 4, A = quarter-turn permutation (= p4 lifting)",
)
@_seeded
def _learned_lifting():
    return LearnedGroupConv2d(3, 4, 3, 4, padding=1, init="rot90")


@register_example(
    "learned-group-rot90-orthogonal",
    "grid",
    "LearnedGroupToGroupConv2d 2 -> 3, 5x5, order 4, per_out, A = A_0 exp(S), A_0 = quarter turn",
)
@_seeded
def _learned_group():
    return GroupBlock(
        LearnedGroupToGroupConv2d(
            2, 3, 5, 4, location="per_out", parametrisation="orthogonal", init="rot90"
        ),
        nn.ReLU(),
    )


__all__ = ["LGCNN", "LGAllCNNC", "lg_allcnnc", "lgcnn"]
