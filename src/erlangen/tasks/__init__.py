"""Tasks: data + loss + metrics + the models that compete + a default recipe.

``TASKS`` maps a name to its :class:`Task`; ``erlangen train TASK --model NAME``,
``erlangen sweep TASK`` and ``erlangen demo`` look tasks up here. A task is used through
:func:`erlangen.train.fit`.
"""

from __future__ import annotations

from .base import (
    OPTIMIZERS,
    ROTATION_PROBES,
    SCHEDULES,
    ClassificationTask,
    Column,
    Recipe,
    RotationProbe,
    Task,
    TaskBase,
    TaskData,
)
from .digits import DIGITS, ROTATED_DIGITS, ROTATED_MNIST, SKLEARN_DIGITS
from .nbody import NBODY_GRAVITY, NBodySplits, NBodyTask
from .potential import EMT_COPPER, QM9_ENERGY, AtomsSplits, PotentialTask

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        ROTATED_DIGITS,
        DIGITS,
        ROTATED_MNIST,
        SKLEARN_DIGITS,
        NBODY_GRAVITY,
        EMT_COPPER,
        QM9_ENERGY,
    )
}


def get_task(name: str) -> Task:
    """The task registered as ``name``; ``KeyError`` listing the known ones otherwise."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; available: {', '.join(sorted(TASKS))}")
    return TASKS[name]


__all__ = [
    "OPTIMIZERS",
    "ROTATION_PROBES",
    "SCHEDULES",
    "TASKS",
    "AtomsSplits",
    "ClassificationTask",
    "Column",
    "NBodySplits",
    "NBodyTask",
    "PotentialTask",
    "Recipe",
    "RotationProbe",
    "Task",
    "TaskBase",
    "TaskData",
    "get_task",
]
