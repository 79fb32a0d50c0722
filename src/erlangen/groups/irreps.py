"""Irreps of O(3) as printable values, written like e3nn's: ``Irreps("16x0e + 8x1o + 4x2e")``.

An :class:`Irrep` is a degree ``l >= 0`` with a parity ``p`` (``+1`` even ``"e"``, ``-1`` odd
``"o"``): rotations act by the real Wigner D matrix of degree ``l`` (e3nn's basis), the
inversion ``-I`` by ``p``. :class:`Irreps` is a direct sum of irreps with multiplicities and an
erlangen :class:`~erlangen.groups.Representation` of ``O3()``, so it serves the equivariant-basis
solver and the field type :class:`~erlangen.fields.IrrepsField` alike.

The memory layout is e3nn's: the components of ``"16x0e + 8x1o"`` are 16 scalars followed by 8
vectors, each vector's 3 components contiguous (index ``16 + 3 * u + m`` for channel ``u``), so
a tensor made for e3nn works unchanged; :meth:`Irreps.to_e3nn` and ``Irreps(e3nn_irreps)``
convert the value both ways.

>>> irreps = Irreps("16x0e + 8x1o + 4x2e")
>>> irreps.dim, irreps.lmax, str(irreps)
(60, 2, '16x0e+8x1o+4x2e')
>>> irreps + "1o"
16x0e+8x1o+4x2e+1x1o
>>> [str(ir) for ir in Irrep("1o") * Irrep("1o")]
['0e', '1e', '2e']
>>> Irreps.spherical_harmonics(3)
1x0e+1x1o+1x2e+1x3o
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import Any, NamedTuple

import torch
from torch import Tensor

from .lie import O3
from .reps import Representation, WignerD

_IRREP = re.compile(r"^\s*(\d+)\s*([eo])\s*$")
_TERM = re.compile(r"^\s*(?:(\d+)\s*x\s*)?(\d+\s*[eo])\s*$")


class Irrep:
    """One irrep of O(3): degree ``l`` and parity ``p`` (``+1`` even, ``-1`` odd).

    Parameters
    ----------
    l : int, str, tuple or Irrep
        The degree, or a whole irrep: ``"1o"``, ``(1, -1)``, an :class:`Irrep` or anything with
        integer attributes ``l`` and ``p`` (an ``e3nn.o3.Irrep``).
    p : int, optional
        The parity when ``l`` is an integer.
    """

    __slots__ = ("l", "p")

    def __init__(self, l: Any, p: int | None = None):  # noqa: E741
        if p is None:
            l, p = _irrep_parts(l)  # noqa: E741
        if isinstance(l, bool) or not isinstance(l, int) or l < 0:
            raise ValueError(f"an irrep's degree l must be an integer >= 0, got {l!r}")
        if p not in (1, -1):
            raise ValueError(f"an irrep's parity must be +1 (e) or -1 (o), got {p!r}")
        object.__setattr__(self, "l", l)
        object.__setattr__(self, "p", p)

    def __setattr__(self, name, value):
        raise AttributeError("Irrep is immutable")

    def __reduce__(self):
        return (Irrep, (self.l, self.p))

    def __deepcopy__(self, memo) -> Irrep:
        return self

    @property
    def dim(self) -> int:
        """``2 l + 1``."""
        return 2 * self.l + 1

    @property
    def is_scalar(self) -> bool:
        """Degree 0 and even parity (invariant under all of O(3))."""
        return self.l == 0 and self.p == 1

    def rep(self) -> WignerD:
        """The representation of ``O3()`` (a :class:`~erlangen.groups.WignerD`)."""
        return WignerD(_O3, self.l, self.p)

    def __mul__(self, other: Any) -> Iterator[Irrep]:
        """The irreps in ``self (x) other``: degrees ``|l1 - l2| .. l1 + l2``, parity
        ``p1 p2``."""
        other = Irrep(other)
        p = self.p * other.p
        return (Irrep(l, p) for l in range(abs(self.l - other.l), self.l + other.l + 1))  # noqa: E741

    def __rmul__(self, mul: int) -> Irreps:
        if isinstance(mul, bool) or not isinstance(mul, int):
            return NotImplemented
        return Irreps([(mul, self)])

    def __iter__(self):
        yield self.l
        yield self.p

    def __eq__(self, other: object) -> bool:
        try:
            other = Irrep(other)
        except (ValueError, TypeError):
            return False
        return (self.l, self.p) == (other.l, other.p)

    def __lt__(self, other: Irrep) -> bool:
        return (self.l, -self.p) < (other.l, -other.p)

    def __hash__(self) -> int:
        return hash((self.l, self.p))

    def __str__(self) -> str:
        return f"{self.l}{'e' if self.p == 1 else 'o'}"

    __repr__ = __str__


def _irrep_parts(x: Any) -> tuple[int, int]:
    if isinstance(x, Irrep):
        return x.l, x.p
    if isinstance(x, str):
        m = _IRREP.match(x)
        if m is None:
            raise ValueError(f"an irrep is written like '1o' or '2e', got {x!r}")
        return int(m.group(1)), 1 if m.group(2) == "e" else -1
    if hasattr(x, "l") and hasattr(x, "p"):  # e3nn.o3.Irrep and look-alikes
        return int(x.l), int(x.p)
    if isinstance(x, tuple) and len(x) == 2:
        return x[0], x[1]
    raise TypeError(f"cannot read an irrep from {type(x).__name__} {x!r}")


class MulIr(NamedTuple):
    """``mul`` copies of ``ir``."""

    mul: int
    ir: Irrep

    @property
    def dim(self) -> int:
        return self.mul * self.ir.dim

    def __str__(self) -> str:
        return f"{self.mul}x{self.ir}"


_O3 = O3()


class Irreps(Representation):
    """A direct sum of O(3) irreps with multiplicities, in e3nn's notation and layout.

    Parameters
    ----------
    irreps : str, Irreps, sequence or e3nn.o3.Irreps
        ``"16x0e + 8x1o"`` (a term without ``Nx`` has multiplicity 1), an :class:`Irrep`, a
        sequence of ``(mul, irrep)`` pairs or irreps, or an ``e3nn.o3.Irreps``.

    Notes
    -----
    The components of each term ``mul x ir`` are stored channel by channel: ``(mul, 2l + 1)``
    flattened, terms one after the other (e3nn's layout). ``irreps(g)`` is the block-diagonal
    matrix of a batch of O(3) elements ``g (..., 3, 3)``.
    """

    def __init__(self, irreps: Any = ()):
        terms = _parse(irreps)
        self._terms: tuple[MulIr, ...] = terms
        super().__init__(_O3, sum(t.dim for t in terms), "+".join(str(t) for t in terms))

    def __reduce__(self):
        return (Irreps, (str(self),))

    def __deepcopy__(self, memo) -> Irreps:
        return self  # immutable

    # ----------------------------------------------------------------- e3nn interop
    def to_e3nn(self):
        """The same irreps as an ``e3nn.o3.Irreps`` (same order and layout)."""
        from e3nn import o3

        return o3.Irreps(str(self)) if self._terms else o3.Irreps("")

    @classmethod
    def from_e3nn(cls, irreps) -> Irreps:
        """From an ``e3nn.o3.Irreps`` (or its string)."""
        return cls(irreps)

    @classmethod
    def spherical_harmonics(cls, lmax: int, p: int = -1) -> Irreps:
        """``1x0e + 1x1o + ... + 1x(lmax)``: the irreps of spherical harmonics up to ``lmax``
        of a polar vector (``p = -1``; ``p = +1`` for an axial one: all even)."""
        if p not in (1, -1):
            raise ValueError(f"p must be +1 or -1, got {p!r}")
        if isinstance(lmax, bool) or not isinstance(lmax, int) or lmax < 0:
            raise ValueError(f"lmax must be an integer >= 0, got {lmax!r}")
        return cls([(1, (l, p**l)) for l in range(lmax + 1)])  # noqa: E741

    # ----------------------------------------------------------------- sequence behaviour
    def __iter__(self) -> Iterator[MulIr]:
        return iter(self._terms)

    def __len__(self) -> int:
        return len(self._terms)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Irreps(self._terms[i])
        return self._terms[i]

    def __contains__(self, ir: Any) -> bool:
        ir = Irrep(ir)
        return any(t.ir == ir for t in self._terms)

    def count(self, ir: Any) -> int:
        """Total multiplicity of ``ir``."""
        ir = Irrep(ir)
        return sum(t.mul for t in self._terms if t.ir == ir)

    @property
    def num_irreps(self) -> int:
        """Number of irreps counted with multiplicity."""
        return sum(t.mul for t in self._terms)

    @property
    def ls(self) -> list[int]:
        """The degree of every irrep, with multiplicity."""
        return [t.ir.l for t in self._terms for _ in range(t.mul)]

    @property
    def lmax(self) -> int:
        if not self._terms:
            raise ValueError("empty Irreps has no lmax")
        return max(t.ir.l for t in self._terms)

    @cached_property
    def _slices(self) -> tuple[slice, ...]:
        out, start = [], 0
        for t in self._terms:
            out.append(slice(start, start + t.dim))
            start += t.dim
        return tuple(out)

    def slices(self) -> list[slice]:
        """The slice of the last axis that holds each term."""
        return list(self._slices)

    def simplify(self) -> Irreps:
        """Merge neighbouring terms of the same irrep and drop zero multiplicities (the layout
        is unchanged)."""
        out: list[list] = []
        for mul, ir in self._terms:
            if mul == 0:
                continue
            if out and out[-1][1] == ir:
                out[-1][0] += mul
            else:
                out.append([mul, ir])
        return Irreps([(m, ir) for m, ir in out])

    def filter(self, lmax: int | None = None, keep: Iterable[Any] | None = None) -> Irreps:
        """The terms with ``l <= lmax`` and, when ``keep`` is given, irrep in ``keep``."""
        kept = None if keep is None else {Irrep(k) for k in keep}
        return Irreps(
            [
                t
                for t in self._terms
                if (lmax is None or t.ir.l <= lmax) and (kept is None or t.ir in kept)
            ]
        )

    # ----------------------------------------------------------------- algebra
    def __add__(self, other: Any) -> Irreps:
        if isinstance(other, Representation) and not isinstance(other, Irreps):
            return super().__add__(other)
        return Irreps(self._terms + Irreps(other)._terms)

    def __radd__(self, other: Any) -> Irreps:
        return Irreps(Irreps(other)._terms + self._terms)

    def __mul__(self, n: int) -> Irreps:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"Irreps can be repeated an integer >= 0 number of times, got {n!r}")
        return Irreps(self._terms * n)

    __rmul__ = __mul__

    def _key(self) -> tuple:
        return ("Irreps", tuple((t.mul, t.ir.l, t.ir.p) for t in self._terms))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = Irreps(other)
            except (ValueError, TypeError):
                return False
        return isinstance(other, Irreps) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.name

    __repr__ = __str__

    # ----------------------------------------------------------------- representation
    def components(self) -> list[Representation]:
        return [t.ir.rep() for t in self._terms for _ in range(t.mul)]

    def wigner_blocks(self, g: Tensor, dtype: torch.dtype) -> dict[Irrep, Tensor]:
        """``D_ir(g)`` for each distinct irrep, ``(..., 2l + 1, 2l + 1)``."""
        return {ir: ir.rep()(g, dtype) for ir in {t.ir for t in self._terms}}

    def _matrix(self, g, dtype):
        blocks = self.wigner_blocks(g, dtype)
        batch = g.shape[:-2]
        out = torch.zeros(*batch, self.dim, self.dim, dtype=dtype, device=g.device)
        for (mul, ir), sl in zip(self._terms, self._slices):
            d = ir.dim
            for u in range(mul):
                i = sl.start + u * d
                out[..., i : i + d, i : i + d] = blocks[ir]
        return out

    def _lie_algebra(self, dtype):
        k = _O3.lie_algebra().shape[0]
        out = torch.zeros(k, self.dim, self.dim, dtype=dtype)
        for (mul, ir), sl in zip(self._terms, self._slices):
            gen = ir.rep()._lie_algebra(dtype)
            for u in range(mul):
                i = sl.start + u * ir.dim
                out[:, i : i + ir.dim, i : i + ir.dim] = gen
        return out


def _parse(x: Any) -> tuple[MulIr, ...]:
    if isinstance(x, Irreps):
        return x._terms
    if isinstance(x, Irrep):
        return (MulIr(1, x),)
    if isinstance(x, str):
        if not x.strip():
            return ()
        return tuple(_parse_term(term, x) for term in x.split("+"))
    terms: list[MulIr] = []
    for item in x:  # sequences, e3nn.o3.Irreps (a tuple of (mul, ir) pairs)
        if isinstance(item, str):
            terms.extend(_parse(item))
        elif isinstance(item, Irrep) or hasattr(item, "p"):  # an irrep without multiplicity
            terms.append(MulIr(1, Irrep(item)))
        else:
            mul, ir = item
            if isinstance(mul, bool) or not isinstance(mul, int) or mul < 0:
                raise ValueError(f"multiplicities must be integers >= 0, got {mul!r} in {x!r}")
            terms.append(MulIr(mul, Irrep(ir)))
    return tuple(terms)


def _parse_term(term: str, whole: str) -> MulIr:
    m = _TERM.match(term)
    if m is None:
        raise ValueError(f"cannot parse {term.strip()!r} in {whole!r}: write terms like '16x0e'")
    mul = int(m.group(1)) if m.group(1) is not None else 1
    return MulIr(mul, Irrep(m.group(2).replace(" ", "")))


__all__ = ["Irrep", "Irreps", "MulIr"]
