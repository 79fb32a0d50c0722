"""The charged-particle n-body task of the EGNN paper: where are 5 charged particles 1,000
steps later?

Data: :func:`erlangen.data.charged.charged_nbody` (the EGNN protocol: 3,000 training, 2,000
validation and 2,000 test systems; input at frame 30, target at frame 40). Every model gets
``(charges (B, 5, 1), positions (B, 5, 3), velocities (B, 5, 3))`` and predicts the final
positions; loss and metric are their mean squared error over systems, particles and
coordinates (the paper's MSE). The graph family's models run inside
:class:`~erlangen.tasks.nbody_graph.GraphNBody` (node input the speed, edge inputs the product
of charges and the squared distance, as in the paper); GATr is the gravity task's
``gatr-nbody`` with the charge as its scalar input.

Metrics: ``test_mse``, ``val_mse`` and the SE(3) error of the trained model on 64 test
systems (see :meth:`~erlangen.tasks.nbody.NBodyTask.equivariance_error`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from ..data.charged import SPLITS, charged_nbody
from . import nbody_graph  # noqa: F401  (registers egnn-nbody, gnn-nbody, ...)
from .base import Column, Recipe, count_parameters
from .nbody import NBodySplits, NBodyTask

#: the models that compete: every family on the same data
CHARGED_MODELS = (
    "egnn-nbody",
    "gnn-nbody",
    "linear-nbody",
    "fa-gnn-nbody",
    "fa-transformer-nbody",
    "gatr-nbody",
)

#: short names accepted on the command line for this task
CHARGED_ALIASES = {
    "egnn": "egnn-nbody",
    "gnn": "gnn-nbody",
    "linear": "linear-nbody",
    "fa-gnn": "fa-gnn-nbody",
    "fa-transformer": "fa-transformer-nbody",
    "gatr": "gatr-nbody",
}

#: options of the CPU recipe: the graph models at the paper's 64 features and 4 layers
#: (their registered defaults); frame averaging over one random frame per training step (all
#: 8 frames in evaluation: exact); GATr with the gravity task's CPU widths and 2 blocks
#: instead of 4 (a GATr step costs 6x an EGNN step on a CPU)
CHARGED_MODEL_OPTIONS: dict[str, dict[str, Any]] = {
    "fa-gnn-nbody": {"stochastic": True},
    "fa-transformer-nbody": {"stochastic": True},
    "gatr-nbody": {"hidden_mv": 16, "hidden_s": 64, "blocks": 2, "heads": 8},
}

#: (split, metric key, description) of the evaluation sets
EVAL_SETS = (("test", "test_mse", "test"), ("val", "val_mse", "validation"))


@dataclass(frozen=True, kw_only=True)
class ChargedTask(NBodyTask):
    """Charged-particle n-body regression (see the module docstring); loss, MSE and the SE(3)
    check are :class:`~erlangen.tasks.nbody.NBodyTask`'s."""

    train_pool: int = SPLITS["train"][0]
    test_samples: int = SPLITS["test"][0]

    def load(self, seed: int) -> NBodySplits:
        """Simulate (once; later from the cache) the first ``train_pool`` training and
        ``test_samples`` validation and test systems (the whole splits by default)."""
        return NBodySplits(
            train=charged_nbody("train", num_samples=self.train_pool, seed=seed),
            tests={
                split: charged_nbody(split, num_samples=self.test_samples, seed=seed)
                for split, _, _ in EVAL_SETS
            },
        )

    def evaluate(self, model: nn.Module, data: NBodySplits) -> dict[str, Any]:
        """Test and validation MSE, parameter count and the SE(3) error."""
        out: dict[str, Any] = {
            key: self.mse(model, data.tests[split]) for split, key, _ in EVAL_SETS
        }
        out["test_samples"] = len(data.tests["test"])
        out["params"] = count_parameters(model)
        for key, value in self.equivariance_error(model, data.tests["test"]).items():
            out[f"se3_{key}"] = value
        return out


NBODY_CHARGED = ChargedTask(
    name="nbody-charged",
    description=(
        "charged-particle n-body (EGNN protocol): 5 charges, predict positions 1,000 steps "
        "ahead; test and validation MSE, SE(3) error"
    ),
    models=CHARGED_MODELS,
    recipe=Recipe(steps=2000, batch_size=100, lr=5e-4, optimizer="adam", schedule="constant"),
    aliases=CHARGED_ALIASES,
    default_options=CHARGED_MODEL_OPTIONS,
    columns=(
        Column("test_mse", "MSE test", "{:.3g}"),
        Column("val_mse", "MSE val", "{:.3g}"),
        Column("se3_rel_error", "SE(3) rel err", "{:.1e}"),
    ),
    plots=(("test_mse", "charged n-body: test MSE"),),
    plot_log_y=True,
    size_label="training systems",
    sweep_sizes=(100, 300, 1000, 3000),
    sweep_steps=2000,
)
