"""The interatomic potential: symmetry (float64 check and a broken variant), forces and stress
as derivatives of the energy (finite differences in float64), periodic cells, batching, and
one-line errors."""

import math

import pytest
import torch

from erlangen.groups import O3
from erlangen.o3 import Potential
from erlangen.o3.potential import SpeciesLinear
from erlangen.testing import assert_broken_fails, assert_honours_types

FCC_A = 3.61


def fcc_cell(a: float = FCC_A):
    """The conventional fcc cell (4 atoms)."""
    cell = a * torch.eye(3, dtype=torch.float64)
    frac = torch.tensor(
        [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]], dtype=torch.float64
    )
    return frac @ cell, cell


def small_model(**kw):
    torch.manual_seed(0)
    options = dict(species=(29, 79), r_max=3.2, channels=4, lmax=2, layers=2)
    options.update(kw)
    return Potential(**options).double().eval()


def rattled_crystal(seed=0, amplitude=0.15):
    pos, cell = fcc_cell()
    gen = torch.Generator().manual_seed(seed)
    pos = pos + amplitude * torch.randn(pos.shape, generator=gen, dtype=torch.float64)
    species = torch.tensor([0, 1, 0, 0])
    return species, pos, cell


def test_potential_honours_its_types():
    torch.manual_seed(0)
    model = Potential(species=(1, 6, 7, 8, 9), r_max=5.0, channels=4, lmax=2, layers=2)
    assert_honours_types(model)


class _AbsolutePositions(Potential):
    """Broken: adds a term of the absolute positions to the energy (not translation or
    rotation invariant)."""

    def compute(self, species, pos, *args, **kwargs):
        out = super().compute(species, pos, *args, **kwargs)
        out["energy"] = out["energy"] + 0.1 * pos[:, 0].sum()
        return out


class _SpeciesByIndex(Potential):
    """Broken: the species of atom ``k`` is read from its position in the list, not from its
    label (not permutation equivariant)."""

    def atomic_energy(self, species, vectors, edge_index):
        return super().atomic_energy(torch.arange(len(species)) % 2, vectors, edge_index)


@pytest.mark.parametrize("broken", [_AbsolutePositions, _SpeciesByIndex])
def test_broken_potentials_fail(broken):
    torch.manual_seed(0)
    assert_broken_fails(broken(species=(1, 6, 7, 8, 9), r_max=5.0, channels=4, layers=2))


def _energy(model, species, pos, cell=None, pbc=None):
    return float(model.compute(species, pos, cell=cell, pbc=pbc, forces=False)["energy"].sum())


@pytest.mark.parametrize("periodic", [False, True])
def test_forces_are_minus_the_gradient(periodic):
    """Central differences of the energy in float64 (step 1e-5: error ~1e-10) equal the
    forces, in open space and through periodic boundaries."""
    model = small_model()
    species, pos, cell = rattled_crystal()
    cell_arg, pbc = (cell, True) if periodic else (None, None)
    forces = model.compute(species, pos, cell=cell_arg, pbc=pbc)["forces"]
    h = 1e-5
    numeric = torch.zeros_like(pos)
    for i in range(pos.shape[0]):
        for d in range(3):
            plus, minus = pos.clone(), pos.clone()
            plus[i, d] += h
            minus[i, d] -= h
            e_plus = _energy(model, species, plus, cell_arg, pbc)
            e_minus = _energy(model, species, minus, cell_arg, pbc)
            numeric[i, d] = -(e_plus - e_minus) / (2 * h)
    assert forces.abs().max() > 1e-3  # a real test: the forces are not zero
    assert torch.allclose(forces, numeric, atol=1e-8, rtol=1e-6)
    if periodic:  # Newton's third law holds through the boundary too
        assert forces.sum(0).abs().max() < 1e-12


def test_stress_is_the_strain_derivative():
    model = small_model()
    species, pos, cell = rattled_crystal(1)
    stress = model.compute(species, pos, cell=cell, pbc=True, stress=True)["stress"][0]
    volume = float(torch.linalg.det(cell))
    h = 1e-5
    numeric = torch.zeros(3, 3, dtype=torch.float64)
    for a in range(3):
        for b in range(3):
            strain = torch.zeros(3, 3, dtype=torch.float64)
            strain[a, b] = strain[b, a] = h / 2 if a != b else h
            values = []
            for sign in (1, -1):
                deform = torch.eye(3, dtype=torch.float64) + sign * strain
                values.append(_energy(model, species, pos @ deform, cell @ deform, True))
            numeric[a, b] = (values[0] - values[1]) / (2 * h) / volume
    assert stress.abs().max() > 1e-4
    assert torch.allclose(stress, numeric, atol=1e-9, rtol=1e-6)


