"""The GA layers' arithmetic as few, large operations: stateless functions on plain tensors in
the *kernel layout*, with constant index tables copied once per device.

Kernel layout
-------------
Multivectors are ``(16, tokens, channels)``: component-major, so that every equivariant linear
map is one batched GEMM over components (no transposes), and the components are in the
*kernel order*: the 8 blades without e0, then their e0 partners in the same order::

    kernel index  0  1   2   3   4    5    6    7     | 8   9    10   11   12    13    14    15
    blade         1  e1  e2  e3  e12  e13  e23  e123  | e0  e01  e02  e03  e012  e013  e023  e0123

so that ``e0 * (component m) = component m + 8`` for ``m < 8`` (``e0 e_A = e_{0A}`` without a
sign when ``A`` has no 0), and the inner product, which ignores e0, reads the first half.
Auxiliary scalars are ``(tokens, channels)``. The layers (:mod:`erlangen.ga.layers`) convert
once at their public entry (:func:`to_kernel_layout`) and back at the exit
(:func:`from_kernel_layout`); a network of layers converts once in all.

Every function here computes exactly what :mod:`erlangen.ga.algebra` defines (the tests
compare them on random inputs in float64); only the grouping of the arithmetic differs. The
bilinear products are in :mod:`erlangen.ga.products`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from . import algebra as ga


def _kernel_order() -> tuple[int, ...]:
    """Reference indices of the kernel order: blades without e0, then ``e0`` times each."""
    plain = [b for b in ga.BLADES if 0 not in b]
    return tuple(ga.BLADES.index(b) for b in plain) + tuple(ga.BLADES.index((0, *b)) for b in plain)


#: ``KERNEL_ORDER[m]`` is the reference index of kernel component ``m``
KERNEL_ORDER: tuple[int, ...] = _kernel_order()
#: ``REFERENCE_ORDER[i]`` is the kernel index of reference component ``i``
REFERENCE_ORDER: tuple[int, ...] = tuple(KERNEL_ORDER.index(i) for i in range(ga.DIM))
#: grade of each kernel component
KERNEL_GRADES: tuple[int, ...] = tuple(ga.GRADES[i] for i in KERNEL_ORDER)
#: kernel indices of the scalar, of e123 (the weight of a point) and of e012, e013, e023
#: (a point's coordinates, up to order and sign)
K_SCALAR, K_E123 = REFERENCE_ORDER[ga.SCALAR], REFERENCE_ORDER[ga.E123]
K_TRIVECTOR_E0 = tuple(
    REFERENCE_ORDER[ga.BLADES.index(b)] for b in ((0, 1, 2), (0, 1, 3), (0, 2, 3))
)
#: the first half of the kernel order has no e0: what the inner product sees
HALF = 8

#: ``EquiLinear`` weight index of each of the 16 grade maps (``<x>_k``: index k) and of the 8 e0
#: maps from component ``m`` into ``m + 8`` (``e0 <x>_k``: index 5 + k)
LINEAR_WEIGHT_INDEX: tuple[int, ...] = KERNEL_GRADES + tuple(5 + g for g in KERNEL_GRADES[:HALF])

if K_TRIVECTOR_E0 != (12, 13, 14) or K_E123 != 7 or K_SCALAR != 0:  # pragma: no cover
    raise AssertionError(f"unexpected kernel order {KERNEL_ORDER}")


@dataclass(frozen=True)
class Tables:
    """Index tensors of the kernels on one device."""

    to_kernel: Tensor  # (16,) long: reference index of each kernel component
    to_reference: Tensor  # (16,) long
    linear_index: Tensor  # (24,) long: LINEAR_WEIGHT_INDEX
    scalar_index: Tensor  # (1,) long: [0]


_TABLES: dict[torch.device, Tables] = {}


def _long(values) -> Tensor:
    return torch.tensor(values, dtype=torch.long)


_CPU_TABLES = Tables(
    to_kernel=_long(KERNEL_ORDER),
    to_reference=_long(REFERENCE_ORDER),
    linear_index=_long(LINEAR_WEIGHT_INDEX),
    scalar_index=_long([K_SCALAR]),
)


def tables(device: torch.device) -> Tables:
    """The kernels' index tensors on ``device``, copied there on first use and cached. Inside
    a compiled graph a missing device is copied without caching: the copies are graph
    constants, and the graph needs no break."""
    cached = _TABLES.get(device)
    if cached is not None:
        return cached
    built = Tables(*(getattr(_CPU_TABLES, f).to(device) for f in Tables.__dataclass_fields__))
    if not torch.compiler.is_compiling():
        _TABLES[device] = built
    return built


# --------------------------------------------------------------------- layout
def to_kernel_layout(x: Tensor) -> Tensor:
    """``(..., channels, 16)`` in the reference order -> ``(16, tokens, channels)`` in the
    kernel order, ``tokens`` the product of the leading axes. One gather (a copy)."""
    t = tables(x.device)
    flat = x.reshape(-1, x.shape[-2], ga.DIM)
    return flat.permute(2, 0, 1).index_select(0, t.to_kernel)


def from_kernel_layout(x: Tensor, lead: tuple[int, ...]) -> Tensor:
    """``(16, tokens, channels)`` -> ``(*lead, channels, 16)`` in the reference order (a
    permuted view of one gather: feeding it to :func:`to_kernel_layout` costs one copy)."""
    t = tables(x.device)
    out = x.index_select(0, t.to_reference).permute(1, 2, 0)
    return out.reshape(*lead, *out.shape[1:])


# --------------------------------------------------------------------- linear maps
def plain_autograd(x: Tensor) -> bool:
    """Whether to run the differentiable composite of an operation instead of its
    hand-written autograd node: under ``torch.compile`` (which fuses the composite itself)
    and under autocast (whose casts apply to the composite's operations)."""
    return torch.compiler.is_compiling() or torch.is_autocast_enabled(x.device.type)


def equi_linear(
    x: Tensor,
    s: Tensor | None,
    weight: Tensor,
    s_to_mv: Tensor | None = None,
    mv_to_s: Tensor | None = None,
    s_to_s: Tensor | None = None,
    bias: Tensor | None = None,
    bias_s: Tensor | None = None,
) -> tuple[Tensor, Tensor | None]:
    """The Pin(3,0,1)-equivariant linear map of :class:`~erlangen.ga.layers.EquiLinear`.

    Parameters
    ----------
    x : Tensor
        ``(16, tokens, in)``, kernel layout.
    s : Tensor or None
        ``(tokens, in_s)``.
    weight : Tensor
        ``(out, in, 9)``: the 5 grade projections, then ``e0 <x>_k`` for k = 0..3.
    s_to_mv, mv_to_s, s_to_s, bias, bias_s : Tensor, optional
        ``(out, in_s)``, ``(out_s, in)``, ``(out_s, in_s)``, ``(out,)``, ``(out_s,)``.

    Returns
    -------
    tuple
        ``(16, tokens, out)`` and ``(tokens, out_s)`` (None without ``mv_to_s``).

    Notes
    -----
    Batched GEMMs over components: one per component with the weight of its grade, and one
    from the 8 components without e0 into their e0 partners: ``24 * in * out``
    multiply-adds per token, against ``256 * in * out`` for the dense ``(16 out, 16 in)``
    matrix. The weights are gathered per component in one indexing operation. Forward and
    backward are written out by hand (:class:`_EquiLinear`: one autograd node, outputs
    written in place); under ``torch.compile`` or autocast the same arithmetic runs as
    ordinary differentiable operations (:func:`equi_linear_composite`).
    """
    if plain_autograd(x):
        return equi_linear_composite(x, s, weight, s_to_mv, mv_to_s, s_to_s, bias, bias_s)
    index = tables(x.device).linear_index
    return _EquiLinear.apply(x, s, weight, s_to_mv, mv_to_s, s_to_s, bias, bias_s, index)


def equi_linear_composite(
    x: Tensor,
    s: Tensor | None,
    weight: Tensor,
    s_to_mv: Tensor | None = None,
    mv_to_s: Tensor | None = None,
    s_to_s: Tensor | None = None,
    bias: Tensor | None = None,
    bias_s: Tensor | None = None,
) -> tuple[Tensor, Tensor | None]:
    """:func:`equi_linear` as differentiable operations (any order of derivatives)."""
    t = tables(x.device)
    w = weight.permute(2, 1, 0).index_select(0, t.linear_index)  # (24, in, out)
    # split, not slicing twice: its backward concatenates, where two slices would each
    # scatter into a zero tensor of the full size
    lo, hi = x.split(HALF)
    y = torch.cat(
        [
            torch.bmm(lo, w[:HALF]),
            torch.baddbmm(torch.bmm(lo, w[2 * HALF :]), hi, w[HALF : 2 * HALF]),
        ]
    )
    if s_to_mv is not None or bias is not None:
        if s_to_mv is None:
            y0 = bias.expand(y.shape[1], -1)
        elif bias is None:
            y0 = s @ s_to_mv.t()
        else:
            y0 = torch.addmm(bias, s, s_to_mv.t())
        # in place on the whole tensor (not on a view of it): nothing in the graph needs the
        # GEMMs' output, and a view would cost a copy of the gradient in the backward pass
        y.index_add_(0, t.scalar_index, y0.to(y.dtype).unsqueeze(0))  # autocast: y may be lower
    out_s = None
    if mv_to_s is not None:
        x0 = lo[K_SCALAR]
        out_s = torch.addmm(bias_s, x0, mv_to_s.t()) if bias_s is not None else x0 @ mv_to_s.t()
        if s_to_s is not None:
            out_s = torch.addmm(out_s, s, s_to_s.t())  # not in place: autocast skips those
    return y, out_s


class _EquiLinear(torch.autograd.Function):
    """:func:`equi_linear` as one autograd node: the forward pass writes its outputs in place
    with GEMMs; the backward pass is written in differentiable operations (higher
    derivatives work)."""

    @staticmethod
    def forward(ctx, x, s, weight, s_to_mv, mv_to_s, s_to_s, bias, bias_s, index):
        w = weight.permute(2, 1, 0).index_select(0, index)  # (24, in, out)
        lo, hi = x[:HALF], x[HALF:]
        y = x.new_empty(ga.DIM, x.shape[1], weight.shape[0])
        torch.bmm(lo, w[:HALF], out=y[:HALF])
        torch.bmm(lo, w[2 * HALF :], out=y[HALF:])
        y[HALF:].baddbmm_(hi, w[HALF : 2 * HALF])
        if s_to_mv is not None:
            y[K_SCALAR].addmm_(s, s_to_mv.t())
        if bias is not None:
            y[K_SCALAR].add_(bias)
        out_s = None
        if mv_to_s is not None:
            x0 = lo[K_SCALAR]
            out_s = torch.addmm(bias_s, x0, mv_to_s.t()) if bias_s is not None else x0 @ mv_to_s.t()
            if s_to_s is not None:
                out_s.addmm_(s, s_to_s.t())
        ctx.save_for_backward(x, s, weight, s_to_mv, mv_to_s, s_to_s)
        ctx.index = index
        return y, out_s

    @staticmethod
    def backward(ctx, gy, gs):
        x, s, weight, s_to_mv, mv_to_s, s_to_s = ctx.saved_tensors
        need = ctx.needs_input_grad
        w = weight.permute(2, 1, 0).index_select(0, ctx.index)  # (24, in, out)
        lo, gy0 = x[:HALF], gy[K_SCALAR]
        gx = gs_in = gw = g_s_to_mv = g_mv_to_s = g_s_to_s = g_bias = g_bias_s = None
        if need[0]:
            gx = torch.bmm(gy, w[: 2 * HALF].transpose(1, 2))
            gx[:HALF].baddbmm_(gy[HALF:], w[2 * HALF :].transpose(1, 2))
            if gs is not None and mv_to_s is not None:
                gx[K_SCALAR].addmm_(gs, mv_to_s)
        if need[2]:
            gw_all = torch.cat(
                [torch.bmm(x.transpose(1, 2), gy), torch.bmm(lo.transpose(1, 2), gy[HALF:])]
            )
            gw = weight.new_zeros(weight.shape[::-1]).index_add(0, ctx.index, gw_all)
            gw = gw.permute(2, 1, 0)
        if need[1] and s is not None:
            gs_in = gy0 @ s_to_mv if s_to_mv is not None else torch.zeros_like(s)
            if gs is not None and s_to_s is not None:
                gs_in = gs_in.addmm_(gs, s_to_s)
        if need[3]:
            g_s_to_mv = gy0.t() @ s
        if need[6]:
            g_bias = gy0.sum(0)
        if gs is not None:
            if need[4]:
                g_mv_to_s = gs.t() @ lo[K_SCALAR]
            if need[5]:
                g_s_to_s = gs.t() @ s
            if need[7]:
                g_bias_s = gs.sum(0)
        return gx, gs_in, gw, g_s_to_mv, g_mv_to_s, g_s_to_s, g_bias, g_bias_s, None


# --------------------------------------------------------------------- pointwise
def layer_norm(x: Tensor, eps: float) -> Tensor:
    """``x / sqrt(max(mean over channels of <x, x>, eps))`` per token; ``(16, tokens, c)``."""
    if plain_autograd(x):
        return layer_norm_composite(x, eps)
    return _LayerNorm.apply(x, eps)


def layer_norm_composite(x: Tensor, eps: float) -> Tensor:
    """:func:`layer_norm` as differentiable operations."""
    mean = x[:HALF].square().sum((0, 2)) / x.shape[-1]
    return x * mean.clamp_min(eps).rsqrt().unsqueeze(-1)


class _LayerNorm(torch.autograd.Function):
    """:func:`layer_norm` as one autograd node: ``y = x r``, ``r = max(m, eps)^-1/2``,
    ``m = sum_{k<8, c} x_kc^2 / C``, so ``dx = g r - [k < 8] x (r^3 / C) sum(g x)`` where
    ``m > eps``. The backward pass is written in differentiable operations (higher
    derivatives work)."""

    @staticmethod
    def _scale(x: Tensor, eps: float) -> tuple[Tensor, Tensor]:
        mean = x[:HALF].square().sum((0, 2)) / x.shape[-1]
        return mean, mean.clamp_min(eps).rsqrt()

    @staticmethod
    def forward(ctx, x: Tensor, eps: float) -> Tensor:
        mean, r = _LayerNorm._scale(x, eps)
        ctx.save_for_backward(x, r, mean)
        ctx.eps = eps
        return x * r.unsqueeze(-1)

    @staticmethod
    def backward(ctx, g: Tensor):
        x, r, mean = ctx.saved_tensors
        if torch.is_grad_enabled():  # a higher derivative: r as a function of x
            mean, r = _LayerNorm._scale(x, ctx.eps)
        gx = g * r.unsqueeze(-1)
        coefficient = torch.where(mean > ctx.eps, -(r**3) / x.shape[-1], 0.0)
        coefficient = coefficient * (g * x).sum((0, 2))
        lo, hi = gx.split(HALF)
        return torch.cat([lo + x[:HALF] * coefficient.unsqueeze(-1), hi]), None


def gated_gelu(x: Tensor) -> Tensor:
    """``x * GELU(scalar component of x)`` per channel (tanh approximation); ``(16, tokens,
    c)``."""
    if plain_autograd(x):
        return gated_gelu_composite(x)
    return _GatedGELU.apply(x)


def gated_gelu_composite(x: Tensor) -> Tensor:
    """:func:`gated_gelu` as differentiable operations."""
    return x * F.gelu(x[K_SCALAR], approximate="tanh")


class _GatedGELU(torch.autograd.Function):
    """:func:`gated_gelu` as one autograd node (the scalar component's gradient written once,
    not as a zero tensor of the full size per use); differentiable backward pass."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return x * F.gelu(x[K_SCALAR], approximate="tanh")

    @staticmethod
    def backward(ctx, g: Tensor):
        (x,) = ctx.saved_tensors
        x0 = x[K_SCALAR]
        gx = g * F.gelu(x0, approximate="tanh")
        d_gate = torch.ops.aten.gelu_backward((g * x).sum(0), x0, approximate="tanh")
        first, rest = gx.split([1, ga.DIM - 1])
        return torch.cat([first + d_gate, rest])


# --------------------------------------------------------------------- attention features
def attention_features(x: Tensor, query: bool) -> Tensor:
    """Per channel, the 8 inner-product components and 5 distance features: ``(13, tokens,
    c)``.

    With ``w`` the e123 component and ``c`` the coordinates (e012, e013, e023: the point's
    coordinates up to order and sign, which cancel in the products below): queries
    ``(w c, w^2, |c|^2)``, keys ``(2 w c, -|c|^2, -w^2)``, so that the feature dot product is
    ``-|w_k c_q - w_q c_k|^2`` plus the inner product.
    """
    if plain_autograd(x):
        return attention_features_composite(x, query)
    return _AttentionFeatures.apply(x, query)


def attention_features_composite(x: Tensor, query: bool) -> Tensor:
    """:func:`attention_features` as differentiable operations."""
    inner, coords = x[:HALF], x[K_TRIVECTOR_E0[0] : K_TRIVECTOR_E0[-1] + 1]
    w = x[K_E123 : K_E123 + 1]
    wc, w2 = w * coords, w * w
    c2 = coords.square().sum(0, keepdim=True)
    if query:
        return torch.cat([inner, wc, w2, c2])
    return torch.cat([inner, 2 * wc, -c2, -w2])


class _AttentionFeatures(torch.autograd.Function):
    """:func:`attention_features` as one autograd node: the gradient of ``x`` written once,
    zeros where the features do not look (e0, e01, e02, e03, e0123); differentiable backward
    pass."""

    @staticmethod
    def forward(ctx, x: Tensor, query: bool) -> Tensor:
        ctx.save_for_backward(x)
        ctx.query = query
        return attention_features_composite(x, query)

    @staticmethod
    def backward(ctx, g: Tensor):
        (x,) = ctx.saved_tensors
        w, coords = x[K_E123], x[K_TRIVECTOR_E0[0] : K_TRIVECTOR_E0[-1] + 1]
        g_inner, g_wc, g_a, g_b = g.split([HALF, 3, 1, 1])
        if ctx.query:  # (w c, w^2, |c|^2)
            g_w2, g_c2 = g_a[0], g_b[0]
        else:  # (2 w c, -|c|^2, -w^2)
            g_wc, g_w2, g_c2 = 2 * g_wc, -g_b[0], -g_a[0]
        g_w = (g_wc * coords).sum(0) + 2 * w * g_w2
        g_coords = g_wc * w + 2 * coords * g_c2
        zero = g.new_zeros(()).expand(1, *g.shape[1:])
        return torch.cat(
            [
                g_inner[:K_E123],
                g_inner[K_E123:] + g_w,
                zero.expand(4, *g.shape[1:]),  # e0, e01, e02, e03
                g_coords,
                zero,  # e0123
            ]
        ), None
