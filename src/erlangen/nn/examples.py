"""Typed examples of the core layers, registered for ``erlangen tour`` and the tests."""

from __future__ import annotations

from ..groups import (
    O3,
    SO3,
    Cyclic,
    Dihedral,
    Symmetric,
    irrep,
    permutation,
    regular,
    standard,
    trivial,
)
from ..registry import register_example
from .linear import EquivariantLinear


@register_example("linear-c8-regular", "core", "EquivariantLinear on 4 regular fields of C8")
def _linear_c8():
    G = Cyclic(8)
    return EquivariantLinear(4 * regular(G) + trivial(G), 3 * regular(G) + 2 * trivial(G))


@register_example("linear-d4-irreps", "core", "EquivariantLinear between irreps of D4")
def _linear_d4():
    G = Dihedral(4)
    return EquivariantLinear(regular(G) + irrep(G, 1, 1), 2 * irrep(G, 1, 1) + irrep(G, 0, 2))


@register_example("deepsets-s6", "core", "EquivariantLinear on sets of 6 (DeepSets)")
def _deepsets():
    G = Symmetric(6)
    return EquivariantLinear(permutation(G), permutation(G))


@register_example("linear-so3-vectors", "core", "EquivariantLinear on SO(3) vectors (x) vectors")
def _so3():
    G = SO3()
    v = standard(G)
    return EquivariantLinear(v.tensor(v) + v, 2 * v + trivial(G))


@register_example("linear-o3-irreps", "core", "EquivariantLinear between O(3) irreps")
def _o3():
    G = O3()
    return EquivariantLinear(
        2 * irrep(G, 0, 1) + irrep(G, 1, -1) + irrep(G, 2, 1),
        irrep(G, 0, 1) + 2 * irrep(G, 1, -1) + irrep(G, 2, 1),
    )
