"""Atomic structures with energies and forces, made offline: EMT copper and copper-gold, and
QM9's energies, as padded arrays that the trainer batches like any other tensors.

:class:`Structures` holds ``S`` structures of up to ``A`` atoms: ``numbers (S, A)`` atomic
numbers (0 pads), ``positions (S, A, 3)`` Angstrom, ``cells (S, 3, 3)`` lattice vectors as
rows, ``pbc (S, 3)``, ``energy (S,)`` eV and ``forces (S, A, 3)`` eV/Angstrom (zeros where a
data set has none).

:func:`emt_copper`: fcc cells of 2 x 2 x 2 conventional cells (32 atoms), pure copper (40%)
or random Cu-Au alloys (gold fraction uniform in [0, 0.5]), lattice constant interpolated
between the two metals (Vegard) and strained by up to 3% with a small random shear; half the
structures rattled (Gaussian displacements of 0.03-0.15 Angstrom), half snapshots of Langevin
dynamics at 300-1400 K (2 fs steps, 20 steps to equilibrate, then every 10th step, 8 per
trajectory). Energies and forces from ASE's EMT calculator. Seeded and cached
(:mod:`erlangen.data.cache`); needs ASE (``pip install 'erlangen[atoms]'``).

:func:`qm9_energies`: QM9 molecules (open boundaries, no forces) with U0 in eV, from
:mod:`erlangen.data.qm9`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .cache import cached_arrays

#: bump when the EMT generator changes
EMT_VERSION = 1

INSTALL = "pip install 'erlangen[atoms]'"

CU_A, AU_A = 3.61, 4.08  # fcc lattice constants (Angstrom)
SPLIT_IDS = {"train": 0, "test": 1}


def require_ase(what: str):
    """Import ASE or say which extra brings it."""
    try:
        import ase
    except ImportError:
        raise ImportError(f"{what} needs ASE: {INSTALL}") from None
    return ase


@dataclass
class Structures:
    """Padded structures (see the module docstring); ``len``, ``subset``, ``tensors``."""

    numbers: np.ndarray
    positions: np.ndarray
    cells: np.ndarray
    pbc: np.ndarray
    energy: np.ndarray
    forces: np.ndarray

    FIELDS = ("numbers", "positions", "cells", "pbc", "energy", "forces")

    def __post_init__(self) -> None:
        s, a = self.numbers.shape
        expected = {
            "positions": (s, a, 3),
            "cells": (s, 3, 3),
            "pbc": (s, 3),
            "energy": (s,),
            "forces": (s, a, 3),
        }
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"Structures.{name} must be {shape} for {s} structures of up to {a} atoms, "
                    f"got {getattr(self, name).shape}"
                )

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Structures:
        return cls(**{k: arrays[k] for k in cls.FIELDS})

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in self.FIELDS}

    def __len__(self) -> int:
        return self.numbers.shape[0]

    @property
    def natoms(self) -> np.ndarray:
        """Atoms per structure ``(S,)``."""
        return (self.numbers > 0).sum(1)

    def subset(self, index) -> Structures:
        """The structures at ``index`` (a slice or an array of positions)."""
        return Structures(**{k: getattr(self, k)[index] for k in self.FIELDS})

    def tensors(self) -> tuple[Tensor, ...]:
        """``(numbers long, positions float32, cells float32, pbc bool, energy float64,
        forces float32)``: what the potential tasks train on (energies stay float64: QM9's
        are about -10^4 eV)."""
        return (
            torch.from_numpy(self.numbers).long(),
            torch.from_numpy(self.positions).float(),
            torch.from_numpy(self.cells).float(),
            torch.from_numpy(self.pbc).bool(),
            torch.from_numpy(self.energy).double(),
            torch.from_numpy(self.forces).float(),
        )


def _random_crystal(rng: np.random.Generator, repeat: int):
    from ase.build import bulk

    gold = 0.0 if rng.random() < 0.4 else rng.uniform(0.0, 0.5)
    a = (CU_A * (1 - gold) + AU_A * gold) * rng.uniform(0.97, 1.03)
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(repeat)
    n = len(atoms)
    atoms.numbers[rng.random(n) < gold] = 79
    shear = rng.uniform(-0.02, 0.02, size=(3, 3))
    deform = np.eye(3) + 0.5 * (shear + shear.T)
    atoms.set_cell(atoms.cell.array @ deform, scale_atoms=True)
    return atoms


def _record(atoms) -> dict[str, np.ndarray]:
    return {
        "numbers": atoms.numbers.copy(),
        "positions": atoms.positions.copy(),
        "cells": np.asarray(atoms.cell.array).copy(),
        "pbc": np.asarray(atoms.pbc).copy(),
        "energy": np.array(atoms.get_potential_energy()),
        "forces": atoms.get_forces().copy(),
    }


def generate_emt(num: int, seed: int, repeat: int = 2, snapshots: int = 8) -> dict:
    """``num`` EMT structures (the first half rattled, the rest from dynamics), as arrays."""
    require_ase("emt_copper")
    from ase import units
    from ase.calculators.emt import EMT
    from ase.md.langevin import Langevin

    rng = np.random.default_rng(seed)
    records = []
    rattled = num // 2
    for _ in range(rattled):
        atoms = _random_crystal(rng, repeat)
        atoms.positions += rng.normal(0.0, rng.uniform(0.03, 0.15), size=atoms.positions.shape)
        atoms.calc = EMT()
        records.append(_record(atoms))
    while len(records) < num:
        atoms = _random_crystal(rng, repeat)
        atoms.positions += rng.normal(0.0, 0.05, size=atoms.positions.shape)
        atoms.calc = EMT()
        temperature = rng.uniform(300.0, 1400.0)
        dyn = Langevin(
            atoms,
            2.0 * units.fs,
            temperature_K=temperature,
            friction=0.02 / units.fs,
            fixcm=False,
            rng=np.random.default_rng(rng.integers(2**63)),
        )
        dyn.run(20)
        for _ in range(min(snapshots, num - len(records))):
            dyn.run(10)
            records.append(_record(atoms))
    return {k: np.stack([r[k] for r in records]) for k in records[0]} if records else {}


def emt_copper(
    split: str = "train", num: int = 1000, seed: int = 0, repeat: int = 2, cache: bool = True
) -> Structures:
    """EMT copper and copper-gold structures (see the module docstring).

    Parameters
    ----------
    split : {"train", "test"}
        Drawn from independent streams of the same distribution.
    num : int
        Structures.
    seed : int
    repeat : int
        Conventional fcc cells per direction (``4 repeat^3`` atoms).
    cache : bool
        Read and write :func:`~erlangen.data.cache.cached_arrays`.
    """
    if split not in SPLIT_IDS:
        raise ValueError(f"split must be one of {tuple(SPLIT_IDS)}, got {split!r}")
    if num < 1 or repeat < 1:
        raise ValueError(f"need num >= 1 and repeat >= 1, got {num} and {repeat}")
    stream = int(np.random.SeedSequence([seed, SPLIT_IDS[split]]).generate_state(1)[0])

    def build():
        return generate_emt(num, stream, repeat)

    name = f"emt-copper-{split}-n{num}-r{repeat}"
    arrays = cached_arrays(name, EMT_VERSION, seed, build) if cache else build()
    return Structures.from_arrays(arrays)


def qm9_energies(
    split: str = "train", num: int | None = None, seed: int = 0, paths=None, cache: bool = True
) -> Structures:
    """QM9 molecules with their U0 (eV) as :class:`Structures` (open boundaries, zero
    forces, padded to the largest molecule, 29 atoms).

    Parameters
    ----------
    split : {"train", "val", "test"}
        Of :func:`erlangen.data.qm9.split_indices` (Anderson's scheme).
    num : int, optional
        The first ``num`` molecules of the split (all by default).
    seed : int
        Seed of the split.
    paths, cache
        As in :func:`erlangen.data.qm9.qm9_arrays`.
    """
    from .qm9 import TARGETS, qm9_arrays, split_indices

    arrays = qm9_arrays(paths, cache)
    m = len(arrays["index"])
    rows = split_indices(m, "anderson", seed)[split]
    if num is not None:
        rows = rows[:num]
    ptr = arrays["ptr"]
    sizes = ptr[rows + 1] - ptr[rows]
    width = int(sizes.max()) if len(rows) else 1
    s = len(rows)
    numbers = np.zeros((s, width), dtype=np.int64)
    positions = np.zeros((s, width, 3))
    u0 = list(TARGETS).index("U0")
    for k, (row, n) in enumerate(zip(rows, sizes)):
        lo = ptr[row]
        numbers[k, :n] = arrays["z"][lo : lo + n]
        positions[k, :n] = arrays["pos"][lo : lo + n]
    return Structures(
        numbers=numbers,
        positions=positions,
        cells=np.zeros((s, 3, 3)),
        pbc=np.zeros((s, 3), dtype=bool),
        energy=arrays["targets"][rows, u0].astype(np.float64),
        forces=np.zeros((s, width, 3)),
    )


def reference_energies(data: Structures, species: tuple[int, ...]) -> np.ndarray:
    """Least-squares energy per species: ``energy ~ counts @ e`` over the structures
    (``(len(species),)`` eV); species absent from the data get 0."""
    counts = np.stack([(data.numbers == z).sum(1) for z in species], 1).astype(np.float64)
    present = counts.sum(0) > 0
    solution = np.zeros(len(species))
    if present.any():
        fit, *_ = np.linalg.lstsq(counts[:, present], data.energy, rcond=None)
        solution[present] = fit
    return solution


__all__ = [
    "INSTALL",
    "Structures",
    "emt_copper",
    "generate_emt",
    "qm9_energies",
    "reference_energies",
    "require_ase",
]
