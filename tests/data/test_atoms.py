"""Atomic structures: the EMT generator (seeded, cached, energies and forces that are EMT's),
padding, QM9 energies from a small file, least-squares reference energies."""

import numpy as np
import pytest
import torch

from erlangen.data.atoms import Structures, emt_copper, qm9_energies, reference_energies

ase = pytest.importorskip("ase")


def test_emt_structures_are_seeded_cached_and_emt():
    from ase.calculators.emt import EMT

    a = emt_copper("train", 10, seed=3)
    again = emt_copper("train", 10, seed=3)  # from the cache
    fresh = emt_copper("train", 10, seed=3, cache=False)
    other = emt_copper("test", 10, seed=3)
    for k in Structures.FIELDS:
        assert np.array_equal(getattr(a, k), getattr(again, k))
        assert np.allclose(getattr(a, k), getattr(fresh, k))
    assert not np.allclose(a.positions, other.positions)
    assert len(a) == 10 and a.numbers.shape == (10, 32) and set(np.unique(a.numbers)) <= {29, 79}
    assert a.pbc.all()
    for k in (0, 9):  # one rattled, one from dynamics
        atoms = ase.Atoms(numbers=a.numbers[k], positions=a.positions[k], cell=a.cells[k], pbc=True)
        atoms.calc = EMT()
        assert atoms.get_potential_energy() == pytest.approx(a.energy[k], abs=1e-10)
        assert np.allclose(atoms.get_forces(), a.forces[k], atol=1e-10)
    with pytest.raises(ValueError, match="split must be one of"):
        emt_copper("val", 2)


def test_structures_check_shapes_and_give_tensors():
    s = emt_copper("train", 4, seed=0)
    numbers, pos, cells, pbc, energy, forces = s.tensors()
    assert forces.shape == (4, 32, 3) and forces.dtype == torch.float32
    assert numbers.dtype == torch.long and energy.dtype == torch.float64
    assert pos.shape == (4, 32, 3) and cells.shape == (4, 3, 3) and pbc.dtype == torch.bool
    assert len(s.subset(slice(1, 3))) == 2 and list(s.natoms) == [32] * 4
    with pytest.raises(ValueError, match=r"Structures.energy must be \(4,\)"):
        Structures(**{**s.arrays(), "energy": np.zeros(3)})


def test_qm9_energies_are_padded_molecules(tmp_path):
    from .test_qm9 import molecule, write

    methane = molecule(1, "CHHHH", [("0.", "0.", "0.")] + [("1.", "0.1", "0.")] * 4, -40.5)
    water = molecule(3, "OHH", [("0.", "0.", "0.1"), ("0.9", "0.", "0."), ("0", "0.9", "0.")])
    files = [write(tmp_path / "a.csv", [methane, water] * 10)]
    data = qm9_energies("train", paths=files)
    assert data.numbers.shape[1] == 5 and not data.pbc.any() and not data.forces.any()
    row = int(np.flatnonzero(data.natoms == 5)[0])
    assert data.energy[row] == pytest.approx(-40.5 * 27.211386245988)
    assert list(data.numbers[row]) == [6, 1, 1, 1, 1]
    water_row = int(np.flatnonzero(data.natoms == 3)[0])
    assert list(data.numbers[water_row]) == [8, 1, 1, 0, 0]


def test_reference_energies_solve_the_composition():
    numbers = np.array([[1, 1, 6, 0], [6, 6, 0, 0], [1, 8, 0, 0]])
    energy = (
        numbers.__eq__(1).sum(1) * -0.5
        + (numbers == 6).sum(1) * -37.0
        + (numbers == 8).sum(1) * -75.0
    )
    s = Structures(
        numbers=numbers,
        positions=np.zeros((3, 4, 3)),
        cells=np.zeros((3, 3, 3)),
        pbc=np.zeros((3, 3), bool),
        energy=energy.astype(float),
        forces=np.zeros((3, 4, 3)),
    )
    assert np.allclose(reference_energies(s, (1, 6, 8, 9)), [-0.5, -37.0, -75.0, 0.0])
