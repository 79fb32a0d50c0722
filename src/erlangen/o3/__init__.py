"""E(3)-steerable networks: irreps, spherical harmonics, tensor products, gates.

- :mod:`~erlangen.o3.spherical_harmonics`: real harmonics in e3nn's convention (any degree,
  three normalisations, sphericart as an optional fast path);
- :mod:`~erlangen.o3.clebsch_gordan`: ``wigner_3j`` / ``clebsch_gordan`` in the real basis;
- :mod:`~erlangen.o3.tensor_product`: :class:`TensorProduct` (``uvu`` / ``uvw``, internal or
  external weights) on the kernels of :mod:`~erlangen.o3.kernels`;
- :mod:`~erlangen.o3.grid` and :mod:`~erlangen.o3.gaunt`: the Gauss-Legendre grid, the Gaunt
  product on it and densely, :class:`GauntTensorProduct`; :mod:`~erlangen.o3.mixing`:
  :class:`GridMixing`;
- :class:`Gate`, :class:`IrrepsLayerNorm`, :class:`Linear`, radial bases and splines,
  :class:`Convolution`;
- :mod:`~erlangen.o3.potential`: :class:`Potential`, an interatomic potential (energy,
  forces, stress; open or periodic cells); :class:`Calculator` (``erlangen.o3.calculator``),
  its ASE calculator, imported on first use (ASE is the ``atoms`` extra).

``Irreps`` lives in the core (:mod:`erlangen.groups.irreps`) and is re-exported here. Importing
the package registers its layer examples and the model ``potential``.
"""

from ..groups.irreps import Irrep, Irreps, MulIr
from . import examples as _examples  # noqa: F401  (registers layer examples)
from . import models as _models  # noqa: F401  (registers the potential)
from .clebsch_gordan import clebsch_gordan, couple, wigner_3j
from .convolution import Convolution, radius_graph
from .gate import Gate
from .gaunt import (
    DenseProduct,
    GauntTensorProduct,
    GridProduct,
    gaunt_coefficients,
    gaunt_factor,
    grid_product,
)
from .grid import SphericalGrid, exact_resolution
from .linear import Linear
from .mixing import GridMixing
from .norm import IrrepsLayerNorm
from .paths import Path, allowed_paths, build_paths
from .potential import Potential, SpeciesLinear
from .radial import BesselBasis, GaussianBasis, PolynomialCutoff, RadialMLP, RadialSpline
from .spherical_harmonics import SphericalHarmonics, spherical_harmonics
from .tensor_product import TensorProduct


def __getattr__(name: str):
    # the ASE calculator is imported on first use: ASE is an optional extra
    if name == "Calculator":
        import importlib.util

        if importlib.util.find_spec("ase") is None:
            raise ImportError("erlangen.o3.Calculator needs ASE: pip install 'erlangen[atoms]'")
        from .calculator import Calculator

        return Calculator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BesselBasis",
    "Calculator",
    "Convolution",
    "DenseProduct",
    "Gate",
    "GauntTensorProduct",
    "GaussianBasis",
    "GridMixing",
    "GridProduct",
    "Irrep",
    "Irreps",
    "IrrepsLayerNorm",
    "Linear",
    "MulIr",
    "Path",
    "PolynomialCutoff",
    "Potential",
    "RadialMLP",
    "RadialSpline",
    "SpeciesLinear",
    "SphericalGrid",
    "SphericalHarmonics",
    "TensorProduct",
    "allowed_paths",
    "build_paths",
    "clebsch_gordan",
    "couple",
    "exact_resolution",
    "gaunt_coefficients",
    "gaunt_factor",
    "grid_product",
    "radius_graph",
    "spherical_harmonics",
    "wigner_3j",
]
