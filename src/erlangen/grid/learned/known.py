"""Known actions to compare a learned ``A`` with, and the nearest of them.

The reference actions on ``k x k`` filters are rotations by every angle on a grid
(interpolated, so "closest to a rotation by 87 degrees" is a possible answer), the four
mirrors, circular shifts by one pixel, and pooling-like averaging (pool-and-upsample, a 3x3
box blur). :func:`nearest_actions` finds the closest of each family by relative Frobenius
distance ``||A - M||_F / ||M||_F``; :func:`rotation_distance` measures the distance to the
turn by ``+-360 / n`` degrees, the generator a layer of order ``n`` claims.

:mod:`erlangen.grid.inspect` builds its reports on these, and
:mod:`erlangen.grid.learned.trace` records them during training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor

from .actions import blur_action, flip_action, pooling_action, rotation_action, shift_action

_FLIP_LABELS = {
    "ud": "a flip up-down",
    "lr": "a flip left-right",
    "transpose": "the mirror in the main diagonal",
    "antitranspose": "the mirror in the anti-diagonal",
}
_SHIFTS = {
    "up": (-1, 0),
    "down": (1, 0),
    "left": (0, -1),
    "right": (0, 1),
}


@dataclass(frozen=True)
class KnownAction:
    """A reference action on ``k x k`` filters.

    Attributes
    ----------
    family : str
        ``"rotation"``, ``"flip"``, ``"shift"`` or ``"pooling"``.
    label : str
        A phrase that follows "closest to", e.g. ``"a rotation by 87 degrees"``.
    matrix : Tensor
        ``(k^2, k^2)`` float64.
    angle : float or None
        Degrees, for rotations.
    """

    family: str
    label: str
    matrix: Tensor
    angle: float | None = None


@lru_cache(maxsize=16)
def _rotations(kernel_size: int, angle_step: float) -> tuple[Tensor, Tensor]:
    angles = torch.arange(0.0, 360.0, angle_step, dtype=torch.float64)
    mats = torch.stack([rotation_action(kernel_size, float(a)) for a in angles])
    return angles, mats


@lru_cache(maxsize=16)
def known_actions(kernel_size: int, angle_step: float = 1.0) -> tuple[KnownAction, ...]:
    """The reference actions on ``k x k`` filters that :func:`nearest_actions` compares with
    (cached per ``k`` and ``angle_step``).

    Parameters
    ----------
    kernel_size : int
    angle_step : float
        Spacing in degrees of the rotation angles ``0, step, ..., 360 - step`` (interpolated
        by :func:`~erlangen.grid.learned.rotation_action`; multiples of 90 are exact
        permutations; angle 0 is the identity).

    Returns
    -------
    tuple of KnownAction
    """
    if not 0 < angle_step <= 90:
        raise ValueError(f"angle_step must be in (0, 90] degrees, got {angle_step}")
    k = kernel_size
    angles, mats = _rotations(k, float(angle_step))
    out = [
        KnownAction("rotation", f"a rotation by {float(a):g} degrees", m, float(a))
        for a, m in zip(angles, mats)
    ]
    out += [KnownAction("flip", text, flip_action(k, kind)) for kind, text in _FLIP_LABELS.items()]
    if k > 1:
        out += [
            KnownAction("shift", f"a circular shift by one pixel {name}", shift_action(k, dy, dx))
            for name, (dy, dx) in _SHIFTS.items()
        ]
        m = math.ceil(k / 2)
        out += [
            KnownAction("pooling", f"average pooling to {m}x{m} and back", pooling_action(k)),
            KnownAction("pooling", "a 3x3 box blur", blur_action(k)),
        ]
    return tuple(out)


@lru_cache(maxsize=16)
def _stack(kernel_size: int, angle_step: float) -> tuple[Tensor, Tensor]:
    """The known matrices ``(M, d, d)`` and their Frobenius norms ``(M,)``."""
    mats = torch.stack([a.matrix for a in known_actions(kernel_size, angle_step)])
    return mats, torch.linalg.matrix_norm(mats)


def as_action_matrix(A: Tensor) -> Tensor:
    """One action as a ``(k^2, k^2)`` float64 CPU tensor (a leading axis of 1 is dropped);
    ``ValueError`` for anything else."""
    A = torch.as_tensor(A).detach().to(torch.float64).cpu()
    if A.dim() == 3 and A.shape[0] == 1:
        A = A[0]
    if A.dim() != 2 or A.shape[0] != A.shape[1] or math.isqrt(A.shape[0]) ** 2 != A.shape[0]:
        raise ValueError(
            f"expected one action of shape (k^2, k^2) (k x k filters), got {tuple(A.shape)}"
        )
    return A


def known_distances(A: Tensor, angle_step: float = 1.0) -> Tensor:
    """Relative distances ``||A_l - M||_F / ||M||_F`` of a stack of actions to every known
    action, in the order of :func:`known_actions`.

    Parameters
    ----------
    A : Tensor
        ``(L, k^2, k^2)`` (or one ``(k^2, k^2)`` matrix).

    Returns
    -------
    Tensor
        ``(L, M)`` float64.
    """
    A = torch.as_tensor(A).detach().to(torch.float64).cpu()
    if A.dim() == 2:
        A = A.unsqueeze(0)
    k = math.isqrt(A.shape[-1])
    mats, norms = _stack(k, float(angle_step))
    diff = A.unsqueeze(1) - mats.unsqueeze(0)
    return torch.linalg.matrix_norm(diff) / norms


def nearest_actions(A: Tensor, angle_step: float = 1.0) -> dict[str, dict]:
    """The closest known action of each family, by relative Frobenius distance.

    Parameters
    ----------
    A : Tensor
        ``(k^2, k^2)``.
    angle_step : float
        Resolution of the rotation search in degrees.

    Returns
    -------
    dict
        ``family -> {"label", "distance", "angle"}`` for ``rotation``, ``flip``, ``shift``,
        ``pooling`` (those that exist for this ``k``), plus ``"closest"``: the best of all.
        ``distance = ||A - M||_F / ||M||_F``.
    """
    A = as_action_matrix(A)
    k = math.isqrt(A.shape[0])
    actions = known_actions(k, angle_step)
    dist = known_distances(A, angle_step)[0]
    result: dict[str, dict] = {}
    for family in dict.fromkeys(a.family for a in actions):
        idx = [i for i, a in enumerate(actions) if a.family == family]
        best = idx[int(dist[idx].argmin())]
        a = actions[best]
        result[family] = {"label": a.label, "distance": float(dist[best]), "angle": a.angle}
    result["closest"] = min(result.values(), key=lambda r: r["distance"])
    return result


@lru_cache(maxsize=32)
def _generators(kernel_size: int, order: int) -> Tensor:
    angle = 360.0 / order
    return torch.stack([rotation_action(kernel_size, angle), rotation_action(kernel_size, -angle)])


def rotation_distance(A: Tensor, order: int) -> Tensor:
    """Relative distance of each action to the nearer of the turns by ``+360 / n`` and
    ``-360 / n`` degrees: either generates ``C_n`` and makes a network of learned layers the
    G-CNN of that rotation group (the other labels the orientations the other way round).

    Parameters
    ----------
    A : Tensor
        ``(L, k^2, k^2)`` or ``(k^2, k^2)``.
    order : int
        ``n``.

    Returns
    -------
    Tensor
        ``(L,)`` float64 (zero for the exact quarter turn with ``n = 4``).
    """
    A = torch.as_tensor(A).detach().to(torch.float64).cpu()
    if A.dim() == 2:
        A = A.unsqueeze(0)
    gens = _generators(math.isqrt(A.shape[-1]), int(order))
    dist = torch.linalg.matrix_norm(A.unsqueeze(1) - gens) / torch.linalg.matrix_norm(gens)
    return dist.amin(dim=1)


__all__ = [
    "KnownAction",
    "as_action_matrix",
    "known_actions",
    "known_distances",
    "nearest_actions",
    "rotation_distance",
]
