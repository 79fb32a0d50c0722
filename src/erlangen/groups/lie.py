"""Matrix Lie groups: SO(n), O(n) (with SO2, O2, SO3, O3) and the Euclidean groups E(n), SE(n).

Elements of SO(n) and O(n) are orthogonal ``(n, n)`` matrices. Elements of E(n) and SE(n) are
homogeneous ``(n + 1, n + 1)`` matrices ``[[R, t], [0, 1]]`` acting on points by
``x -> R x + t``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import LieGroup, rotation_2d
from .finite import PlanarGroup


def _rotation_generators(n: int, dtype: torch.dtype) -> Tensor:
    """Basis of so(n), shape ``(n (n - 1) / 2, n, n)``.

    For ``n = 3`` the order is ``(L_x, L_y, L_z)`` with ``exp(t L_x)`` the rotation by ``t``
    about the x axis (e3nn's ``so3_generators`` uses the same order). Otherwise the pairs
    ``(i, j)``, ``i < j``, in lexicographic order, each generating the rotation from axis ``i``
    towards axis ``j``.
    """
    if n == 3:
        pairs = [(1, 2), (2, 0), (0, 1)]
    else:
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    basis = torch.zeros(len(pairs), n, n, dtype=dtype)
    for k, (i, j) in enumerate(pairs):
        basis[k, j, i] = 1.0
        basis[k, i, j] = -1.0
    return basis


def _haar_orthogonal(n: int, m: int, generator, dtype) -> Tensor:
    """``m`` Haar-random O(n) matrices (QR of a Gaussian with the sign fix)."""
    a = torch.randn(m, n, n, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    return q.to(dtype)


def _quarter_turns(n: int, dtype: torch.dtype) -> Tensor:
    gens = _rotation_generators(n, torch.float64)
    turns = torch.linalg.matrix_exp(gens * (math.pi / 2))
    return turns.round().to(dtype)  # exact 0/+-1 entries


def _mirror(n: int, dtype: torch.dtype) -> Tensor:
    m = torch.eye(n, dtype=dtype)
    m[0, 0] = -1.0
    return m


class SpecialOrthogonal(LieGroup):
    """SO(n): rotations of R^n, elements ``(n, n)`` with ``R^T R = I``, ``det R = 1``."""

    reflections = False

    def __init__(self, n: int):
        if not isinstance(n, int) or n < 2:
            raise ValueError(f"{type(self).__name__}(n) needs an integer n >= 2, got {n!r}")
        self.n = n
        self.element_shape = (n, n)

    @property
    def name(self) -> str:
        return f"{'O' if self.reflections else 'SO'}({self.n})"

    def identity(self, dtype=None, device=None):
        return torch.eye(self.n, dtype=self._element_dtype(dtype), device=device)

    def compose(self, a, b):
        return a @ b

    def inverse(self, a):
        return a.transpose(-1, -2)

    def sample(self, n, generator=None, dtype=None, device=None):
        q = _haar_orthogonal(self.n, n, generator, self._element_dtype(dtype))
        if not self.reflections:
            # flip one axis of the improper ones: still Haar on SO(n)
            det = torch.linalg.det(q)
            q[..., :, 0] = q[..., :, 0] * torch.sign(det).unsqueeze(-1)
        return q.to(device) if device is not None else q

    def lie_algebra(self, dtype=None):
        return _rotation_generators(self.n, self._element_dtype(dtype))

    def generators(self, dtype=None, device=None):
        gens = _quarter_turns(self.n, self._element_dtype(dtype))
        if self.reflections:
            gens = torch.cat([gens, self.discrete_generators(dtype)])
        return gens.to(device) if device is not None else gens

    def discrete_generators(self, dtype=None, device=None):
        if not self.reflections:
            return super().discrete_generators(dtype, device)
        return _mirror(self.n, self._element_dtype(dtype)).unsqueeze(0).to(device)

    def is_element(self, g: Tensor, atol: float = 1e-6) -> Tensor:
        """Whether each matrix is orthogonal (and proper, for SO(n)), shape ``batch``."""
        eye = torch.eye(self.n, dtype=g.dtype, device=g.device)
        ok = ((g.transpose(-1, -2) @ g - eye).abs() <= atol).flatten(-2).all(-1)
        if not self.reflections:
            ok = ok & (torch.linalg.det(g) > 0)
        return ok


class Orthogonal(SpecialOrthogonal):
    """O(n): rotations and reflections of R^n, elements ``(n, n)`` with ``R^T R = I``."""

    reflections = True


class _Planar(PlanarGroup):
    def planar(self, g, dtype=None):
        g = g if dtype is None else g.to(dtype)
        # g = R(theta) F^m and F = diag(1, -1) leaves the first column alone
        angle = torch.atan2(g[..., 1, 0], g[..., 0, 0])
        return angle, torch.linalg.det(g) < 0


class SO2(_Planar, SpecialOrthogonal):
    """SO(2): planar rotations, elements ``(2, 2)``."""

    def __init__(self):
        super().__init__(2)

    def element(self, angle: float | Tensor, dtype=None) -> Tensor:
        """The rotation by ``angle`` radians (counter-clockwise)."""
        return rotation_2d(torch.as_tensor(angle, dtype=self._element_dtype(dtype)))


class O2(_Planar, Orthogonal):
    """O(2): planar rotations and reflections, elements ``(2, 2)``."""

    has_reflections = True

    def __init__(self):
        super().__init__(2)

    def element(self, angle: float | Tensor, reflect: bool = False, dtype=None) -> Tensor:
        """``R(angle) F^reflect`` with ``F = diag(1, -1)``."""
        g = rotation_2d(torch.as_tensor(angle, dtype=self._element_dtype(dtype)))
        if reflect:
            g = g * torch.tensor([1.0, -1.0], dtype=g.dtype)  # scales the second column
        return g


class SO3(SpecialOrthogonal):
    """SO(3): rotations of space, elements ``(3, 3)``; Lie algebra ``(L_x, L_y, L_z)``."""

    def __init__(self):
        super().__init__(3)


class O3(Orthogonal):
    """O(3): rotations and reflections of space, elements ``(3, 3)``."""

    def __init__(self):
        super().__init__(3)

    def generators(self, dtype=None, device=None):
        parity = -torch.eye(3, dtype=self._element_dtype(dtype)).unsqueeze(0)
        gens = torch.cat([super().generators(dtype), parity])
        return gens.to(device) if device is not None else gens


def point_group(n: int, reflections: bool) -> SpecialOrthogonal:
    """O(n) or SO(n), as the classes ``O2``, ``SO2``, ``O3``, ``SO3`` where they exist."""
    special = {(2, True): O2, (2, False): SO2, (3, True): O3, (3, False): SO3}
    if (n, reflections) in special:
        return special[(n, reflections)]()
    return Orthogonal(n) if reflections else SpecialOrthogonal(n)


class EuclideanGroup(LieGroup):
    """E(n) or SE(n): isometries of R^n, elements homogeneous ``(n + 1, n + 1)`` matrices.

    Parameters
    ----------
    n : int
        Dimension of the space.
    reflections : bool
        ``True`` for E(n) (rotations, reflections, translations), ``False`` for SE(n).
    translation_scale : float
        Standard deviation of the translations drawn by ``sample``.
    """

    def __init__(self, n: int, reflections: bool = True, translation_scale: float = 1.0):
        self.point_group = point_group(n, reflections)
        self.n = n
        self.reflections = reflections
        self.translation_scale = float(translation_scale)
        self.element_shape = (n + 1, n + 1)

    @property
    def name(self) -> str:
        return f"{'E' if self.reflections else 'SE'}({self.n})"

    def element(self, rotation: Tensor | None = None, translation: Tensor | None = None) -> Tensor:
        """Build ``[[R, t], [0, 1]]`` from ``R (..., n, n)`` and ``t (..., n)``."""
        if rotation is None and translation is None:
            return self.identity()
        ref = rotation if rotation is not None else translation
        batch = ref.shape[:-2] if rotation is not None else ref.shape[:-1]
        g = torch.zeros(*batch, self.n + 1, self.n + 1, dtype=ref.dtype, device=ref.device)
        g[..., : self.n, : self.n] = rotation if rotation is not None else torch.eye(self.n)
        if translation is not None:
            g[..., : self.n, self.n] = translation
        g[..., self.n, self.n] = 1.0
        return g

    def rotation_part(self, g: Tensor) -> Tensor:
        """``R`` of each element, ``(..., n, n)``."""
        return g[..., : self.n, : self.n]

    def translation_part(self, g: Tensor) -> Tensor:
        """``t`` of each element, ``(..., n)``."""
        return g[..., : self.n, self.n]

    def act_on_points(self, g: Tensor, x: Tensor) -> Tensor:
        """``R x + t`` for one element ``g`` and points ``x (..., n)``."""
        return x @ self.rotation_part(g).transpose(-1, -2) + self.translation_part(g)

    def identity(self, dtype=None, device=None):
        return torch.eye(self.n + 1, dtype=self._element_dtype(dtype), device=device)

    def compose(self, a, b):
        return a @ b

    def inverse(self, a):
        rt = self.rotation_part(a).transpose(-1, -2)
        t = self.translation_part(a)
        return self.element(rt, -(rt @ t.unsqueeze(-1)).squeeze(-1))

    def sample(self, n, generator=None, dtype=None, device=None):
        dtype = self._element_dtype(dtype)
        rot = self.point_group.sample(n, generator=generator, dtype=dtype)
        t = torch.randn(n, self.n, generator=generator, dtype=torch.float64).to(dtype)
        g = self.element(rot, t * self.translation_scale)
        return g.to(device) if device is not None else g

    def lie_algebra(self, dtype=None):
        dtype = self._element_dtype(dtype)
        rot = self.point_group.lie_algebra(dtype)
        k = rot.shape[0]
        basis = torch.zeros(k + self.n, self.n + 1, self.n + 1, dtype=dtype)
        basis[:k, : self.n, : self.n] = rot
        for i in range(self.n):
            basis[k + i, i, self.n] = 1.0
        return basis

    def lie_to_point_group(self, dtype=None) -> Tensor:
        """Coefficients ``(k, k_rot)`` of the projection of the Lie algebra onto so(n)."""
        k_rot = self.point_group.lie_algebra().shape[0]
        proj = torch.zeros(k_rot + self.n, k_rot, dtype=self._element_dtype(dtype))
        proj[:k_rot] = torch.eye(k_rot)
        return proj

    def generators(self, dtype=None, device=None):
        dtype = self._element_dtype(dtype)
        rot = self.point_group.generators(dtype)
        eye = torch.eye(self.n, dtype=dtype)
        gens = torch.cat([self.element(rot), self.element(eye.expand(self.n, -1, -1).clone(), eye)])
        return gens.to(device) if device is not None else gens

    def discrete_generators(self, dtype=None, device=None):
        dtype = self._element_dtype(dtype)
        mirror = self.point_group.discrete_generators(dtype)
        return self.element(mirror).to(device) if device is not None else self.element(mirror)


def E(n: int, translation_scale: float = 1.0) -> EuclideanGroup:
    """The Euclidean group E(n): rotations, reflections and translations of R^n."""
    return EuclideanGroup(n, reflections=True, translation_scale=translation_scale)


def SE(n: int, translation_scale: float = 1.0) -> EuclideanGroup:
    """The special Euclidean group SE(n): rotations and translations of R^n."""
    return EuclideanGroup(n, reflections=False, translation_scale=translation_scale)
