"""The QM9 task and the trainer's hook for tasks that batch their own samples
(``Task.train_loader``): torch_geometric batches through the generic trainer, exact steps,
bit-exact resume, the distributed code path, the fit check, the MAE in the target's units."""

from __future__ import annotations

import csv
import dataclasses

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from train_helpers import CrashAfterEpoch, SimulatedCrash

from erlangen.data.qm9 import HARTREE_EV, TARGETS
from erlangen.tasks import TASKS, get_task
from erlangen.tasks.qm9 import QM9Task, qm9_task
from erlangen.train import (
    TrainConfig,
    fit,
    load_checkpoint,
    resume,
    weights_digest,
)
from erlangen.train.batches import EpochBatchSampler, train_loader

pytest.importorskip("torch_geometric")

HEADER = (
    "XYZ_file,Index,SMILES,InChi,N_atoms,Stoichiometry,Elements,XYZ_Ang,Mulliken_pop,"
    "Harmonic_Freq_cmi,RotA_GHz,RotB_GHz,RotC_GHz,Dipole_debye,Polarizability_bohr3,HOMO_au,"
    "LUMO_au,HOMO_LUMO_gap_au,R2_bohr2,ZPVE_au,InternalEnergy_0K_au,InternalEnergy_298K_au,"
    "Enthalphy_298K_au,GibbsFreeEnergy_298K_au,Heatcapacity_Cv_cal_mol_K"
).split(",")

MOLECULES = 60


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory):
    """60 random molecules of 2-7 atoms in qm9pack's CSV layout; the gap grows with the
    number of atoms, so that a model can learn something in a few steps."""
    rng = np.random.default_rng(0)
    rows = []
    for k in range(MOLECULES):
        n = int(rng.integers(2, 8))
        elements = rng.choice(list("HCNOF"), n)
        xyz = rng.normal(scale=1.5, size=(n, 3))
        row = dict.fromkeys(HEADER, "0.")
        row.update(
            Index=str(k + 1),
            N_atoms=str(n),
            Elements="[" + ",".join(f"'{e}'" for e in elements) + "]",
            XYZ_Ang="[" + ",".join("[" + ",".join(f"{c:.6f}" for c in p) + "]" for p in xyz) + "]",
            HOMO_LUMO_gap_au=f"{0.1 + 0.02 * n + 0.01 * rng.normal():.6f}",
            HOMO_au=f"{-0.2 - 0.01 * n:.6f}",
        )
        rows.append(row)
    path = tmp_path_factory.mktemp("qm9") / "qm9_part1.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, HEADER, quoting=csv.QUOTE_NONNUMERIC)
        writer.writeheader()
        writer.writerows(rows)
    return (str(path),)


@pytest.fixture
def qm9_small(monkeypatch, csv_files):
    """The gap task on the small file, a tiny EGNN, 6 steps of batch 8 (train: 46 molecules);
    registered as ``test-qm9`` for the test."""
    base = TASKS["qm9"]
    task = dataclasses.replace(
        base,
        name="test-qm9",
        paths=csv_files,
        eval_batch_size=7,
        equivariance_samples=5,
        equivariance_elements=4,
        default_options={"egnn": {**base.default_options["egnn"], "hidden": 8, "layers": 2}},
        recipe=dataclasses.replace(base.recipe, steps=6, batch_size=8),
    )
    monkeypatch.setitem(TASKS, task.name, task)
    return task


def quiet_fit(task, **kw):
    cfg = TrainConfig(task=task.name, model="egnn", device="cpu", **kw.pop("config", {}))
    kw.setdefault("progress", False)
    return fit(cfg, **kw)


def test_tasks_by_target_and_split():
    assert isinstance(TASKS["qm9"], QM9Task) and TASKS["qm9"].target == "gap"
    homo = get_task("qm9-homo")
    assert (homo.name, homo.target, homo.scheme, homo.unit) == (
        "qm9-homo",
        "homo",
        "anderson",
        "eV",
    )
    assert get_task("qm9-mu-schnet").scheme == "schnet" and get_task("qm9-mu").unit == "D"
    assert get_task("qm9-alpha").unit == "bohr^3"
    for name in ("qm9-enthalpy", "qm9-", "qm9-gap-random"):
        with pytest.raises(KeyError, match=r"qm9-<target>\[-schnet\]"):
            get_task(name)
    with pytest.raises(ValueError, match="unknown QM9 target"):
        qm9_task("energy")
    r = TASKS["qm9"].recipe
    assert (r.optimizer, r.lr, r.batch_size, r.schedule) == ("adam", 5e-4, 96, "cosine")
    options = TASKS["qm9"].model_options("egnn")
    assert options["readout"] == "graph" and options["update_coords"] is False


