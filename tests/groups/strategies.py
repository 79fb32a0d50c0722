"""Hypothesis strategies shared by the group tests."""

import torch
from hypothesis import strategies as st

from erlangen.groups import (
    O2,
    O3,
    SE,
    SO2,
    SO3,
    Cyclic,
    Dihedral,
    E,
    Orthogonal,
    SpecialOrthogonal,
    Symmetric,
)

FINITE = [
    Cyclic(1),
    Cyclic(2),
    Cyclic(4),
    Cyclic(5),
    Cyclic(8),
    Dihedral(1),
    Dihedral(3),
    Dihedral(4),
    Dihedral(6),
    Symmetric(3),
    Symmetric(5),
]
LIE = [SO2(), O2(), SO3(), O3(), SpecialOrthogonal(4), Orthogonal(4), E(2), SE(2), E(3), SE(3)]
#: direct products: graphs as point clouds (S_N x E(3)), two finite factors, nested products
PRODUCTS = [Symmetric(4) * E(3), Cyclic(4) * Dihedral(3), Symmetric(3) * SO3() * Cyclic(2)]
ALL_GROUPS = FINITE + LIE + PRODUCTS

seeds = st.integers(min_value=0, max_value=2**31 - 1)


def elements(group, seed, n=3):
    """``n`` random elements of ``group`` (float64 for Lie groups)."""
    return group.sample(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
