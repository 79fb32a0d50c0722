"""Abstract groups whose elements are plain tensors.

Every group in erlangen stores its elements as tensors of a fixed ``element_shape`` with any
number of leading batch dimensions: integers for cyclic and dihedral groups, permutation arrays
for symmetric groups, orthogonal matrices for SO(n) and O(n), and homogeneous matrices for the
Euclidean groups. Operations broadcast over the leading dimensions, so ``compose(a, b)`` with
``a`` of shape ``(8, *element_shape)`` and ``b`` of shape ``element_shape`` composes all eight.
"""

from __future__ import annotations

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
        from .product import DirectProduct

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


def rotation_2d(theta: Tensor) -> Tensor:
    """Rotation matrices ``(..., 2, 2)`` for angles ``(...)`` (counter-clockwise)."""
    c, s = torch.cos(theta), torch.sin(theta)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