def test_periodic_energy_is_invariant_and_extensive():
    """Rotating cell and atoms together, translating, moving an atom by a lattice vector and
    doubling the cell in every direction (8x the energy) give what they should."""
    model = small_model()
    species, pos, cell = rattled_crystal(2)
    e0 = _energy(model, species, pos, cell, True)
    rotation = O3().sample(1, generator=torch.Generator().manual_seed(5), dtype=torch.float64)[0]
    assert math.isclose(
        _energy(model, species, pos @ rotation.T, cell @ rotation.T, True),
        e0,
        rel_tol=1e-12,
        abs_tol=1e-12,
    )
    assert math.isclose(_energy(model, species, pos + 0.37, cell, True), e0, rel_tol=1e-12)
    moved = pos.clone()
    moved[2] += cell[0] - 2 * cell[1]
    assert math.isclose(_energy(model, species, moved, cell, True), e0, rel_tol=1e-12)
    offsets = torch.tensor(
        [[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=torch.float64
    )
    big_pos = (pos[None] + (offsets @ cell)[:, None]).reshape(-1, 3)
    big = _energy(model, species.repeat(8), big_pos, 2 * cell, True)
    assert math.isclose(big, 8 * e0, rel_tol=1e-10)


def test_a_batch_equals_its_structures():
    model = small_model()
    s1, p1, c1 = rattled_crystal(3)
    s2, p2, _ = rattled_crystal(4)
    c2 = 1.02 * c1
    out = model.compute(
        torch.cat([s1, s2]),
        torch.cat([p1, p2]),
        batch=torch.tensor([0] * 4 + [1] * 4),
        cell=torch.stack([c1, c2]),
        pbc=True,
        stress=True,
    )
    for k, (s, p, c) in enumerate([(s1, p1, c1), (s2, p2, c2)]):
        alone = model.compute(s, p, cell=c, pbc=True, stress=True)
        assert torch.allclose(out["energy"][k], alone["energy"][0], atol=1e-12)
        assert torch.allclose(out["forces"][4 * k : 4 * k + 4], alone["forces"], atol=1e-12)
        assert torch.allclose(out["stress"][k], alone["stress"][0], atol=1e-12)


def test_isolated_atoms_have_their_species_energy():
    model = small_model(atomic_energies=(-1.5, -3.0), energy_scale=2.0)
    far = torch.tensor([[0.0, 0, 0], [10.0, 0, 0]], dtype=torch.float64)
    out = model.compute(torch.tensor([0, 1]), far)
    # no neighbours: the read-out of the embedding alone, plus the shifts
    assert out["forces"].abs().max() == 0
    empty = model.compute(torch.zeros(0, dtype=torch.long), torch.zeros(0, 3, dtype=torch.float64))
    assert empty["energy"].shape == (1,) and float(empty["energy"][0]) == 0.0
    assert empty["forces"].shape == (0, 3)


def test_training_mode_keeps_the_graph_of_the_forces():
    model = small_model().train()
    species, pos, cell = rattled_crystal()
    out = model.compute(species, pos, cell=cell, pbc=True)
    out["forces"].square().sum().backward()  # second derivatives, to train on forces
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().max()) > 0 for g in grads)


def test_species_linear_picks_each_rows_map():
    torch.manual_seed(0)
    layer = SpeciesLinear("3x0e + 2x1o", "2x0e + 2x1o", 3).double()
    x = torch.randn(6, 9, dtype=torch.float64)
    species = torch.tensor([0, 1, 2, 2, 1, 0])
    y = layer(x, species)
    for i in range(6):
        assert torch.allclose(y[i : i + 1], layer(x[i : i + 1], species[i : i + 1]))
    same = layer(x, torch.zeros(6, dtype=torch.long))
    assert not torch.allclose(y, same)


def test_bad_inputs_are_named_in_one_line():
    model = small_model()
    pos = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"species indices must lie in \[0, 2\)"):
        model(torch.tensor([0, 5]), pos)
    with pytest.raises(ValueError, match=r"pos must be \(2, 3\)"):
        model(torch.tensor([0, 1]), torch.zeros(3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="float64 weights on cpu but pos is float32"):
        model(torch.tensor([0, 1]), pos.float())
    with pytest.raises(ValueError, match="stress needs the cell"):
        model.compute(torch.tensor([0, 1]), pos, stress=True)
    with pytest.raises(ValueError, match=r"knows atomic numbers \[29, 79\], got \[1\]"):
        model.species_index(torch.tensor([29, 1]))
    with pytest.raises(ValueError, match="atomic_energies needs one value per species"):
        Potential(species=(1, 6), atomic_energies=(0.0,))
    with pytest.raises(ValueError, match="radial must be one of"):
        Potential(radial="table")
    with pytest.raises(ValueError, match="distinct atomic numbers"):
        Potential(species=(1, 1))


def test_spline_radial_functions_work_too():
    model = small_model(radial="spline")
    species, pos, cell = rattled_crystal()
    out = model.compute(species, pos, cell=cell, pbc=True)
    assert out["forces"].shape == (4, 3) and torch.isfinite(out["energy"]).all()
