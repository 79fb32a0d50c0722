"""The geometric product and the equivariant join of :class:`~erlangen.ga.layers.
GeometricBilinear` in the kernel layout (:mod:`erlangen.ga.kernels`): GEMMs of outer products
against constant tables, on cache-sized tiles, skipping the blocks of the tables that are zero.

In the kernel order a multivector is ``(a, b)``: ``a`` its 8 components without e0, ``b`` their
e0 partners. Since ``e0^2 = 0``, ``(a + e0 b)(c + e0 d) = ac + e0 (a' d + b c)`` (``a'`` the
grade involution): of the 8 blocks ``(out half, left half, right half)`` of the geometric
product's ``16 x 16 x 16`` table only 3 are non-zero, and the same holds for the join and for
the tables of the backward pass. So each product is two terms: the outer product of one half
of the left input with the whole right input (128 floats per pair) and of the other half with
one half (64), against their table blocks: 192 floats per pair instead of 256, and 2560
multiply-adds instead of 4096.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from . import algebra as ga
from .kernels import HALF, KERNEL_ORDER, plain_autograd

#: multivector pairs per tile: the tile's outer products (192 floats per pair, 768 kB in
#: float32) stay in the cache between the multiply and the GEMM
TILE_PAIRS = 1024


@dataclass(frozen=True)
class Term:
    """``out[rows] (+)= table @ (left[left_rows] outer right[right_rows])``."""

    left: slice
    right: slice
    rows: slice
    table: Tensor  # (rows, left rows * right rows)


def _halves(mask: list[bool]) -> slice:
    if mask == [True, True]:
        return slice(0, 2 * HALF)
    return slice(0, HALF) if mask[0] else slice(HALF, 2 * HALF)


def _plan(table: Tensor) -> tuple[Term, ...]:
    """The terms of a ``(out, left, right)`` table, the one that writes every output row
    first."""
    nonzero = table.reshape(2, HALF, 2, HALF, 2, HALF).ne(0).any(dim=(1, 3, 5))
    terms = []
    for left in range(2):
        if not nonzero[:, left].any():
            continue
        rows = _halves([bool(nonzero[o, left].any()) for o in range(2)])
        right = _halves([bool(nonzero[:, left, r].any()) for r in range(2)])
        lrows = slice(left * HALF, (left + 1) * HALF)
        block = table[rows, lrows, right].reshape(rows.stop - rows.start, -1)
        terms.append(Term(lrows, right, rows, block.contiguous()))
    terms.sort(key=lambda t: t.rows.start - t.rows.stop)  # the widest rows first
    if terms[0].rows != slice(0, 2 * HALF):
        raise AssertionError("no term writes every output row")
    return tuple(terms)


@dataclass(frozen=True)
class ProductPlans:
    """Per product (geometric, join): the forward plan and those of the two gradients."""

    forward: tuple[Term, ...]
    grad_left: tuple[Term, ...]  # grad_left[i] = sum_kj T[k, i, j] g[k] right[j]
    grad_right: tuple[Term, ...]  # grad_right[j] = sum_ki T[k, i, j] g[k] left[i]


_PLANS: dict[tuple[torch.device, torch.dtype], tuple[ProductPlans, ProductPlans]] = {}


def product_tables() -> tuple[Tensor, Tensor]:
    """The geometric product and the join as ``(out, left, right)`` tables in the kernel
    order (float64): ``gp(x, y)[k] = sum_ij T[k, i, j] x[i] y[j]``."""
    basis = torch.eye(ga.DIM, dtype=torch.float64)
    order = torch.tensor(KERNEL_ORDER)
    out = []
    for product in (ga.geometric_product, ga.join):
        t = product(basis[:, None, :], basis[None, :, :])  # (i, j, k) in the reference order
        out.append(t[order][:, order][..., order].permute(2, 0, 1))
    return out[0], out[1]


def _build_plans() -> tuple[ProductPlans, ProductPlans]:
    return tuple(
        ProductPlans(
            forward=_plan(t),
            grad_left=_plan(t.permute(1, 0, 2)),
            grad_right=_plan(t.permute(2, 0, 1)),
        )
        for t in product_tables()
    )


#: the plans in float64 on the CPU, built at import
_FLOAT64_PLANS = _build_plans()


def plans(device: torch.device, dtype: torch.dtype) -> tuple[ProductPlans, ProductPlans]:
    """The plans of the geometric product and of the join for ``device`` and ``dtype``,
    converted on first use and cached (inside a compiled graph a missing one is converted
    without caching: graph constants, no graph break)."""
    cached = _PLANS.get((device, dtype))
    if cached is not None:
        return cached

    def convert(terms: tuple[Term, ...]) -> tuple[Term, ...]:
        return tuple(
            Term(t.left, t.right, t.rows, t.table.to(device=device, dtype=dtype)) for t in terms
        )

    built = tuple(
        ProductPlans(convert(p.forward), convert(p.grad_left), convert(p.grad_right))
        for p in _FLOAT64_PLANS
    )
    if not torch.compiler.is_compiling():
        _PLANS[(device, dtype)] = built
    return built


def table_product(plan: tuple[Term, ...], a: Tensor, b: Tensor) -> Tensor:
    """``out[k] = sum_ij T[k, i, j] a[i] b[j]`` for the table that ``plan`` holds:
    ``(16, n, c)``, ``(16, n, c)`` -> ``(16, n, c)``.

    The outer products of a tile of tokens go into one reused buffer and GEMMs write the
    tile's outputs in place: the outer products of all pairs at once would be 12x the size
    of the inputs, and writing them to memory and reading them back (and faulting in fresh
    pages for them) cost several times the arithmetic. Under ``torch.compile`` it is the
    plain outer product and GEMM of each term, which the compiler fuses.
    """
    n, c = a.shape[1], a.shape[2]
    if torch.compiler.is_compiling():
        return table_product_composite(plan, a, b)
    # contiguous tiles: the multiply then runs over one long inner axis (twice as fast)
    a, b = a.contiguous(), b.contiguous()
    out = torch.empty(ga.DIM, n, c, dtype=a.dtype, device=a.device)
    tile = max(1, TILE_PAIRS // max(c, 1))
    widest = max(t.table.shape[1] for t in plan)
    buffer = torch.empty(widest * min(tile, n) * c, dtype=a.dtype, device=a.device)
    for start in range(0, n, tile):
        stop = min(n, start + tile)
        m = (stop - start) * c
        for i, term in enumerate(plan):
            width = term.table.shape[1]
            outer = buffer[: width * m].view(HALF, width // HALF, stop - start, c)
            torch.mul(
                a[term.left, start:stop].unsqueeze(1),
                b[term.right, start:stop].unsqueeze(0),
                out=outer,
            )
            target = out[term.rows, start:stop].view(term.table.shape[0], m)
            if i == 0:
                torch.mm(term.table, outer.view(width, m), out=target)
            else:
                target.addmm_(term.table, outer.view(width, m))
    return out


def table_product_composite(plan: tuple[Term, ...], a: Tensor, b: Tensor) -> Tensor:
    """:func:`table_product` as differentiable operations: per term, the outer product of
    all pairs and one GEMM."""
    n, c = a.shape[1], a.shape[2]
    out = None
    for term in plan:
        outer = a[term.left].unsqueeze(1) * b[term.right].unsqueeze(0)
        part = term.table @ outer.reshape(term.table.shape[1], n * c)
        if out is None:
            out = part
        else:
            out = out + F.pad(part, (0, 0, term.rows.start, ga.DIM - term.rows.stop))
    return out.view(ga.DIM, n, c)


class _TableProduct(torch.autograd.Function):
    """:func:`table_product` with a backward pass of the same form: ``grad_a = T_a @ (g outer
    b)``, ``grad_b = T_b @ (g outer a)`` with the table's axes permuted (autograd's own
    backward would write the gradient of all outer products and reduce it over strided
    axes)."""

    @staticmethod
    def forward(ctx, plans: ProductPlans, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        ctx.plans = plans
        return table_product(plans.forward, a, b)

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        # a higher derivative (grad mode on in the backward pass) needs differentiable
        # operations: the composite; otherwise the tiles
        product = table_product_composite if torch.is_grad_enabled() else table_product
        grad_a = grad_b = None
        if ctx.needs_input_grad[1]:
            grad_a = product(ctx.plans.grad_left, grad, b)
        if ctx.needs_input_grad[2]:
            grad_b = product(ctx.plans.grad_right, grad, a)
        return None, grad_a, grad_b


def bilinear_products(projected: Tensor, reference_e123: Tensor) -> Tensor:
    """The geometric products and equivariant joins of :class:`~erlangen.ga.layers.
    GeometricBilinear`.

    Parameters
    ----------
    projected : Tensor
        ``(16, tokens, 4 h)``, kernel layout: the channel blocks ``l_gp, r_gp, l_join, r_join``
        of ``h`` channels each.
    reference_e123 : Tensor
        ``(tokens,)``: the join is multiplied by it (see :func:`erlangen.ga.algebra.join`).

    Returns
    -------
    Tensor
        ``(16, tokens, 2 h)``: ``gp(l_gp, r_gp)`` then ``join(l_join, r_join) * reference``.
    """
    gp, join = plans(projected.device, projected.dtype)
    lg, rg, lj, rj = projected.chunk(4, dim=-1)
    lj = lj * reference_e123.unsqueeze(-1)
    if plain_autograd(projected):  # the compiler (or autocast) sees the plain operations
        return torch.cat(
            [
                table_product_composite(gp.forward, lg, rg),
                table_product_composite(join.forward, lj, rj),
            ],
            dim=-1,
        )
    return torch.cat([_TableProduct.apply(gp, lg, rg), _TableProduct.apply(join, lj, rj)], dim=-1)
