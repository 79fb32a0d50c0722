"""The non-equivariant baselines of the n-body task: a plain Transformer and an MLP.

They are not geometric algebra, so they live beside the task that compares them with GATr
(:mod:`erlangen.tasks.nbody`), not in the ``ga`` family. Both follow the n-body interface of
:mod:`erlangen.ga.models`: ``(masses (B, N, 1), positions (B, N, 3), velocities (B, N, 3))``
-> final positions ``(B, N, 3)``, predicted as a displacement that starts at zero ("no
motion"). They declare the task's SE(3) types so that :mod:`erlangen.check` measures how far
they are from equivariance; neither is equivariant by construction.

Importing this module registers ``transformer-nbody`` and ``mlp-nbody``; importing
:mod:`erlangen.tasks` (which every command that trains does) registers them too.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from ..fields import FieldTypeError
from ..ga.models import check_nbody_inputs, nbody_types
from ..registry import register_model


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

    def forward(
        self, masses: Tensor, positions: Tensor, velocities: Tensor, mask: Tensor | None = None
    ) -> Tensor:
        """Predicted final positions ``(B, N, 3)``; ``mask (B, N)`` marks real bodies."""
        check_nbody_inputs("TransformerNBody", masses, positions, velocities)
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

    def forward(
        self, masses: Tensor, positions: Tensor, velocities: Tensor, mask: Tensor | None = None
    ) -> Tensor:
        """Predicted final positions ``(B, bodies, 3)``; ``mask`` must be all True."""
        check_nbody_inputs("MLPNBody", masses, positions, velocities)
        b, n, _ = positions.shape
        if n != self.bodies:
            raise FieldTypeError(f"MLPNBody was built for {self.bodies} bodies, got {n}")
        if mask is not None and not bool(mask.all()):
            raise ValueError("MLPNBody cannot handle padded (masked) bodies")
        x = torch.cat([masses, positions, velocities], -1).reshape(b, 7 * n)
        return positions + self.mlp(x).reshape(b, n, 3)


@register_model("transformer-nbody", "tasks", "plain Transformer baseline for n-body")
def transformer_nbody(**kwargs) -> TransformerNBody:
    return TransformerNBody(**kwargs)


@register_model("mlp-nbody", "tasks", "MLP baseline for n-body (fixed number of bodies)")
def mlp_nbody(**kwargs) -> MLPNBody:
    return MLPNBody(**kwargs)
