"""QM9 property regression: one target per task, the MAE in the target's units.

Data: :func:`erlangen.data.qm9.qm9` (all 130,831 molecules of the qm9pack wheel), the
Anderson split (EGNN's: 100,000 / 17,748 / 13,083) or SchNet's (110,000 / 10,000 / 10,831).
Each molecule is a torch_geometric ``Data`` (``x`` one-hot H C N O F and ``z / 9``, ``pos``
in Angstrom); batches come from torch_geometric's ``DataLoader`` (:meth:`QM9Task.train_loader`,
the trainer's hook for samples that are not tensors), every molecule a complete graph (no
cut-off, as in the EGNN paper).

Training follows the EGNN paper: the model predicts the target standardised by the mean and
the mean absolute deviation (MAD) of the training split, under an L1 loss; the MAE is that
loss times the MAD, in the target's units (``train/mae`` in the run's ``metrics.csv``).

Task names: ``qm9`` (the HOMO-LUMO gap), ``qm9-<target>`` for any target of
:data:`erlangen.data.qm9.TARGETS` (``qm9-homo``, ``qm9-lumo``, ``qm9-mu``, ``qm9-alpha``,
``qm9-U0``, ...), and ``qm9-<target>-schnet`` on SchNet's split. The energies (``U0``, ``U``,
``H``, ``G``) are the total energies of the files, not atomization energies.

Metrics: ``test_mae`` and ``val_mae`` in ``unit``, and ``e3_abs_error``: the largest change
of the trained model's predictions (in ``unit``, float64) when the first test molecules are
rotated, reflected and translated at random.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..data.qm9 import SPLITS, TARGETS, QM9Molecules, qm9
from ..graph import fully_connected_graph
from .base import Column, Recipe, TaskBase, count_parameters, model_device

#: the EGNN of the paper's QM9 experiments, as options of the registered ``egnn``: invariant
#: read-out (node decoder, sum over atoms, graph decoder), attention, coordinates not updated
EGNN_QM9 = {
    "in_channels": 6,
    "out_channels": 1,
    "edge_dim": 0,
    "readout": "graph",
    "output": "invariant",
    "pool": "sum",
    "velocity": False,
    "update_coords": False,
    "attention": True,
}

#: the CPU recipe's model (the paper: 128 features, 7 layers)
CPU_SIZE = {"hidden": 64, "layers": 4}


@dataclass
class QM9Splits:
    """The splits of one QM9 task and the target's standardisation.

    Attributes
    ----------
    train, val, test : QM9Molecules
    mean, mad : float
        Mean and mean absolute deviation of the target over the whole training split.
    """

    train: QM9Molecules
    val: QM9Molecules
    test: QM9Molecules
    mean: float
    mad: float

    @property
    def max_train_size(self) -> int:
        return len(self.train)

    def train_subset(self, n: int | None) -> Standardised:
        """The first ``n`` training molecules (nested subsets; all when ``n`` is None), with
        their standardised targets."""
        if n is None:
            n = self.max_train_size
        if not 1 <= n <= self.max_train_size:
            raise ValueError(f"train size must be in [1, {self.max_train_size}], got {n}")
        view = QM9Molecules(self.train.arrays, self.train.rows[:n], self.train.targets)
        return Standardised(view, self.mean, self.mad)


@dataclass
class Standardised:
    """Training molecules that carry their standardised target: ``y_std = (y - mean) / mad``
    ``(1, 1)`` and ``mad`` ``(1,)`` on every ``Data`` (so the loss needs nothing else)."""

    molecules: QM9Molecules
    mean: float
    mad: float

    def __len__(self) -> int:
        return len(self.molecules)

    def __getitem__(self, i):
        data = self.molecules[int(i)]
        data.y_std = (data.y - self.mean) / self.mad
        data.mad = torch.tensor([self.mad], dtype=data.y.dtype)
        return data


def graph_loader(samples: Any, **kwargs: Any):
    """torch_geometric's ``DataLoader`` over ``samples``."""
    from ..data.graphs import loader

    kwargs.setdefault("batch_size", 1)
    return loader(samples, **kwargs)


