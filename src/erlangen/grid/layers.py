"""Group-equivariant layers on the pixel grid (G-CNNs of Cohen & Welling, 2016).

Tensors stay plain: images are ``(batch, channels, H, W)`` and group feature maps
``(batch, channels, |G|, H, W)``, typed by :class:`~erlangen.fields.ImageField` and
:class:`~erlangen.fields.GroupImageField`; every layer declares ``in_type`` / ``out_type``
so that ``erlangen.check.equivariance(layer)`` needs no arguments.

Convolutions keep one learned filter per channel pair, expand it into the filter bank of all
group elements once per forward pass (an integer gather for quarter turns and mirrors, a small
linear operator for other angles) and run a single ``F.conv2d``. :meth:`export` hands back
that ``nn.Conv2d`` for inference.
"""

from __future__ import annotations

import copy
import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..fields import GroupImageField, ImageField, InvariantField
from ..groups import Cyclic, FiniteGroup
from ..nn import EquivariantModule
from ..nn.arguments import count, counts
from .functional import (
    FILTER_ROTATIONS,
    RingBasis,
    centred_sizes,
    check_planar_group,
    filter_operators,
    group_index,
    is_pixel_exact,
    keeps_centre,
    lifting_index,
    orientation_permutations,
    output_size,
    tap_permutations,
)

#: relative equivariance error that ring-basis layers of C_n / D_n stay below on the checker's
#: smooth inputs (measured table in docs/grids.md, `python -m erlangen.bench.grid errors`);
#: exact groups are unaffected (their field types compare at float precision)
RING_ERROR_BOUND = 0.15


class GridSizeWarning(UserWarning):
    """A layer's stride/padding moves the output off the input's rotation centre."""


def square_param(value, what: str) -> int:
    """One int from an int or a pair of equal ints (rotations swap the two axes)."""
    if isinstance(value, tuple | list):
        if len(value) != 2 or value[0] != value[1]:
            raise ValueError(
                f"{what} must be the same along both axes, since a quarter turn swaps them; "
                f"got {tuple(value)}"
            )
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, got {value!r}")
    return value


def default_size(kernel_size: int, stride: int, padding: int, dilation: int) -> int:
    """An input size for ``sample`` that keeps the centre and leaves a few output pixels."""
    start = max(15, dilation * (kernel_size - 1) + 5)
    return centred_sizes(kernel_size, stride, padding, dilation, start=start, count=1)[0]


class SizeRule:
    """Warn (once per input size) when a layer's geometry moves the rotation centre."""

    def __init__(self, group, kernel_size: int, stride: int, padding: int, dilation: int):
        self.group = group
        self.args = (kernel_size, stride, padding, dilation)
        self.seen: set[tuple[int, int]] = set()

    def __call__(self, owner: str, H: int, W: int) -> None:
        if self.group.order == 1 or (H, W) in self.seen or torch.compiler.is_compiling():
            return
        self.seen.add((H, W))
        k, s, p, d = self.args
        bad = [n for n in {H, W} if not keeps_centre(n, k, s, p, d)]
        if bad:
            good = centred_sizes(k, s, p, d, start=max(1, min(bad) - 2 * s), count=3)
            warnings.warn(
                f"{owner}: a {H}x{W} input with kernel {k}, stride {s}, padding {p}, dilation "
                f"{d} drops the last {(bad[0] + 2 * p - d * (k - 1) - 1) % s} row(s)/column(s), "
                f"so the output is not centred on the input's rotation centre and "
                f"{self.group.name} is no longer an exact symmetry. Sizes that keep the "
                f"centre: {', '.join(map(str, good))}, ... "
                "(rule: (size + 2 padding - dilation (kernel - 1) - 1) % stride == 0).",
                GridSizeWarning,
                stacklevel=5,  # the code that called the module
            )


