"""Solve for all linear maps that commute with a group: ``rho_out(g) W = W rho_in(g)``.

The constraint is linear in ``W``. Written on the row-major vectorisation ``vec(W)`` (index
``o * d_in + i``) it reads ``(rho_out(g) (x) I - I (x) rho_in(g)^T) vec(W) = 0``. It is imposed

- for finite groups, on the generators (enough: a map commuting with generators commutes with
  every product of them);
- for Lie groups, on the Lie-algebra generators ``d rho_out(X) W = W d rho_in(X)`` (connected
  component) plus the discrete generators (the other components, e.g. a reflection for O(n));
- for a representation whose Lie-algebra differential is unknown, and for infinite groups that
  are not Lie groups in erlangen's sense (no ``lie_algebra()``, e.g. Pin(3,0,1) acting on
  multivectors), on a few random elements plus the generators (random elements generate a
  dense subgroup almost surely). Float elements are requested in float64 so the constraints
  are exact to rounding.

The constraint matrices are stacked and the null space is read off a float64 SVD.

Tolerance
---------
A singular value ``s`` counts as zero when ``s <= tol * max(1, s_max)``, ``tol = 1e-8`` by
default. Exact solutions give ``s`` at the level of float64 rounding (about 1e-15 times the
matrix size), while the smallest non-zero singular values of these constraints are of order
``|1 - exp(2 pi i / n)|`` for C_n and D_n (0.1 for n = 64) and 1 for Lie algebras, so the
default separates the two by many orders of magnitude. Lower ``tol`` only when the
representation matrices themselves carry larger errors.

Direct sums are solved block by block: the basis of ``Hom(sum_a A_a, sum_b B_b)`` is the union
of the bases of each ``Hom(A_a, B_b)`` placed in its block, and each distinct pair is solved
once and cached.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .reps import Representation, _same_group

DEFAULT_TOL = 1e-8
MAX_DENSE_UNKNOWNS = 20_000
_CACHE: dict[tuple, Tensor] = {}


def _constraint_matrices(rep_in: Representation, rep_out: Representation) -> list[Tensor]:
    group = rep_in.group
    d_in, d_out = rep_in.dim, rep_out.dim
    eye_in = torch.eye(d_in, dtype=torch.float64)
    eye_out = torch.eye(d_out, dtype=torch.float64)
    mats: list[Tensor] = []

    def commutator(a_out: Tensor, a_in: Tensor) -> Tensor:
        a_out, a_in = a_out.contiguous(), a_in.transpose(-1, -2).contiguous()
        return torch.kron(a_out, eye_in) - torch.kron(eye_out, a_in)

    if group.is_lie:
        try:
            alg_in = rep_in.lie_algebra(torch.float64)
            alg_out = rep_out.lie_algebra(torch.float64)
        except NotImplementedError:
            # unknown differential: random elements generate a dense subgroup almost surely
            gen = torch.Generator().manual_seed(1234)
            elements = group.sample(6, generator=gen, dtype=torch.float64)
            elements = torch.cat([elements, group.discrete_generators(torch.float64)])
        else:
            mats += [commutator(a, b) for a, b in zip(alg_out, alg_in)]
            elements = group.discrete_generators(torch.float64)
    elif group.is_finite:
        elements = group.generators()
    else:
        # an infinite group without a Lie algebra (e.g. Pin(3,0,1) on 16-component versors):
        # its few notable generators may generate a discrete subgroup only (quarter turns), so
        # add random elements, which generate a dense subgroup almost surely
        gen = torch.Generator().manual_seed(1234)
        elements = torch.cat(
            [
                group.sample(6, generator=gen, dtype=torch.float64),
                group.generators(dtype=torch.float64),
            ]
        )
    if elements.shape[0] > 0:
        r_in = rep_in(elements, torch.float64)
        r_out = rep_out(elements, torch.float64)
        mats += [commutator(a, b) for a, b in zip(r_out, r_in)]
    return mats


def _solve_pair(rep_in: Representation, rep_out: Representation, tol: float) -> Tensor:
    key = (rep_in._key(), rep_out._key(), tol)
    if key in _CACHE:
        return _CACHE[key]
    d_in, d_out = rep_in.dim, rep_out.dim
    unknowns = d_in * d_out
    if unknowns > MAX_DENSE_UNKNOWNS:
        raise ValueError(
            f"Hom({rep_in.name}, {rep_out.name}) has {unknowns} unknowns, more than the dense "
            f"solver's {MAX_DENSE_UNKNOWNS}: write the representations as direct sums of "
            "smaller ones so they are solved block by block"
        )
    mats = _constraint_matrices(rep_in, rep_out)
    if not mats:  # the trivial group: every map commutes
        basis = torch.eye(unknowns, dtype=torch.float64)
    else:
        C = torch.cat(mats, dim=0)
        _, S, Vh = torch.linalg.svd(C, full_matrices=True)
        threshold = tol * max(1.0, float(S.max())) if S.numel() else 0.0
        rank = int((S > threshold).sum())
        basis = Vh[rank:]
    basis = _canonical_signs(basis).reshape(-1, d_out, d_in)
    _CACHE[key] = basis
    return basis


def _canonical_signs(basis: Tensor) -> Tensor:
    """Flip each basis vector so that its first clearly non-zero entry is positive."""
    if basis.shape[0] == 0:
        return basis
    big = basis.abs() > 1e-6
    first = big.long().argmax(dim=1)
    sign = torch.sign(basis.gather(1, first.unsqueeze(1)))
    sign[sign == 0] = 1.0
    return basis * sign


def equivariant_basis(
    rep_in: Representation, rep_out: Representation, tol: float = DEFAULT_TOL
) -> Tensor:
    """An orthonormal basis of the equivariant linear maps ``R^d_in -> R^d_out``.

    Parameters
    ----------
    rep_in, rep_out : Representation
        Representations of the same group.
    tol : float
        Relative singular-value threshold (see the module notes).

    Returns
    -------
    Tensor
        ``(k, d_out, d_in)`` float64, orthonormal in the Frobenius inner product; ``k`` is the
        dimension of ``Hom_G(rep_in, rep_out)`` (possibly 0).

    Examples
    --------
    >>> from erlangen.groups import Symmetric, permutation, equivariant_basis
    >>> G = Symmetric(5)
    >>> equivariant_basis(permutation(G), permutation(G)).shape  # DeepSets: a I + b 11^T
    torch.Size([2, 5, 5])
    """
    _same_group([rep_in, rep_out])
    blocks_in, blocks_out = rep_in.components(), rep_out.components()
    if len(blocks_in) == 1 and len(blocks_out) == 1:
        return _solve_pair(rep_in, rep_out, tol).clone()
    pieces = []
    o = 0
    for b_out in blocks_out:
        i = 0
        for b_in in blocks_in:
            sub = _solve_pair(b_in, b_out, tol)
            if sub.shape[0]:
                full = torch.zeros(sub.shape[0], rep_out.dim, rep_in.dim, dtype=torch.float64)
                full[:, o : o + b_out.dim, i : i + b_in.dim] = sub
                pieces.append(full)
            i += b_in.dim
        o += b_out.dim
    if not pieces:
        return torch.zeros(0, rep_out.dim, rep_in.dim, dtype=torch.float64)
    return torch.cat(pieces)


def hom_dimension(rep_in: Representation, rep_out: Representation, tol: float = DEFAULT_TOL) -> int:
    """``dim Hom_G(rep_in, rep_out)``, the number of independent equivariant maps."""
    _same_group([rep_in, rep_out])
    return sum(
        _solve_pair(b_in, b_out, tol).shape[0]
        for b_out in rep_out.components()
        for b_in in rep_in.components()
    )


def project_to_equivariant(
    W: Tensor, rep_in: Representation, rep_out: Representation, tol: float = DEFAULT_TOL
) -> Tensor:
    """Orthogonal projection of maps ``W (..., d_out, d_in)`` onto the equivariant ones.

    The residual ``W - project_to_equivariant(W, ...)`` measures how far a layer is from
    equivariance (the soft-equivariance regulariser of Kim et al. 2023).
    """
    expected = (rep_out.dim, rep_in.dim)
    if tuple(W.shape[-2:]) != expected:
        raise ValueError(f"W must be (..., {expected[0]}, {expected[1]}), got {tuple(W.shape)}")
    B = equivariant_basis(rep_in, rep_out, tol).to(W)
    coeff = torch.einsum("koi,...oi->...k", B, W)
    return torch.einsum("...k,koi->...oi", coeff, B)


def clear_cache() -> None:
    """Forget the solved bases (they are cached per pair of representations)."""
    _CACHE.clear()
