"""The potential's MD-step benchmark builds and runs once (timings are not asserted); the
pair against nequip only where nequip is installed (.venv-bench)."""

import importlib.util

import numpy as np
import pytest

from erlangen import bench
from erlangen.bench import potential as bench_potential

pytest.importorskip("ase")


def test_copper_cells_and_our_side_run():
    atoms = bench_potential.copper(64)
    assert len(atoms) == 64 and atoms.pbc.all()
    forces = bench_potential.force_call(bench_potential.our_calculator(), atoms)()
    assert forces.shape == (64, 3) and np.isfinite(forces).all()
    # a crystal rattled about its lattice: the forces of the cell sum to zero
    assert np.abs(forces.sum(0)).max() < 1e-3 * np.abs(forces).max()
    with pytest.raises(ValueError, match="atoms must be one of"):
        bench_potential.copper(100)


def test_registered_exactly_where_nequip_is():
    bench.load_all()
    names = {n for n in bench.BENCHMARKS if n.startswith("o3-potential-md-")}
    found = importlib.util.find_spec("nequip") is not None
    assert names == ({f"o3-potential-md-{n}" for n in (64, 512, 4096)} if found else set())


def test_pair_against_nequip_runs():
    pytest.importorskip("nequip")
    import torch

    before = torch.get_default_dtype()
    pair = bench_potential.md_pair(64)
    assert torch.get_default_dtype() == before
    assert pair.ours().shape == (64, 3)
    (theirs,) = pair.references.values()
    assert theirs().shape == (64, 3) and torch.get_default_dtype() == before