def test_the_data_standardise_the_target(qm9_small):
    data = qm9_small.load(0)
    y = np.array([data.train[i].y.item() for i in range(len(data.train))])
    assert data.mean == pytest.approx(y.mean(), rel=1e-6)
    assert data.mad == pytest.approx(np.abs(y - y.mean()).mean(), rel=1e-5)
    assert len(data.train) + len(data.val) + len(data.test) == MOLECULES
    subset = data.train_subset(10)
    assert len(subset) == 10 and subset[3].idx == data.train[3].idx
    torch.testing.assert_close(subset[3].y_std, (subset[3].y - data.mean) / data.mad)
    assert len(data.train_subset(None)) == len(data.train)
    with pytest.raises(ValueError, match=r"train size must be in \[1, "):
        data.train_subset(10_000)
    # the gap is read in Hartree and given in eV
    assert 0.1 * HARTREE_EV < data.mean < 0.3 * HARTREE_EV


def test_the_task_batches_in_the_samplers_order(qm9_small):
    samples = qm9_small.load(0).train_subset(20)
    sampler = EpochBatchSampler(20, 8, seed=1, epoch_fn=lambda: 0)
    batches = list(train_loader(qm9_small, samples, sampler))
    assert [b.num_graphs for b in batches] == [7, 7, 6]
    order = torch.cat([b.idx for b in batches])
    expected = torch.tensor([samples[int(i)].idx for i in torch.cat(list(sampler))])
    assert torch.equal(order, expected) and len(set(order.tolist())) == 20


def test_training_through_the_generic_trainer(qm9_small, tmp_path):
    result = quiet_fit(qm9_small, out=tmp_path)
    m = result.metrics
    assert m["steps"] == 6 and m["train_samples"] == len(qm9_small.load(0).train)
    assert (m["target"], m["unit"]) == ("gap", "eV") and m["test_samples"] > 0
    assert m["e3_abs_error"] < 1e-9  # EGNN: invariant up to float64 rounding
    header = (result.run_dir / "logs" / "session0" / "metrics.csv").read_text().splitlines()[0]
    assert "train/loss" in header and "train/mae" in header
    # the MAE is that of the de-standardised predictions, in eV
    data = qm9_small.load(0)
    pred, true = [], []
    with torch.no_grad():
        for i in range(len(data.test)):
            mol = data.test[i]
            batch = next(iter(train_loader(qm9_small, [mol], [[0]])))
            pred.append(qm9_small.predict(result.model, batch).item() * data.mad + data.mean)
            true.append(mol.y.item())
    expected = np.abs(np.array(pred) - np.array(true)).mean()
    assert m["test_mae"] == pytest.approx(expected, rel=1e-5)


def test_resume_is_bit_exact_with_the_tasks_own_batches(qm9_small, tmp_path):
    config = {"steps": 12, "seed": 2, "train_size": 30}
    whole = quiet_fit(qm9_small, out=tmp_path, config=config, evaluate=False)
    run_dir = tmp_path / "interrupted"
    with pytest.raises(SimulatedCrash):
        quiet_fit(
            qm9_small,
            run_dir=run_dir,
            config=config,
            evaluate=False,
            callbacks=[CrashAfterEpoch(0)],
        )
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 4
    resumed = resume(run_dir, progress=False, evaluate=False)
    assert resumed.metrics["steps"] == 12
    assert weights_digest(resumed.model) == weights_digest(whole.model)


def test_the_distributed_code_path_with_the_tasks_own_batches(
    qm9_small, tmp_path, torchrun_world_of_one
):
    seen = {}

    class Spy(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            seen["strategy"] = type(trainer.strategy).__name__
            seen["batch"] = type(batch).__name__

    result = quiet_fit(qm9_small, out=tmp_path, evaluate=False, callbacks=[Spy()])
    assert seen == {"strategy": "DDPStrategy", "batch": "DataBatch"}
    assert result.metrics["steps"] == 6 and len(result.metrics["weight_digests"]) == 1


def test_a_model_that_does_not_fit_fails_before_any_folder(qm9_small, tmp_path):
    out = tmp_path / "runs"
    with pytest.raises(ValueError, match=r"does not fit task 'test-qm9': on a batch of its") as e:
        quiet_fit(qm9_small, out=out, config={"model_options": {"in_channels": 3}})
    assert "node features must be (num_nodes, 3), got (" in str(e.value)
    assert "\n" not in str(e.value) and not out.exists()
    with pytest.raises(ValueError, match=r"must return \(2, 1\), one number per molecule"):
        quiet_fit(qm9_small, out=out, config={"model_options": {"out_channels": 2}})


def test_targets_keep_their_units():
    for name, (_, _, unit) in TARGETS.items():
        assert get_task(f"qm9-{name}").unit == unit


def test_a_sweep_of_the_task(qm9_small, tmp_path):
    from erlangen.sweep import SweepPlan, run_sweep

    plan = SweepPlan(task=qm9_small.name, models=("egnn",), sizes=(10, 30), steps=2)
    result = run_sweep(plan, out=tmp_path, device="cpu", task=qm9_small)
    rows = result.rows
    assert [r["train_size"] for r in rows] == [10, 30]
    assert all(r["test_mae"] > 0 and r["unit"] == "eV" for r in rows)
    assert "MAE test (eV)" in (result.out_dir / "report.md").read_text()
