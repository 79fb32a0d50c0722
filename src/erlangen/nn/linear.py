"""Family-agnostic equivariant layers built on the equivariant-basis solver."""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..fields import VectorField
from ..fields.base import FieldTypeError
from ..groups import Representation, equivariant_basis, trivial
from ..groups.reps import _same_group
from .module import EquivariantModule


def _group_components(rep: Representation) -> tuple[OrderedDict, Tensor]:
    """Group identical summands of ``rep``.

    Returns
    -------
    types : OrderedDict
        ``key -> (summand, multiplicity)`` in order of first appearance.
    perm : Tensor
        ``(rep.dim,)`` index: coordinate ``perm[j]`` of ``rep`` is coordinate ``j`` of the
        sorted layout (all copies of the first type, then the second, ...).
    """
    types: OrderedDict = OrderedDict()
    positions: dict = {}
    offset = 0
    for comp in rep.components():
        key = comp._key()
        if key not in types:
            types[key] = [comp, 0]
            positions[key] = []
        types[key][1] += 1
        positions[key].append(torch.arange(offset, offset + comp.dim))
        offset += comp.dim
    perm = torch.cat([torch.cat(positions[k]) for k in types])
    return OrderedDict((k, (v[0], v[1])) for k, v in types.items()), perm


class EquivariantLinear(EquivariantModule):
    """The most general linear map ``R^d_in -> R^d_out`` that commutes with a group.

    ``W = sum_k w_k B_k`` over the basis from :func:`~erlangen.groups.equivariant_basis`,
    solved once per distinct pair of summands (so ``64 * regular(C8)`` costs one solve), and a
    bias restricted to the invariant subspace of ``rep_out``.

    Parameters
    ----------
    rep_in, rep_out : Representation
        Representations of the same group.
    bias : bool
        Learn a bias on the invariant components of ``rep_out`` (zero where there are none).

    Shape
    -----
    ``(..., rep_in.dim) -> (..., rep_out.dim)``.

    Examples
    --------
    >>> from erlangen.groups import Symmetric, permutation
    >>> layer = EquivariantLinear(permutation(Symmetric(5)), permutation(Symmetric(5)))
    >>> layer.num_basis  # DeepSets: a * I + b * 11^T
    2
    """

    def __init__(self, rep_in: Representation, rep_out: Representation, bias: bool = True):
        super().__init__()
        for name, rep in (("rep_in", rep_in), ("rep_out", rep_out)):
            if not isinstance(rep, Representation):
                raise TypeError(
                    f"EquivariantLinear: {name} must be an erlangen Representation (e.g. "
                    f"4 * regular(Cyclic(8))), got {type(rep).__name__} {rep!r}"
                )
        _same_group([rep_in, rep_out])
        self.rep_in, self.rep_out = rep_in, rep_out
        self.in_type = VectorField(rep_in)
        self.out_type = VectorField(rep_out)
        types_in, perm_in = _group_components(rep_in)
        types_out, perm_out = _group_components(rep_out)
        self._blocks: list[tuple[int, int, str, str]] = []  # (row type, col type, param, buffer)
        self._shapes_in = [(m, r.dim) for r, m in types_in.values()]
        self._shapes_out = [(m, r.dim) for r, m in types_out.values()]
        self.num_basis = 0
        for a, (r_out, m_out) in enumerate(types_out.values()):
            for b, (r_in, m_in) in enumerate(types_in.values()):
                basis = equivariant_basis(r_in, r_out).to(torch.get_default_dtype())
                k = basis.shape[0]
                if k == 0:
                    continue
                name = f"{a}_{b}"
                self.register_buffer(f"basis_{name}", basis, persistent=False)
                weight = torch.empty(m_out, m_in, k)
                # entries of W get variance ~ 1 / d_in (Basis elements have unit Frobenius norm)
                std = math.sqrt(r_out.dim * r_in.dim / (k * rep_in.dim))
                nn.init.normal_(weight, std=std)
                self.register_parameter(f"weight_{name}", nn.Parameter(weight))
                self._blocks.append((a, b, f"weight_{name}", f"basis_{name}"))
                self.num_basis += m_out * m_in * k
        self._bias_blocks: list[tuple[int, str, str]] = []
        if bias:
            for a, (r_out, m_out) in enumerate(types_out.values()):
                basis = equivariant_basis(trivial(rep_out.group), r_out)[..., 0]
                if basis.shape[0] == 0:
                    continue
                self.register_buffer(
                    f"bias_basis_{a}", basis.to(torch.get_default_dtype()), persistent=False
                )
                self.register_parameter(
                    f"bias_{a}", nn.Parameter(torch.zeros(m_out, basis.shape[0]))
                )
                self._bias_blocks.append((a, f"bias_{a}", f"bias_basis_{a}"))
        # block-diagonal in the sorted layout (e.g. rep_in == rep_out, a sum of irreps or of
        # copies of one representation): the matrix is one block_diag of the blocks
        self._block_diagonal = len(types_in) == len(types_out) == len(self._blocks) and all(
            a == b for a, b, _, _ in self._blocks
        )
        self._block_index = {(a, b): (p, buf) for a, b, p, buf in self._blocks}
        identity_in = torch.equal(perm_in, torch.arange(rep_in.dim))
        identity_out = torch.equal(perm_out, torch.arange(rep_out.dim))
        # sorted layout -> original layout
        self.register_buffer(
            "_unsort_in", None if identity_in else torch.argsort(perm_in), persistent=False
        )
        self.register_buffer(
            "_unsort_out", None if identity_out else torch.argsort(perm_out), persistent=False
        )

    def _block(self, a: int, b: int) -> Tensor:
        """The matrix block from in-type ``b`` to out-type ``a`` (sorted layout)."""
        p, buf = self._block_index[(a, b)]
        w, basis = getattr(self, p), getattr(self, buf)
        m_out, d_out = self._shapes_out[a]
        m_in, d_in = self._shapes_in[b]
        if basis.shape[0] == 1:  # one basis element: an outer product, no reduction
            block = w[:, None, :, 0, None] * basis[0][None, :, None, :]
            return block.reshape(m_out * d_out, m_in * d_in)
        return torch.einsum("xyk,kop->xoyp", w, basis).reshape(m_out * d_out, m_in * d_in)

    def weight(self) -> Tensor:
        """The dense equivariant matrix ``(d_out, d_in)``."""
        if self._block_diagonal:  # one operation places every block (no zero blocks built)
            blocks = [self._block(a, a) for a in range(len(self._shapes_out))]
            W = torch.block_diag(*blocks) if len(blocks) > 1 else blocks[0]
        else:
            ref = next(self.parameters(), None)
            dtype = ref.dtype if ref is not None else torch.get_default_dtype()
            device = ref.device if ref is not None else None
            rows = []
            for a, (m_out, d_out) in enumerate(self._shapes_out):
                row = []
                for b, (m_in, d_in) in enumerate(self._shapes_in):
                    if (a, b) in self._block_index:
                        block = self._block(a, b)
                    else:
                        block = torch.zeros(m_out * d_out, m_in * d_in, dtype=dtype, device=device)
                    row.append(block)
                rows.append(torch.cat(row, dim=1))
            W = torch.cat(rows, dim=0)
        if self._unsort_out is not None:
            W = W[self._unsort_out]
        if self._unsort_in is not None:
            W = W[:, self._unsort_in]
        return W

    def bias(self) -> Tensor | None:
        """The equivariant bias ``(d_out,)``, or None without one."""
        if not self._bias_blocks:
            return None
        parts = []
        by_type = {a: (p, buf) for a, p, buf in self._bias_blocks}
        ref = next(self.parameters())
        for a, (m_out, d_out) in enumerate(self._shapes_out):
            if a in by_type:
                p, buf = by_type[a]
                w, basis = getattr(self, p), getattr(self, buf)
                if basis.shape[0] == 1:  # one invariant direction: an outer product
                    parts.append((w * basis).reshape(-1))
                else:
                    parts.append(torch.einsum("xk,ko->xo", w, basis).reshape(-1))
            else:
                parts.append(torch.zeros(m_out * d_out, dtype=ref.dtype, device=ref.device))
        b = torch.cat(parts) if len(parts) > 1 else parts[0]
        return b if self._unsort_out is None else b[self._unsort_out]

    def forward(self, x: Tensor) -> Tensor:
        """``(..., d_in) -> (..., d_out)``."""
        if x.shape[-1] != self.rep_in.dim:
            raise FieldTypeError(
                f"EquivariantLinear expected input (..., {self.rep_in.dim}) for "
                f"{self.rep_in.name}, got {tuple(x.shape)}"
            )
        if not self._blocks:
            out = x.new_zeros(*x.shape[:-1], self.rep_out.dim)
            b = self.bias()
            return out if b is None else out + b
        return F.linear(x, self.weight(), self.bias())

    def extra_repr(self) -> str:
        return (
            f"{self.rep_in.name} -> {self.rep_out.name} of {self.rep_in.group.name}, "
            f"{self.num_basis} weights"
        )
