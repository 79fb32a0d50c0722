"""Abstract groups whose elements are plain tensors.

Every group in erlangen stores its elements as tensors of a fixed ``element_shape`` with any
number of leading batch dimensions: integers for cyclic and dihedral groups, permutation arrays
for symmetric groups, orthogonal matrices for SO(n) and O(n), and homogeneous matrices for the
Euclidean groups. Operations broadcast over the leading dimensions, so ``compose(a, b)`` with
``a`` of shape ``(8, *element_shape)`` and ``b`` of shape ``element_shape`` composes all eight.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from functools import cached_property

import torch
from torch import Tensor


class GroupElementError(ValueError):
    """Raised when a tensor is not a valid element (or batch of elements) of a group."""


class Group(ABC):
    """A group with tensor-valued elements.

    Subclasses define ``element_shape``, ``identity``, ``compose``, ``inverse``, ``sample`` and
    ``generators``. Finite groups add ``elements`` and ``index``; Lie groups add
    ``lie_algebra``.

    Notes
    -----
    ``generators()`` returns a small fixed set of elements that the equivariance checker always
    tests. For finite groups these generate the group. For Lie groups they are the discrete
    generators of the component group (reflections) plus a few notable elements (quarter
    turns, unit translations): a continuous group has no finite generating set, so the solver
    uses ``lie_algebra()`` and ``discrete_generators()`` instead.
    """

    #: shape of one element, without batch dimensions
    element_shape: tuple[int, ...] = ()
    #: whether elements are integer tensors (finite groups) or floating tensors
    integer_elements: bool = False

    # ----------------------------------------------------------------- identity and equality
    @property
    @abstractmethod
    def name(self) -> str:
        """A short human name such as ``'C4'``, ``'D8'``, ``'SO(3)'``."""

    def _key(self) -> tuple:
        return (type(self).__name__, self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Group) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return self.name

    def __mul__(self, other: Group) -> Group:
        """The direct product ``self x other`` (see :class:`~erlangen.groups.DirectProduct`)."""
        if not isinstance(other, Group):
            return NotImplemented
        return DirectProduct(self, other)

    # ----------------------------------------------------------------- size
    @property
    def order(self) -> int | None:
        """Number of elements, or ``None`` for infinite groups."""
        return None

    @property
    def is_finite(self) -> bool:
        return self.order is not None

    @property
    def is_lie(self) -> bool:
        return False

    # ----------------------------------------------------------------- element dtype
    def _element_dtype(self, dtype: torch.dtype | None) -> torch.dtype:
        if self.integer_elements:
            return torch.long
        return dtype if dtype is not None else torch.get_default_dtype()

    # ----------------------------------------------------------------- operations
    @abstractmethod
    def identity(
        self, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        """The identity element, shape ``element_shape``."""

    @abstractmethod
    def compose(self, a: Tensor, b: Tensor) -> Tensor:
        """The product ``a b`` (apply ``b`` first, then ``a``), broadcasting batch dims."""

    @abstractmethod
    def inverse(self, a: Tensor) -> Tensor:
        """The inverse element, same shape as ``a``."""

    @abstractmethod
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """``n`` random elements, shape ``(n, *element_shape)`` (Haar/uniform where defined)."""

    @abstractmethod
    def generators(
        self, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        """A fixed set of notable elements, shape ``(k, *element_shape)`` (see class notes)."""

    def discrete_generators(
        self, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        """Elements that, with the Lie algebra, generate the group (finite groups: all
        generators). Shape ``(k, *element_shape)``; ``k`` may be 0."""
        return self.generators(dtype=dtype, device=device)

    def elements(
        self, dtype: torch.dtype | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        """All elements, shape ``(order, *element_shape)``; only for finite groups."""
        raise TypeError(f"{self.name} is infinite: it has no list of elements")

    def allclose(self, a: Tensor, b: Tensor, atol: float = 1e-9) -> Tensor:
        """Elementwise equality of two batches of elements, shape ``batch``."""
        if self.integer_elements:
            diff = a != b
        else:
            diff = (a - b).abs() > atol
        dims = tuple(range(-len(self.element_shape), 0))
        return ~diff.any(dim=dims) if dims else ~diff

    def validate(self, g: Tensor, what: str = "element") -> tuple[int, ...]:
        """Check that ``g`` is a batch of elements; return its batch shape.

        Raises
        ------
        GroupElementError
            With the expected and the actual shape or dtype.
        """
        if not isinstance(g, Tensor):
            raise GroupElementError(f"{self.name}: {what} must be a torch.Tensor, got {type(g)}")
        k = len(self.element_shape)
        if g.dim() < k or tuple(g.shape[g.dim() - k :]) != self.element_shape:
            raise GroupElementError(
                f"{self.name}: {what} must have shape (..., "
                f"{', '.join(map(str, self.element_shape))})"
                f" (element_shape {self.element_shape}), got {tuple(g.shape)}"
            )
        if self.integer_elements and g.is_floating_point():
            raise GroupElementError(f"{self.name}: elements are integer tensors, got {g.dtype}")
        if not self.integer_elements and not g.is_floating_point():
            raise GroupElementError(f"{self.name}: elements are floating tensors, got {g.dtype}")
        return tuple(g.shape[: g.dim() - k])

    def power(self, g: Tensor, k: int) -> Tensor:
        """``g`` composed with itself ``k`` times (``k`` may be negative)."""
        base = self.inverse(g) if k < 0 else g
        out = self.identity(dtype=g.dtype if g.is_floating_point() else None, device=g.device)
        out = out.expand_as(g).clone()
        for _ in range(abs(k)):
            out = self.compose(out, base)
        return out


class FiniteGroup(Group):
    """A finite group; elements are integer tensors.

    Subclasses implement ``elements`` and may override ``index`` (the position of an element in
    ``elements()``) with a closed form.
    """

    integer_elements = True

    @property
    @abstractmethod
    def order(self) -> int:  # type: ignore[override]
        ...

    def sample(self, n, generator=None, dtype=None, device=None):
        idx = torch.randint(self.order, (n,), generator=generator)
        return self.elements(device=device)[idx.to(device) if device is not None else idx]

    def index(self, g: Tensor) -> Tensor:
        """Position of each element of ``g`` in ``elements()``, shape ``batch``."""
        elements = self.elements(device=g.device)
        k = len(self.element_shape)
        flat = g.reshape(-1, *self.element_shape)
        eq = self.allclose(flat.unsqueeze(1), elements.unsqueeze(0))  # (m, order)
        if not bool(eq.any(dim=1).all()):
            raise GroupElementError(f"{self.name}: tensor holds values that are not elements")
        return eq.long().argmax(dim=1).reshape(g.shape[: g.dim() - k])

    @cached_property
    def cayley_table(self) -> Tensor:
        """``table[i, j] = index(elements[i] * elements[j])``, shape ``(order, order)``."""
        e = self.elements()
        prod = self.compose(e.unsqueeze(1), e.unsqueeze(0))
        return self.index(prod)

    @cached_property
    def inverse_index(self) -> Tensor:
        """``inverse_index[i] = index(elements[i]^-1)``, shape ``(order,)``."""
        return self.index(self.inverse(self.elements()))


class LieGroup(Group):
    """A matrix Lie group; elements are floating ``(n, n)`` matrices (or homogeneous ones)."""

    @property
    def is_lie(self) -> bool:
        return True

    @abstractmethod
    def lie_algebra(self, dtype: torch.dtype | None = None) -> Tensor:
        """A basis of the Lie algebra in the defining matrix representation, ``(k, n, n)``.

        Representations return their differential on this same basis through
        ``Representation.lie_algebra``; the basis solver needs both to agree.
        """

    def exp(self, X: Tensor) -> Tensor:
        """Matrix exponential of Lie-algebra elements ``(..., n, n)``."""
        return torch.linalg.matrix_exp(X)

    def discrete_generators(self, dtype=None, device=None):
        n = self.element_shape[-1]
        dtype = self._element_dtype(dtype)
        return torch.zeros(0, n, n, dtype=dtype, device=device)


# ----------------------------------------------------------------------------- products
class DirectProduct(Group):
    """The direct product ``G_1 x ... x G_k`` of groups, for data with several independent
    symmetries at once (a point cloud as a graph: ``Symmetric(N) * E(3)``).

    Checks draw joint random elements (a permutation and a motion together) and each factor's
    generators with the other factors at the identity. An element is one flat floating
    tensor: the factors' elements, flattened and concatenated (integer factors such as
    permutations are stored as exact floats and rounded back by :meth:`factor`).

    >>> from erlangen.groups import Symmetric, E
    >>> G = Symmetric(4) * E(3)
    >>> G.name, G.element_shape
    ('S4 x E(3)', (20,))
    >>> perm, motion = G.split(G.sample(1)[0])
    >>> perm.dtype, tuple(motion.shape)
    (torch.int64, (4, 4))

    Parameters
    ----------
    *factors : Group
        At least two groups; nested products are flattened.
    """

    def __init__(self, *factors: Group):
        flat: list[Group] = []
        for f in factors:
            if not isinstance(f, Group):
                raise TypeError(f"DirectProduct takes groups, got {type(f).__name__}")
            flat.extend(f.factors if isinstance(f, DirectProduct) else [f])
        if len(flat) < 2:
            raise ValueError(f"a direct product needs at least two factors, got {len(flat)}")
        self.factors: tuple[Group, ...] = tuple(flat)
        self._sizes = [math.prod(f.element_shape) for f in flat]
        self.element_shape = (sum(self._sizes),)

    @property
    def name(self) -> str:
        return " x ".join(f.name for f in self.factors)

    def _key(self) -> tuple:
        return ("DirectProduct", tuple(f._key() for f in self.factors))

    @property
    def order(self) -> int | None:
        orders = [f.order for f in self.factors]
        return None if None in orders else math.prod(orders)

    # ----------------------------------------------------------------- factors
    def find(self, kind: type) -> int | None:
        """Index of the one factor that is an instance of ``kind``, or None; raises when
        several are."""
        hits = [i for i, f in enumerate(self.factors) if isinstance(f, kind)]
        if len(hits) > 1:
            raise ValueError(f"{self.name} has {len(hits)} factors of type {kind.__name__}")
        return hits[0] if hits else None

    def factor(self, g: Tensor, i: int) -> Tensor:
        """The element(s) of factor ``i`` inside ``g`` (``(..., *factor.element_shape)``)."""
        start = sum(self._sizes[:i])
        part = g[..., start : start + self._sizes[i]]
        f = self.factors[i]
        part = part.reshape(tuple(g.shape[:-1]) + tuple(f.element_shape))
        return torch.round(part).long() if f.integer_elements else part

    def split(self, g: Tensor) -> list[Tensor]:
        """Every factor's element(s) inside ``g``."""
        return [self.factor(g, i) for i in range(len(self.factors))]

    def join(self, parts: list[Tensor], dtype: torch.dtype | None = None) -> Tensor:
        """The product element(s) made of one element (batch) per factor."""
        if len(parts) != len(self.factors):
            raise GroupElementError(f"{self.name}: join needs {len(self.factors)} parts")
        dtype = self._element_dtype(
            dtype or next((p.dtype for p in parts if p.is_floating_point()), None)
        )
        flat = []
        for f, p in zip(self.factors, parts):
            batch = p.shape[: p.dim() - len(f.element_shape)]
            flat.append(p.reshape(*batch, -1).to(dtype))
        return torch.cat(_broadcast(flat), dim=-1)

    # ----------------------------------------------------------------- group operations
    def identity(self, dtype=None, device=None):
        return self.join([f.identity(dtype=dtype, device=device) for f in self.factors], dtype)

    def compose(self, a, b):
        pa, pb = self.split(a), self.split(b)
        out = [f.compose(x, y) for f, x, y in zip(self.factors, pa, pb)]
        return self.join(out, a.dtype)

    def inverse(self, a):
        return self.join([f.inverse(x) for f, x in zip(self.factors, self.split(a))], a.dtype)

    def sample(self, n, generator=None, dtype=None, device=None):
        parts = [f.sample(n, generator=generator, dtype=dtype, device=device) for f in self.factors]
        return self.join(parts, dtype)

    def generators(self, dtype=None, device=None):
        dtype = self._element_dtype(dtype)
        ids = [f.identity(dtype=dtype, device=device) for f in self.factors]
        rows = []
        for i, f in enumerate(self.factors):
            for gen in f.generators(dtype=dtype, device=device):
                parts = list(ids)
                parts[i] = gen
                rows.append(self.join(parts, dtype))
        if not rows:
            return torch.zeros(0, *self.element_shape, dtype=dtype, device=device)
        return torch.stack(rows)

    def elements(self, dtype=None, device=None):
        if self.order is None:
            return super().elements(dtype, device)
        grids = [f.elements(dtype=dtype, device=device) for f in self.factors]
        index = torch.cartesian_prod(*[torch.arange(len(e)) for e in grids])
        if index.dim() == 1:
            index = index.unsqueeze(-1)
        return self.join([e[index[:, i]] for i, e in enumerate(grids)], dtype)

    def allclose(self, a, b, atol=1e-9):
        pa, pb = self.split(a), self.split(b)
        out = [f.allclose(x, y, atol) for f, x, y in zip(self.factors, pa, pb)]
        return torch.stack(torch.broadcast_tensors(*out)).all(dim=0)

    def validate(self, g, what="element"):
        batch = super().validate(g, what)
        for i, f in enumerate(self.factors):
            f.validate(self.factor(g, i), f"{what} (factor {f.name})")
        return batch


def _broadcast(parts: list[Tensor]) -> list[Tensor]:
    """Broadcast the batch dimensions of flattened factor elements ``(..., size_i)``."""
    batch = torch.broadcast_shapes(*(p.shape[:-1] for p in parts))
    return [p.expand(*batch, p.shape[-1]) for p in parts]


def product(*factors: Group) -> DirectProduct:
    """``DirectProduct(*factors)``; also written ``G1 * G2``."""
    return DirectProduct(*factors)


def rotation_2d(theta: Tensor) -> Tensor:
    """Rotation matrices ``(..., 2, 2)`` for angles ``(...)`` (counter-clockwise)."""
    c, s = torch.cos(theta), torch.sin(theta)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
