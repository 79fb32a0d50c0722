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
from .cifar import CIFAR10
from .digits import DIGITS, ROTATED_DIGITS, ROTATED_MNIST, SKLEARN_DIGITS
from .fashion import FASHION, ROTATED_FASHION
from .nbody import NBODY_GRAVITY, NBodySplits, NBodyTask
from .symmetric import QUARTER_DIGITS

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        ROTATED_DIGITS,
        DIGITS,
        ROTATED_MNIST,
        SKLEARN_DIGITS,
        QUARTER_DIGITS,
        FASHION,
        ROTATED_FASHION,
        CIFAR10,
        NBODY_GRAVITY,
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
    "ClassificationTask",
    "Column",
    "NBodySplits",
    "NBodyTask",
    "Recipe",
    "RotationProbe",
    "Task",
    "TaskBase",
    "TaskData",
    "get_task",
]
