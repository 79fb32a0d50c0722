"""The potential tasks: the loss strips the padding and weighs energies and forces, a run
trains and is measured, ``Calculator.from_run`` gives the model ``load_run`` gives, and
``erlangen md`` runs NVE with it and reports the drift."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from erlangen.tasks import EMT_COPPER, QM9_ENERGY, TASKS, PotentialTask, Recipe
from erlangen.tasks.potential import flatten

ase = pytest.importorskip("ase")

TINY_SIZES = {"channels": 4, "lmax": 1, "layers": 2, "radial_hidden": [8], "num_basis": 4}


@pytest.fixture
def tiny_emt(monkeypatch) -> PotentialTask:
    """emt-copper with 8 training and 4 test structures and a tiny model, as ``test-emt``."""
    task = dataclasses.replace(
        EMT_COPPER,
        name="test-emt",
        train_pool=8,
        test_samples=4,
        sizes=TINY_SIZES,
        recipe=Recipe(steps=3, batch_size=2, lr=1e-3, optimizer="adam"),
        equivariance_samples=2,
    )
    monkeypatch.setitem(TASKS, task.name, task)
    return task


def test_tasks_are_registered_with_their_metrics():
    assert {"emt-copper", "qm9-energy"} <= set(TASKS)
    assert EMT_COPPER.force_weight > 0 and QM9_ENERGY.force_weight == 0
    assert [c.key for c in EMT_COPPER.columns][:2] == ["energy_mae_mev_atom", "force_mae_mev_a"]


def test_flatten_strips_the_padding():
    numbers = torch.tensor([[29, 79, 0], [29, 0, 0]])
    pos = torch.arange(18.0).view(2, 3, 3)
    forces = -pos
    batch = (numbers, pos, torch.eye(3).expand(2, 3, 3), torch.ones(2, 3, dtype=torch.bool))
    flat = flatten((*batch, torch.tensor([1.0, 2.0]), forces), torch.float64, "cpu")
    assert flat["numbers"].tolist() == [29, 79, 29]
    assert flat["batch"].tolist() == [0, 0, 1] and flat["natoms"].tolist() == [2, 1]
    assert torch.equal(flat["pos"], pos[[0, 0, 1], [0, 1, 0]].double())
    assert torch.equal(flat["forces"], -flat["pos"]) and flat["pos"].dtype == torch.float64


def test_options_describe_the_model_and_statistics_fit_the_data(tiny_emt):
    options = tiny_emt.model_options("potential")
    assert options["species"] == [29, 79] and options["r_max"] == tiny_emt.r_max
    assert options["channels"] == 4 and tiny_emt.model_kwargs() == {}
    data = tiny_emt.load(0).train
    counts = np.stack([(data.numbers == z).sum(1) for z in (29, 79)], 1)
    residual = data.energy - counts @ np.array(options["atomic_energies"])
    # the shifts are the least-squares fit: the residual is orthogonal to the composition
    assert np.abs(counts.T @ residual).max() < 1e-4 * np.abs(counts.T @ data.energy).max()
    assert options["energy_scale"] == pytest.approx(
        np.sqrt(np.mean(data.forces[data.numbers > 0] ** 2)), rel=1e-4
    )
    assert 10 < options["avg_num_neighbors"] < 60


def test_loss_weighs_energies_and_forces(tiny_emt):
    from erlangen.o3 import Potential

    torch.manual_seed(0)
    model = Potential(**tiny_emt.model_options("potential"))
    batch = tiny_emt.load(0).train_subset(2)
    both, logged = tiny_emt.loss(model, batch)
    energy_only, _ = dataclasses.replace(tiny_emt, force_weight=0.0).loss(model, batch)
    forces_only, _ = dataclasses.replace(tiny_emt, energy_weight=0.0).loss(model, batch)
    assert both.item() == pytest.approx(energy_only.item() + forces_only.item(), rel=1e-5)
    assert {"e_mae", "f_mae"} <= set(logged) and forces_only.item() > 0
    both.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    with pytest.raises(ValueError, match="no augmentation"):
        tiny_emt.loss(model, batch, augment=True)


def test_a_run_trains_and_loads_as_a_calculator_that_runs_md(tiny_emt, tmp_path):
    from erlangen.o3 import Calculator
    from erlangen.tasks.dynamics import run_md
    from erlangen.train import TrainConfig, fit, load_run

    result = fit(TrainConfig(task="test-emt", model="potential"), out=tmp_path, progress=False)
    metrics = result.metrics
    for key in ("energy_mae_mev_atom", "force_mae_mev_a", "e3_rel_error"):
        assert np.isfinite(metrics[key])
    assert metrics["e3_rel_error"] < 1e-10 and metrics["test_samples"] == 4

    calc = Calculator.from_run(result.run_dir, device="cpu")
    _, _, model = load_run(result.run_dir)
    reference = {k: v.double() for k, v in model.state_dict().items()}
    assert reference.keys() == calc.model.state_dict().keys()
    assert all(torch.equal(v, reference[k]) for k, v in calc.model.state_dict().items())

    summary = run_md(result.run_dir, repeat=1, steps=20, interval=2, out=tmp_path / "md")
    assert summary["atoms"] == 4 and np.isfinite(summary["drift_mev_atom_ps"])
    record = json.loads((tmp_path / "md" / "md.json").read_text())
    total = np.array(record["series"]["total"])
    assert len(total) == 11  # steps 0, 2, ..., 20
    # float64 velocity Verlet with exact forces: the total energy is nearly constant
    assert np.ptp(total) < 0.05 * np.ptp(record["series"]["potential"]) + 1e-6
    assert (tmp_path / "md" / "md.png").stat().st_size > 1000

    import ase.io
    from ase.build import bulk

    from erlangen.cli import app

    structure = tmp_path / "cuau.extxyz"
    cell = bulk("Cu", "fcc", a=3.7, cubic=True)
    cell.numbers[0] = 79
    ase.io.write(structure, cell)
    out = tmp_path / "md-cli"
    cli = CliRunner().invoke(
        app,
        [
            "md",
            str(result.run_dir),
            "--structure",
            str(structure),
            "--steps",
            "4",
            "--out",
            str(out),
        ],
    )
    assert cli.exit_code == 0, cli.output
    assert "drift_mev_atom_ps" in cli.output
    written = json.loads((out / "md.json").read_text())
    assert written["structure"] == str(structure) and written["atoms"] == 4
    missing = CliRunner().invoke(app, ["md", str(result.run_dir), "--structure", "nowhere.xyz"])
    assert missing.exit_code == 2 and "no structure file at nowhere.xyz" in missing.output


def test_from_run_refuses_what_is_not_a_finished_potential_run(tmp_path):
    from erlangen.o3 import Calculator

    with pytest.raises(FileNotFoundError, match=r"not a finished run folder: no config\.json"):
        Calculator.from_run(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    torch.save({"state_dict": {}}, tmp_path / "checkpoints" / "last.ckpt")
    config = {"config": {"model": "egnn", "model_options": {}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="not an interatomic potential"):
        Calculator.from_run(tmp_path)
    config = {"config": {"model": "potential", "model_options": {"species": [29]}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="does not fit 'potential'"):
        Calculator.from_run(tmp_path)
