"""Finite groups: cyclic C_n, dihedral D_n and symmetric S_n.

Element encodings
-----------------
- ``Cyclic(n)``: an integer ``r`` in ``[0, n)``, the rotation by ``2 pi r / n``.
- ``Dihedral(n)``: an integer ``n * m + r`` for the element ``R^r F^m`` (``F`` the mirror
  ``(x, y) -> (x, -y)``, applied first). With ``n = 4`` this is the p4m orientation index
  ``4 m + r`` of Cohen & Welling.
- ``Symmetric(n)``: a permutation array ``p`` of shape ``(n,)`` that sends ``i`` to ``p[i]``;
  ``compose(p, q)[i] = p[q[i]]``.
"""

from __future__ import annotations

import itertools
import math
from functools import cached_property

import torch
from torch import Tensor

from .base import FiniteGroup, GroupElementError, rotation_2d


class PlanarGroup:
    """Mixin for groups that act on the plane by rotations and the mirror ``(x, y) -> (x, -y)``.

    Every element is ``R(angle) F^reflect``: first mirror (when ``reflect``), then rotate
    counter-clockwise by ``angle``.
    """

    #: whether any element is a reflection
    has_reflections: bool = False

    def planar(self, g: Tensor, dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
        """``(angle, reflect)`` of each element, shapes ``batch`` (float, bool)."""
        raise NotImplementedError

    def planar_matrix(self, g: Tensor, dtype: torch.dtype | None = None) -> Tensor:
        """The ``(..., 2, 2)`` orthogonal matrix of each element."""
        angle, reflect = self.planar(g, dtype)
        mirror = torch.ones(*reflect.shape, 2, dtype=angle.dtype, device=angle.device)
        mirror[..., 1] = 1.0 - 2.0 * reflect.to(angle.dtype)
        return rotation_2d(angle) * mirror.unsqueeze(-2)

    def quarter_turns(self, g: Tensor) -> Tensor | None:
        """Quarter turns ``k`` when every angle is exactly ``k * 90`` degrees, else None."""
        angle, _ = self.planar(g, torch.float64)
        k = torch.round(angle / (math.pi / 2))
        if bool(((angle - k * (math.pi / 2)).abs() < 1e-12).all()):
            return k.long() % 4
        return None


def _check_n(n: int, name: str, minimum: int = 1) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{name}(n) needs an integer n >= {minimum}, got {n!r}")
    return n


class Cyclic(FiniteGroup, PlanarGroup):
    """The cyclic group C_n of rotations by multiples of ``2 pi / n``.

    Parameters
    ----------
    n : int
        Order of the group (``n >= 1``).
    """

    def __init__(self, n: int):
        self.n = _check_n(n, "Cyclic")

    @property
    def name(self) -> str:
        return f"C{self.n}"

    @property
    def order(self) -> int:
        return self.n

    def identity(self, dtype=None, device=None):
        return torch.zeros((), dtype=torch.long, device=device)

    def compose(self, a, b):
        return (a + b) % self.n

    def inverse(self, a):
        return (-a) % self.n

    def generators(self, dtype=None, device=None):
        return torch.ones(1 if self.n > 1 else 0, dtype=torch.long, device=device)

    def elements(self, dtype=None, device=None):
        return torch.arange(self.n, device=device)

    def index(self, g):
        return g.long() % self.n

    def planar(self, g, dtype=None):
        dtype = dtype or torch.get_default_dtype()
        angle = g.to(dtype) * (2 * math.pi / self.n)
        return angle, torch.zeros_like(g, dtype=torch.bool)

    def quarter_turns(self, g):
        if bool(((4 * g) % self.n == 0).all()):
            return (4 * g // self.n) % 4
        return None


class Dihedral(FiniteGroup, PlanarGroup):
    """The dihedral group D_n of order ``2n``: rotations by ``2 pi / n`` and mirrors.

    Elements are integers ``n * m + r`` for ``R^r F^m`` (mirror first). ``Dihedral(4)`` is the
    stabiliser of p4m.

    Parameters
    ----------
    n : int
        Number of rotations (``n >= 1``).
    """

    has_reflections = True

    def __init__(self, n: int):
        self.n = _check_n(n, "Dihedral")

    @property
    def name(self) -> str:
        return f"D{self.n}"

    @property
    def order(self) -> int:
        return 2 * self.n

    def split(self, g: Tensor) -> tuple[Tensor, Tensor]:
        """``(m, r)``: mirror flag and rotation of each element."""
        return g // self.n, g % self.n

    def join(self, m: Tensor, r: Tensor) -> Tensor:
        return self.n * (m % 2) + r % self.n

    def identity(self, dtype=None, device=None):
        return torch.zeros((), dtype=torch.long, device=device)

    def compose(self, a, b):
        m1, r1 = self.split(a)
        m2, r2 = self.split(b)
        # R^r1 F^m1 R^r2 F^m2 = R^(r1 + (-1)^m1 r2) F^(m1 + m2)
        return self.join(m1 ^ m2, r1 + (1 - 2 * m1) * r2)

    def inverse(self, a):
        m, r = self.split(a)
        return self.join(m, (1 - 2 * m) * -r)

    def generators(self, dtype=None, device=None):
        gens = [1, self.n] if self.n > 1 else [self.n]
        return torch.tensor(gens, dtype=torch.long, device=device)

    def elements(self, dtype=None, device=None):
        return torch.arange(2 * self.n, device=device)

    def index(self, g):
        return g.long() % (2 * self.n)

    def rotation(self, r: int | Tensor) -> Tensor:
        """The element ``R^r``."""
        return torch.as_tensor(r, dtype=torch.long) % self.n

    def reflection(self, r: int | Tensor = 0) -> Tensor:
        """The element ``R^r F``."""
        return self.n + torch.as_tensor(r, dtype=torch.long) % self.n

    def planar(self, g, dtype=None):
        dtype = dtype or torch.get_default_dtype()
        m, r = self.split(g)
        return r.to(dtype) * (2 * math.pi / self.n), m.bool()

    def quarter_turns(self, g):
        _, r = self.split(g)
        if bool(((4 * r) % self.n == 0).all()):
            return (4 * r // self.n) % 4
        return None


class Symmetric(FiniteGroup):
    """The symmetric group S_n of permutations of ``n`` objects (graph nodes, set elements).

    Elements are permutation arrays ``(..., n)``; ``p`` sends ``i`` to ``p[i]``.

    Parameters
    ----------
    n : int
        Number of objects permuted (``n >= 1``).
    """

    #: ``elements()`` is refused beyond this many objects (8! = 40320 elements)
    max_enumerable = 8

    def __init__(self, n: int):
        self.n = _check_n(n, "Symmetric")
        self.element_shape = (self.n,)

    @property
    def name(self) -> str:
        return f"S{self.n}"

    @property
    def order(self) -> int:
        return math.factorial(self.n)

    def identity(self, dtype=None, device=None):
        return torch.arange(self.n, device=device)

    def compose(self, a, b):
        a, b = torch.broadcast_tensors(a, b)
        return torch.gather(a, -1, b)

    def inverse(self, a):
        return torch.argsort(a, dim=-1)

    def sample(self, n, generator=None, dtype=None, device=None):
        perms = torch.argsort(torch.rand(n, self.n, generator=generator), dim=-1)
        return perms.to(device) if device is not None else perms

    def generators(self, dtype=None, device=None):
        if self.n == 1:
            return torch.zeros(0, 1, dtype=torch.long, device=device)
        swap = torch.arange(self.n)
        swap[0], swap[1] = 1, 0
        cycle = torch.roll(torch.arange(self.n), -1)
        gens = [swap] if self.n == 2 else [swap, cycle]
        return torch.stack(gens).to(device)

    def elements(self, dtype=None, device=None):
        if self.n > self.max_enumerable:
            raise ValueError(
                f"{self.name} has {self.order} elements; elements() is limited to n <= "
                f"{self.max_enumerable}. Use sample() instead."
            )
        return self._elements.to(device)

    @cached_property
    def _elements(self) -> Tensor:
        return torch.tensor(list(itertools.permutations(range(self.n))), dtype=torch.long)

    def index(self, g):
        # Lehmer code: rank of the permutation in lexicographic order
        self.validate(g)
        n = self.n
        flat = g.reshape(-1, n)
        if not bool((torch.sort(flat, -1).values == torch.arange(n, device=g.device)).all()):
            raise GroupElementError(f"{self.name}: tensor holds arrays that are not permutations")
        smaller_after = (flat.unsqueeze(-1) > flat.unsqueeze(-2)).triu(1).sum(-1)  # (m, n)
        weights = torch.tensor([math.factorial(n - 1 - i) for i in range(n)], device=g.device)
        return (smaller_after * weights).sum(-1).reshape(g.shape[:-1])

    def permutation_matrix(self, g: Tensor, dtype: torch.dtype | None = None) -> Tensor:
        """``P[..., g[i], i] = 1``: the matrix that moves entry ``i`` of a vector to ``g[i]``."""
        dtype = dtype or torch.get_default_dtype()
        eye = torch.eye(self.n, dtype=dtype, device=g.device)
        # column i of P is e_{g[i]}
        return eye[g].transpose(-1, -2)