@dataclass(frozen=True, kw_only=True)
class QM9Task(TaskBase):
    """One QM9 target (see the module docstring).

    Attributes (besides :class:`~erlangen.tasks.base.TaskBase`'s)
    --------------------------------------------------------------
    target : str
        A key of :data:`erlangen.data.qm9.TARGETS`.
    scheme : str
        ``"anderson"`` or ``"schnet"``.
    eval_batch_size : int
        Molecules per forward pass in evaluation.
    equivariance_samples : int
        Test molecules the E(3) check runs on.
    equivariance_elements : int
        Random rotations (half of them with a reflection) and translations of the check.
    paths : tuple of str, optional
        CSV files in qm9pack's layout instead of the installed wheel (tests use small ones).
    """

    target: str = "gap"
    scheme: str = "anderson"
    eval_batch_size: int = 256
    equivariance_samples: int = 100
    equivariance_elements: int = 8
    paths: tuple[str, ...] | None = None

    @property
    def unit(self) -> str:
        return TARGETS[self.target][2]

    def load(self, seed: int) -> QM9Splits:
        """The three splits (the permutation seeded by ``seed``) and the training split's
        mean and MAD of the target."""
        parts = {
            s: qm9(s, [self.target], self.scheme, seed=seed, paths=self.paths)
            for s in ("train", "val", "test")
        }
        y = parts["train"].arrays["targets"][parts["train"].rows, list(TARGETS).index(self.target)]
        mean = float(np.mean(y))
        mad = float(np.mean(np.abs(y - mean)))
        return QM9Splits(parts["train"], parts["val"], parts["test"], mean, mad)

    def train_loader(self, samples: Standardised, batch_sampler):
        """torch_geometric ``Batch`` objects of ``samples`` in the order of
        ``batch_sampler`` (the trainer's hook for samples that are not tensors)."""
        return graph_loader(samples, batch_sampler=batch_sampler)

    def predict(self, model: nn.Module, batch) -> Tensor:
        """The model's standardised prediction ``(num_graphs,)`` for a ``Batch``: each
        molecule a complete graph."""
        edge_index = fully_connected_graph(batch=batch.batch)
        out = model(batch.x, batch.pos, edge_index, None, None, batch=batch.batch)
        if out.dim() != 2 or out.shape != (batch.num_graphs, 1):
            raise ValueError(
                f"a QM9 model must return ({batch.num_graphs}, 1), one number per molecule, "
                f"got {tuple(out.shape)}"
            )
        return out[:, 0]

    def loss(
        self,
        model: nn.Module,
        batch,
        *,
        augment: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """L1 loss of the standardised target on a ``Batch``; logs the MAE in the target's
        units as ``mae``."""
        if augment:
            raise ValueError(f"task {self.name} has no augmentation")
        loss = (self.predict(model, batch) - batch.y_std[:, 0]).abs().mean()
        return loss, {"mae": loss.detach() * batch.mad[0]}

    @torch.no_grad()
    def mae(self, model: nn.Module, molecules: QM9Molecules, mean: float, mad: float) -> float:
        """Mean absolute error in the target's units over ``molecules`` (float64 sum)."""
        was_training = model.training
        model.eval()
        device = model_device(model)
        total, count = 0.0, 0
        for batch in graph_loader(molecules, batch_size=self.eval_batch_size):
            batch = batch.to(device)
            pred = self.predict(model, batch).double() * mad + mean
            total += float((pred - batch.y[:, 0].double()).abs().sum())
            count += batch.num_graphs
        model.train(was_training)
        return total / max(1, count)

    @torch.no_grad()
    def invariance_error(self, model: nn.Module, molecules: QM9Molecules, mad: float) -> float:
        """Largest change (target units, float64) of the predictions for the first
        ``equivariance_samples`` molecules under random rotations, reflections and
        translations."""
        twin = copy.deepcopy(model).double().eval()
        k = min(self.equivariance_samples, len(molecules))
        batch = next(iter(graph_loader(molecules, batch_size=max(1, k)))).to(model_device(model))
        batch.x, batch.pos = batch.x.double(), batch.pos.double()
        base = self.predict(twin, batch)
        gen = torch.Generator().manual_seed(0)
        worst = 0.0
        for e in range(self.equivariance_elements):
            q, _ = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
            if e % 2:
                q = -q
            shift = 10 * torch.randn(3, generator=gen, dtype=torch.float64)
            moved = batch.clone()
            moved.pos = batch.pos @ q.T.to(batch.pos) + shift.to(batch.pos)
            worst = max(worst, float((self.predict(twin, moved) - base).abs().max()) * mad)
        return worst

    def evaluate(self, model: nn.Module, data: QM9Splits) -> dict[str, Any]:
        """Test and validation MAE in the target's units, parameter count, the E(3) error."""
        return {
            "target": self.target,
            "unit": self.unit,
            "test_mae": self.mae(model, data.test, data.mean, data.mad),
            "val_mae": self.mae(model, data.val, data.mean, data.mad),
            "test_samples": len(data.test),
            "target_mean": data.mean,
            "target_mad": data.mad,
            "params": count_parameters(model),
            "e3_abs_error": self.invariance_error(model, data.test, data.mad),
        }


def qm9_task(target: str = "gap", scheme: str = "anderson", name: str | None = None) -> QM9Task:
    """The task of one QM9 target on one split (named ``qm9-<target>[-schnet]`` unless
    ``name`` is given)."""
    if target not in TARGETS:
        raise ValueError(f"unknown QM9 target {target!r}; choose from {', '.join(TARGETS)}")
    if scheme not in SPLITS:
        raise ValueError(f"unknown QM9 split {scheme!r}; choose from {', '.join(SPLITS)}")
    unit = TARGETS[target][2]
    return QM9Task(
        name=name or f"qm9-{target}" + ("-schnet" if scheme == "schnet" else ""),
        description=(
            f"QM9 {target} ({unit}), {scheme} split, EGNN protocol (complete graphs, L1 on "
            f"the standardised target); test MAE in {unit}; qm9-<target>[-schnet] for "
            f"{', '.join(TARGETS)}"
        ),
        models=("egnn",),
        recipe=Recipe(steps=4000, batch_size=96, lr=5e-4, optimizer="adam", schedule="cosine"),
        default_options={"egnn": {**EGNN_QM9, **CPU_SIZE}},
        columns=(
            Column("test_mae", f"MAE test ({unit})", "{:.4g}"),
            Column("val_mae", f"MAE val ({unit})", "{:.4g}"),
            Column("e3_abs_error", "E(3) abs err", "{:.1e}"),
        ),
        plots=(("test_mae", f"QM9 {target}: test MAE ({unit})"),),
        plot_log_y=True,
        size_label="training molecules",
        sweep_sizes=(1000, 3000, 10000),
        sweep_steps=3000,
        target=target,
        scheme=scheme,
    )


def task_from_name(name: str) -> QM9Task | None:
    """The QM9 task called ``name`` (``qm9-<target>`` or ``qm9-<target>-schnet``), or None
    when ``name`` is not of that form."""
    if not name.startswith("qm9-"):
        return None
    rest = name[len("qm9-") :]
    scheme = "anderson"
    if rest.endswith("-schnet"):
        rest, scheme = rest[: -len("-schnet")], "schnet"
    return qm9_task(rest, scheme) if rest in TARGETS else None


#: the registered task: the HOMO-LUMO gap on the Anderson split
QM9_GAP = qm9_task("gap", name="qm9")
