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
from .charged import NBODY_CHARGED, ChargedTask
from .cifar import CIFAR10
from .digits import DIGITS, ROTATED_DIGITS, ROTATED_MNIST, SKLEARN_DIGITS
from .fashion import FASHION, ROTATED_FASHION
from .nbody import NBODY_GRAVITY, NBodySplits, NBodyTask
from .potential import EMT_COPPER, QM9_ENERGY, AtomsSplits, PotentialTask
from .qm9 import QM9_GAP, QM9Task, task_from_name
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
        NBODY_CHARGED,
        QM9_GAP,
        EMT_COPPER,
        QM9_ENERGY,
    )
}


def get_task(name: str) -> Task:
    """The task registered as ``name``, or a QM9 target task ``qm9-<target>[-schnet]``;
    ``KeyError`` listing the known ones otherwise."""
    if name in TASKS:
        return TASKS[name]
    task = task_from_name(name)
    if task is None:
        known = ", ".join([*sorted(TASKS), "qm9-<target>[-schnet]"])
        raise KeyError(f"unknown task {name!r}; available: {known}")
    return task


__all__ = [
    "OPTIMIZERS",
    "ROTATION_PROBES",
    "SCHEDULES",
    "TASKS",
    "AtomsSplits",
    "ChargedTask",
    "ClassificationTask",
    "Column",
    "NBodySplits",
    "NBodyTask",
    "PotentialTask",
    "QM9Task",
    "Recipe",
    "RotationProbe",
    "Task",
    "TaskBase",
    "TaskData",
    "get_task",
]
