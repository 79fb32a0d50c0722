"""Paths of a tensor product: which ``l1 x l2 -> l3`` couplings it computes, their weight
shapes and their normalisation.

A path ``(i1, i2, i_out)`` couples term ``i1`` of the first input with term ``i2`` of the
second into term ``i_out`` of the output. It is allowed when ``|l1 - l2| <= l3 <= l1 + l2``
(the triangle rule) and ``p3 = p1 p2`` (parity); anything else is refused with the reason.

Modes (how multiplicities combine, e3nn's names):

- ``"uvw"`` (fully connected): ``out_w += sum_uv W[u, v, w] (x1_u (x) x2_v)``, weights
  ``(mul1, mul2, mul_out)`` per path;
- ``"uvu"`` (channel-wise): ``out_u += sum_v W[u, v] (x1_u (x) x2_v)``, weights ``(mul1, mul2)``
  per path, ``mul_out = mul1``; with ``mul2 = 1`` (spherical harmonics of an edge) this is the
  convolution of NequIP and MACE.

Normalisation (unit-variance outputs for unit-variance inputs and weights): each path uses
:func:`~erlangen.o3.clebsch_gordan` (orthonormal output columns) and is scaled by
``1 / sqrt(fan_in)``, where ``fan_in`` counts the terms summed into one output component over
all paths into that output (``mul1 mul2`` per path for ``uvw``, ``mul2`` for ``uvu``): e3nn's
``irrep_normalization="component"``, ``path_normalization="element"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..groups.irreps import Irreps

MODES = ("uvu", "uvw")


@dataclass(frozen=True)
class Path:
    """One coupling ``irreps_in1[i1] x irreps_in2[i2] -> irreps_out[i_out]``."""

    i1: int
    i2: int
    i_out: int
    l1: int
    l2: int
    l3: int
    #: shape of this path's weights (e3nn's layout)
    weight_shape: tuple[int, ...]
    #: the factor 1 / sqrt(fan_in) of this path
    norm: float

    @property
    def weight_numel(self) -> int:
        return math.prod(self.weight_shape)


def path_error(irreps1: Irreps, irreps2: Irreps, irreps_out: Irreps, i1, i2, i_out) -> str | None:
    """Why ``(i1, i2, i_out)`` is not a valid path, or None when it is."""
    for name, irreps, i in (("in1", irreps1, i1), ("in2", irreps2, i2), ("out", irreps_out, i_out)):
        if not isinstance(i, int) or not 0 <= i < len(irreps):
            return f"index {i!r} is out of range for irreps_{name} = {irreps} ({len(irreps)} terms)"
    a, b, c = irreps1[i1].ir, irreps2[i2].ir, irreps_out[i_out].ir
    if not abs(a.l - b.l) <= c.l <= a.l + b.l:
        return f"{a} x {b} -> {c} breaks the triangle rule |l1 - l2| <= l3 <= l1 + l2"
    if a.p * b.p != c.p:
        parity = "e" if a.p * b.p == 1 else "o"
        return f"{a} x {b} -> {c} violates parity: {a} x {b} has parity {parity}"
    return None


def allowed_paths(
    irreps1: Irreps, irreps2: Irreps, irreps_out: Irreps, mode: str
) -> list[tuple[int, int, int]]:
    """Every valid path, ordered by output term, then first and second input term (``uvu``
    paths need ``mul_out == mul1``)."""
    out = []
    for i_out, (mul_out, _) in enumerate(irreps_out):
        for i1, (mul1, _) in enumerate(irreps1):
            if mode == "uvu" and mul_out != mul1:
                continue
            for i2 in range(len(irreps2)):
                if path_error(irreps1, irreps2, irreps_out, i1, i2, i_out) is None:
                    out.append((i1, i2, i_out))
    return out


def build_paths(
    irreps1: Irreps,
    irreps2: Irreps,
    irreps_out: Irreps,
    mode: str,
    instructions: Sequence[tuple[int, int, int]] | None = None,
) -> list[Path]:
    """Validated paths with weight shapes and normalisation.

    Parameters
    ----------
    irreps1, irreps2, irreps_out : Irreps
    mode : {"uvu", "uvw"}
    instructions : sequence of (i1, i2, i_out), optional
        The paths to compute, in the order of their weights; all valid ones when omitted.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if instructions is None:
        instructions = allowed_paths(irreps1, irreps2, irreps_out, mode)
    triples = []
    for ins in instructions:
        if len(ins) != 3:
            raise ValueError(f"an instruction is (i1, i2, i_out), got {ins!r}")
        i1, i2, i_out = ins
        reason = path_error(irreps1, irreps2, irreps_out, i1, i2, i_out)
        if reason is not None:
            raise ValueError(f"invalid path {tuple(ins)}: {reason}")
        mul1, mul2, mul_out = irreps1[i1].mul, irreps2[i2].mul, irreps_out[i_out].mul
        if mode == "uvu" and mul_out != mul1:
            raise ValueError(
                f"path {tuple(ins)}: mode 'uvu' keeps the channels of the first input, so the "
                f"output term needs multiplicity {mul1}, got {irreps_out[i_out]}"
            )
        triples.append((i1, i2, i_out))
    if len(set(triples)) != len(triples):
        raise ValueError(f"instructions repeat a path: {triples}")

    def elements(i1: int, i2: int) -> int:
        mul1, mul2 = irreps1[i1].mul, irreps2[i2].mul
        return mul1 * mul2 if mode == "uvw" else mul2

    fan_in = {}
    for i1, i2, i_out in triples:
        fan_in[i_out] = fan_in.get(i_out, 0) + elements(i1, i2)
    paths = []
    for i1, i2, i_out in triples:
        mul1, mul2, mul_out = irreps1[i1].mul, irreps2[i2].mul, irreps_out[i_out].mul
        shape = (mul1, mul2, mul_out) if mode == "uvw" else (mul1, mul2)
        norm = 1.0 / math.sqrt(fan_in[i_out]) if fan_in[i_out] > 0 else 0.0
        paths.append(
            Path(
                i1,
                i2,
                i_out,
                irreps1[i1].ir.l,
                irreps2[i2].ir.l,
                irreps_out[i_out].ir.l,
                shape,
                norm,
            )
        )
    return paths


__all__ = ["MODES", "Path", "allowed_paths", "build_paths", "path_error"]
