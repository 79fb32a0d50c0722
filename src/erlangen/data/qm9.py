"""QM9 (130,831 small organic molecules with up to 9 heavy atoms, H C N O F) from the
``qm9pack`` wheel, converted once into arrays, cached, and served as torch_geometric ``Data``.

The wheel ships the data as CSV files (``qm9pack/data/qm9_part{1,2,3}.csv``), found here from
the package's import spec without importing it (qm9pack's ``__init__`` needs the deprecated
``pkg_resources``, absent from current setuptools).
Coordinates are strings like ``[[x, y, z], ...]`` in Angstrom; a Fortran exponent ``*^`` is
read as ``e``. Only invariant targets are kept: qm9pack's polarizability tensor is not in the
frame of the coordinates.

Targets (name: CSV column, unit here): ``mu`` dipole moment (D), ``alpha`` isotropic
polarizability (bohr^3), ``homo``, ``lumo``, ``gap`` (eV), ``r2`` electronic spatial extent
(bohr^2), ``zpve`` (eV), ``U0``, ``U``, ``H``, ``G`` (eV), ``Cv`` (cal/mol K), ``A``, ``B``,
``C`` rotational constants (GHz). Hartree values are converted with 1 Ha = 27.211386 eV.

Splits: ``"anderson"`` (Cormorant, used by EGNN): 100,000 train, 10% of all molecules
(13,083) test, the rest (17,748) validation, by a seeded permutation; ``"schnet"``: 110,000
train, 10,000 validation, the rest (10,831) test.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .cache import cached_arrays
from .graphs import INSTALL, data_class

#: bump when the conversion changes
VERSION = 1

HARTREE_EV = 27.211386245988

#: target name -> (CSV column, factor to the unit here, unit)
TARGETS: dict[str, tuple[str, float, str]] = {
    "mu": ("Dipole_debye", 1.0, "D"),
    "alpha": ("Polarizability_bohr3", 1.0, "bohr^3"),
    "homo": ("HOMO_au", HARTREE_EV, "eV"),
    "lumo": ("LUMO_au", HARTREE_EV, "eV"),
    "gap": ("HOMO_LUMO_gap_au", HARTREE_EV, "eV"),
    "r2": ("R2_bohr2", 1.0, "bohr^2"),
    "zpve": ("ZPVE_au", HARTREE_EV, "eV"),
    "U0": ("InternalEnergy_0K_au", HARTREE_EV, "eV"),
    "U": ("InternalEnergy_298K_au", HARTREE_EV, "eV"),
    "H": ("Enthalphy_298K_au", HARTREE_EV, "eV"),
    "G": ("GibbsFreeEnergy_298K_au", HARTREE_EV, "eV"),
    "Cv": ("Heatcapacity_Cv_cal_mol_K", 1.0, "cal/mol K"),
    "A": ("RotA_GHz", 1.0, "GHz"),
    "B": ("RotB_GHz", 1.0, "GHz"),
    "C": ("RotC_GHz", 1.0, "GHz"),
}

#: atomic numbers of the elements in QM9, in the order of the one-hot node features
ELEMENTS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
ATOM_TYPES = tuple(ELEMENTS.values())

MOLECULES = 130_831
SPLITS = {"anderson": (100_000, None, MOLECULES // 10), "schnet": (110_000, 10_000, None)}


class QM9FormatError(ValueError):
    """A QM9 CSV row that cannot be read (names the file and row)."""


def packaged_files() -> list[Path]:
    """The CSV files of the installed ``qm9pack`` wheel."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"QM9 needs the qm9pack wheel: {INSTALL}")
    # the package folder from its import spec: importing qm9pack itself fails without
    # pkg_resources (its loader needs it), and importlib.resources would import it
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    files = [folder / f"qm9_part{k}.csv" for k in (1, 2, 3)]
    absent = [str(f) for f in files if not f.is_file()]
    if absent:
        raise FileNotFoundError(f"the qm9pack wheel lacks {absent}; reinstall it: {INSTALL}")
    return files


def _numbers(text: str) -> np.ndarray:
    flat = text.replace("*^", "e").replace("[", " ").replace("]", " ").replace(",", " ")
    return np.array(flat.split(), dtype=np.float64)


