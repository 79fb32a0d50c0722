"""Group representations: homomorphisms ``rho: G -> GL(d)`` returning batched matrices.

A representation is called on a batch of group elements, ``rho(g)`` with ``g`` of shape
``(..., *element_shape)``, and returns matrices ``(..., d, d)``. Representations of Lie groups
also return their differential on the group's Lie-algebra basis, ``rho.lie_algebra()`` of shape
``(k, d, d)``, which the equivariant-basis solver uses.

Building blocks: :func:`trivial`, :func:`standard`, :func:`regular`, :func:`irreps` /
:func:`irrep`; combinators: ``a + b`` (direct sum), ``3 * a`` (three copies), ``a.tensor(b)``
(tensor product), ``a.dual()``; :class:`Pullback` composes a representation with a group
homomorphism (how E(n) acts on features through its rotation part).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import cache

import torch
from torch import Tensor

from .base import FiniteGroup, Group, LieGroup, rotation_2d
from .finite import Cyclic, Dihedral, PlanarGroup, Symmetric
from .lie import O2, O3, SO2, SO3, EuclideanGroup, SpecialOrthogonal


class Representation(ABC):
    """A real representation of ``group`` on ``R^dim``.

    Subclasses implement ``_matrix(g, dtype)`` (and ``_lie_algebra(dtype)`` for Lie groups).
    """

    def __init__(self, group: Group, dim: int, name: str):
        self.group = group
        self.dim = int(dim)
        self.name = name

    # ----------------------------------------------------------------- evaluation
    def __call__(self, g: Tensor, dtype: torch.dtype | None = None) -> Tensor:
        """The matrices ``rho(g)``, shape ``(*batch, dim, dim)``.

        Parameters
        ----------
        g : Tensor
            Group elements ``(*batch, *group.element_shape)``.
        dtype : torch.dtype, optional
            Floating dtype of the result; defaults to ``g``'s dtype for floating elements and to
            the default dtype for integer ones.
        """
        self.group.validate(g)
        if dtype is None:
            dtype = g.dtype if g.is_floating_point() else torch.get_default_dtype()
        return self._matrix(g, dtype)

    @abstractmethod
    def _matrix(self, g: Tensor, dtype: torch.dtype) -> Tensor: ...

    def lie_algebra(self, dtype: torch.dtype | None = None) -> Tensor:
        """The differential ``d rho`` on ``group.lie_algebra()``, shape ``(k, dim, dim)``."""
        if not self.group.is_lie:
            raise TypeError(f"{self.group.name} is not a Lie group: {self.name} has no Lie algebra")
        return self._lie_algebra(dtype or torch.get_default_dtype())

    def _lie_algebra(self, dtype: torch.dtype) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not define its Lie algebra")

    def character(self, g: Tensor) -> Tensor:
        """Trace of ``rho(g)``, shape ``batch``."""
        return torch.diagonal(self(g, torch.float64), dim1=-2, dim2=-1).sum(-1)

    # ----------------------------------------------------------------- structure
    def _key(self) -> tuple:
        return (type(self).__name__, self.group._key(), self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Representation) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"{self.name} of {self.group.name} (dim {self.dim})"

    def components(self) -> list[Representation]:
        """The summands of a direct sum, flattened; ``[self]`` for anything else."""
        return [self]

    @property
    def is_trivial(self) -> bool:
        return False

    def __add__(self, other: Representation) -> DirectSum:
        if not isinstance(other, Representation):
            return NotImplemented
        return direct_sum(self, other)

    def __rmul__(self, multiplicity: int) -> DirectSum:
        if not isinstance(multiplicity, int) or multiplicity < 1:
            raise ValueError(f"multiplicity must be a positive integer, got {multiplicity!r}")
        return DirectSum([self] * multiplicity)

    def tensor(self, other: Representation) -> TensorProduct:
        """The tensor product ``self (x) other``, of dimension ``self.dim * other.dim``."""
        return TensorProduct(self, other)

    def dual(self) -> Representation:
        """The dual (contragredient) representation ``g -> rho(g^-1)^T``."""
        return Dual(self)


def _same_group(reps: Sequence[Representation]) -> Group:
    groups = {r.group for r in reps}
    if len(groups) != 1:
        names = ", ".join(sorted(g.name for g in groups))
        raise ValueError(f"representations of different groups cannot be combined: {names}")
    return reps[0].group


def _batch(g: Tensor, group: Group) -> tuple[int, ...]:
    return tuple(g.shape[: g.dim() - len(group.element_shape)])


# --------------------------------------------------------------------- basic representations
class Trivial(Representation):
    """``rho(g) = I`` on ``R^dim``: invariant features."""

    def __init__(self, group: Group, dim: int = 1):
        super().__init__(group, dim, "trivial" if dim == 1 else f"trivial^{dim}")

    @property
    def is_trivial(self) -> bool:
        return True

    def _matrix(self, g, dtype):
        eye = torch.eye(self.dim, dtype=dtype, device=g.device)
        return eye.expand(*_batch(g, self.group), self.dim, self.dim)

    def _lie_algebra(self, dtype):
        k = self.group.lie_algebra().shape[0]
        return torch.zeros(k, self.dim, self.dim, dtype=dtype)


class Standard(Representation):
    """The defining representation: the 2D rotations of C_n and D_n, the matrices of SO(n)/O(n),
    the permutation matrices of S_n."""

    def __init__(self, group: Group):
        if isinstance(group, PlanarGroup):
            dim = 2
        elif isinstance(group, SpecialOrthogonal):
            dim = group.n
        elif isinstance(group, Symmetric):
            dim = group.n
        else:
            raise TypeError(f"no standard representation defined for {group.name}")
        super().__init__(group, dim, "standard")

    def _matrix(self, g, dtype):
        group = self.group
        if isinstance(group, SpecialOrthogonal):
            return g.to(dtype)
        if isinstance(group, Symmetric):
            return group.permutation_matrix(g, dtype)
        return group.planar_matrix(g, dtype)

    def _lie_algebra(self, dtype):
        return self.group.lie_algebra(dtype)


class Regular(Representation):
    """The regular representation of a finite group on functions ``f: G -> R``.

    ``(rho(g) f)(h) = f(g^-1 h)``, with coordinates ordered as ``group.elements()``. For a
    cyclic group this is a cyclic shift; it is how group feature maps ``(B, C, |G|, H, W)``
    transform along their group axis.
    """

    max_order = 5040

    def __init__(self, group: FiniteGroup):
        if not isinstance(group, FiniteGroup):
            raise TypeError(f"the regular representation needs a finite group, got {group.name}")
        if group.order > self.max_order:
            raise ValueError(
                f"{group.name} has {group.order} elements: too many for a dense regular rep"
            )
        super().__init__(group, group.order, "regular")

    def _matrix(self, g, dtype):
        group: FiniteGroup = self.group  # type: ignore[assignment]
        images = group.cayley_table.to(g.device)[group.index(g)]  # (..., order): g h_j
        eye = torch.eye(self.dim, dtype=dtype, device=g.device)
        return eye[images].transpose(-1, -2)


# --------------------------------------------------------------------- irreducibles
class CyclicIrrep(Representation):
    """Real irreducible representation of C_n with frequency ``k`` (``0 <= k <= n / 2``):
    1D for ``k = 0`` and ``k = n / 2``, else the 2D rotation by ``2 pi k r / n``."""

    def __init__(self, group: Cyclic, k: int):
        if not 0 <= k <= group.n // 2:
            raise ValueError(f"{group.name} has irreps of frequency 0..{group.n // 2}, got {k}")
        self.k = k
        dim = 1 if k == 0 or 2 * k == group.n else 2
        super().__init__(group, dim, f"irrep[{k}]")

    def _matrix(self, g, dtype):
        if self.k == 0:
            return torch.ones(*g.shape, 1, 1, dtype=dtype, device=g.device)
        if self.dim == 1:
            return (1.0 - 2.0 * (g % 2)).to(dtype)[..., None, None]
        return rotation_2d(g.to(dtype) * (2 * math.pi * self.k / self.group.n))


class DihedralIrrep(Representation):
    """Real irreducible representation ``(j, k)`` of D_n (escnn's labels): ``k`` the rotation
    frequency, ``j`` whether mirrors act non-trivially. ``(0, 0)`` trivial, ``(1, 0)`` the
    mirror sign; for even ``n`` also ``(0, n/2)`` and ``(1, n/2)``; 2D ``(1, k)`` for
    ``0 < k < n / 2``."""

    def __init__(self, group: Dihedral, j: int, k: int):
        n = group.n
        one_dim = k == 0 or 2 * k == n
        if j not in (0, 1) or not 0 <= k <= n // 2 or (not one_dim and j != 1):
            raise ValueError(
                f"{group.name} irreps are (0|1, 0), (0|1, n/2) for even n and (1, k) for "
                f"0 < k < n/2; got ({j}, {k})"
            )
        self.j, self.k = j, k
        super().__init__(group, 1 if one_dim else 2, f"irrep[{j},{k}]")

    def _matrix(self, g, dtype):
        m, r = self.group.split(g)
        if self.dim == 1:
            sign = self.j * m + (r if self.k else 0)
            return (1.0 - 2.0 * (sign % 2)).to(dtype)[..., None, None]
        angle = r.to(dtype) * (2 * math.pi * self.k / self.group.n)
        mirror = torch.stack([torch.ones_like(angle), 1.0 - 2.0 * m.to(dtype)], -1)
        return rotation_2d(angle) * mirror.unsqueeze(-2)


class SO2Irrep(Representation):
    """Irreducible representation of SO(2) with frequency ``k >= 0``: ``R(theta) -> R(k theta)``."""

    def __init__(self, group: SO2, k: int):
        if k < 0:
            raise ValueError(f"SO(2) frequencies are >= 0, got {k}")
        self.k = k
        super().__init__(group, 1 if k == 0 else 2, f"irrep[{k}]")

    def _matrix(self, g, dtype):
        if self.k == 0:
            return torch.ones(*_batch(g, self.group), 1, 1, dtype=dtype, device=g.device)
        angle, _ = self.group.planar(g, dtype)
        return rotation_2d(self.k * angle)

    def _lie_algebra(self, dtype):
        J = torch.tensor([[[0.0, -1.0], [1.0, 0.0]]], dtype=dtype)
        return self.k * J if self.k else torch.zeros(1, 1, 1, dtype=dtype)


class O2Irrep(Representation):
    """Irreducible representation ``(j, k)`` of O(2): ``(0, 0)`` trivial, ``(1, 0)`` the
    determinant, ``(1, k)`` for ``k >= 1`` the 2D ``R(k theta) F^m``."""

    def __init__(self, group: O2, j: int, k: int):
        if k < 0 or j not in (0, 1) or (k > 0 and j != 1):
            raise ValueError(
                f"O(2) irreps are (0, 0), (1, 0) and (1, k) for k >= 1; got ({j}, {k})"
            )
        self.j, self.k = j, k
        super().__init__(group, 1 if k == 0 else 2, f"irrep[{j},{k}]")

    def _matrix(self, g, dtype):
        angle, reflect = self.group.planar(g, dtype)
        if self.k == 0:
            sign = 1.0 - 2.0 * (reflect.to(dtype) * self.j)
            return sign[..., None, None]
        mirror = torch.stack([torch.ones_like(angle), 1.0 - 2.0 * reflect.to(dtype)], -1)
        return rotation_2d(self.k * angle) * mirror.unsqueeze(-2)

    def _lie_algebra(self, dtype):
        if self.k == 0:
            return torch.zeros(1, 1, 1, dtype=dtype)
        return self.k * torch.tensor([[[0.0, -1.0], [1.0, 0.0]]], dtype=dtype)


@contextmanager
def _float64_default():
    """e3nn builds its generators in the default dtype; float32 there costs 1e-7 precision."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


@cache
def _so3_generators(l: int) -> Tensor:  # noqa: E741
    from e3nn import o3

    with _float64_default():
        return o3.so3_generators(l).to(torch.float64)


class WignerD(Representation):
    """Real Wigner D matrix of degree ``l`` (dimension ``2l + 1``), in e3nn's real basis.

    For O(3), ``parity`` is ``+1`` (even, "e") or ``-1`` (odd, "o"): improper rotations act with
    an extra factor ``parity``. Degree 1 with odd parity is the standard representation.
    """

    def __init__(self, group: SO3 | O3, l: int, parity: int = 1):  # noqa: E741
        if l < 0:
            raise ValueError(f"degree l must be >= 0, got {l}")
        if parity not in (1, -1):
            raise ValueError(f"parity must be +1 or -1, got {parity}")
        if isinstance(group, O3):
            name = f"{l}{'e' if parity == 1 else 'o'}"
        else:
            parity = 1
            name = f"l={l}"
        self.l, self.parity = l, parity
        super().__init__(group, 2 * l + 1, name)

    def _matrix(self, g, dtype):
        from e3nn import o3

        work = g.to(torch.float64)
        det = torch.linalg.det(work)
        proper = work * det.sign()[..., None, None]
        batch = _batch(g, self.group)
        proper = proper.reshape(-1, 3, 3)
        if self.l == 0:
            D = torch.ones(proper.shape[0], 1, 1, dtype=torch.float64, device=g.device)
        else:
            with _float64_default():
                D = o3.Irrep(self.l, 1).D_from_matrix(proper)
        D = D.reshape(*batch, self.dim, self.dim)
        if self.parity == -1:
            D = D * det.sign()[..., None, None]
        return D.to(dtype)

    def _lie_algebra(self, dtype):
        return _so3_generators(self.l).to(dtype)


# --------------------------------------------------------------------- combinators
class DirectSum(Representation):
    """Block-diagonal ``rho_1 (+) rho_2 (+) ...``; summands are flattened."""

    def __init__(self, reps: Sequence[Representation]):
        if len(reps) == 0:
            raise ValueError("a direct sum needs at least one representation")
        for r in reps:
            if not isinstance(r, Representation):
                raise TypeError(f"a direct sum takes representations, got {type(r).__name__} {r!r}")
        flat = [c for r in reps for c in r.components()]
        group = _same_group(flat)
        self.reps = flat
        super().__init__(group, sum(r.dim for r in flat), _sum_name(flat))

    def components(self):
        return list(self.reps)

    @property
    def is_trivial(self) -> bool:
        return all(r.is_trivial for r in self.reps)

    def _key(self):
        return ("DirectSum", tuple(r._key() for r in self.reps))

    def _matrix(self, g, dtype):
        return _block_diag([r._matrix(g, dtype) for r in self.reps])

    def _lie_algebra(self, dtype):
        return _block_diag([r._lie_algebra(dtype) for r in self.reps])


def _sum_name(reps: Sequence[Representation]) -> str:
    parts: list[str] = []
    count = 0
    for i, r in enumerate(reps):
        count += 1
        if i + 1 == len(reps) or reps[i + 1] != r:
            parts.append(r.name if count == 1 else f"{count}x{r.name}")
            count = 0
    return " + ".join(parts)


def _block_diag(mats: Sequence[Tensor]) -> Tensor:
    batch = torch.broadcast_shapes(*[m.shape[:-2] for m in mats])
    dim = sum(m.shape[-1] for m in mats)
    out = torch.zeros(*batch, dim, dim, dtype=mats[0].dtype, device=mats[0].device)
    i = 0
    for m in mats:
        d = m.shape[-1]
        out[..., i : i + d, i : i + d] = m
        i += d
    return out


class TensorProduct(Representation):
    """``rho_a (x) rho_b`` acting on ``R^(da * db)`` (row-major: index ``i * db + j``)."""

    def __init__(self, a: Representation, b: Representation):
        group = _same_group([a, b])
        self.a, self.b = a, b
        super().__init__(group, a.dim * b.dim, f"({a.name})x({b.name})")

    def _key(self):
        return ("TensorProduct", self.a._key(), self.b._key())

    def _matrix(self, g, dtype):
        A, B = self.a._matrix(g, dtype), self.b._matrix(g, dtype)
        out = A[..., :, None, :, None] * B[..., None, :, None, :]
        return out.reshape(*out.shape[:-4], self.dim, self.dim)

    def _lie_algebra(self, dtype):
        A, B = self.a._lie_algebra(dtype), self.b._lie_algebra(dtype)
        Ia = torch.eye(self.a.dim, dtype=dtype)
        Ib = torch.eye(self.b.dim, dtype=dtype)
        return torch.kron(A.contiguous(), Ib) + torch.kron(Ia, B.contiguous())


class Dual(Representation):
    """The contragredient ``g -> rho(g^-1)^T``; equal to ``rho`` for orthogonal ones."""

    def __init__(self, rep: Representation):
        self.rep = rep
        super().__init__(rep.group, rep.dim, f"dual({rep.name})")

    def _key(self):
        return ("Dual", self.rep._key())

    def _matrix(self, g, dtype):
        return self.rep._matrix(self.group.inverse(g), dtype).transpose(-1, -2)

    def _lie_algebra(self, dtype):
        return -self.rep._lie_algebra(dtype).transpose(-1, -2)


class Pullback(Representation):
    """``rho o phi``: a representation of ``group`` through a homomorphism ``phi`` into
    ``rep.group``.

    Parameters
    ----------
    rep : Representation
        Representation of the target group.
    group : Group
        The source group.
    hom : callable
        Maps elements of ``group`` to elements of ``rep.group``.
    lie_map : Tensor, optional
        ``(k_source, k_target)`` coefficients of ``d phi`` on the Lie-algebra bases, needed
        for ``lie_algebra()``.
    name : str, optional
    """

    def __init__(
        self,
        rep: Representation,
        group: Group,
        hom: Callable[[Tensor], Tensor],
        lie_map: Tensor | None = None,
        name: str | None = None,
    ):
        self.rep, self.hom, self.lie_map = rep, hom, lie_map
        super().__init__(group, rep.dim, name or rep.name)

    def _key(self):
        hom = getattr(self.hom, "__qualname__", repr(self.hom))
        return ("Pullback", self.group._key(), self.rep._key(), hom)

    @property
    def is_trivial(self) -> bool:
        return self.rep.is_trivial

    def _matrix(self, g, dtype):
        return self.rep._matrix(self.hom(g), dtype)

    def _lie_algebra(self, dtype):
        if self.lie_map is None:
            raise NotImplementedError(f"{self.name}: the homomorphism has no Lie-algebra map")
        return torch.einsum("st,tij->sij", self.lie_map.to(dtype), self.rep._lie_algebra(dtype))


# --------------------------------------------------------------------- constructors
def trivial(group: Group, dim: int = 1) -> Representation:
    """The trivial representation on ``R^dim`` (invariant features)."""
    return Trivial(group, dim)


def standard(group: Group) -> Representation:
    """The defining representation (2D for C_n and D_n, ``n``-dimensional for SO(n), O(n) and
    S_n; for E(n) and SE(n) the rotation part acting on vectors such as velocities)."""
    if isinstance(group, EuclideanGroup):
        return euclidean(group, Standard(group.point_group))
    return Standard(group)


def permutation(group: Symmetric) -> Representation:
    """The permutation representation of S_n (its standard representation)."""
    if not isinstance(group, Symmetric):
        raise TypeError(f"permutation() needs a Symmetric group, got {group.name}")
    return Standard(group)


def regular(group: FiniteGroup) -> Representation:
    """The regular representation of a finite group (dimension ``|G|``)."""
    return Regular(group)


def euclidean(group: EuclideanGroup, rep: Representation) -> Representation:
    """A representation of E(n)/SE(n) acting on features through the rotation part."""
    if rep.group != group.point_group:
        raise ValueError(
            f"{group.name} acts through {group.point_group.name}, got a rep of {rep.group.name}"
        )
    return Pullback(rep, group, group.rotation_part, group.lie_to_point_group())


def irrep(group: Group, *index: int) -> Representation:
    """One real irreducible representation.

    - ``irrep(Cyclic(n), k)`` and ``irrep(SO2(), k)``: frequency ``k``;
    - ``irrep(Dihedral(n), j, k)`` and ``irrep(O2(), j, k)``: escnn's ``(j, k)`` labels;
    - ``irrep(SO3(), l)`` and ``irrep(O3(), l, parity)``: Wigner D of degree ``l``.
    """
    if isinstance(group, Cyclic):
        return CyclicIrrep(group, *index)
    if isinstance(group, Dihedral):
        return DihedralIrrep(group, *index)
    if isinstance(group, SO2):
        return SO2Irrep(group, *index)
    if isinstance(group, O2):
        return O2Irrep(group, *index)
    if isinstance(group, SO3 | O3):
        return WignerD(group, *index)
    if isinstance(group, EuclideanGroup):
        return euclidean(group, irrep(group.point_group, *index))
    raise TypeError(f"no irreducible representations are defined for {group.name}")


def irreps(group: Group, max_frequency: int | None = None) -> list[Representation]:
    """All real irreducible representations of a finite planar group, or those up to
    ``max_frequency`` (degree ``l`` for SO(3)/O(3)) of a Lie group."""
    if isinstance(group, Cyclic):
        return [CyclicIrrep(group, k) for k in range(group.n // 2 + 1)]
    if isinstance(group, Dihedral):
        n = group.n
        out = [DihedralIrrep(group, 0, 0), DihedralIrrep(group, 1, 0)]
        out += [DihedralIrrep(group, 1, k) for k in range(1, (n + 1) // 2)]
        if n % 2 == 0 and n > 1:
            out += [DihedralIrrep(group, 0, n // 2), DihedralIrrep(group, 1, n // 2)]
        return out
    if max_frequency is None:
        raise ValueError(f"{group.name} has infinitely many irreps: pass max_frequency")
    L = max_frequency
    if isinstance(group, SO2):
        return [SO2Irrep(group, k) for k in range(L + 1)]
    if isinstance(group, O2):
        return [O2Irrep(group, 0, 0), O2Irrep(group, 1, 0)] + [
            O2Irrep(group, 1, k) for k in range(1, L + 1)
        ]
    if isinstance(group, SO3):
        return [WignerD(group, l) for l in range(L + 1)]  # noqa: E741
    if isinstance(group, O3):
        return [WignerD(group, l, p) for l in range(L + 1) for p in (1, -1)]  # noqa: E741
    raise TypeError(f"irreps() is not defined for {group.name}")


def direct_sum(*reps: Representation) -> DirectSum:
    """``rho_1 (+) rho_2 (+) ...`` (block diagonal)."""
    return DirectSum(reps)


def tensor_product(*reps: Representation) -> Representation:
    """``rho_1 (x) rho_2 (x) ...``."""
    if not reps:
        raise ValueError("tensor_product needs at least one representation")
    out = reps[0]
    for r in reps[1:]:
        out = TensorProduct(out, r)
    return out


def is_lie_representable(rep: Representation) -> bool:
    """Whether ``rep.lie_algebra()`` is available (a Lie group and a known differential)."""
    if not isinstance(rep.group, LieGroup):
        return False
    try:
        rep.lie_algebra()
    except NotImplementedError:
        return False
    return True
