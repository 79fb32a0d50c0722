"""Interatomic potentials: fit energies and forces of atomic structures.

Two tasks, both trained with ``erlangen train TASK --model potential``:

- ``emt-copper``: periodic fcc copper and copper-gold cells of 32 atoms, rattled or from
  Langevin dynamics at 300-1400 K, energies and forces from ASE's EMT
  (:func:`erlangen.data.atoms.emt_copper`; generated once, cached);
- ``qm9-energy``: QM9's U0 (eV) of molecules in open space, energies only
  (:func:`erlangen.data.atoms.qm9_energies`).

Batches are padded structures (:class:`~erlangen.data.atoms.Structures`): ``numbers (B, A)``
with 0 padding, ``positions``, ``cells``, ``pbc``, ``energy``, ``forces``; the loss strips the
padding, so the trainer batches them like any other tensors.

Loss: ``energy_weight * mean(((E - E_ref) / n_atoms)^2) + force_weight * mean((F -
F_ref)^2)``, both divided by the square of the model's energy scale (so that the weights mean
the same for every data set). Metrics: energy MAE per atom (meV/atom) and RMSE, force MAE
(meV/Angstrom) and RMSE, parameters, and the E(3) error of the trained model in float64 (a
random rotation or reflection, translation and relabelling of test structures, cells included).

The data statistics a potential starts from (energy per species by least squares, the energy
scale, the mean number of neighbours) are computed from the training pool of data seed 0 and
passed as the model's default options, so they are recorded in each run's ``config.json`` and
a run is rebuilt without its data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..data.atoms import Structures, emt_copper, qm9_energies, reference_energies
from ..groups import O3
from .base import Column, Recipe, TaskBase, count_parameters, model_device

POTENTIAL_MODELS = ("potential",)


@dataclass
class AtomsSplits:
    """The training pool and the test structures of a potential task."""

    train: Structures
    test: Structures

    @property
    def max_train_size(self) -> int:
        return len(self.train)

    def train_subset(self, n: int | None) -> tuple[Tensor, ...]:
        """The first ``n`` training structures as tensors (see
        :meth:`Structures.tensors`)."""
        if n is None:
            return self.train.tensors()
        if not 1 <= n <= self.max_train_size:
            raise ValueError(f"train size must be in [1, {self.max_train_size}], got {n}")
        return self.train.subset(slice(0, n)).tensors()


def flatten(batch: tuple[Tensor, ...], dtype: torch.dtype, device) -> dict[str, Tensor]:
    """Padded structures -> the potential's flat inputs and targets.

    Returns ``numbers (N,)``, ``pos (N, 3)``, ``batch (N,)``, ``cell (B, 3, 3)``, ``pbc
    (B, 3)``, ``energy (B,)`` float64, ``forces (N, 3)``, ``natoms (B,)``.
    """
    numbers, positions, cells, pbc, energy, forces = batch
    mask = numbers > 0
    natoms = mask.sum(1)
    index = torch.arange(numbers.shape[0], device=numbers.device).repeat_interleave(natoms)
    return {
        "numbers": numbers[mask].to(device),
        "pos": positions[mask].to(device=device, dtype=dtype),
        "batch": index.to(device),
        "cell": cells.to(device=device, dtype=dtype),
        "pbc": pbc.to(device),
        "energy": energy.to(device=device, dtype=torch.float64),
        "forces": forces[mask].to(device=device, dtype=dtype),
        "natoms": natoms.to(device),
    }


def _dtype(model: nn.Module) -> torch.dtype:
    return next(iter(model.parameters()), torch.empty(0)).dtype


@dataclass(frozen=True, kw_only=True)
class PotentialTask(TaskBase):
    """Energies (and forces) of atomic structures (see the module docstring).

    Attributes (besides :class:`~erlangen.tasks.base.TaskBase`'s)
    --------------------------------------------------------------
    dataset : str
        ``"emt-copper"`` or ``"qm9"``.
    species : tuple of int
        Atomic numbers the potential knows.
    r_max : float
        Cutoff radius of the default model (Angstrom).
    train_pool, test_samples : int
        Structures in the training pool and in the test set.
    energy_weight, force_weight : float
        Weights of the two terms of the loss (``force_weight = 0``: energies only, and the
        forces are not computed while training).
    sizes : dict
        The default model's sizes (channels, lmax, layers, radial network).
    eval_batch_size : int
        Structures per evaluation step.
    equivariance_samples : int
        Test structures of the E(3) check.
    """

    dataset: str
    species: tuple[int, ...]
    r_max: float = 4.5
    train_pool: int = 1000
    test_samples: int = 200
    energy_weight: float = 1.0
    force_weight: float = 1.0
    sizes: dict = None  # type: ignore[assignment]
    eval_batch_size: int = 16
    equivariance_samples: int = 4

    # -- data -------------------------------------------------------------------------------

    def load(self, seed: int) -> AtomsSplits:
        """The training pool and the test set (generated or converted once, then cached)."""
        if self.dataset == "emt-copper":
            return AtomsSplits(
                emt_copper("train", self.train_pool, seed),
                emt_copper("test", self.test_samples, seed),
            )
        if self.dataset == "qm9":
            return AtomsSplits(
                qm9_energies("train", self.train_pool, seed),
                qm9_energies("test", self.test_samples, seed),
            )
        raise ValueError(f"unknown dataset {self.dataset!r}")

    def statistics(self) -> dict[str, Any]:
        """What the potential starts from, from the training pool of data seed 0:
        ``atomic_energies`` (least squares per species), ``energy_scale`` (the force RMS, or
        for energies alone the RMS of the residual energy over the square root of the mean
        atom count) and ``avg_num_neighbors`` (within ``r_max``, over up to 200 structures)."""
        key = (self.dataset, self.species, self.r_max, self.train_pool, self.force_weight > 0)
        if key not in _STATISTICS:
            _STATISTICS[key] = _statistics(self)
        return dict(_STATISTICS[key])

    def model_options(self, model: str) -> dict[str, Any]:
        """The potential's options: species and cutoff, the data statistics, the sizes (all
        recorded in the run's ``config.json``, which then describes the model completely:
        :meth:`erlangen.o3.Calculator.from_run` rebuilds it without the task)."""
        options = dict(self.default_options.get(model, {}))
        if model in POTENTIAL_MODELS:
            options = {
                "species": list(self.species),
                "r_max": self.r_max,
                **self.statistics(),
                **dict(self.sizes or {}),
                **options,
            }
        return options

    # -- training ---------------------------------------------------------------------------

    def loss(
        self,
        model: nn.Module,
        batch: tuple[Tensor, ...],
        *,
        augment: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Weighted squared errors of per-atom energies and of forces (module docstring);
        logs the batch's energy MAE per atom (``e_mae``, eV) and force MAE (``f_mae``)."""
        if augment:
            raise ValueError(f"task {self.name} has no augmentation")
        flat = flatten(batch, _dtype(model), model_device(model))
        use_forces = self.force_weight > 0
        out = model.compute(
            model.species_index(flat["numbers"]),
            flat["pos"],
            flat["batch"],
            flat["cell"],
            flat["pbc"],
            forces=use_forces,
        )
        scale = float(model.energy_scale)
        natoms = flat["natoms"].to(torch.float64)
        e_err = (out["energy"].double() - flat["energy"]) / natoms
        loss = self.energy_weight * e_err.square().mean() / scale**2
        extra = {"e_mae": e_err.detach().abs().mean()}
        if use_forces:
            f_err = out["forces"] - flat["forces"]
            loss = loss + self.force_weight * f_err.square().mean().double() / scale**2
            extra["f_mae"] = f_err.detach().abs().mean()
        return loss.float(), extra

    # -- evaluation -------------------------------------------------------------------------

    def errors(self, model: nn.Module, data: Structures) -> dict[str, float]:
        """Energy MAE and RMSE per atom (meV/atom), force MAE and RMSE (meV/Angstrom) of
        ``model`` on ``data``."""
        was_training = model.training
        model.eval()
        device, dtype = model_device(model), _dtype(model)
        e_abs = e_sq = f_abs = f_sq = 0.0
        n_structures = n_components = 0
        for i in range(0, len(data), self.eval_batch_size):
            part = data.subset(slice(i, i + self.eval_batch_size))
            flat = flatten(part.tensors(), dtype, device)
            out = model.compute(
                model.species_index(flat["numbers"]),
                flat["pos"],
                flat["batch"],
                flat["cell"],
                flat["pbc"],
                forces=self.force_weight > 0,
            )
            e_err = (out["energy"].double() - flat["energy"]) / flat["natoms"].double()
            e_abs += float(e_err.abs().sum())
            e_sq += float(e_err.square().sum())
            n_structures += len(part)
            if self.force_weight > 0:
                f_err = (out["forces"] - flat["forces"]).double()
                f_abs += float(f_err.abs().sum())
                f_sq += float(f_err.square().sum())
                n_components += f_err.numel()
        model.train(was_training)
        result = {
            "energy_mae_mev_atom": 1000 * e_abs / max(1, n_structures),
            "energy_rmse_mev_atom": 1000 * (e_sq / max(1, n_structures)) ** 0.5,
        }
        if n_components:
            result["force_mae_mev_a"] = 1000 * f_abs / n_components
            result["force_rmse_mev_a"] = 1000 * (f_sq / n_components) ** 0.5
        return result

    def equivariance_error(self, model: nn.Module, data: Structures) -> dict[str, float]:
        """Largest change of energies and forces, in float64, when test structures are
        rotated or reflected (random O(3) elements, cells with them), translated and their
        atoms relabelled: ``abs`` in eV and eV/Angstrom, ``rel`` over the largest value."""
        probe = _float64_copy(model)
        gen = torch.Generator().manual_seed(0)
        k = min(self.equivariance_samples, len(data))
        flat = flatten(data.subset(slice(0, k)).tensors(), torch.float64, model_device(probe))
        species = probe.species_index(flat["numbers"])
        base = probe.compute(species, flat["pos"], flat["batch"], flat["cell"], flat["pbc"])
        worst, scale = 0.0, 0.0
        for g in O3().sample(4, generator=gen, dtype=torch.float64):
            g = g.to(flat["pos"].device)
            perm = torch.randperm(len(species), generator=gen).to(flat["pos"].device)
            shift = torch.randn(3, generator=gen, dtype=torch.float64).to(g.device)
            moved = probe.compute(
                species[perm],
                flat["pos"][perm] @ g.T + shift,
                flat["batch"][perm],
                flat["cell"] @ g.T,
                flat["pbc"],
            )
            worst = max(
                worst,
                float((moved["energy"] - base["energy"]).abs().max()),
                float((moved["forces"] - base["forces"][perm] @ g.T).abs().max()),
            )
            scale = max(scale, float(base["energy"].abs().max()), float(base["forces"].abs().max()))
        return {"abs_error": worst, "rel_error": worst / scale if scale else worst}

    def evaluate(self, model: nn.Module, data: AtomsSplits) -> dict[str, Any]:
        """Test errors (meV/atom, meV/Angstrom), parameter count, test size, E(3) error."""
        out: dict[str, Any] = dict(self.errors(model, data.test))
        out["test_samples"] = len(data.test)
        out["params"] = count_parameters(model)
        for key, value in self.equivariance_error(model, data.test).items():
            out[f"e3_{key}"] = value
        return out


