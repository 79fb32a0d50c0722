"""The ASE calculator of a potential: the same numbers as the model, a relaxation, a short NVE
run, CUDA when there is one, and the message when ASE is missing."""

import importlib.util

import numpy as np
import pytest
import torch

import erlangen.o3
from erlangen.o3 import Potential

ase = pytest.importorskip("ase")
from ase.build import bulk  # noqa: E402
from ase.md.verlet import VelocityVerlet  # noqa: E402
from ase.optimize import BFGS  # noqa: E402

from erlangen.o3 import Calculator  # noqa: E402


def copper(repeat=2, seed=0):
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(repeat)
    atoms.rattle(0.05, seed=seed)
    return atoms


def model():
    torch.manual_seed(0)
    return Potential(species=(29, 79), r_max=3.2, channels=4, lmax=1, layers=2)


def test_calculator_gives_the_models_numbers():
    atoms = copper()
    atoms.numbers[3] = 79
    net = model()
    atoms.calc = Calculator(net, device="cpu")
    out = net.compute(
        net.species_index(torch.tensor(atoms.numbers)),
        torch.tensor(atoms.positions),
        cell=torch.tensor(np.asarray(atoms.cell)),
        pbc=True,
        stress=True,
    )
    assert atoms.get_potential_energy() == pytest.approx(float(out["energy"][0]), abs=1e-12)
    assert np.allclose(atoms.get_forces(), out["forces"].numpy(), atol=1e-12)
    s = out["stress"][0].numpy()
    voigt = [s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]]
    assert np.allclose(atoms.get_stress(), voigt, atol=1e-12)
    assert atoms.get_potential_energies().sum() == pytest.approx(atoms.get_potential_energy())


def test_relaxation_lowers_energy_and_forces():
    atoms = copper(repeat=1)
    atoms.calc = Calculator(model())
    e0, f0 = atoms.get_potential_energy(), np.abs(atoms.get_forces()).max()
    assert BFGS(atoms, logfile=None).run(fmax=1e-4, steps=150)  # converged
    assert atoms.get_potential_energy() < e0
    assert np.abs(atoms.get_forces()).max() < min(1e-4, f0)


def test_molecules_without_a_cell_and_unknown_elements():
    atoms = ase.Atoms("Cu2Au", positions=[[0, 0, 0], [2.4, 0, 0], [0, 2.5, 0.3]])
    atoms.calc = Calculator(model())
    assert atoms.get_forces().shape == (3, 3)
    assert abs(atoms.get_forces().sum(0)).max() < 1e-10
    with pytest.raises(ase.calculators.calculator.PropertyNotImplementedError):
        atoms.get_stress()
    atoms.numbers[0] = 1
    with pytest.raises(ValueError, match=r"knows atomic numbers \[29, 79\], got \[1\]"):
        atoms.get_potential_energy()
    with pytest.raises(TypeError, match=r"needs an erlangen\.o3\.Potential"):
        Calculator(torch.nn.Linear(2, 2))


def test_nve_conserves_energy_over_a_short_run():
    from ase import units

    atoms = copper()
    atoms.calc = Calculator(model())
    rng = np.random.default_rng(0)  # about 300 K
    atoms.set_velocities(rng.normal(0.0, 0.02, size=(len(atoms), 3)))
    total = []
    dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    dyn.attach(lambda: total.append(atoms.get_total_energy()), interval=1)
    dyn.run(20)
    assert np.ptp(total) < 1e-3 * len(atoms)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_gives_the_cpu_numbers():
    atoms = copper()
    atoms.calc = Calculator(model(), device="cpu")
    f_cpu = atoms.get_forces()
    gpu = copper()
    gpu.calc = Calculator(model(), device="cuda")
    assert np.allclose(gpu.get_forces(), f_cpu, atol=1e-10)


def test_cuda_refused_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    with pytest.raises(ValueError, match="CUDA is not available"):
        Calculator(model(), device="cuda")


def test_missing_ase_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ase" else real(name, *a)
    )
    with pytest.raises(ImportError, match=r"pip install 'erlangen\[atoms\]'"):
        erlangen.o3.__getattr__("Calculator")