def read_csv(paths: Iterable[str | Path]) -> dict[str, np.ndarray]:
    """Parse QM9 CSV files (qm9pack's layout) into flat arrays.

    Returns
    -------
    dict
        ``index (M,)`` QM9 ids, ``z (A,)`` atomic numbers of all atoms, ``pos (A, 3)``,
        ``ptr (M + 1,)`` atom offsets per molecule, ``targets (M, len(TARGETS))`` in the units
        of :data:`TARGETS`.
    """
    csv.field_size_limit(sys.maxsize)
    index, z, pos, ptr, targets = [], [], [], [0], []
    for path in paths:
        with open(path, newline="") as f:
            rows = csv.DictReader(f)
            missing = {"Index", "N_atoms", "Elements", "XYZ_Ang"} | {
                col for col, _, _ in TARGETS.values()
            }
            missing -= set(rows.fieldnames or ())
            if missing:
                raise QM9FormatError(f"{path}: missing columns {sorted(missing)}")
            for k, row in enumerate(rows, start=2):
                try:
                    elements = [e.strip(" '\"") for e in row["Elements"].strip("[]").split(",")]
                    atoms = np.array([ELEMENTS[e] for e in elements], dtype=np.int64)
                    xyz = _numbers(row["XYZ_Ang"]).reshape(-1, 3)
                    if len(atoms) != int(row["N_atoms"]) or xyz.shape[0] != len(atoms):
                        raise ValueError(
                            f"{row['N_atoms']} atoms, {len(atoms)} elements, {xyz.shape[0]} "
                            "coordinates"
                        )
                    values = [
                        float(row[col].replace("*^", "e")) * s for col, s, _ in TARGETS.values()
                    ]
                except (KeyError, ValueError) as err:
                    raise QM9FormatError(f"{path}, row {k}: {err}") from None
                index.append(int(row["Index"]))
                z.append(atoms)
                pos.append(xyz)
                ptr.append(ptr[-1] + len(atoms))
                targets.append(values)
    return {
        "index": np.array(index, dtype=np.int64),
        "z": np.concatenate(z) if z else np.zeros(0, np.int64),
        "pos": np.concatenate(pos) if pos else np.zeros((0, 3)),
        "ptr": np.array(ptr, dtype=np.int64),
        "targets": np.array(targets, dtype=np.float64).reshape(-1, len(TARGETS)),
    }


def qm9_arrays(paths: Sequence[str | Path] | None = None, cache: bool = True):
    """All molecules as flat arrays (see :func:`read_csv`), converted once and cached (the
    packaged files by default)."""
    if paths is not None:
        return read_csv(paths)
    files = packaged_files()
    if not cache:
        return read_csv(files)
    return cached_arrays("qm9", VERSION, 0, lambda: read_csv(files))


def split_indices(num: int, scheme: str = "anderson", seed: int = 0) -> dict[str, np.ndarray]:
    """Molecule positions of each split: a seeded permutation cut into train/val/test.

    For fewer molecules than the full set (test files), the sizes scale with ``num``."""
    if scheme not in SPLITS:
        raise ValueError(f"unknown split scheme {scheme!r}; choose from {', '.join(SPLITS)}")
    train, val, test = SPLITS[scheme]
    scale = num / MOLECULES
    n_train = round(train * scale)
    if val is None:
        n_test = round(test * scale)
        n_val = num - n_train - n_test
    else:
        n_val = round(val * scale)
        n_test = num - n_train - n_val
    order = np.random.default_rng(seed).permutation(num)
    return {
        "train": order[:n_train],
        "val": order[n_train : n_train + n_val],
        "test": order[n_train + n_val : n_train + n_val + n_test],
    }


@dataclass
class QM9Molecules:
    """Molecules as flat arrays, and ``Data`` objects on demand (``len``, indexing)."""

    arrays: dict[str, np.ndarray]
    rows: np.ndarray
    targets: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        """One molecule as ``Data``: ``z (n,)``, ``pos (n, 3)``, ``x (n, 6)`` (one-hot H C N O
        F and the atomic number / 9), ``y (1, len(targets))``, ``idx`` the QM9 id."""
        Data = data_class()
        m = int(self.rows[i])
        lo, hi = int(self.arrays["ptr"][m]), int(self.arrays["ptr"][m + 1])
        z = torch.from_numpy(self.arrays["z"][lo:hi])
        onehot = (z.unsqueeze(-1) == torch.tensor(ATOM_TYPES)).float()
        columns = [list(TARGETS).index(t) for t in self.targets]
        y = torch.from_numpy(self.arrays["targets"][m, columns]).float().unsqueeze(0)
        return Data(
            z=z,
            pos=torch.from_numpy(self.arrays["pos"][lo:hi]).float(),
            x=torch.cat([onehot, z.unsqueeze(-1).float() / 9.0], -1),
            y=y,
            idx=int(self.arrays["index"][m]),
        )

    def units(self) -> dict[str, str]:
        return {t: TARGETS[t][2] for t in self.targets}


def qm9(
    split: str = "train",
    targets: Sequence[str] | None = None,
    scheme: str = "anderson",
    seed: int = 0,
    paths: Sequence[str | Path] | None = None,
    cache: bool = True,
) -> QM9Molecules:
    """One split of QM9.

    Parameters
    ----------
    split : str
        ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
    targets : sequence of str, optional
        Names from :data:`TARGETS` (all by default), the columns of ``y``.
    scheme : str
        ``"anderson"`` (EGNN's) or ``"schnet"``.
    seed : int
        Seed of the split permutation.
    paths : sequence of path, optional
        CSV files in qm9pack's layout instead of the installed wheel (tests use small ones).
    cache : bool

    Returns
    -------
    QM9Molecules
        Indexable; each item a torch_geometric ``Data``.
    """
    names = tuple(TARGETS) if targets is None else tuple(targets)
    unknown = [t for t in names if t not in TARGETS]
    if unknown:
        raise ValueError(f"unknown QM9 targets {unknown}; choose from {', '.join(TARGETS)}")
    arrays = qm9_arrays(paths, cache)
    m = len(arrays["index"])
    if split == "all":
        rows = np.arange(m)
    else:
        parts = split_indices(m, scheme, seed)
        if split not in parts:
            raise ValueError(f"unknown split {split!r}; choose from train, val, test, all")
        rows = parts[split]
    return QM9Molecules(arrays, rows, names)