def _float64_copy(model: nn.Module) -> nn.Module:
    import copy

    probe = copy.deepcopy(model).double().eval()
    return probe


#: statistics by (dataset, species, r_max, train_pool, forces used): computed once a process
_STATISTICS: dict[tuple, dict[str, Any]] = {}


def _statistics(task: PotentialTask) -> dict[str, Any]:
    data = task.load(0).train
    shifts = reference_energies(data, task.species)
    residual = data.energy - (
        np.stack([(data.numbers == z).sum(1) for z in task.species], 1) @ shifts
    )
    natoms = data.natoms
    mask = data.numbers > 0
    if task.force_weight > 0 and np.abs(data.forces).sum() > 0:
        scale = float(np.sqrt(np.mean(data.forces[mask] ** 2)))
    else:
        scale = float(np.sqrt(np.mean(residual**2)) / np.sqrt(natoms.mean()))
    neighbours = _mean_neighbours(data.subset(slice(0, 200)), task.r_max)
    return {
        "atomic_energies": [round(float(e), 6) for e in shifts],
        "energy_scale": round(scale, 6),
        "avg_num_neighbors": round(neighbours, 3),
    }


def _mean_neighbours(data: Structures, r_max: float) -> float:
    from ..nn.neighbours import periodic_radius_graph, radius_graph

    flat = flatten(data.tensors(), torch.float64, "cpu")
    if bool(flat["pbc"].any()):
        edges, _ = periodic_radius_graph(
            flat["pos"], r_max, flat["cell"], flat["pbc"], flat["batch"]
        )
    else:
        edges = radius_graph(flat["pos"], r_max, flat["batch"])
    return edges.shape[1] / max(1, flat["pos"].shape[0])


