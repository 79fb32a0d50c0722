"""Embedding geometric objects into multivectors ``(..., 16)`` and extracting them again.

============== ============================================== ================================
object         components                                     transforms (under a versor u)
============== ============================================== ================================
scalar         1                                              invariant
pseudoscalar   e0123                                          sign flips for odd u
point (x,y,z)  e123 = 1, e023 = -x, e013 = y, e012 = -z       as the point (see caveat)
plane / mirror e1..e3 = unit normal n, e0 = -n . p             as the plane
translation t  1 - 0.5 e0 t: scalar 1, (e01, e02, e03) = -t/2  conjugated: u T u^-1
rotation q     scalar w, e12 = -k, e13 = j, e23 = -i          conjugated
line (p, d)    e23 = dx, e13 = -dy, e12 = dz, e0i = (p x d)_i  as the line
============== ============================================== ================================

Caveats
-------
- **Points are chiral.** An embedded point has e123 = +1, but an odd versor (a reflection) maps
  it to a trivector with e123 = -1: the same point with the opposite weight.
  :func:`extract_point` divides by e123 and recovers the reflected point, but a network fed
  ``embed_point(reflected x)`` sees ``-rho_u(embed_point(x))``. Models that embed points are
  therefore equivariant under SE(3) (even versors) and, in general, not under reflections.
- **Extracting a translation is not equivariant in general**: :func:`extract_translation` reads
  the e0i components of an arbitrary multivector as if it were a translator ``1 - 0.5 e0 t``.
  That holds for translators, and rotations conjugate it correctly, but for a general
  multivector a translation of the frame mixes other components in. Use it on outputs that
  are translators by construction (or rotations and vectors only).
- :func:`extract_rotation` likewise assumes a rotor (even, no e0 parts).
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import algebra as ga

_E01, _E02, _E03, _E12, _E13, _E23 = 5, 6, 7, 8, 9, 10
_E012, _E013, _E023 = 11, 12, 13


def _check_last(x: Tensor, n: int, what: str) -> None:
    if not isinstance(x, Tensor) or x.dim() == 0 or x.shape[-1] != n:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{what} must have shape (..., {n}), got {shape}")


def _zeros(x: Tensor) -> Tensor:
    return torch.zeros(*x.shape[:-1], ga.DIM, dtype=x.dtype, device=x.device)


# --------------------------------------------------------------------- scalars
def embed_scalar(s: Tensor) -> Tensor:
    """Scalars ``(..., 1)`` -> multivectors ``(..., 16)`` (component 0)."""
    _check_last(s, 1, "scalars")
    out = _zeros(s)
    out[..., ga.SCALAR] = s[..., 0]
    return out


def extract_scalar(x: Tensor) -> Tensor:
    """The scalar component ``(..., 1)`` of multivectors ``(..., 16)``."""
    _check_last(x, ga.DIM, "multivectors")
    return x[..., ga.SCALAR : ga.SCALAR + 1]


def embed_pseudoscalar(s: Tensor) -> Tensor:
    """Pseudoscalars ``(..., 1)`` -> multivectors ``(..., 16)`` (component 15, e0123)."""
    _check_last(s, 1, "pseudoscalars")
    out = _zeros(s)
    out[..., ga.PSEUDOSCALAR] = s[..., 0]
    return out


def extract_pseudoscalar(x: Tensor) -> Tensor:
    """The e0123 component ``(..., 1)``."""
    _check_last(x, ga.DIM, "multivectors")
    return x[..., ga.PSEUDOSCALAR :]


# --------------------------------------------------------------------- points
def embed_point(p: Tensor) -> Tensor:
    """Points ``(..., 3)`` -> trivectors ``(..., 16)``: e123 = 1, e023 = -x, e013 = y,
    e012 = -z. See the module caveat: the fixed e123 = +1 makes this chiral."""
    _check_last(p, 3, "points")
    out = _zeros(p)
    out[..., ga.E123] = 1.0
    out[..., _E023] = -p[..., 0]
    out[..., _E013] = p[..., 1]
    out[..., _E012] = -p[..., 2]
    return out


def point_coordinates(x: Tensor) -> tuple[Tensor, Tensor]:
    """The trivector part of ``x (..., 16)`` as ``(weight (...), weighted coords (..., 3))``:
    ``weight = e123`` and ``coords = (-e023, e013, -e012)``, so a point is ``coords / weight``.

    Under Euclidean motions ``coords - weight * p`` moves like a vector; the weight is invariant
    (odd versors flip its sign)."""
    _check_last(x, ga.DIM, "multivectors")
    coords = torch.stack([-x[..., _E023], x[..., _E013], -x[..., _E012]], -1)
    return x[..., ga.E123], coords


def extract_point(x: Tensor, threshold: float = 1e-3) -> Tensor:
    """Points ``(..., 3)`` from trivectors: the coordinates divided by e123.

    ``|e123| < threshold`` is replaced by ``+-threshold`` (sign kept, ``+`` at zero), so the
    result stays finite; a point at infinity (a direction) has no finite extraction.
    """
    weight, coords = point_coordinates(x)
    sign = torch.where(weight < 0, -1.0, 1.0).to(weight)
    safe = sign * weight.abs().clamp_min(threshold)
    return coords / safe.unsqueeze(-1)


# --------------------------------------------------------------------- planes and reflections
def embed_plane(normal: Tensor, position: Tensor | None = None) -> Tensor:
    """Oriented planes -> grade-1 multivectors ``(..., 16)``.

    Parameters
    ----------
    normal : Tensor
        ``(..., 3)``; used as given (normalise it for a reflection versor).
    position : Tensor, optional
        ``(..., 3)`` a point on the plane (default: the origin). The e0 component is
        ``-normal . position``, so the plane is ``{x : normal . x + e0 = 0}``.
    """
    _check_last(normal, 3, "normals")
    out = _zeros(normal)
    out[..., 2:5] = normal
    if position is not None:
        _check_last(position, 3, "positions")
        out[..., ga.E0] = -(normal * position).sum(-1)
    return out


def embed_reflection(normal: Tensor, position: Tensor | None = None) -> Tensor:
    """The reflection in a plane: the unit-normal plane itself, a versor ``(..., 16)``."""
    _check_last(normal, 3, "normals")
    unit = normal / normal.norm(dim=-1, keepdim=True)
    return embed_plane(unit, position)


def extract_oriented_plane(x: Tensor) -> Tensor:
    """The normal ``(..., 3)`` of the grade-1 part (e1, e2, e3); equivariant as a direction."""
    _check_last(x, ga.DIM, "multivectors")
    return x[..., 2:5]


def extract_plane(x: Tensor) -> tuple[Tensor, Tensor]:
    """``(normal (..., 3), offset (...))`` of the grade-1 part: the plane
    ``normal . x + offset = 0``."""
    _check_last(x, ga.DIM, "multivectors")
    return x[..., 2:5], x[..., ga.E0]


# --------------------------------------------------------------------- translations, rotations
def embed_translation(t: Tensor) -> Tensor:
    """Translations ``(..., 3)`` -> translators ``1 - 0.5 e0 t``: scalar 1,
    ``(e01, e02, e03) = -t / 2``. ``rho_T`` moves points by ``+t``."""
    _check_last(t, 3, "translations")
    out = _zeros(t)
    out[..., ga.SCALAR] = 1.0
    out[..., _E01 : _E03 + 1] = -0.5 * t
    return out


def extract_translation(x: Tensor, threshold: float = 1e-3) -> Tensor:
    """``t (..., 3) = -2 (e01, e02, e03) / scalar``; exact for translators only (see caveat)."""
    _check_last(x, ga.DIM, "multivectors")
    s = x[..., ga.SCALAR]
    sign = torch.where(s < 0, -1.0, 1.0).to(s)
    safe = sign * s.abs().clamp_min(threshold)
    return -2.0 * x[..., _E01 : _E03 + 1] / safe.unsqueeze(-1)


def embed_rotation(q: Tensor) -> Tensor:
    """Unit quaternions ``(..., 4)`` as ``(w, i, j, k)`` -> rotors: scalar w, e12 = -k,
    e13 = j, e23 = -i. ``rho_R`` rotates points as the quaternion's rotation matrix does."""
    _check_last(q, 4, "quaternions (w, i, j, k)")
    out = _zeros(q)
    out[..., ga.SCALAR] = q[..., 0]
    out[..., _E12] = -q[..., 3]
    out[..., _E13] = q[..., 2]
    out[..., _E23] = -q[..., 1]
    return out


