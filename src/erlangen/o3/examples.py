"""Small typed O(3) layers registered for ``erlangen tour``, ``erlangen info`` and the smoke
tests."""

from __future__ import annotations

from ..registry import register_example
from .convolution import Convolution
from .gate import Gate
from .gaunt import GauntTensorProduct
from .grid import exact_resolution
from .linear import Linear
from .mixing import GridMixing
from .norm import IrrepsLayerNorm
from .potential import Potential
from .spherical_harmonics import SphericalHarmonics
from .tensor_product import TensorProduct

FAMILY = "o3"


@register_example("o3-spherical-harmonics", FAMILY, "spherical harmonics l <= 4 of vectors")
def _sh():
    return SphericalHarmonics(4)


@register_example(
    "o3-tp-uvu", FAMILY, "channel-wise tensor product 4x(0e+1o+2e) x (0e+1o+2e), edge weights"
)
def _tp_uvu():
    return TensorProduct(
        "4x0e + 4x1o + 4x2e", "0e + 1o + 2e", "4x0e + 4x1o + 4x1e + 4x2e", weights="external"
    )


@register_example("o3-tp-uvw", FAMILY, "fully connected tensor product, learnable weights")
def _tp_uvw():
    return TensorProduct("2x0e + 3x1o", "2x0e + 1x1o + 1x2e", "3x0e + 2x1o + 2x1e + 1x2e", "uvw")


@register_example("o3-gaunt", FAMILY, "Gaunt tensor product on a spherical grid, 4 channels")
def _gaunt():
    return GauntTensorProduct("4x0e + 4x1o + 4x2e", "0e + 1o + 2e", 3)


@register_example(
    "o3-grid-mixing", FAMILY, "grid mixing (project, pointwise SiLU MLP, project back), 17x33 grid"
)
def _mixing():
    # SiLU makes the sampled values unbounded in degree; a grid exact to degree 32 leaves
    # aliasing below 1e-13 of the output (docs/o3.md)
    return GridMixing("4x0e + 4x1o + 4x2e", hidden=8, resolution=exact_resolution(32))


@register_example(
    "o3-gate", FAMILY, "gate: 4 even and 2 odd scalars, 3 gates (one odd) on 2x1o + 1x2e"
)
def _gate():
    return Gate("4x0e + 2x0o", "2x0e + 1x0o", "2x1o + 1x2e")


@register_example("o3-layer-norm", FAMILY, "equivariant layer norm of 4x0e + 3x1o + 2x2e")
def _norm():
    return IrrepsLayerNorm("4x0e + 3x1o + 2x2e")


@register_example(
    "o3-linear", FAMILY, "equivariant linear 4x0e + 3x1o + 2x2e -> 2x0e + 5x1o + 1x2e + 1x3o"
)
def _linear():
    return Linear("4x0e + 3x1o + 2x2e", "2x0e + 5x1o + 1x2e + 1x3o")


@register_example(
    "o3-convolution", FAMILY, "point convolution (spherical harmonics l <= 2, radial splines)"
)
def _conv():
    return Convolution("4x0e + 4x1o", "4x0e + 4x1o + 2x2e", lmax_sh=2, r_max=10.0, radial="spline")


@register_example(
    "o3-potential",
    FAMILY,
    "interatomic potential: invariant energy, equivariant forces (5 atoms, 2 layers, l <= 2)",
)
def _potential():
    return Potential(species=(1, 6, 7, 8, 9), r_max=5.0, channels=4, lmax=2, layers=2)
