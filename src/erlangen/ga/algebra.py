"""Projective geometric algebra G(3,0,1): basis, product tables and the Pin(3,0,1) action.

A multivector is a tensor ``(..., 16)`` in the reference component order::

    index  0  1   2   3   4   5    6    7    8    9    10   11    12    13    14    15
    blade  1  e0  e1  e2  e3  e01  e02  e03  e12  e13  e23  e012  e013  e023  e123  e0123

(the ``clifford`` package's layout for ``Cl(3, 0, 1, firstIdx=0)``). Nothing here is a shipped
table: the basis blades are index sets, and the product of two blades is derived at import from
the definition of the algebra, ``e_i e_j = -e_j e_i`` for ``i != j``, ``e0^2 = 0`` and
``e1^2 = e2^2 = e3^2 = 1``. The resulting ``16 x 16 x 16`` tables are cached per device and
dtype and applied with :func:`torch.einsum`.

Group action
------------
A versor ``u`` (a product of grade-1 vectors, i.e. of reflections) acts by the *twisted
sandwich* ``rho_u(x) = u x u^-1`` when ``u`` is even and ``u grade_involute(x) u^-1`` when it is
odd. Reflections in planes (grade-1 ``u``), rotations and translations (even ``u``) and all their
products form Pin(3,0,1), which double covers E(3): ``u`` and ``-u`` act identically.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

# --------------------------------------------------------------------- the basis
#: basis blades as sorted index sets, in the reference component order
BLADES: tuple[tuple[int, ...], ...] = (
    (),
    (0,),
    (1,),
    (2,),
    (3,),
    (0, 1),
    (0, 2),
    (0, 3),
    (1, 2),
    (1, 3),
    (2, 3),
    (0, 1, 2),
    (0, 1, 3),
    (0, 2, 3),
    (1, 2, 3),
    (0, 1, 2, 3),
)
#: ``e_i^2`` for the basis vectors e0, e1, e2, e3
METRIC: tuple[int, ...] = (0, 1, 1, 1)
#: human names of the 16 components
BLADE_NAMES: tuple[str, ...] = tuple("1" if not b else "e" + "".join(map(str, b)) for b in BLADES)
#: grade of each component
GRADES: tuple[int, ...] = tuple(len(b) for b in BLADES)
#: number of components
DIM = 16
_INDEX = {b: i for i, b in enumerate(BLADES)}

#: the components without e0: the only ones the inner product sees
INNER_PRODUCT_INDICES: tuple[int, ...] = tuple(i for i, b in enumerate(BLADES) if 0 not in b)
#: named indices used throughout
SCALAR, E0, E123, PSEUDOSCALAR = 0, 1, 14, 15


def blade_index(name: str) -> int:
    """Component index of a blade given by name, e.g. ``blade_index("e013") == 12``."""
    if name in ("1", "", "scalar"):
        return 0
    if not name.startswith("e") or not name[1:].isdigit():
        raise ValueError(f"blade names look like '1', 'e0', 'e12', 'e0123'; got {name!r}")
    idx = tuple(int(c) for c in name[1:])
    key = tuple(sorted(idx))
    if len(set(idx)) != len(idx) or key not in _INDEX:
        raise ValueError(f"{name!r} is not a basis blade of G(3,0,1): {BLADE_NAMES}")
    if key != idx:
        raise ValueError(f"write blades with sorted indices ({'e' + ''.join(map(str, key))})")
    return _INDEX[key]


def _reorder_sign(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Sign of sorting the concatenation ``a + b`` of two sorted index sets (inversions)."""
    swaps = sum(1 for i in a for j in b if j < i)
    return -1 if swaps % 2 else 1


