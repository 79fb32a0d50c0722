"""GATr for the gravitational n-body task, and the interface every n-body model shares.

An n-body model maps ``(masses (B, N, 1), positions (B, N, 3), velocities (B, N, 3))`` to
predicted final positions ``(B, N, 3)``, predicts the *displacement* from the initial positions
(a residual), and declares the task's symmetry as ``in_type`` / ``out_type``
(:func:`nbody_types`): SE(3) acting on positions (rotation and translation) and velocities
(rotation), masses invariant. :class:`GATrNBody` is equivariant by construction; the
non-equivariant baselines it is compared with live beside the task
(:mod:`erlangen.tasks.nbody_baselines`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..fields import FieldTypeError, InvariantField, PositionField, VectorField
from ..groups import SE, EuclideanGroup, as_group, standard
from ..nn import EquivariantModule
from ..registry import register_model
from .attention import sdpa_mask
from .embed import embed_point, embed_translation, extract_point
from .kernels import from_kernel_layout, to_kernel_layout
from .transformer import GATr


def nbody_types(group: EuclideanGroup | str | None = None, bodies: int = 4, batch: int = 2):
    """``(in_type, out_type)`` of the n-body models under ``group`` (default SE(3); a group
    or its name, e.g. ``"E3"``)."""
    group = SE(3) if group is None else as_group(group)
    in_type = (
        InvariantField(group, shape=(batch, bodies, 1)),
        PositionField(group, num_points=bodies, batch_shape=(batch,)),
        VectorField(standard(group), batch_shape=(batch, bodies)),
    )
    return in_type, PositionField(group, num_points=bodies, batch_shape=(batch,))


def check_nbody_inputs(who: str, masses: Tensor, positions: Tensor, velocities: Tensor) -> None:
    """Raise :class:`~erlangen.fields.FieldTypeError` naming the expected and actual shapes
    unless ``positions`` is ``(B, N, 3)``, ``masses`` ``(B, N, 1)`` and ``velocities``
    ``(B, N, 3)`` (any number of bodies ``N``, which the declared types fix for sampling)."""
    if positions.dim() != 3 or positions.shape[-1] != 3:
        raise FieldTypeError(
            f"{who}: positions must be (batch, bodies, 3), got {tuple(positions.shape)}"
        )
    b, n, _ = positions.shape
    if tuple(masses.shape) != (b, n, 1):
        raise FieldTypeError(f"{who}: masses must be {(b, n, 1)}, got {tuple(masses.shape)}")
    if tuple(velocities.shape) != (b, n, 3):
        raise FieldTypeError(
            f"{who}: velocities must be {(b, n, 3)}, got {tuple(velocities.shape)}"
        )


class GATrNBody(EquivariantModule):
    """GATr for n-body: each body is one token.

    Embedding: the position as a point (trivector, e123 = 1) and the velocity as the
    translation ``1 - 0.5 e0 v`` (two multivector channels); the mass as an auxiliary scalar,
    which :class:`~erlangen.ga.layers.EquiLinear` feeds into the scalar components. A translator
    is exactly E(3)-covariant (reflections conjugate it correctly) and, through the geometric
    product, can move a point along ``v``: the leading-order answer ``x + v t``. Output: the
    point of ``embed_point(x) + GATr(...)`` (a residual in the algebra; the output layer starts
    at zero so the untrained model predicts "no motion").

    Equivariance: exact under SE(3) (up to float rounding). Under reflections it is *not*
    equivariant in general, because embedded points have e123 = +1 while a reflection maps
    them to e123 = -1 (see :mod:`erlangen.ga.embed`).

    Parameters
    ----------
    hidden_mv, hidden_s, blocks, heads : int
        GATr sizes (the reference n-body setting is 16, 128, 10, 8).
    multi_query, checkpoint : bool
        Passed to :class:`~erlangen.ga.layers.GATr`.
    """

    def __init__(
        self,
        hidden_mv: int = 16,
        hidden_s: int = 128,
        blocks: int = 10,
        heads: int = 8,
        multi_query: bool = True,
        checkpoint: bool = False,
    ):
        super().__init__()
        self.net = GATr(
            in_mv=2,
            out_mv=1,
            hidden_mv=hidden_mv,
            in_s=1,
            out_s=0,
            hidden_s=hidden_s,
            blocks=blocks,
            heads=heads,
            multi_query=multi_query,
            checkpoint=checkpoint,
        )
        with torch.no_grad():
            for p in self.net.linear_out.parameters():
                p.zero_()
        self.in_type, self.out_type = nbody_types()

    def forward(
        self, masses: Tensor, positions: Tensor, velocities: Tensor, mask: Tensor | None = None
    ) -> Tensor:
        """Predicted final positions ``(B, N, 3)``; ``mask (B, N)`` marks real bodies."""
        check_nbody_inputs("GATrNBody", masses, positions, velocities)
        self.validate_inputs(masses, positions, velocities)  # dtype and device
        points = embed_point(positions)
        mv = torch.stack([points, embed_translation(velocities)], dim=-2)
        # the inputs are validated: run GATr in its kernel layout directly
        shape = tuple(positions.shape[:-1])
        out, _ = self.net.forward_kernel(
            to_kernel_layout(mv), masses.reshape(-1, 1), shape, sdpa_mask(mask, None, shape)
        )  # no scalar outputs
        return extract_point(points + from_kernel_layout(out, shape)[..., 0, :])


@register_model("gatr-nbody", "ga", "GATr on n-body: points + translations, SE(3)-equivariant")
def gatr_nbody(**kwargs) -> GATrNBody:
    return GATrNBody(**kwargs)
