"""Models built from learned group convolutions (LGCNNs), registered as ``lgcnn`` and
``lg-allcnnc``.

- :class:`LGCNN` (``lgcnn``): the rotated-MNIST P4CNN of Cohen & Welling
  (:class:`~erlangen.grid.GCNN`) with every lifting / group convolution replaced by its
  learned counterpart: same widths, depth, pooling, batch norm and invariant read-out.
- :class:`LGAllCNNC` (``lg-allcnnc``): All-CNN-C in the shape of
  :class:`~erlangen.grid.AllCNNC` on a group, with learned layers.

Both map images ``(batch, in_channels, H, W)`` to logits ``(batch, num_classes)``, expose
:meth:`auxiliary_loss` (the sum of the layers' invertibility and cyclic penalties, for the
training loop to add to the task loss), receive the actions of a trained model with
:meth:`~erlangen.grid.learned.GroupActionTransfer.transfer_from`, and declare
``in_type = ImageField(Cyclic(n))`` and ``out_type = InvariantField(Cyclic(n))``: a
conditional claim, exact when every layer's action is the quarter turn (``order=4`` and the
actions at their start, or frozen there), and a measurement otherwise. Every option of the
learned layers (``location``, ``parametrisation``, ``init``, ``invertibility_weight``,
``cyclic_weight``, ...) is passed through to all of them.

Their default recipe (:data:`DEFAULT_INIT`, :data:`DEFAULT_ACTION_LR_SCALE`) starts every
action at the turn by ``360 / n`` degrees and learns it ten times slower than the filters:
the ablation in ``docs/learned_groups.md`` found that a random start never finds the
rotation in the budgets measured, while this start matches the p4 model on rotated digits
and lets the action move where upright data ask. ``init="random", action_lr_scale=1`` gives
the recipe before that study.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from torch import Tensor, nn

from ...fields import ImageField, InvariantField
from ...groups import Cyclic
from ...nn import EquivariantModule
from ...registry import register_model
from ..layers import GroupBatchNorm2d, InvariantPool
from ..models import _allcnnc_widths, _build_allcnnc, _build_gcnn, _check_input, _ConvFactory
from .layers import LearnedGroupConv2d, LearnedGroupToGroupConv2d
from .trace import action_trace
from .transfer import GroupActionTransfer, auxiliary_loss, learned_layers

#: the default initial action of the learned models' layers: the turn by ``360 / n`` degrees
#: (the quarter turn for ``n = 4``, so that the model starts as its p4 counterpart); chosen by
#: the ablation in docs/learned_groups.md, where a random start never found the rotation
DEFAULT_INIT = "rotation"
#: the default learning rate of the actions relative to the filters (same ablation: slow
#: enough to keep what rotated data need, fast enough to leave it where upright data ask)
DEFAULT_ACTION_LR_SCALE = 0.1


def _learned(cls: type[nn.Module], order: int, layer_options: dict) -> _ConvFactory:
    """``cls(in_channels, out_channels, kernel_size, order, **geometry, **layer_options)``."""

    def make(in_channels: int, out_channels: int, kernel_size: int, **geometry) -> nn.Module:
        return cls(in_channels, out_channels, kernel_size, order, **geometry, **layer_options)

    return make


class _LearnedModel(GroupActionTransfer, EquivariantModule):
    """The model-level views of the learned layers, :meth:`transfer_from`, and the two
    training protocols: :meth:`parameter_groups` (the actions' own learning rate) and
    :meth:`diagnostics` (recorded every :attr:`diagnostics_every` steps)."""

    in_channels: int
    #: the learning rate of the actions' parameters relative to the others'
    action_lr_scale: float = 1.0
    #: optimizer steps between two records of :meth:`diagnostics` (0: none)
    diagnostics_every: int = 0

    def _training_options(self, action_lr_scale: float, trace_every: int) -> None:
        if not action_lr_scale > 0:
            raise ValueError(f"action_lr_scale must be > 0, got {action_lr_scale!r}")
        if not isinstance(trace_every, int) or isinstance(trace_every, bool) or trace_every < 0:
            raise ValueError(f"trace_every must be an int >= 0, got {trace_every!r}")
        self.action_lr_scale = float(action_lr_scale)
        self.diagnostics_every = trace_every

    def parameter_groups(self, lr: float) -> list[dict]:
        """Optimizer parameter groups: every parameter at ``lr``, except the actions' (``A``
        and ``A~``), at ``lr * action_lr_scale``.

        The training loop (:class:`erlangen.train.TaskModule`) builds its optimizer from
        these when a model has this method.
        """
        action_ids = {id(p) for _, layer in learned_layers(self) for p in layer.action_parameters()}
        actions = [p for p in self.parameters() if id(p) in action_ids]
        others = [p for p in self.parameters() if id(p) not in action_ids]
        groups = [{"params": others, "lr": lr}]
        if actions:
            groups.append({"params": actions, "lr": lr * self.action_lr_scale})
        return groups

    def diagnostics(self) -> dict[str, float | str]:
        """Where the actions stand (:func:`~erlangen.grid.learned.trace.action_trace`): per
        layer ``||A^n - I||_F``, the distance to the nearest known action and to the
        rotation by ``360 / n`` degrees. The training loop records it every
        :attr:`diagnostics_every` steps in ``diagnostics.csv``."""
        return action_trace(self)

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
    init : str
        Initial action of every learned layer (see
        :class:`~erlangen.grid.LearnedGroupConv2d`); default ``"rotation"``, the turn by
        ``360 / n`` degrees (exactly the quarter turn for ``n = 4``: the model starts as its
        p4 counterpart).
    action_lr_scale : float
        Learning rate of the actions relative to the other parameters
        (:meth:`parameter_groups`); default 0.1.
    trace_every : int
        Optimizer steps between two records of :meth:`diagnostics` in the run folder's
        ``diagnostics.csv`` (0: none).
    **layer_options
        Passed to every :class:`~erlangen.grid.LearnedGroupConv2d` /
        :class:`~erlangen.grid.LearnedGroupToGroupConv2d` (``location``, ``parametrisation``,
        ``init_noise``, ``invertibility_weight``, ``cyclic_weight``, ...).

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
        init: str = DEFAULT_INIT,
        action_lr_scale: float = DEFAULT_ACTION_LR_SCALE,
        trace_every: int = 50,
        **layer_options,
    ):
        super().__init__()
        self._training_options(action_lr_scale, trace_every)
        layer_options["init"] = init
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
    init : str
        Initial action of every learned layer (see
        :class:`~erlangen.grid.LearnedGroupConv2d`); default ``"rotation"``, the turn by
        ``360 / n`` degrees (exactly the quarter turn for ``n = 4``: the model starts as its
        p4 counterpart).
    action_lr_scale : float
        Learning rate of the actions relative to the other parameters
        (:meth:`parameter_groups`); default 0.1.
    trace_every : int
        Optimizer steps between two records of :meth:`diagnostics` in the run folder's
        ``diagnostics.csv`` (0: none).
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
        init: str = DEFAULT_INIT,
        action_lr_scale: float = DEFAULT_ACTION_LR_SCALE,
        trace_every: int = 50,
        **layer_options,
    ):
        super().__init__()
        self._training_options(action_lr_scale, trace_every)
        layer_options["init"] = init
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
    "learned group convs, 10 channels, order 4, A starts at the quarter turn and learns at "
    "0.1x; invariant only where A is the quarter turn",
)
def lgcnn(in_channels: int = 1, num_classes: int = 10, **options) -> LGCNN:
    return LGCNN(in_channels, num_classes, **options)


@register_model(
    "lg-allcnnc",
    family="grid",
    description="All-CNN-C with learned group actions, order 4, widths 48/96 (as "
    "p4-All-CNN-C), A starts at the quarter turn and learns at 0.1x; invariant only where A is "
    "the quarter turn",
)
def lg_allcnnc(in_channels: int = 3, num_classes: int = 10, **options) -> LGAllCNNC:
    return LGAllCNNC(in_channels, num_classes, **options)


__all__ = ["LGCNN", "LGAllCNNC", "lg_allcnnc", "lgcnn"]