def blade_product(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """Geometric product of two basis blades: ``e_a e_b = sign * e_c``.

    Sorting ``a + b`` into canonical order costs one sign flip per transposition; every index in
    both sets then meets its twin and contracts to ``e_i^2`` from :data:`METRIC`.
    """
    sign = _reorder_sign(a, b)
    for i in set(a) & set(b):
        sign *= METRIC[i]
    return sign, tuple(sorted(set(a) ^ set(b)))


def _derive_tables() -> dict[str, list]:
    gp = [[[0] * DIM for _ in range(DIM)] for _ in range(DIM)]
    op = [[[0] * DIM for _ in range(DIM)] for _ in range(DIM)]
    for i, a in enumerate(BLADES):
        for j, b in enumerate(BLADES):
            sign, c = blade_product(a, b)
            gp[i][j][_INDEX[c]] = sign
            if not set(a) & set(b):
                op[i][j][_INDEX[c]] = _reorder_sign(a, b)
    # complements, written per *target* component k: out[k] = sign[k] * x[perm[k]]
    full = tuple(range(4))
    dual_perm, dual_sign, undual_sign = [], [], []
    for target in BLADES:
        source = tuple(i for i in full if i not in target)
        dual_perm.append(_INDEX[source])
        dual_sign.append(_reorder_sign(source, target))  # e_src ^ (s e_target) = e0123
        undual_sign.append(_reorder_sign(target, source))  # (s e_target) ^ e_src = e0123
    return {
        "gp": gp,
        "op": op,
        "reverse": [(-1) ** (g * (g - 1) // 2) for g in GRADES],
        "involute": [(-1) ** g for g in GRADES],
        "dual_perm": dual_perm,
        "dual_sign": dual_sign,
        "undual_sign": undual_sign,
        "inner_index": list(INNER_PRODUCT_INDICES),
    }


_TABLES = _derive_tables()
_CACHE: dict[tuple[str, torch.device, torch.dtype], Tensor] = {}


def table(name: str, device: torch.device | str | None = None, dtype=torch.float32) -> Tensor:
    """One derived table as a tensor, cached per ``(name, device, dtype)``.

    Names: ``"gp"`` and ``"op"`` (``(16, 16, 16)``, ``x_i y_j T[i, j, k]`` is component ``k`` of
    the product), ``"reverse"``, ``"involute"`` (``(16,)`` signs), ``"dual_perm"`` (``(16,)``
    long) and ``"dual_sign"``, ``"undual_sign"`` (``(16,)``): component ``k`` of the (un)dual is
    ``sign[k] * x[perm[k]]``.
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    if name in ("dual_perm", "inner_index"):
        dtype = torch.long
    key = (name, device, dtype)
    cached = _CACHE.get(key)
    if cached is None:
        if name not in _TABLES:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(_TABLES)}")
        cached = torch.tensor(_TABLES[name], dtype=dtype, device=device)
        _CACHE[key] = cached
    return cached


def _like(name: str, x: Tensor) -> Tensor:
    return table(name, x.device, x.dtype)


def _check(x: Tensor, what: str = "multivector") -> None:
    if not isinstance(x, Tensor) or x.dim() == 0 or x.shape[-1] != DIM:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{what} must have shape (..., 16) (G(3,0,1) components), got {shape}")


# --------------------------------------------------------------------- products
def geometric_product(x: Tensor, y: Tensor) -> Tensor:
    """The geometric product ``x y`` of multivectors ``(..., 16)`` (broadcasting)."""
    _check(x)
    _check(y)
    return torch.einsum("...i,ijk,...j->...k", x, _like("gp", x), y)


def outer_product(x: Tensor, y: Tensor) -> Tensor:
    """The outer (wedge) product ``x ^ y`` of multivectors ``(..., 16)`` (broadcasting)."""
    _check(x)
    _check(y)
    return torch.einsum("...i,ijk,...j->...k", x, _like("op", x), y)


# --------------------------------------------------------------------- unary operations
def reverse(x: Tensor) -> Tensor:
    """Reverse the order of the vectors in each blade: flips grades 2 and 3. ``(..., 16)``."""
    _check(x)
    return x * _like("reverse", x)


def grade_involute(x: Tensor) -> Tensor:
    """Grade involution ``x -> sum_k (-1)^k <x>_k``: flips grades 1 and 3. ``(..., 16)``."""
    _check(x)
    return x * _like("involute", x)


def grade_mask(grade: int, device=None, dtype=torch.float32) -> Tensor:
    """``(16,)`` indicator of the components of one grade (0..4)."""
    if grade not in range(5):
        raise ValueError(f"G(3,0,1) has grades 0..4, got {grade}")
    return torch.tensor([float(g == grade) for g in GRADES], device=device, dtype=dtype)


def grade_project(x: Tensor, grade: int) -> Tensor:
    """``<x>_grade``: keep the components of one grade, zero the others. ``(..., 16)``."""
    _check(x)
    return x * grade_mask(grade, x.device, x.dtype)


def dual(x: Tensor) -> Tensor:
    """The (right-complement) dual: ``e_A -> s e_{A^c}`` with ``e_A ^ (s e_{A^c}) = e0123``.

    On the reference order this is the reversal of the 16 components with a sign per component.
    It is linear and invertible (:func:`undual`) and needs no metric, so it is well defined in
    the degenerate algebra (the ``clifford`` package uses the same complement for degenerate
    signatures). It commutes with rotations and with reflections in planes through the origin
    up to sign (odd versors flip it), but not with translations: it swaps the plane at infinity
    e0 and the origin e123. The join built from it is equivariant up to that sign under all of
    Pin(3,0,1).
    """
    _check(x)
    return x[..., _like("dual_perm", x)] * _like("dual_sign", x)


def undual(x: Tensor) -> Tensor:
    """The inverse of :func:`dual` (the left complement). ``(..., 16)``."""
    _check(x)
    return x[..., _like("dual_perm", x)] * _like("undual_sign", x)


def join(x: Tensor, y: Tensor, reference: Tensor | None = None) -> Tensor:
    """The regressive product (join) ``x v y = undual(dual(x) ^ dual(y))``.

    Parameters
    ----------
    x, y : Tensor
        Multivectors ``(..., 16)`` (broadcasting).
    reference : Tensor, optional
        A multivector ``(..., 16)`` whose e123 component multiplies the result. The plain join
        changes sign under odd versors (reflections); the e123 component of any multivector
        does too, so ``join(x, y) * reference[..., e123]`` is Pin-equivariant. The reference
        must transform with the inputs (e.g. their mean); a constant reference is not
        equivariant under reflections.

    Returns
    -------
    Tensor
        ``(..., 16)``; equals ``clifford``'s ``x.vee(y)`` without a reference.
    """
    out = undual(outer_product(dual(x), dual(y)))
    if reference is not None:
        _check(reference, "reference")
        out = out * reference[..., E123 : E123 + 1]
    return out


def inner_product(x: Tensor, y: Tensor) -> Tensor:
    """``<x, y> = scalar part of reverse(x) y``: the dot product of the 8 components without
    e0 (indices 0, 2, 3, 4, 8, 9, 10, 14). ``(..., 16), (..., 16) -> (...)``; invariant under
    Pin(3,0,1) and blind to the e0 components."""
    _check(x)
    _check(y)
    idx = table("inner_index", x.device)
    return (x.index_select(-1, idx) * y.index_select(-1, idx)).sum(-1)


def squared_norm(x: Tensor) -> Tensor:
    """``<x, x>``, shape ``(...)``."""
    return inner_product(x, x)


def norm(x: Tensor) -> Tensor:
    """``sqrt(<x, x>)``, shape ``(...)`` (zero for purely ideal multivectors such as e0)."""
    return squared_norm(x).clamp_min(0).sqrt()


# --------------------------------------------------------------------- versors and the action
def versor_inverse(u: Tensor) -> Tensor:
    """``u^-1 = reverse(u) / (u reverse(u))`` for versors ``(..., 16)``.

    For a versor, ``u reverse(u)`` is the scalar ``<u, u>`` (products of ``|v|^2`` over its
    reflections); only then is this the inverse.
    """
    return reverse(u) / squared_norm(u).unsqueeze(-1)


def is_odd(u: Tensor) -> Tensor:
    """Whether each versor is odd (a product of an odd number of reflections), shape ``(...)``.

    A versor is purely even or purely odd; this compares the sizes of its odd and even parts.
    """
    _check(u, "versor")
    odd = (1 - _like("involute", u)) / 2
    return (u * u * odd).sum(-1) > (u * u * (1 - odd)).sum(-1)


def sandwich(u: Tensor, x: Tensor) -> Tensor:
    """The twisted sandwich ``rho_u(x)``: ``u x u^-1`` (even ``u``), ``u gi(x) u^-1`` (odd).

    Parameters
    ----------
    u : Tensor
        Versors ``(..., 16)``.
    x : Tensor
        Multivectors ``(..., 16)``, broadcasting against ``u`` (e.g. ``u[..., None, :]`` with
        channels ``(..., c, 16)``).
    """
    _check(x)
    xi = torch.where(is_odd(u).unsqueeze(-1), grade_involute(x), x)
    return geometric_product(geometric_product(u, xi), versor_inverse(u))


def sandwich_matrix(u: Tensor) -> Tensor:
    """The matrices ``(..., 16, 16)`` of ``x -> rho_u(x)``: ``rho_u(x) = M @ x``.

    Cheaper than :func:`sandwich` when one versor acts on many multivectors.
    """
    _check(u, "versor")
    gp = _like("gp", u)
    left = torch.einsum("...a,ajm->...mj", u, gp)  # x -> u x
    right = torch.einsum("...b,mbk->...km", versor_inverse(u), gp)  # y -> y u^-1
    sign = torch.where(is_odd(u).unsqueeze(-1), _like("involute", u), torch.ones_like(u))
    return right @ (left * sign.unsqueeze(-2))


def reflection_vectors(
    shape: tuple[int, ...], generator: torch.Generator | None = None, dtype=torch.float64
) -> Tensor:
    """Random planes: grade-1 multivectors ``(*shape, 16)`` with N(0, 1) components on
    e0..e3, normalised so that the Euclidean part (e1, e2, e3) has unit length."""
    v = torch.randn(*shape, 4, generator=generator, dtype=torch.float64)
    v = v / v[..., 1:].norm(dim=-1, keepdim=True)
    out = torch.zeros(*shape, DIM, dtype=torch.float64)
    out[..., 1:5] = v
    return out.to(dtype)


def random_versors(
    n: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    max_reflections: int = 4,
) -> Tensor:
    """``n`` random Pin(3,0,1) elements ``(n, 16)``: products of 0..max_reflections random
    reflections (:func:`reflection_vectors`), the number drawn uniformly.

    Every element of Pin(3,0,1) is a product of at most 4 reflections (Cartan-Dieudonne), so
    all components of the group are reached. Computed in float64, then cast.
    """
    counts = torch.randint(0, max_reflections + 1, (n,), generator=generator)
    vectors = reflection_vectors((max_reflections, n), generator)
    one = torch.zeros(DIM, dtype=torch.float64)
    one[SCALAR] = 1.0
    u = one.expand(n, DIM).clone()
    for k in range(max_reflections):
        v = torch.where((counts > k).unsqueeze(-1), vectors[k], one)
        u = geometric_product(u, v)
    u = u.to(dtype)
    return u.to(device) if device is not None else u


def _cayley_check() -> None:
    """Import-time sanity: the derived product is associative on basis blades."""
    for a, b, c in itertools.product(range(DIM), repeat=3):
        s1, ab = blade_product(BLADES[a], BLADES[b])
        s2, abc1 = blade_product(ab, BLADES[c])
        s3, bc = blade_product(BLADES[b], BLADES[c])
        s4, abc2 = blade_product(BLADES[a], bc)
        if s1 * s2 != s3 * s4 or (s1 * s2 != 0 and abc1 != abc2):
            raise AssertionError(f"G(3,0,1) table not associative at {a}, {b}, {c}")


_cayley_check()
