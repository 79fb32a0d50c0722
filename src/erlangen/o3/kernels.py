"""How a tensor product is computed: one kernel per shape of problem.

:class:`ChannelwiseKernel` is the convolution case (mode ``uvu``, every term of the first input
with the same multiplicity ``C``, every term of the second with multiplicity 1, such as edge
spherical harmonics). The second input has no channel index, so it is contracted with the
Clebsch-Gordan blocks first. Per output term: one GEMM gives every batch element a ``(D1,
n_paths (2l + 1))`` matrix (``D1`` the components of one channel of the first input), one
batched matmul applies it to all ``C`` channels, and the per-path, per-channel weights and the
sum over the paths are one more batched matmul (eager) or a multiply and a sum that
``torch.compile`` fuses into one pass. The tables are built once at construction; the hot path
loops over output terms, never over paths. The first input leaves e3nn's layout by one
``gather``.

:class:`GenericKernel` handles everything else (any multiplicities, ``uvw``) path by path with
``einsum``.

What was timed before choosing (docs/o3.md): one wide product sliced into the output terms
(its backward writes a full-size zero gradient per slice), weights applied to the first input
before the matmul (more memory traffic), edges in cache-sized chunks (slower with fresh
allocations per chunk), and a channel-last layout with broadcast weights (slower in eager,
faster compiled: used when compiling).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..groups.irreps import Irreps
from .clebsch_gordan import clebsch_gordan
from .paths import Path


def channelwise_applicable(irreps1: Irreps, irreps2: Irreps, mode: str) -> bool:
    """Whether :class:`ChannelwiseKernel` computes this product."""
    muls1 = {mul for mul, _ in irreps1}
    return mode == "uvu" and len(muls1) == 1 and all(mul == 1 for mul, _ in irreps2)


class _PermuteColumns(torch.autograd.Function):
    """``x[:, index]`` by ``gather`` (a plain copy's speed on a CPU, where slicing and
    concatenating narrow blocks is several times slower), with the inverse permutation as
    its gradient."""

    @staticmethod
    def forward(ctx, x: Tensor, index: Tensor, inverse: Tensor) -> Tensor:
        ctx.save_for_backward(inverse, index)
        return torch.gather(x, 1, index.expand(x.shape[0], -1))

    @staticmethod
    def backward(ctx, grad: Tensor):
        inverse, index = ctx.saved_tensors
        return _PermuteColumns.apply(grad.contiguous(), inverse, index), None, None


def permute_columns(x: Tensor, index: Tensor, inverse: Tensor) -> Tensor:
    """``x[:, index]`` for ``x (n, k)`` and a permutation ``index (1, k)`` with its
    ``inverse``; differentiable to any order."""
    return _PermuteColumns.apply(x, index, inverse)


def _flatten_batch(*tensors: Tensor) -> tuple[tuple[int, ...], list[Tensor]]:
    batch = torch.broadcast_shapes(*(t.shape[:-1] for t in tensors))
    flat = [t.expand(*batch, t.shape[-1]).reshape(-1, t.shape[-1]) for t in tensors]
    return tuple(batch), flat


class ExactTables(nn.Module):
    """A module whose buffers are float64 tables (Clebsch-Gordan blocks, grids): they follow
    the module between devices but keep float64 when the module is cast, and are cast to the
    input's dtype per call, so that ``.float()`` then ``.double()`` loses nothing."""

    def _apply(self, fn, recurse=True):
        tables = dict(self._buffers)
        super()._apply(fn, recurse)
        for name, table in tables.items():
            if table is not None:
                self._buffers[name] = table.to(self._buffers[name].device)
        return self