class BankConv2d(EquivariantModule):
    """What every expanded-bank convolution shares: the layer keeps compact parameters,
    :meth:`expanded_weight` turns them into the filter bank of all group elements, and one
    ``F.conv2d`` applies it.

    Subclasses set ``in_channels``, ``out_channels``, ``order`` (``|G|``), ``lifting``,
    ``kernel_size``, ``stride``, ``padding``, ``dilation``, ``groups``, ``weight``, ``bias``
    (one per output channel, or None), ``in_type`` and ``_size_rule``, and implement
    :meth:`expanded_weight`.
    """

    lifting: bool = False

    def _set_geometry(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int],
        padding: int | tuple[int, int],
        dilation: int | tuple[int, int],
        groups: int,
    ) -> None:
        """Validate and store the convolution's geometry (square, since rotations swap axes)."""
        owner = type(self).__name__
        counts(owner, in_channels=in_channels, out_channels=out_channels, groups=groups)
        self.kernel_size = count(square_param(kernel_size, "kernel_size"), "kernel_size", owner)
        self.stride = count(square_param(stride, "stride"), "stride", owner)
        self.padding = count(square_param(padding, "padding"), "padding", owner, minimum=0)
        self.dilation = count(square_param(dilation, "dilation"), "dilation", owner)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                f"divisible by groups ({groups})"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups

    def expanded_weight(self) -> Tensor:
        """``(out_channels * |G|, in_channels // groups * |G_in|, k, k)``."""
        raise NotImplementedError

    def expanded_bias(self) -> Tensor | None:
        """``(out_channels * |G|,)``: one bias per output channel, repeated over the group."""
        if self.bias is None:
            return None
        return self.bias.repeat_interleave(self.order)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` (lifting) or ``(B, C, |G|, H, W)`` -> ``(B, C_out, |G|, H', W')``."""
        self.validate_inputs(x)
        B = x.shape[0]
        H, W = x.shape[-2:]
        self._size_rule(type(self).__name__, H, W)
        y = F.conv2d(
            x.flatten(1, -3),  # (B, C * |G_in|, H, W); safe for an empty batch
            self.expanded_weight(),
            self.expanded_bias(),
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )
        return y.view(B, self.out_channels, self.order, *y.shape[-2:])

    def export(self) -> nn.Conv2d:
        """A plain ``nn.Conv2d`` holding the expanded bank (for inference or other runtimes).

        It maps ``x.flatten(1, 2)`` (group layers) or ``x`` (lifting layers) to
        ``(batch, out_channels * |G|, H', W')``; ``.unflatten(1, (out_channels, |G|))``
        recovers the group axis. :func:`export` does this for a whole model.
        """
        g_in = 1 if self.lifting else self.order
        conv = nn.Conv2d(
            self.in_channels * g_in,
            self.out_channels * self.order,
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            bias=self.bias is not None,
            device=self.weight.device,
            dtype=self.weight.dtype,
        )
        with torch.no_grad():
            conv.weight.copy_(self.expanded_weight())
            if self.bias is not None:
                conv.bias.copy_(self.expanded_bias())
        return conv

    def _geometry_repr(self) -> str:
        """``stride=..., padding=...`` for the settings that differ from the defaults."""
        s = ""
        for name, default in (("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        if self.bias is None:
            s += ", bias=False"
        return s


class _GroupConv(BankConv2d):
    """Shared machinery of :class:`LiftingConv2d` and :class:`GroupConv2d`."""

    lifting: bool = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        group: FiniteGroup | str | None = None,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        filter_rotation: str = "auto",
        ring: RingBasis | None = None,
    ):
        super().__init__()
        group = Cyclic(4) if group is None else group
        self.group = check_planar_group(group)
        self._set_geometry(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups
        )
        self.order = self.group.order
        self.filter_rotation = self._resolve(filter_rotation)

        # How the bank is expanded (buffers are not saved: the state dict is weight + bias).
        #   permute: one gather index into the flattened weight (taps and orientations);
        #   ring / bilinear: operators (|G|, k*k, params) applied to the weight's last axis,
        #     plus the orientation re-indexing for group layers.
        k, cin = self.kernel_size, in_channels // groups
        self.ring = (ring or RingBasis(k)) if self.filter_rotation == "ring" else None
        for name in ("index", "operators", "orientations"):
            self.register_buffer(name, None, persistent=False)
        if self.filter_rotation == "permute":
            taps = self._tap_permutations()
            if self.lifting:
                index = lifting_index(taps, cin)
            else:
                index = group_index(taps, self._orientation_permutations(), cin)
            self.index = index
            self.params_per_filter = k * k
            filter_shape: tuple[int, ...] = (k, k)
        else:
            ops = self._filter_operators()
            self.operators = ops.to(torch.get_default_dtype())
            if not self.lifting:
                self.orientations = self._orientation_permutations().flatten()
            self.params_per_filter = ops.shape[-1]
            filter_shape = (self.params_per_filter,)
        g_in = () if self.lifting else (self.order,)
        self.weight = nn.Parameter(torch.empty(out_channels, cin, *g_in, *filter_shape))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

        self._size_rule = SizeRule(self.group, k, self.stride, self.padding, self.dilation)
        size = default_size(k, self.stride, self.padding, self.dilation)
        out_size = output_size(size, k, self.stride, self.padding, self.dilation)
        self.in_type = (
            ImageField(self.group, channels=in_channels, size=size)
            if self.lifting
            else GroupImageField(self.group, in_channels, size=size)
        )
        self.out_type = GroupImageField(self.group, out_channels, size=out_size)

    # -------------------------------------------------------------- construction helpers
    def _resolve(self, method: str) -> str:
        exact = is_pixel_exact(self.group)
        if method == "auto":
            return "permute" if exact else "ring"
        if method not in FILTER_ROTATIONS:
            raise ValueError(
                f"filter_rotation must be 'auto' or one of {FILTER_ROTATIONS}, got {method!r}"
            )
        if method == "permute" and not exact:
            raise ValueError(
                f"{self.group.name} rotates by {360 / self.group.n:g} degrees, which does not "
                "permute pixels: use filter_rotation='ring' (default) or 'bilinear'"
            )
        return method

    def _tap_permutations(self) -> Tensor:
        """``(|G|, k*k)`` tap permutation per element (overridden by tests of broken banks)."""
        return tap_permutations(self.group, self.kernel_size)

    def _filter_operators(self) -> Tensor:
        """``(|G|, k*k, params)`` filter operators of the ring / bilinear paths."""
        return filter_operators(self.group, self.kernel_size, self.filter_rotation, self.ring)

    def _orientation_permutations(self) -> Tensor:
        """``(|G|, |G|)`` input-orientation re-indexing per output orientation."""
        return orientation_permutations(self.group)

    def reset_parameters(self) -> None:
        """Uniform init with the bound of ``nn.Conv2d`` for the expanded filter's fan-in."""
        k = self.kernel_size
        g_in = 1 if self.lifting else self.order
        fan_in = (self.in_channels // self.groups) * g_in * k * k
        bound = 1.0 / math.sqrt(fan_in)
        if self.operators is not None:
            # keep the expanded taps at the same scale as a pixel-parameterised filter
            energy = float((self.operators[0].double() ** 2).sum())
            scale = math.sqrt(k * k / energy)
        else:
            scale = 1.0
        with torch.no_grad():
            self.weight.uniform_(-bound * scale, bound * scale)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound)

    # -------------------------------------------------------------- the filter bank
    def expanded_weight(self) -> Tensor:
        """The filter bank of all group elements.

        Returns
        -------
        Tensor
            ``(out_channels * |G|, in_channels // groups * |G_in|, k, k)`` with
            ``|G_in| = 1`` for lifting layers; row ``o * |G| + h`` is output channel ``o`` at
            orientation ``h``, column ``c * |G| + h'`` input channel ``c`` at ``h'``.
        """
        out, order, k = self.out_channels, self.order, self.kernel_size
        cin = self.in_channels // self.groups
        g_in = 1 if self.lifting else order
        if self.index is not None:
            bank = self.weight.reshape(out, -1).index_select(1, self.index)
            return bank.view(out * order, cin * g_in, k, k)
        ops = self.operators.to(self.weight.dtype)
        if self.lifting:
            bank = torch.einsum("hpb,ocb->ohcp", ops, self.weight)
        else:
            w = self.weight.index_select(2, self.orientations)
            w = w.view(out, cin, order, order, -1)  # [o, c, h, h', b] = weight[.., h^-1 h', b]
            bank = torch.einsum("hpb,ochkb->ohckp", ops, w)
        return bank.reshape(out * order, cin * g_in, k, k)

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"group={self.group.name}"
        ) + self._geometry_repr()
        if self.filter_rotation != "permute":
            s += f", filter_rotation={self.filter_rotation!r}"
        return s


class LiftingConv2d(_GroupConv):
    """Lift images to group feature maps: correlate with every transformed filter.

    ``out[b, o, h] = sum_c x[b, c] * (h . psi[o, c])`` (cross-correlation) with
    ``(h . psi)(q) = psi(h^-1 q)``, so ``out(g . x) = g . out(x)`` for the actions of
    :class:`~erlangen.fields.ImageField` and :class:`~erlangen.fields.GroupImageField`.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int
        Square kernels only (a pair must be equal).
    group : Cyclic, Dihedral or str
        ``Cyclic(4)`` (p4, default) or ``Dihedral(4)`` (p4m) and their subgroups are exact;
        a name such as ``"C4"``, ``"D4"`` or ``"p4m"`` works too;
        other orders rotate filters approximately (see ``filter_rotation``).
    stride, padding, dilation, groups : int
        As in ``nn.Conv2d`` (zero padding). Strides keep exactness only on input sizes with
        ``(H + 2 padding - dilation (k - 1) - 1) % stride == 0``; other sizes warn.
    bias : bool
        One bias per output channel, shared over the group axis.
    filter_rotation : str
        ``"auto"`` (``"permute"`` for pixel-exact groups, else ``"ring"``), ``"permute"``,
        ``"ring"`` (steerable Gaussian-ring basis, rotated exactly then sampled) or
        ``"bilinear"`` (pixel filters resampled).
    ring : RingBasis, optional
        The ring basis for ``filter_rotation="ring"`` (default ``RingBasis(kernel_size)``).

    Shape
    -----
    ``(batch, in_channels, H, W) -> (batch, out_channels, |G|, H', W')``.

    Examples
    --------
    >>> from erlangen.check import equivariance
    >>> from erlangen.groups import Dihedral
    >>> layer = LiftingConv2d(3, 8, 3, group=Dihedral(4))
    >>> equivariance(layer).passed
    True
    """

    lifting = True


class GroupConv2d(_GroupConv):
    """Group convolution between group feature maps.

    ``out[b, o, h] = sum_{c, h'} x[b, c, h'] * (h . psi[o, c, h^-1 h'])``: the filter for
    output orientation ``h`` is the base filter transformed by ``h`` spatially and re-indexed
    on its input-orientation axis by the Cayley table.

    Parameters
    ----------
    in_channels, out_channels : int
        Group feature-map channels (each carries ``|G|`` orientations).
    kernel_size, group, stride, padding, dilation, groups, bias, filter_rotation, ring
        As in :class:`LiftingConv2d`.

    Shape
    -----
    ``(batch, in_channels, |G|, H, W) -> (batch, out_channels, |G|, H', W')``.

    Examples
    --------
    >>> from erlangen.check import equivariance
    >>> layer = GroupConv2d(4, 4, 3, group=Cyclic(4), padding=1)
    >>> equivariance(layer).max_abs < 1e-12
    True
    """

    lifting = False


# ------------------------------------------------------------------------------ pooling
class GroupPool(EquivariantModule):
    """Pool over the group axis: group feature maps -> images (invariant fibers).

    Parameters
    ----------
    channels : int
    group : Cyclic or Dihedral
    mode : str
        ``"max"``, ``"mean"`` or ``"norm"`` (Euclidean norm over the orientations).

    Shape
    -----
    ``(batch, channels, |G|, H, W) -> (batch, channels, H, W)``.
    """

    MODES = ("max", "mean", "norm")

    def __init__(
        self,
        channels: int,
        group: FiniteGroup | str | None = None,
        mode: str = "max",
        size: int = 15,
    ):
        super().__init__()
        count(channels, "channels", type(self).__name__)
        self.group = check_planar_group(Cyclic(4) if group is None else group)
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, got {mode!r}")
        self.channels, self.mode = channels, mode
        self.in_type = GroupImageField(self.group, channels, size=size)
        self.out_type = ImageField(self.group, channels=channels, size=size)

    def forward(self, x: Tensor) -> Tensor:
        self.validate_inputs(x)
        if self.mode == "max":
            return x.amax(dim=2)
        if self.mode == "mean":
            return x.mean(dim=2)
        return torch.linalg.vector_norm(x, dim=2)

    def extra_repr(self) -> str:
        return f"{self.channels}, group={self.group.name}, mode={self.mode!r}"


class _SpatialPool(EquivariantModule):
    """Spatial pooling of every orientation plane; exact when the output stays centred."""

    def __init__(
        self,
        channels: int,
        kernel_size: int,
        group: FiniteGroup | str | None = None,
        stride: int | None = None,
        padding: int = 0,
    ):
        super().__init__()
        owner = type(self).__name__
        self.group = check_planar_group(Cyclic(4) if group is None else group)
        self.channels = count(channels, "channels", owner)
        self.kernel_size = count(square_param(kernel_size, "kernel_size"), "kernel_size", owner)
        stride = self.kernel_size if stride is None else square_param(stride, "stride")
        self.stride = count(stride, "stride", owner)
        self.padding = count(square_param(padding, "padding"), "padding", owner, minimum=0)
        k, s, p = self.kernel_size, self.stride, self.padding
        self._size_rule = SizeRule(self.group, k, s, p, 1)
        size = default_size(k, s, p, 1)
        self.in_type = GroupImageField(self.group, channels, size=size)
        self.out_type = GroupImageField(self.group, channels, size=output_size(size, k, s, p))

    def forward(self, x: Tensor) -> Tensor:
        self.validate_inputs(x)
        B, C, G, H, W = x.shape
        self._size_rule(type(self).__name__, H, W)
        y = self._pool(x.reshape(B, C * G, H, W))
        return y.view(B, C, G, *y.shape[-2:])

    def extra_repr(self) -> str:
        return (
            f"{self.channels}, kernel_size={self.kernel_size}, group={self.group.name}, "
            f"stride={self.stride}, padding={self.padding}"
        )


class GroupMaxPool2d(_SpatialPool):
    """Spatial max-pooling of group feature maps (each orientation plane separately).

    Exact on input sizes with ``(H + 2 padding - kernel) % stride == 0`` (2x2 pooling: even
    sizes); other sizes warn.

    Shape
    -----
    ``(batch, channels, |G|, H, W) -> (batch, channels, |G|, H', W')``.
    """

    def _pool(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class GroupAvgPool2d(_SpatialPool):
    """Spatial average-pooling of group feature maps (zero padding counted, as
    ``nn.AvgPool2d``); same exactness rule as :class:`GroupMaxPool2d`."""

    def _pool(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class InvariantPool(EquivariantModule):
    """Global pooling over orientations and space: group feature maps -> invariant vectors.

    Parameters
    ----------
    channels : int
    group : Cyclic or Dihedral
    group_mode, spatial_mode : str
        ``"max"`` or ``"mean"`` for each reduction (orientations first).

    Shape
    -----
    ``(batch, channels, |G|, H, W) -> (batch, channels)``.
    """

    def __init__(
        self,
        channels: int,
        group: FiniteGroup | str | None = None,
        group_mode: str = "max",
        spatial_mode: str = "max",
        size: int = 15,
    ):
        super().__init__()
        count(channels, "channels", type(self).__name__)
        self.group = check_planar_group(Cyclic(4) if group is None else group)
        for mode in (group_mode, spatial_mode):
            if mode not in ("max", "mean"):
                raise ValueError(f"pooling modes are 'max' or 'mean', got {mode!r}")
        self.channels, self.group_mode, self.spatial_mode = channels, group_mode, spatial_mode
        self.in_type = GroupImageField(self.group, channels, size=size)
        self.out_type = InvariantField(self.group, shape=(2, channels))

    def forward(self, x: Tensor) -> Tensor:
        self.validate_inputs(x)
        x = x.amax(dim=2) if self.group_mode == "max" else x.mean(dim=2)
        return x.amax(dim=(-2, -1)) if self.spatial_mode == "max" else x.mean(dim=(-2, -1))

    def extra_repr(self) -> str:
        return (
            f"{self.channels}, group={self.group.name}, group_mode={self.group_mode!r}, "
            f"spatial_mode={self.spatial_mode!r}"
        )


# ------------------------------------------------------------------------------ norms
class GroupBatchNorm2d(nn.BatchNorm2d, EquivariantModule):
    """Batch norm of group feature maps with statistics (and affine parameters) shared over
    the group axis: one mean/variance per channel over ``(batch, |G|, H, W)``.

    Per-orientation statistics would differ between orientations and break equivariance;
    shared ones are invariant under the group, so the layer is equivariant in training mode
    as well as in eval mode. The state dict is that of ``nn.BatchNorm2d(channels)``.

    Shape
    -----
    ``(batch, channels, |G|, H, W) -> same``.
    """

    def __init__(
        self,
        channels: int,
        group: FiniteGroup | str | None = None,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        size: int = 15,
    ):
        count(channels, "channels", type(self).__name__)
        super().__init__(channels, eps, momentum, affine, track_running_stats)
        self.group = check_planar_group(Cyclic(4) if group is None else group)
        self.in_type = GroupImageField(self.group, channels, size=size)
        self.out_type = GroupImageField(self.group, channels, size=size)

    def forward(self, x: Tensor) -> Tensor:
        self.validate_inputs(x)
        return super().forward(x.flatten(2, 3)).view_as(x)


# ------------------------------------------------------------------------------ blocks
class GroupBlock(nn.Sequential, EquivariantModule):
    """``nn.Sequential`` of grid layers whose types are those of its first and last typed
    modules (pointwise modules such as ``nn.ReLU`` in between are untyped).

    Parameters
    ----------
    *modules : nn.Module
    size : int, optional
        Side of the inputs ``in_type`` samples; pick one that every strided layer keeps
        centred (see :func:`~erlangen.grid.keeps_centre`).
    """

    def __init__(self, *modules: nn.Module, size: int | None = None):
        super().__init__(*modules)
        typed = [m for m in modules if hasattr(m, "in_type")]
        if not typed:
            raise ValueError("GroupBlock needs at least one module with in_type/out_type")
        self.in_type, self.out_type = typed[0].in_type, typed[-1].out_type
        if size is not None:
            self.in_type = self.in_type.replace(size=size)


# ------------------------------------------------------------------------------ export
class ExportedConv2d(EquivariantModule):
    """An exported lifting/group convolution: a plain ``nn.Conv2d`` plus the reshapes to and
    from group feature maps. Same ``in_type`` / ``out_type`` as the layer it came from."""

    def __init__(self, layer: _GroupConv):
        super().__init__()
        self.conv = layer.export()
        self.out_channels, self.order = layer.out_channels, layer.order
        self.in_type, self.out_type = layer.in_type, layer.out_type

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv(x.flatten(1, 2) if x.dim() == 5 else x)
        return y.unflatten(1, (self.out_channels, self.order))


def export(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every :class:`LiftingConv2d` / :class:`GroupConv2d` replaced
    by an :class:`ExportedConv2d` (its expanded bank frozen into an ``nn.Conv2d``): the same
    function without the per-forward filter expansion, for inference."""
    if isinstance(model, _GroupConv):
        return ExportedConv2d(model)
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for attr, child in list(parent.named_children()):
            if isinstance(child, _GroupConv):
                setattr(parent, attr, ExportedConv2d(child))
    return model


__all__ = [
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
    "export",
]
