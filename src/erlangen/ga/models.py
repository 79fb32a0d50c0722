"""Models for the gravitational n-body task: GATr and two non-equivariant baselines.

Every model maps ``(masses (B, N, 1), positions (B, N, 3), velocities (B, N, 3))`` to
predicted final positions ``(B, N, 3)``, predicts the *displacement* from the initial positions
(a residual), and declares the task's symmetry as ``in_type`` / ``out_type``: SE(3) acting
on positions (rotation and translation) and velocities (rotation), masses invariant. Only
:class:`GATrNBody` is equivariant by construction; for the baselines the checker measures how
far they are from it.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from ..fields import InvariantField, PositionField, VectorField
from ..groups import SE, EuclideanGroup, standard
from ..nn import EquivariantModule
from ..registry import register_model
from .embed import embed_point, embed_translation, extract_point
from .layers import GATr


def nbody_types(group: EuclideanGroup | None = None, bodies: int = 4, batch: int = 2):
    """``(in_type, out_type)`` of the n-body models under ``group`` (default SE(3))."""
    group = group or SE(3)
    in_type = (
        InvariantField(group, shape=(batch, bodies, 1)),
        PositionField(group, num_points=bodies, batch_shape=(batch,)),
        VectorField(standard(group), batch_shape=(batch, bodies)),
    )
    return in_type, PositionField(group, num_points=bodies, batch_shape=(batch,))


def _check_inputs(who: str, masses: Tensor, positions: Tensor, velocities: Tensor) -> None:
    if positions.dim() != 3 or positions.shape[-1] != 3:
        raise ValueError(f"{who}: positions must be (batch, bodies, 3), got {positions.shape}")
    b, n, _ = positions.shape
    if tuple(masses.shape) != (b, n, 1):
        raise ValueError(f"{who}: masses must be {(b, n, 1)}, got {tuple(masses.shape)}")
    if tuple(velocities.shape) != (b, n, 3):
        raise ValueError(f"{who}: velocities must be {(b, n, 3)}, got {tuple(velocities.shape)}")


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
        _check_inputs("GATrNBody", masses, positions, velocities)
        points = embed_point(positions)
        mv = torch.stack([points, embed_translation(velocities)], dim=-2)
        out = self.net(mv, masses, mask=mask)
        return extract_point(points + out[..., 0, :])


class TransformerNBody(nn.Module):
    """Plain pre-norm Transformer baseline: tokens ``[m, x, v]`` (7 numbers) ->
    ``Linear -> blocks x TransformerEncoderLayer -> Linear`` -> displacement.

    Permutation-equivariant (no positional encoding), not E(3)-equivariant.
    """

    def __init__(self, hidden: int = 160, blocks: int = 10, heads: int = 8, mlp_ratio: int = 2):
        super().__init__()
        self.embed = nn.Linear(7, hidden)
        layer = nn.TransformerEncoderLayer(
            hidden,
            heads,
            mlp_ratio * hidden,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, blocks, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, 3)
        with torch.no_grad():
            self.head.weight.zero_()
            self.head.bias.zero_()
        self.in_type, self.out_type = nbody_types()

    def forward(self, masses, positions, velocities, mask=None):
        _check_inputs("TransformerNBody", masses, positions, velocities)
        h = self.embed(torch.cat([masses, positions, velocities], -1))
        h = self.encoder(h, src_key_padding_mask=None if mask is None else ~mask.bool())
        return positions + self.head(self.norm(h))


class MLPNBody(nn.Module):
    """MLP baseline on the flattened system: ``N * 7`` inputs -> ``N * 3`` displacements.

    Neither permutation- nor E(3)-equivariant, and tied to ``bodies`` (it cannot run on the
    6-body test set of a 4-body model).
    """

    def __init__(self, bodies: int = 4, hidden: int = 512, layers: int = 4):
        super().__init__()
        self.bodies = bodies
        dims = [7 * bodies] + [hidden] * layers
        mods: list[nn.Module] = []
        for a, b in itertools.pairwise(dims):
            mods += [nn.Linear(a, b), nn.GELU()]
        last = nn.Linear(dims[-1], 3 * bodies)
        with torch.no_grad():
            last.weight.zero_()
            last.bias.zero_()
        self.mlp = nn.Sequential(*mods, last)
        self.in_type, self.out_type = nbody_types(bodies=bodies)

    def forward(self, masses, positions, velocities, mask=None):
        _check_inputs("MLPNBody", masses, positions, velocities)
        b, n, _ = positions.shape
        if n != self.bodies:
            raise ValueError(f"MLPNBody was built for {self.bodies} bodies, got {n}")
        if mask is not None and not bool(mask.all()):
            raise ValueError("MLPNBody cannot handle padded (masked) bodies")
        x = torch.cat([masses, positions, velocities], -1).reshape(b, 7 * n)
        return positions + self.mlp(x).reshape(b, n, 3)


@register_model("gatr-nbody", "ga", "GATr on n-body: points + translations, SE(3)-equivariant")
def gatr_nbody(**kwargs) -> GATrNBody:
    return GATrNBody(**kwargs)


@register_model("transformer-nbody", "ga", "plain Transformer baseline for n-body")
def transformer_nbody(**kwargs) -> TransformerNBody:
    return TransformerNBody(**kwargs)


@register_model("mlp-nbody", "ga", "MLP baseline for n-body (fixed number of bodies)")
def mlp_nbody(**kwargs) -> MLPNBody:
    return MLPNBody(**kwargs)