class ChannelwiseKernel(ExactTables):
    """The ``uvu`` product of ``C`` channels with a channel-less second input.

    Parameters
    ----------
    irreps1 : Irreps
        Every term with multiplicity ``C``.
    irreps2 : Irreps
        Every term with multiplicity 1.
    irreps_out : Irreps
    paths : list of Path
        In the order of the weights (each path holds ``C`` weights).

    Notes
    -----
    Per output term ``o`` with ``n_o`` paths into it (columns ``(path, m3)``): ``M_o = x2 @
    T_o`` is ``(batch, D1, n_o (2 l_o + 1))`` (one GEMM with the Clebsch-Gordan table
    ``T_o``), ``bmm(x1, M_o)`` couples all channels at once, and a batched
    ``(1 x n_o) @ (n_o x (2 l_o + 1))`` per batch element and channel applies the path weights
    and sums the paths. Separate, contiguous blocks per output term (rather than slices of one
    wide product) keep the backward pass free of full-size zero gradients.
    """

    def __init__(self, irreps1: Irreps, irreps2: Irreps, irreps_out: Irreps, paths: list[Path]):
        super().__init__()
        self.channels = irreps1[0].mul if len(irreps1) else 0
        self.dims1 = [ir.dim for _, ir in irreps1]
        self.out_terms = [(mul, ir.dim) for mul, ir in irreps_out]
        self.num_paths = len(paths)
        d1_offsets = [0]
        for d in self.dims1:
            d1_offsets.append(d1_offsets[-1] + d)
        d2_offsets = [s.start for s in irreps2.slices()]
        self.d1, self.d2 = d1_offsets[-1], irreps2.dim

        order = sorted(range(len(paths)), key=lambda p: paths[p].i_out)
        # per output term: (table name, number of paths) or None when no path reaches it
        self.groups: list[tuple[str, int] | None] = [None] * len(irreps_out)
        self.path_counts: list[int] = []
        for i_out in range(len(irreps_out)):
            members = [p for p in order if paths[p].i_out == i_out]
            if not members:
                continue
            d3 = irreps_out[i_out].ir.dim
            table = torch.zeros(self.d2, self.d1, len(members), d3, dtype=torch.float64)
            for k, p in enumerate(members):
                path = paths[p]
                cg = clebsch_gordan(path.l1, path.l2, path.l3) * path.norm  # (d1, d2, d3)
                rows = slice(d1_offsets[path.i1], d1_offsets[path.i1 + 1])
                block = slice(d2_offsets[path.i2], d2_offsets[path.i2] + 2 * path.l2 + 1)
                table[block, rows, k] = cg.permute(1, 0, 2)
            name = f"table{i_out}"
            self.register_buffer(name, table.reshape(self.d2, -1), persistent=False)
            self.groups[i_out] = (name, len(members))
            self.path_counts.append(len(members))
        self.sorted_is_identity = order == list(range(len(paths)))
        self.register_buffer("order", torch.tensor(order, dtype=torch.long), persistent=False)
        # e3nn layout (term by term, (C, 2l + 1) each) -> (C, D1): channel-major columns
        C, gather = self.channels, []
        for u in range(C):
            for start, d in zip(irreps1.slices(), self.dims1):
                gather += [start.start + u * d + m for m in range(d)]
        index = torch.tensor(gather, dtype=torch.long).view(1, -1)
        self.register_buffer("x1_index", index, persistent=False)
        self.register_buffer("x1_inverse", torch.argsort(index), persistent=False)

    def forward(self, x1: Tensor, x2: Tensor, weight: Tensor) -> Tensor:
        """``x1 (..., dim1)``, ``x2 (..., dim2)``, ``weight (..., num_paths * C)`` ->
        ``(..., dim_out)`` (batch dimensions broadcast)."""
        C = self.channels
        batch, (x1, x2) = _flatten_batch(x1, x2)
        n = x1.shape[0]
        w = weight.reshape(*weight.shape[:-1], self.num_paths, C)
        if not self.sorted_is_identity:
            w = w.index_select(-2, self.order)
        w = w.expand(*batch, self.num_paths, C).reshape(n, self.num_paths, C)
        w_groups = iter(w.split(self.path_counts, dim=1))
        # (n, C, D1): the components of one channel side by side
        x1c = permute_columns(x1, self.x1_index, self.x1_inverse).view(n, C, self.d1)
        parts = []
        for (mul, d3), group in zip(self.out_terms, self.groups):
            if group is None:
                parts.append(x1.new_zeros(n, mul * d3))
                continue
            name, count = group
            per_element = (x2 @ getattr(self, name).to(x2.dtype)).view(n, self.d1, count * d3)
            if self.d1 == 1:  # scalar inputs: an outer product, cheaper than a bmm with k = 1
                coupled = x1c * per_element  # (n, C, 1) * (n, 1, count * d3)
            else:
                coupled = torch.bmm(x1c, per_element)  # (n, C, count * d3)
            weights = next(w_groups)  # (n, count, C)
            if count == 1:  # one path: scale by its weight, nothing to sum
                parts.append((coupled * weights.transpose(1, 2)).reshape(n, C * d3))
            elif d3 == 1:  # scalar outputs: a dot product over the paths
                parts.append((coupled * weights.transpose(1, 2)).sum(-1))
            elif torch.compiler.is_compiling():
                # a multiply and a sum that the compiler fuses into one pass over `coupled`
                mixed = coupled.view(n, C, count, d3) * weights.transpose(1, 2).unsqueeze(-1)
                parts.append(mixed.sum(2).view(n, C * d3))
            else:
                # eager: one batched (1 x count) @ (count x d3) per element and channel beats
                # the broadcast multiply and sum (measured, docs/o3.md)
                weights = weights.transpose(1, 2).reshape(n * C, 1, count)
                coupled = coupled.view(n * C, count, d3)
                parts.append(torch.bmm(weights, coupled).view(n, C * d3))
        out = torch.cat(parts, -1)
        return out.view(*batch, out.shape[-1])  # an explicit width: safe for an empty batch


