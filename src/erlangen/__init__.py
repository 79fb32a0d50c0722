"""erlangen: geometric deep learning in PyTorch, with symmetry checked numerically.

Core: :mod:`erlangen.groups` (groups, representations, equivariant-basis solver),
:mod:`erlangen.fields` (how groups act on tensor layouts), :mod:`erlangen.check` (the
equivariance checker) and :mod:`erlangen.nn` (family-agnostic layers).
"""

__version__ = "0.1.0"
