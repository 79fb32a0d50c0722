"""Family-agnostic equivariant modules: the module contract and the general linear layer.

- :class:`EquivariantModule` / :class:`Equivariant`: every layer and model declares
  ``in_type`` and ``out_type`` (see :mod:`erlangen.nn.module`);
- :class:`EquivariantLinear`: the most general linear map between two representations, on the
  basis the solver finds;
- :mod:`erlangen.nn.neighbours`: neighbour lists (radius graphs, open or periodic, with cell
  shifts) shared by the graph and E(3) families (``erlangen.graph.neighbours`` is the same
  module).

Importing the package registers the core's layer examples for ``erlangen tour``.
"""

from . import examples as _examples  # noqa: F401  (registers layer examples)
from .linear import EquivariantLinear
from .module import Equivariant, EquivariantModule, types_of

__all__ = ["Equivariant", "EquivariantLinear", "EquivariantModule", "types_of"]
