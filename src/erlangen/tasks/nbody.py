"""The gravitational n-body task of the GATr paper: predict where the bodies are after 0.1 s.

Data: :func:`erlangen.data.nbody.nbody` (one star and three planets per system, random
rotation, translation and permutation). Loss and metric: the mean squared error of the
predicted final positions, over bodies and coordinates. A trained model is measured on three
test sets and for its symmetry:

- ``test_mse``: the in-distribution test set;
- ``test_shifted_mse``: the same systems translated by +200 along x (E(3) generalisation);
- ``test_6body_mse``: systems of 6 bodies (object generalisation). A model built for a fixed
  number of bodies (it has an attribute ``bodies``, like ``mlp-nbody``) is reported as not
  applicable (``None`` and a note) instead of failing;
- ``se3_rel_error``, ``se3_abs_error``: :func:`erlangen.check.equivariance` of the trained
  model under SE(3) (identity, generators and random rotations + translations) in float64, on
  real test systems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..check import equivariance
from ..data.nbody import NBodyData, nbody
from ..ga.models import nbody_types
from ..groups import SE
from . import (
    nbody_baselines,  # noqa: F401  (registers transformer-nbody and mlp-nbody)
    nbody_graph,  # noqa: F401  (registers egnn-nbody)
)
from .base import Column, Recipe, TaskBase, count_parameters, model_device

#: the models that compete (``gatr-nbody`` registered by ``erlangen.ga``, the baselines by
#: :mod:`erlangen.tasks.nbody_baselines`, EGNN in its n-body adapter by
#: :mod:`erlangen.tasks.nbody_graph`)
NBODY_MODELS = ("gatr-nbody", "transformer-nbody", "mlp-nbody", "egnn-nbody")

#: short names accepted on the command line for this task
NBODY_ALIASES = {
    "gatr": "gatr-nbody",
    "transformer": "transformer-nbody",
    "mlp": "mlp-nbody",
    "egnn": "egnn-nbody",
}

#: model sizes of the CPU recipe (the registered defaults are the reference sizes: GATr with
#: 16 multivector / 128 scalar channels and 10 blocks, a width-160 10-block Transformer, an MLP
#: of 4 x 512); GATr and the Transformer shrunk alike to 4 blocks, with parameter counts of
#: 0.37M, 0.41M and 0.46M
CPU_MODEL_OPTIONS = {
    "gatr-nbody": {"hidden_mv": 16, "hidden_s": 64, "blocks": 4, "heads": 8},
    "transformer-nbody": {"hidden": 112, "blocks": 4, "heads": 8},
    "mlp-nbody": {"hidden": 384},
    # the EGNN paper's n-body size (64 features, 4 layers); node inputs the speed and the
    # mass (edge inputs m_i m_j and the squared distance)
    "egnn-nbody": {"node_inputs": "speed+scalar"},
}

#: (split, metric key, description) of the test sets
TEST_SETS = (
    ("test", "test_mse", "in-distribution"),
    ("test-shifted", "test_shifted_mse", "translated by +200 (E(3) generalisation)"),
    ("test-6", "test_6body_mse", "6 bodies (object generalisation)"),
)


@dataclass
class NBodySplits:
    """The training pool and the test sets of the n-body task.

    Attributes
    ----------
    train : NBodyData
        Training systems; ``train_subset(n)`` takes the first ``n`` (nested subsets).
    tests : dict of str to NBodyData
        ``"test"``, ``"test-shifted"``, ``"test-6"``.
    """

    train: NBodyData
    tests: dict[str, NBodyData]

    @property
    def max_train_size(self) -> int:
        return len(self.train)

    def train_subset(self, n: int | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(masses (n, 4, 1), positions (n, 4, 3), velocities (n, 4, 3), targets (n, 4, 3))``
        of the first ``n`` training systems (all when ``n`` is None)."""
        tensors = self.train.tensors()
        if n is None:
            return tensors
        if not 1 <= n <= self.max_train_size:
            raise ValueError(f"train size must be in [1, {self.max_train_size}], got {n}")
        return tuple(t[:n] for t in tensors)  # type: ignore[return-value]


