"""The parametrisations of a learned action ``A``, one class each, by their
``parametrisation=`` name.

- ``"free"``: :class:`FreeAction`, ``A`` a free matrix (and ``A~`` for the invertibility
  loss);
- ``"orthogonal"``: :class:`OrthogonalAction`, ``A = A_0 matrix_exp(S)``;
- ``"toeplitz"``: :class:`ToeplitzAction`, banded Toeplitz ``A`` (option ``bandwidth``);
- ``"multiscale"``: :class:`MultiscaleAction`, ``A = U C D + F (I - U D)`` (option
  ``coarse_size``).

A new parametrisation is a subclass of :class:`ActionParametrisation` added to
:data:`ACTION_PARAMETRISATIONS`.
"""

from __future__ import annotations

from .base import INITS, ActionParametrisation, known_action
from .free import FreeAction
from .multiscale import MultiscaleAction
from .orthogonal import OrthogonalAction
from .toeplitz import ToeplitzAction

#: ``parametrisation=`` name -> class
ACTION_PARAMETRISATIONS: dict[str, type[ActionParametrisation]] = {
    cls.name: cls for cls in (FreeAction, OrthogonalAction, ToeplitzAction, MultiscaleAction)
}
#: the ``parametrisation=`` names
PARAMETRISATIONS = tuple(ACTION_PARAMETRISATIONS)


def make_parametrisation(
    name: str, kernel_size: int, num_actions: int, **options
) -> ActionParametrisation:
    """The parametrisation ``name`` for ``num_actions`` actions on ``k x k`` filters.

    Parameters
    ----------
    name : str
        One of :data:`PARAMETRISATIONS`.
    kernel_size, num_actions : int
    **options
        Keywords of the parametrisations (``bandwidth``, ``coarse_size``); ``None`` means
        unset. A keyword set for a parametrisation that does not take it raises.
    """
    if name not in ACTION_PARAMETRISATIONS:
        raise ValueError(f"parametrisation must be one of {PARAMETRISATIONS}, got {name!r}")
    cls = ACTION_PARAMETRISATIONS[name]
    for option, value in options.items():
        if value is not None and option not in cls.options:
            owners = [n for n, c in ACTION_PARAMETRISATIONS.items() if option in c.options]
            if not owners:
                raise TypeError(f"unknown parametrisation option {option!r}")
            raise ValueError(f"{option} is an option of parametrisation={owners[0]!r} only")
    return cls(kernel_size, num_actions, **{o: options.get(o) for o in cls.options})


__all__ = [
    "ACTION_PARAMETRISATIONS",
    "INITS",
    "PARAMETRISATIONS",
    "ActionParametrisation",
    "FreeAction",
    "MultiscaleAction",
    "OrthogonalAction",
    "ToeplitzAction",
    "known_action",
    "make_parametrisation",
]
