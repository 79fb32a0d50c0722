"""Parse group names used on the command line: ``C4``, ``D8``, ``S5``, ``SO2``, ``O(3)``, ``E3``."""

from __future__ import annotations

import re

from .base import Group
from .finite import Cyclic, Dihedral, Symmetric
from .lie import O2, O3, SE, SO2, SO3, E, Orthogonal, SpecialOrthogonal

_PATTERN = re.compile(r"^(C|D|S|SO|O|SE|E)\(?(\d+)\)?$")
EXAMPLES = "C4, D4, S5, SO2, O2, SO3, O3, SO(4), E3, SE(3)"


def parse_group(text: str) -> Group:
    """Build a group from its name.

    ``C<n>`` cyclic, ``D<n>`` dihedral (order 2n), ``S<n>`` symmetric, ``SO<n>`` / ``O<n>``
    (parentheses optional), ``E<n>`` / ``SE<n>`` Euclidean. ``p4`` and ``p4m`` name the
    stabilisers C4 and D4 of the wallpaper groups.
    """
    name = text.strip().replace(" ", "")
    aliases = {"p4": "C4", "p4m": "D4"}
    name = aliases.get(name.lower(), name)
    match = _PATTERN.match(name.upper())
    if not match:
        raise ValueError(f"unknown group {text!r}; examples: {EXAMPLES}")
    kind, n = match.group(1), int(match.group(2))
    special = {("SO", 2): SO2, ("O", 2): O2, ("SO", 3): SO3, ("O", 3): O3}
    if (kind, n) in special:
        return special[(kind, n)]()
    factories = {
        "C": Cyclic,
        "D": Dihedral,
        "S": Symmetric,
        "SO": SpecialOrthogonal,
        "O": Orthogonal,
        "E": E,
        "SE": SE,
    }
    return factories[kind](n)


def as_group(group: Group | str, argument: str = "group") -> Group:
    """A :class:`Group` given as itself or by name (``"C4"``, ``"D4"``, ``"SO3"``, ...).

    Layer constructors call this, so ``GroupConv2d(3, 8, 3, "D4")`` and
    ``GroupConv2d(3, 8, 3, Dihedral(4))`` build the same layer.

    Raises
    ------
    TypeError
        When ``group`` is neither a group nor a string (the message names ``argument``).
    ValueError
        When the name is unknown.
    """
    if isinstance(group, Group):
        return group
    if isinstance(group, str):
        return parse_group(group)
    raise TypeError(
        f"{argument} must be an erlangen Group or a name such as 'C4' or 'D4', "
        f"got {type(group).__name__}"
    )