def extract_rotation(x: Tensor) -> Tensor:
    """Quaternions ``(..., 4)`` ``(w, i, j, k) = (scalar, -e23, e13, -e12)`` (rotors only)."""
    _check_last(x, ga.DIM, "multivectors")
    return torch.stack([x[..., ga.SCALAR], -x[..., _E23], x[..., _E13], -x[..., _E12]], -1)


def quaternion_to_matrix(q: Tensor) -> Tensor:
    """Rotation matrices ``(..., 3, 3)`` of unit quaternions ``(..., 4)`` ``(w, i, j, k)``."""
    _check_last(q, 4, "quaternions (w, i, j, k)")
    w, x, y, z = q.unbind(-1)
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    return torch.stack([torch.stack(r, -1) for r in rows], -2)


# --------------------------------------------------------------------- lines
def embed_line(point: Tensor, direction: Tensor) -> Tensor:
    """Lines through ``point (..., 3)`` along ``direction (..., 3)`` -> bivectors
    ``(..., 16)`` in Pluecker coordinates: direction ``d`` in ``(e23, e13, e12) = (dx, -dy,
    dz)`` and moment ``m = point x d`` in ``(e01, e02, e03)``. Equals the join of the points
    ``point`` and ``point + direction``."""
    _check_last(point, 3, "points")
    _check_last(direction, 3, "directions")
    m = torch.linalg.cross(point, direction, dim=-1)
    out = _zeros(point)
    out[..., _E01 : _E03 + 1] = m
    out[..., _E23] = direction[..., 0]
    out[..., _E13] = -direction[..., 1]
    out[..., _E12] = direction[..., 2]
    return out


def extract_line(x: Tensor) -> tuple[Tensor, Tensor]:
    """``(direction (..., 3), moment (..., 3))`` of the bivector part (Pluecker coordinates)."""
    _check_last(x, ga.DIM, "multivectors")
    d = torch.stack([x[..., _E23], -x[..., _E13], x[..., _E12]], -1)
    return d, x[..., _E01 : _E03 + 1]
