"""Projective geometric algebra G(3,0,1) and the Geometric Algebra Transformer (GATr).

- :mod:`erlangen.ga.algebra`: products, involutions, dual, join, norms and the Pin(3,0,1)
  action on multivectors ``(..., 16)``, from tables derived at import;
- :mod:`erlangen.ga.group`: :class:`Pin301` (an erlangen ``Group``), the field type
  :class:`MultivectorField`, the representation :class:`MultivectorRep`;
- :mod:`erlangen.ga.embed`: points, planes, translations, rotations, lines in and out;
- :mod:`erlangen.ga.layers`: :class:`EquiLinear`, :class:`GeometricBilinear`,
  :class:`GatedGELU`, :class:`EquiLayerNorm`, :class:`GeometricAttention`, :class:`GATrBlock`,
  :class:`GATr`; each takes ``(multivectors, scalars=None)`` and returns the pair
  ``(multivectors, scalars or None)``, typed by :func:`pair_types`;
- :mod:`erlangen.ga.models`: ``gatr-nbody``, GATr on the n-body task (registered for
  ``erlangen train``; its baselines live in :mod:`erlangen.tasks.nbody_baselines`).

Importing the package registers its models and layer examples.
"""

from . import (
    algebra,
    models,
)
from . import examples as _examples  # noqa: F401  (registers layer examples)
from .algebra import (
    BLADE_NAMES,
    BLADES,
    GRADES,
    dual,
    geometric_product,
    grade_involute,
    grade_project,
    inner_product,
    join,
    norm,
    outer_product,
    random_versors,
    reverse,
    sandwich,
    sandwich_matrix,
    squared_norm,
    undual,
    versor_inverse,
)
from .embed import (
    embed_line,
    embed_plane,
    embed_point,
    embed_pseudoscalar,
    embed_reflection,
    embed_rotation,
    embed_scalar,
    embed_translation,
    extract_line,
    extract_oriented_plane,
    extract_plane,
    extract_point,
    extract_pseudoscalar,
    extract_rotation,
    extract_scalar,
    extract_translation,
)
from .group import (
    MultivectorField,
    MultivectorRep,
    Pin301,
    equi_linear_basis,
    pin,
)
from .layers import (
    EquiLayerNorm,
    EquiLinear,
    GatedGELU,
    GATr,
    GATrBlock,
    GeometricAttention,
    GeometricBilinear,
    pair_types,
)
from .models import GATrNBody

__all__ = [
    "BLADES",
    "BLADE_NAMES",
    "GRADES",
    "EquiLayerNorm",
    "EquiLinear",
    "GATr",
    "GATrBlock",
    "GATrNBody",
    "GatedGELU",
    "GeometricAttention",
    "GeometricBilinear",
    "MultivectorField",
    "MultivectorRep",
    "Pin301",
    "algebra",
    "dual",
    "embed_line",
    "embed_plane",
    "embed_point",
    "embed_pseudoscalar",
    "embed_reflection",
    "embed_rotation",
    "embed_scalar",
    "embed_translation",
    "equi_linear_basis",
    "extract_line",
    "extract_oriented_plane",
    "extract_plane",
    "extract_point",
    "extract_pseudoscalar",
    "extract_rotation",
    "extract_scalar",
    "extract_translation",
    "geometric_product",
    "grade_involute",
    "grade_project",
    "inner_product",
    "join",
    "models",
    "norm",
    "outer_product",
    "pair_types",
    "pin",
    "random_versors",
    "reverse",
    "sandwich",
    "sandwich_matrix",
    "squared_norm",
    "undual",
    "versor_inverse",
]