@dataclass(frozen=True, kw_only=True)
class NBodyTask(TaskBase):
    """Gravitational n-body regression (see the module docstring).

    Attributes (besides :class:`~erlangen.tasks.base.TaskBase`'s)
    --------------------------------------------------------------
    train_pool : int
        Systems in the training pool (the protocol's 100,000).
    test_samples : int
        Systems per test set (the protocol's 5,000).
    equivariance_samples : int
        Test systems the SE(3) check runs on.
    equivariance_elements : int
        Random SE(3) elements of the check (besides the identity and the generators).
    eval_batch_size : int
        Systems per forward pass in evaluation.
    """

    train_pool: int = 100_000
    test_samples: int = 5_000
    equivariance_samples: int = 64
    equivariance_elements: int = 16
    eval_batch_size: int = 500

    def load(self, seed: int) -> NBodySplits:
        """Simulate (once; later from the cache) the training pool and the three test sets."""
        return NBodySplits(
            train=nbody("train", num_samples=self.train_pool, seed=seed),
            tests={
                split: nbody(split, num_samples=self.test_samples, seed=seed)
                for split, _, _ in TEST_SETS
            },
        )

    def loss(
        self,
        model: nn.Module,
        batch: tuple[Tensor, ...],
        *,
        augment: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """MSE of the predicted final positions; ``batch`` is ``(masses (B, N, 1), positions
        (B, N, 3), velocities (B, N, 3), targets (B, N, 3))``."""
        if augment:
            raise ValueError(f"task {self.name} has no augmentation")
        masses, positions, velocities, targets = batch
        return F.mse_loss(model(masses, positions, velocities), targets), {}

    @torch.no_grad()
    def mse(self, model: nn.Module, data: NBodyData) -> float:
        """Mean squared error of ``model``'s final positions on ``data`` (over systems, bodies
        and coordinates), accumulated in float64."""
        was_training = model.training
        model.eval()
        device = model_device(model)
        total, count = 0.0, 0
        for i in range(0, len(data), self.eval_batch_size):
            m, x, v, y = (t[i : i + self.eval_batch_size].to(device) for t in data.tensors())
            err = (model(m, x, v) - y).double().square()
            total += float(err.sum())
            count += err.numel()
        model.train(was_training)
        return total / max(1, count)

    def equivariance_error(self, model: nn.Module, data: NBodyData) -> dict[str, float]:
        """SE(3) check of ``model`` on the first ``equivariance_samples`` systems of ``data``
        in float64: ``max |f(g x) - g f(x)|`` (``abs``) and that over ``max |f(x)|`` (``rel``),
        over the identity, the generators and ``equivariance_elements`` random elements."""
        k = min(self.equivariance_samples, len(data))
        inputs = tuple(t[:k] for t in data.tensors()[:3])
        in_type, out_type = nbody_types(SE(3), bodies=inputs[1].shape[1], batch=k)
        report = equivariance(
            model,
            in_type,
            out_type,
            inputs=inputs,
            n=self.equivariance_elements,
            dtype=torch.float64,
            device=model_device(model),
        )
        return {"rel_error": report.max_rel, "abs_error": report.max_abs}

    def evaluate(self, model: nn.Module, data: NBodySplits) -> dict[str, Any]:
        """Test MSE on the three test sets, parameter count and the SE(3) error."""
        out: dict[str, Any] = {}
        fixed = getattr(model, "bodies", None)
        for split, key, _ in TEST_SETS:
            bodies = data.tests[split].positions.shape[1]
            if fixed is not None and fixed != bodies:
                out[key] = None
                out[f"{key}_note"] = (
                    f"not applicable: the model is built for {fixed} bodies, the {split} set "
                    f"has {bodies}"
                )
            else:
                out[key] = self.mse(model, data.tests[split])
        out["test_samples"] = len(data.tests["test"])
        out["params"] = count_parameters(model)
        for key, value in self.equivariance_error(model, data.tests["test"]).items():
            out[f"se3_{key}"] = value
        return out


NBODY_GRAVITY = NBodyTask(
    name="nbody-gravity",
    description=(
        "gravitational n-body (GATr protocol): a star and 3 planets, predict positions at "
        "t = 0.1; test MSE in distribution, translated by +200 and with 6 bodies; SE(3) error"
    ),
    models=NBODY_MODELS,
    recipe=Recipe(steps=3000, batch_size=64, lr=3e-4, optimizer="adam", schedule="constant"),
    aliases=NBODY_ALIASES,
    default_options=CPU_MODEL_OPTIONS,
    columns=(
        Column("test_mse", "MSE test", "{:.3g}"),
        Column("test_shifted_mse", "MSE +200", "{:.3g}"),
        Column("test_6body_mse", "MSE 6 bodies", "{:.3g}"),
        Column("se3_rel_error", "SE(3) rel err", "{:.1e}"),
    ),
    plots=tuple((key, f"{split}: {what}") for split, key, what in TEST_SETS),
    plot_log_y=True,
    size_label="training trajectories",
    sweep_sizes=(100, 300, 1000, 3000, 10000),
    sweep_steps=3000,
)
