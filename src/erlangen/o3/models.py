"""Models of the E(3) family registered for ``erlangen train`` (``--model potential``)."""

from __future__ import annotations

from ..registry import register_model
from .potential import Potential

FAMILY = "o3"


@register_model(
    "potential",
    FAMILY,
    "interatomic potential (NequIP-class): energies, forces by autograd, stress; periodic cells",
)
def potential(**options) -> Potential:
    """A :class:`Potential`; tasks pass ``species``, ``r_max``, ``avg_num_neighbors``,
    ``atomic_energies`` and ``energy_scale`` (from their data), options the sizes."""
    return Potential(**options)
