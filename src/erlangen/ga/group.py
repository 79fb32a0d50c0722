"""Pin(3,0,1) as an erlangen group, the field types it acts on, and its representation on
multivectors.

- :class:`Pin301`: elements are versors ``(16,)``; ``compose`` is the geometric product,
  ``inverse`` the versor inverse, ``identity`` the scalar 1. ``u`` and ``-u`` are different
  elements that act identically (Pin(3,0,1) double covers E(3)).
- :class:`MultivectorField`: tensors ``(..., channels, 16)`` under the twisted sandwich
  (auxiliary scalars beside them are ``InvariantField(group, channels=...)``).
- :class:`MultivectorRep`: ``rho(u)``, the ``16 x 16`` matrix of the sandwich, so that the core
  :func:`~erlangen.groups.equivariant_basis` solver can count the equivariant linear maps (9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..fields import FieldType, sampling
from ..fields.base import FieldTypeError, shape_error
from ..groups import Group, Representation
from . import algebra as ga
from .embed import (
    embed_point,
    embed_reflection,
    embed_rotation,
    embed_translation,
    extract_point,
)


class Pin301(Group):
    """The Pin group of G(3,0,1): products of reflections in planes, a double cover of E(3).

    Elements are versors, tensors ``(..., 16)`` in the reference component order.

    Notes
    -----
    ``u`` and ``-u`` act identically on every multivector (and on space): use
    :meth:`same_action` to compare actions, ``allclose`` to compare elements.
    ``generators()`` returns fixed notable elements (two reflections, two translations, a
    quarter turn and a generic rotation). They do not generate the group (it is continuous and
    has no Lie algebra in erlangen's sense), so the basis solver adds random elements.
    """

    element_shape = (ga.DIM,)

    @property
    def name(self) -> str:
        return "Pin(3,0,1)"

    def identity(self, dtype=None, device=None):
        e = torch.zeros(ga.DIM, dtype=self._element_dtype(dtype), device=device)
        e[ga.SCALAR] = 1.0
        return e

    def compose(self, a, b):
        return ga.geometric_product(a, b)

    def inverse(self, a):
        return ga.versor_inverse(a)

    def sample(self, n, generator=None, dtype=None, device=None):
        return ga.random_versors(n, generator, self._element_dtype(dtype), device)

    def generators(self, dtype=None, device=None):
        dt = torch.float64
        half = math.sqrt(0.5)
        axis = torch.tensor([1.0, 2.0, -2.0], dtype=dt) / 3.0
        angle = 1.0  # not a rational multiple of pi
        quats = torch.tensor(
            [[half, 0.0, 0.0, half], [math.cos(angle / 2), *(math.sin(angle / 2) * axis)]],
            dtype=dt,
        )
        gens = torch.cat(
            [
                # the plane x = 0, and the plane through (0, 0, 1) with normal (0, 0.6, 0.8)
                embed_reflection(
                    torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]], dtype=dt),
                    torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=dt),
                ),
                embed_translation(torch.tensor([[1.0, 0.0, 0.0], [0.5, -2.0, 1.5]], dtype=dt)),
                embed_rotation(quats),
            ]
        )
        return gens.to(dtype=self._element_dtype(dtype), device=device)

    def discrete_generators(self, dtype=None, device=None):
        return self.generators(dtype, device)[:1]  # one reflection reaches the odd component

    def same_action(self, a: Tensor, b: Tensor, atol: float = 1e-9) -> Tensor:
        """Whether ``a`` and ``b`` act identically (``a = +-b``), shape ``batch``."""
        return self.allclose(a, b, atol) | self.allclose(a, -b, atol)

    def is_odd(self, u: Tensor) -> Tensor:
        """Whether each element reverses orientation (an odd number of reflections)."""
        return ga.is_odd(u)

    def is_element(self, u: Tensor, atol: float = 1e-8) -> Tensor:
        """Whether each ``(..., 16)`` tensor is a versor: pure parity, ``u reverse(u)`` a
        non-zero scalar, and vectors mapped to vectors. Shape ``batch``."""
        odd_mask = torch.tensor([g % 2 == 1 for g in ga.GRADES], device=u.device)
        odd = ga.is_odd(u)
        wrong_parity = torch.where(odd.unsqueeze(-1), ~odd_mask, odd_mask)
        pure = (u.abs() * wrong_parity).amax(-1) <= atol
        uu = ga.geometric_product(u, ga.reverse(u))
        scalar = uu[..., 0].abs() > atol
        rest = uu[..., 1:].abs().amax(-1) <= atol * uu[..., 0].abs().clamp_min(1.0)
        M = ga.sandwich_matrix(u)
        vec = torch.tensor([g == 1 for g in ga.GRADES], device=u.device)
        leak = (M[..., ~vec, :][..., :, vec].abs().amax((-1, -2))) <= atol * 10
        return pure & scalar & rest & leak

    def euclidean_matrix(self, u: Tensor) -> Tensor:
        """The isometry of R^3 that ``u`` induces, as homogeneous matrices ``(..., 4, 4)``
        ``[[R, t], [0, 1]]`` (elements of erlangen's ``E(3)``); ``det R = -1`` for odd ``u``."""
        pts = torch.cat([torch.zeros(1, 3), torch.eye(3)]).to(u)  # origin, e_x, e_y, e_z
        moved = extract_point(ga.sandwich(u.unsqueeze(-2), embed_point(pts)))  # (..., 4, 3)
        t = moved[..., 0, :]
        R = (moved[..., 1:, :] - t.unsqueeze(-2)).transpose(-1, -2)
        g = torch.zeros(*u.shape[:-1], 4, 4, dtype=u.dtype, device=u.device)
        g[..., :3, :3] = R
        g[..., :3, 3] = t
        g[..., 3, 3] = 1.0
        return g


def pin() -> Pin301:
    """The group Pin(3,0,1)."""
    return Pin301()


# --------------------------------------------------------------------- field types
@dataclass(frozen=True, repr=False)
class MultivectorField(FieldType):
    """Multivector channels ``(..., channels, 16)`` under Pin(3,0,1): each channel transforms
    by the twisted sandwich ``rho_u``.

    Parameters
    ----------
    group : Pin301
    channels : int or None
        Expected channel count (``None``: any).
    batch_shape : tuple of int
        Sampling setting: leading shape that ``sample`` draws (e.g. ``(batch, tokens)``).
    """

    channels: int | None = 4
    batch_shape: tuple[int, ...] = sampling((2,))

    def __post_init__(self):
        if not isinstance(self.group, Pin301):
            raise FieldTypeError(f"multivector fields transform under Pin(3,0,1), got {self.group}")
        object.__setattr__(self, "batch_shape", tuple(self.batch_shape))

    def _validate(self, x, what):
        c = "channels" if self.channels is None else str(self.channels)
        if x.dim() < 2 or x.shape[-1] != ga.DIM:
            raise shape_error(self, what, f"(..., {c}, 16)", x)
        if self.channels is not None and x.shape[-2] != self.channels:
            raise shape_error(self, what, f"(..., {c}, 16)", x)

    def _act(self, g, x):
        M = ga.sandwich_matrix(g.to(x))
        return x @ M.transpose(-1, -2)

    def sample(self, generator=None, dtype=torch.float64, device=None):
        c = 3 if self.channels is None else self.channels
        x = torch.randn(*self.batch_shape, c, ga.DIM, generator=generator, dtype=dtype)
        return x.to(device) if device is not None else x

    def __repr__(self):
        return f"MultivectorField({self.group.name}, channels={self.channels})"


# --------------------------------------------------------------------- representation
class MultivectorRep(Representation):
    """The 16-dimensional representation ``rho(u) = `` matrix of the twisted sandwich."""

    def __init__(self, group: Pin301):
        if not isinstance(group, Pin301):
            raise TypeError(f"MultivectorRep needs Pin(3,0,1), got {group.name}")
        super().__init__(group, ga.DIM, "multivector")

    def _matrix(self, g, dtype):
        return ga.sandwich_matrix(g.to(dtype))


def equi_linear_basis(device=None, dtype=torch.float32) -> Tensor:
    """The 9 Pin(3,0,1)-equivariant linear maps of one multivector, ``(9, 16, 16)``.

    Maps 0-4 are the grade projections ``<x>_k``; maps 5-8 are ``x -> e0 <x>_k`` for
    ``k = 0..3`` (left multiplication by e0, which every Pin element leaves invariant).
    ``y = basis[b] @ x``.
    """
    proj = torch.stack([torch.diag(ga.grade_mask(k, device, dtype)) for k in range(5)])
    e0 = torch.zeros(ga.DIM, device=device, dtype=dtype)
    e0[ga.E0] = 1.0
    left_e0 = torch.einsum("a,ajk->kj", e0, ga.table("gp", device, dtype))
    return torch.cat([proj, left_e0 @ proj[:4]])