_COLUMNS = (
    Column("energy_mae_mev_atom", "E MAE meV/atom", "{:.3g}"),
    Column("force_mae_mev_a", "F MAE meV/A", "{:.3g}"),
    Column("e3_rel_error", "E(3) rel err", "{:.1e}"),
)

EMT_COPPER = PotentialTask(
    name="emt-copper",
    description=(
        "interatomic potential: EMT energies and forces of periodic 32-atom fcc Cu and Cu-Au "
        "cells (rattled and 300-1400 K dynamics); test MAE in meV/atom and meV/A"
    ),
    models=POTENTIAL_MODELS,
    dataset="emt-copper",
    species=(29, 79),
    r_max=4.5,
    train_pool=1000,
    test_samples=200,
    # measured: with weight 1 (1500 steps) the energies lagged (22 meV/atom) behind the
    # forces (36 meV/A): a structure has one energy and 96 force components
    energy_weight=10.0,
    force_weight=1.0,
    sizes={"channels": 16, "lmax": 2, "layers": 2, "radial_hidden": [32]},
    recipe=Recipe(steps=2500, batch_size=4, lr=5e-3, optimizer="adam", schedule="cosine"),
    columns=_COLUMNS,
    plots=(("force_mae_mev_a", "force MAE (meV/A)"), ("energy_mae_mev_atom", "E MAE meV/atom")),
    plot_log_y=True,
    size_label="training structures",
    sweep_sizes=(50, 200, 1000),
    sweep_steps=1500,
)

QM9_ENERGY = PotentialTask(
    name="qm9-energy",
    description=(
        "interatomic potential on QM9 U0 (eV; molecules in open space, energies only); test "
        "MAE in meV/atom"
    ),
    models=POTENTIAL_MODELS,
    dataset="qm9",
    species=(1, 6, 7, 8, 9),
    r_max=5.0,
    train_pool=100_000,
    test_samples=2000,
    energy_weight=1.0,
    force_weight=0.0,
    sizes={"channels": 16, "lmax": 2, "layers": 2, "radial_hidden": [32]},
    recipe=Recipe(steps=3000, batch_size=16, lr=5e-3, optimizer="adam", schedule="cosine"),
    columns=_COLUMNS[:1] + _COLUMNS[2:],
    plots=(("energy_mae_mev_atom", "E MAE meV/atom"),),
    plot_log_y=True,
    size_label="training molecules",
    sweep_sizes=(1000, 10000, 100000),
    sweep_steps=3000,
)

__all__ = ["EMT_COPPER", "QM9_ENERGY", "AtomsSplits", "PotentialTask", "flatten"]