class GenericKernel(ExactTables):
    """Any ``uvu`` or ``uvw`` product, path by path."""

    def __init__(
        self, irreps1: Irreps, irreps2: Irreps, irreps_out: Irreps, paths: list[Path], mode: str
    ):
        super().__init__()
        self.mode = mode
        self.paths = paths
        self.slices1, self.slices2 = irreps1.slices(), irreps2.slices()
        self.terms1 = [(mul, ir.dim) for mul, ir in irreps1]
        self.terms2 = [(mul, ir.dim) for mul, ir in irreps2]
        self.out_terms = [(mul, ir.dim) for mul, ir in irreps_out]
        for k, path in enumerate(paths):
            cg = clebsch_gordan(path.l1, path.l2, path.l3) * path.norm
            self.register_buffer(f"cg{k}", cg, persistent=False)

    def forward(self, x1: Tensor, x2: Tensor, weight: Tensor) -> Tensor:
        batch = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1], weight.shape[:-1])
        outs: list[Tensor | None] = [None] * len(self.out_terms)
        start = 0
        equation = "...uvw,...ui,...vj,ijk->...wk" if self.mode == "uvw" else None
        for k, path in enumerate(self.paths):
            w = weight[..., start : start + path.weight_numel].unflatten(-1, path.weight_shape)
            start += path.weight_numel
            mul1, d1 = self.terms1[path.i1]
            mul2, d2 = self.terms2[path.i2]
            a = x1[..., self.slices1[path.i1]].unflatten(-1, (mul1, d1))
            b = x2[..., self.slices2[path.i2]].unflatten(-1, (mul2, d2))
            cg = getattr(self, f"cg{k}").to(x1.dtype)
            if equation is not None:
                y = torch.einsum(equation, w, a, b, cg)
            else:
                y = torch.einsum("...uv,...ui,...vj,ijk->...uk", w, a, b, cg)
            outs[path.i_out] = y if outs[path.i_out] is None else outs[path.i_out] + y
        parts = []
        for (mul, d), y in zip(self.out_terms, outs):
            if y is None:
                parts.append(x1.new_zeros(*batch, mul * d))
            else:
                parts.append(y.expand(*batch, mul, d).reshape(*batch, mul * d))
        return torch.cat(parts, -1) if parts else x1.new_zeros(*batch, 0)


__all__ = ["ChannelwiseKernel", "ExactTables", "GenericKernel", "channelwise_applicable"]
