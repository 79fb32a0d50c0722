"""QM9: parsing qm9pack's CSV layout (a small synthetic file), units, splits, Data objects;
the real wheel in a slow test."""

import csv
import importlib.util

import numpy as np
import pytest
import torch

from erlangen.data.qm9 import HARTREE_EV, TARGETS, QM9FormatError, qm9, read_csv, split_indices

HEADER = (
    "XYZ_file,Index,SMILES,InChi,N_atoms,Stoichiometry,Elements,XYZ_Ang,Mulliken_pop,"
    "Harmonic_Freq_cmi,RotA_GHz,RotB_GHz,RotC_GHz,Dipole_debye,Polarizability_bohr3,HOMO_au,"
    "LUMO_au,HOMO_LUMO_gap_au,R2_bohr2,ZPVE_au,InternalEnergy_0K_au,InternalEnergy_298K_au,"
    "Enthalphy_298K_au,GibbsFreeEnergy_298K_au,Heatcapacity_Cv_cal_mol_K"
).split(",")


def molecule(index, elements, xyz, energy=-40.0):
    row = dict.fromkeys(HEADER, "0.")
    row.update(
        XYZ_file=f"dsgdb9nsd_{index:06d}.xyz",
        Index=str(index),
        N_atoms=str(len(elements)),
        Elements="[" + ",".join(f"'{e}'" for e in elements) + "]",
        XYZ_Ang="[" + ",".join("[" + ",".join(c for c in p) + "]" for p in xyz) + "]",
        Dipole_debye="1.5",
        HOMO_au="-0.25",
        InternalEnergy_0K_au=str(energy),
    )
    return row


def write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, HEADER, quoting=csv.QUOTE_NONNUMERIC)
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path):
    methane = molecule(1, "CHHHH", [("0.", "0.", "0.")] + [("1.", "1*^-1", "0.")] * 4)
    water = molecule(3, "OHH", [("0.", "0.", "0.1"), ("0.9", "0.", "0."), ("-0.2", "0.9", "0.")])
    hcn = molecule(5, "CNH", [("0.", "0.", "1.")] * 3, energy=-93.4)
    fluor = molecule(7, "CF", [("0.", "0.", "0.")] * 2)
    return [write(tmp_path / "a.csv", [methane, water]), write(tmp_path / "b.csv", [hcn, fluor])]


def test_reads_the_layout_with_units_and_fortran_exponents(files):
    arrays = read_csv(files)
    assert arrays["index"].tolist() == [1, 3, 5, 7]
    assert arrays["ptr"].tolist() == [0, 5, 8, 11, 13]
    assert arrays["z"][:5].tolist() == [6, 1, 1, 1, 1] and arrays["z"][-1] == 9
    np.testing.assert_allclose(arrays["pos"][1], [1.0, 0.1, 0.0])  # "1*^-1"
    names = list(TARGETS)
    np.testing.assert_allclose(arrays["targets"][0, names.index("mu")], 1.5)
    np.testing.assert_allclose(arrays["targets"][0, names.index("homo")], -0.25 * HARTREE_EV)
    np.testing.assert_allclose(arrays["targets"][2, names.index("U0")], -93.4 * HARTREE_EV)


def test_bad_rows_name_the_file_and_row(tmp_path):
    bad = molecule(2, "CX", [("0.", "0.", "0.")] * 2)
    with pytest.raises(QM9FormatError, match=r"bad\.csv, row 2: 'X'"):
        read_csv([write(tmp_path / "bad.csv", [bad])])
    short = molecule(2, "CH", [("0.", "0.", "0.")])
    with pytest.raises(QM9FormatError, match="2 atoms, 2 elements, 1 coordinates"):
        read_csv([write(tmp_path / "short.csv", [short])])
    (tmp_path / "cols.csv").write_text("Index,N_atoms\n1,1\n")
    with pytest.raises(QM9FormatError, match="missing columns"):
        read_csv([tmp_path / "cols.csv"])


def test_splits_have_the_published_sizes_and_do_not_overlap():
    parts = split_indices(130_831, "anderson")
    assert [len(parts[k]) for k in ("train", "val", "test")] == [100_000, 17_748, 13_083]
    parts = split_indices(130_831, "schnet")
    assert [len(parts[k]) for k in ("train", "val", "test")] == [110_000, 10_000, 10_831]
    joined = np.concatenate(list(parts.values()))
    assert len(np.unique(joined)) == 130_831
    assert not np.array_equal(split_indices(100, seed=1)["train"], split_indices(100)["train"])
    with pytest.raises(ValueError, match="unknown split scheme"):
        split_indices(10, "random")


def test_molecules_as_data(files):
    pytest.importorskip("torch_geometric")
    mols = qm9("all", targets=["mu", "U0"], paths=files)
    assert len(mols) == 4 and mols.units() == {"mu": "D", "U0": "eV"}
    water = mols[1]
    assert water.z.tolist() == [8, 1, 1] and water.pos.shape == (3, 3)
    assert water.x.shape == (3, 6) and water.x[0, 3] == 1.0  # one-hot O
    torch.testing.assert_close(water.y, torch.tensor([[1.5, -40.0 * HARTREE_EV]]))
    assert water.idx == 3
    from erlangen.data.graphs import loader

    batch = next(iter(loader([mols[i] for i in range(4)], batch_size=4)))
    assert batch.num_graphs == 4 and batch.y.shape == (4, 2) and batch.batch.shape == (13,)
    with pytest.raises(ValueError, match="unknown QM9 targets"):
        qm9(targets=["energy"], paths=files)


def test_missing_wheel_names_the_extra(monkeypatch):
    import erlangen.data.qm9 as module

    monkeypatch.setattr(module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install 'erlangen\[graph\]'"):
        module.packaged_files()


@pytest.mark.slow
def test_the_real_data():
    if importlib.util.find_spec("qm9pack") is None:  # importing it needs pkg_resources
        pytest.skip("the qm9pack wheel is not installed")
    pytest.importorskip("torch_geometric")
    train = qm9("train")
    assert len(train.arrays["index"]) == 130_831 and len(train) == 100_000
    assert set(np.unique(train.arrays["z"]).tolist()) == {1, 6, 7, 8, 9}
    sizes = np.diff(train.arrays["ptr"])
    assert sizes.min() == 3 and sizes.max() == 29
    methane = qm9("all", targets=["U0"])[0]
    assert methane.idx == 1 and methane.z.tolist() == [6, 1, 1, 1, 1]
    torch.testing.assert_close(methane.y, torch.tensor([[-40.47893 * HARTREE_EV]]))
