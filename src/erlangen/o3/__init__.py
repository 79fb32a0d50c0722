"""E(3)-steerable networks: irreps, spherical harmonics, tensor products.

Importing the package registers its layer examples.
"""

from ..groups.irreps import Irrep, Irreps, MulIr
from .clebsch_gordan import clebsch_gordan, couple, wigner_3j
from .paths import Path, allowed_paths, build_paths
from .spherical_harmonics import SphericalHarmonics, spherical_harmonics
from .tensor_product import TensorProduct

__all__ = [
    "Irrep",
    "Irreps",
    "MulIr",
    "Path",
    "SphericalHarmonics",
    "TensorProduct",
    "allowed_paths",
    "build_paths",
    "clebsch_gordan",
    "couple",
    "spherical_harmonics",
    "wigner_3j",
]
