"""G-CNN models: the rotated-MNIST networks of Cohen & Welling (2016) and All-CNN-C variants.

Every model maps float images ``(batch, in_channels, H, W)`` to logits
``(batch, num_classes)`` and declares ``in_type = ImageField(G, ...)`` and
``out_type = InvariantField(G)``. Equivariant models are exactly invariant to quarter turns
(and mirrors for p4m) on input sizes that keep every strided layer centred (see
``docs/grids.md``); the plain baselines declare the same types so that the checker measures
how far from invariant they are.

Registered names: ``z2cnn``, ``p4cnn``, ``p4mcnn``, ``allcnnc``, ``p4-allcnnc``,
``p4m-allcnnc``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

from torch import Tensor, nn

from ..fields import FieldTypeError, ImageField, InvariantField
from ..groups import Cyclic, Dihedral, FiniteGroup
from ..nn import EquivariantModule
from ..nn.arguments import count, counts, probability
from ..registry import register_model
from .functional import check_planar_group
from .layers import (
    GroupBatchNorm2d,
    GroupConv2d,
    GroupMaxPool2d,
    InvariantPool,
    LiftingConv2d,
)

#: the symmetry the plain baselines are measured against (they are not invariant to it)
BASELINE_GROUP = Cyclic(4)


def _check_input(model: EquivariantModule, x: Tensor) -> None:
    if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != model.in_channels:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise FieldTypeError(
            f"{type(model).__name__} expects images (batch, {model.in_channels}, H, W), got {shape}"
        )
    model.validate_inputs(x)


#: builds one convolution of a model, ``(in_channels, out_channels, kernel_size, *, stride,
#: padding, bias) -> layer`` (``nn.Conv2d``, or a lifting / group / learned layer with its
#: group and every other option bound)
_ConvFactory = Callable[..., nn.Module]


def _build_gcnn(
    model: nn.Module,
    lifting: _ConvFactory,
    group_conv: _ConvFactory,
    group: FiniteGroup | str,
    channels: int,
    dropout: float,
    batch_norm: bool,
) -> None:
    """Creates the layers of the rotated-MNIST G-CNN (:class:`GCNN`, and ``LGCNN`` with
    learned convolutions) as ``model.features`` then ``model.top`` (in this order), for the
    model's ``in_channels`` and ``num_classes``.

    ``features`` maps ``(batch, in_channels, H, W)`` to ``(batch, channels, |G|, H', W')``:
    a 3x3 lifting convolution and five 3x3 group convolutions, all 'valid', each followed by
    batch norm (shared over the group axis), ReLU and dropout (where enabled), with a 2x2
    max-pool after the second. ``top`` is a 4x4 group convolution to ``num_classes``.
    """
    in_channels, num_classes = model.in_channels, model.num_classes
    owner = type(model).__name__
    counts(owner, in_channels=in_channels, num_classes=num_classes, channels=channels)
    probability(dropout, "dropout", owner)
    layers: list[nn.Module] = [lifting(in_channels, channels, 3, bias=not batch_norm)]
    for i in range(6):
        if i > 0:
            layers.append(group_conv(channels, channels, 3, bias=not batch_norm))
        layers += [GroupBatchNorm2d(channels, group)] if batch_norm else []
        layers.append(nn.ReLU())
        layers += [nn.Dropout(dropout)] if dropout > 0 else []
        if i == 1:
            layers.append(GroupMaxPool2d(channels, 2, group))
    model.features = nn.Sequential(*layers)
    model.top = group_conv(channels, num_classes, 4)


def _allcnnc_widths(
    order: int, widths: Sequence[int] | None, downsample_kernel: int
) -> Sequence[int]:
    """Checks ``downsample_kernel``; the stage widths, by default ``(96, 192) / sqrt(|G|)``."""
    if downsample_kernel not in (3, 4):
        raise ValueError(f"downsample_kernel must be 3 or 4, got {downsample_kernel}")
    if widths is None:
        widths = tuple(max(1, round(w / math.sqrt(order))) for w in (96, 192))
    return widths


def _build_allcnnc(
    model: nn.Module,
    first_conv: _ConvFactory,
    conv: _ConvFactory,
    norm: Callable[[int], nn.Module],
    widths: Sequence[int],
    dropout: Sequence[float],
    batch_norm: bool,
    downsample_kernel: int,
) -> None:
    """Creates the layers of All-CNN-C (:class:`AllCNNC`, and ``LGAllCNNC`` with learned
    convolutions) as ``model.features`` then ``model.top`` (in this order), for the model's
    ``in_channels`` and ``num_classes``.

    ``features``: input dropout, then per stage three 3x3 convolutions (the third
    ``downsample_kernel`` x ``downsample_kernel`` with stride 2 and padding 1) and dropout,
    then a 3x3 'valid' and a 1x1 convolution; ``first_conv`` builds the first convolution,
    ``conv`` the others, each followed by ``norm(out_channels)`` (with ``batch_norm``) and
    ReLU. ``top`` is a 1x1 convolution to ``num_classes``. Shapes are those of the
    convolutions: ``(batch, in_channels, H, W) -> (batch, num_classes, [|G|,] H', W')``.
    """
    in_channels, num_classes = model.in_channels, model.num_classes
    owner = type(model).__name__
    if len(widths) != 2 or len(dropout) != 2:
        raise ValueError(
            f"{owner}: widths and dropout are pairs (one per stage), got {widths!r}, {dropout!r}"
        )
    counts(owner, in_channels=in_channels, num_classes=num_classes)
    for width in widths:
        count(width, "widths", owner)
    for rate in dropout:
        probability(rate, "dropout", owner)
    w1, w2 = widths
    drop_in, drop_stage = dropout
    k_down = downsample_kernel
    plan = [  # (in, out, kernel, stride, padding)
        (in_channels, w1, 3, 1, 1),
        (w1, w1, 3, 1, 1),
        (w1, w1, k_down, 2, 1),
        "drop",
        (w1, w2, 3, 1, 1),
        (w2, w2, 3, 1, 1),
        (w2, w2, k_down, 2, 1),
        "drop",
        (w2, w2, 3, 1, 0),
        (w2, w2, 1, 1, 0),
    ]
    layers: list[nn.Module] = [nn.Dropout(drop_in)] if drop_in > 0 else []
    make = first_conv
    for step in plan:
        if step == "drop":
            layers += [nn.Dropout(drop_stage)] if drop_stage > 0 else []
            continue
        cin, cout, k, s, p = step
        layers.append(make(cin, cout, k, stride=s, padding=p, bias=not batch_norm))
        if batch_norm:
            layers.append(norm(cout))
        layers.append(nn.ReLU())
        make = conv
    model.features = nn.Sequential(*layers)
    model.top = conv(w2, num_classes, 1)


class Z2CNN(EquivariantModule):
    """The plain CNN baseline of Cohen & Welling for rotated MNIST.

    Seven 'valid' convolutions (six 3x3 with batch norm, ReLU and dropout, a 2x2 max-pool
    after the second, a final 4x4 to the classes), then the maximum over space. On 28x28
    inputs the spatial size goes 26, 24, 12, 10, 8, 6, 4, 1.

    Parameters
    ----------
    in_channels, num_classes : int
    channels : int
        Width of every hidden layer (20 in the paper).
    dropout : float
        Dropout after every hidden layer (0.3 in the paper).
    batch_norm : bool
    input_size : int
        Side of the images ``in_type`` samples (28 for MNIST).

    Shape
    -----
    ``(batch, in_channels, H, W) -> (batch, num_classes)``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        channels: int = 20,
        dropout: float = 0.3,
        batch_norm: bool = True,
        input_size: int = 28,
    ):
        super().__init__()
        counts("Z2CNN", in_channels=in_channels, num_classes=num_classes, channels=channels)
        probability(dropout, "dropout", "Z2CNN")
        self.in_channels, self.num_classes = in_channels, num_classes
        layers: list[nn.Module] = []
        width = in_channels
        for i in range(6):
            layers += [nn.Conv2d(width, channels, 3, bias=not batch_norm)]
            layers += [nn.BatchNorm2d(channels)] if batch_norm else []
            layers += [nn.ReLU(), nn.Dropout(dropout)]
            if i == 1:
                layers.append(nn.MaxPool2d(2))
            width = channels
        self.features = nn.Sequential(*layers)
        self.top = nn.Conv2d(channels, num_classes, 4)
        self.in_type = ImageField(BASELINE_GROUP, channels=in_channels, size=input_size)
        self.out_type = InvariantField(BASELINE_GROUP, shape=(2, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return self.top(self.features(x)).amax(dim=(-2, -1))


class GCNN(EquivariantModule):
    """The rotated-MNIST G-CNN of Cohen & Welling (P4CNN for ``Cyclic(4)``).

    A lifting convolution and six group convolutions, all 'valid': five 3x3 layers after the
    lifting one, each with batch norm (statistics shared over the group axis) and ReLU, a 2x2
    spatial max-pool after the second layer, a last 4x4 group convolution to the classes,
    then the maximum over orientations and over space. On 28x28 inputs the spatial size goes
    26, 24, 12, 10, 8, 6, 4, 1.

    Exactly invariant for pixel-exact groups on even input sizes >= 28 (the 2x2 pooling needs
    an even map); odd sizes warn. Other groups (``Cyclic(8)``, ...) are approximately
    invariant.

    Parameters
    ----------
    group : Cyclic or Dihedral
    in_channels, num_classes : int
    channels : int
        Group channels of every hidden layer (10 for p4; 7 for p4m keeps the parameter count,
        which grows with ``|G| * channels^2``).
    dropout : float
        Dropout after every hidden layer (off by default).
    batch_norm : bool
    input_size : int

    Shape
    -----
    ``(batch, in_channels, H, W) -> (batch, num_classes)``.
    """

    def __init__(
        self,
        group: FiniteGroup | str,
        in_channels: int = 1,
        num_classes: int = 10,
        channels: int = 10,
        dropout: float = 0.0,
        batch_norm: bool = True,
        input_size: int = 28,
    ):
        super().__init__()
        self.group = check_planar_group(group)
        self.in_channels, self.num_classes = in_channels, num_classes
        lifting, group_conv = partial(LiftingConv2d, group=group), partial(GroupConv2d, group=group)
        _build_gcnn(self, lifting, group_conv, group, channels, dropout, batch_norm)
        self.pool = InvariantPool(num_classes, group, "max", "max")
        self.in_type = ImageField(self.group, channels=in_channels, size=input_size)
        self.out_type = InvariantField(self.group, shape=(2, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return self.pool(self.top(self.features(x)))


class AllCNNC(EquivariantModule):
    """All-CNN-C (Springenberg et al. 2015) for 32x32 colour images, plain or on a group.

    Three 3x3 convolutions per stage (the third strided), two stages, then a 3x3 'valid'
    convolution, two 1x1 convolutions and global average pooling (over space and, for G-CNNs,
    over orientations). Batch norm and ReLU after every hidden layer; dropout on the input and
    after each stage.

    The strided layers are 4x4 with stride 2 and padding 1 by default (``downsample_kernel=4``)
    instead of the paper's 3x3: on a 32x32 input a 3x3/stride-2 layer drops a row and moves
    the rotation centre (exact only on sizes ``4k + 1`` such as 33), while 4x4/stride-2 keeps
    it on every size divisible by 4. With a group the model is then exactly invariant on 32x32.

    Parameters
    ----------
    group : Cyclic or Dihedral, optional
        ``None`` for the plain CNN.
    in_channels, num_classes : int
    widths : (int, int)
        Channels of the two stages: (96, 192) for the plain CNN; divided by ``sqrt(|G|)``
        (p4: (48, 96), p4m: (34, 68)) to keep the number of parameters.
    dropout : (float, float)
        Input dropout and dropout after each stage.
    batch_norm : bool
    downsample_kernel : int
        3 (the paper) or 4 (exact on 32x32).
    input_size : int

    Shape
    -----
    ``(batch, in_channels, H, W) -> (batch, num_classes)``.
    """

    def __init__(
        self,
        group: FiniteGroup | str | None = None,
        in_channels: int = 3,
        num_classes: int = 10,
        widths: Sequence[int] | None = None,
        dropout: Sequence[float] = (0.2, 0.5),
        batch_norm: bool = True,
        downsample_kernel: int = 4,
        input_size: int = 32,
    ):
        super().__init__()
        self.group = None if group is None else check_planar_group(group)
        order = 1 if group is None else self.group.order
        widths = _allcnnc_widths(order, widths, downsample_kernel)
        self.in_channels, self.num_classes = in_channels, num_classes
        if self.group is None:
            first_conv = conv = nn.Conv2d
            norm = nn.BatchNorm2d
        else:
            first_conv = partial(LiftingConv2d, group=self.group)
            conv = partial(GroupConv2d, group=self.group)
            norm = partial(GroupBatchNorm2d, group=self.group)
        _build_allcnnc(self, first_conv, conv, norm, widths, dropout, batch_norm, downsample_kernel)
        if self.group is None:
            self.pool = None
            symmetry = BASELINE_GROUP
        else:
            self.pool = InvariantPool(num_classes, self.group, "mean", "mean")
            symmetry = self.group
        self.in_type = ImageField(symmetry, channels=in_channels, size=input_size)
        self.out_type = InvariantField(symmetry, shape=(2, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        y = self.top(self.features(x))
        if self.pool is None:
            return y.mean(dim=(-2, -1))
        return self.pool(y)


# ----------------------------------------------------------------------------- registry
@register_model(
    "z2cnn",
    family="grid",
    description="Plain CNN baseline of Cohen & Welling (rotated MNIST): 7 convs, 20 channels, "
    "dropout 0.3",
)
def z2cnn(in_channels: int = 1, num_classes: int = 10, **options) -> Z2CNN:
    return Z2CNN(in_channels, num_classes, **options)


@register_model(
    "p4cnn",
    family="grid",
    description="P4CNN of Cohen & Welling (rotated MNIST): lifting + 6 p4 convs, 10 channels, "
    "exactly C4-invariant",
)
def p4cnn(in_channels: int = 1, num_classes: int = 10, **options) -> GCNN:
    return GCNN(Cyclic(4), in_channels, num_classes, **options)


@register_model(
    "p4mcnn",
    family="grid",
    description="P4CNN on p4m (rotations and mirrors, D4), 7 channels (same parameter count), "
    "exactly D4-invariant",
)
def p4mcnn(in_channels: int = 1, num_classes: int = 10, **options) -> GCNN:
    options.setdefault("channels", 7)
    return GCNN(Dihedral(4), in_channels, num_classes, **options)


@register_model(
    "allcnnc",
    family="grid",
    description="All-CNN-C for 32x32 colour images (plain CNN baseline), widths 96/192",
)
def allcnnc(in_channels: int = 3, num_classes: int = 10, **options) -> AllCNNC:
    return AllCNNC(None, in_channels, num_classes, **options)


@register_model(
    "p4-allcnnc",
    family="grid",
    description="p4-All-CNN-C (Cohen & Welling), widths 48/96, exactly C4-invariant on 32x32",
)
def p4_allcnnc(in_channels: int = 3, num_classes: int = 10, **options) -> AllCNNC:
    return AllCNNC(Cyclic(4), in_channels, num_classes, **options)


@register_model(
    "p4m-allcnnc",
    family="grid",
    description="p4m-All-CNN-C (Cohen & Welling), widths 34/68, exactly D4-invariant on 32x32",
)
def p4m_allcnnc(in_channels: int = 3, num_classes: int = 10, **options) -> AllCNNC:
    return AllCNNC(Dihedral(4), in_channels, num_classes, **options)


__all__ = [
    "GCNN",
    "Z2CNN",
    "AllCNNC",
    "allcnnc",
    "p4_allcnnc",
    "p4cnn",
    "p4m_allcnnc",
    "p4mcnn",
    "z2cnn",
]
