"""scripts/lgn_experiments.py: the experiment definitions and the All-CNN table report (no
training here; the runs themselves are in docs/learned_groups.md)."""

import importlib.util
import json
import shlex
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "lgn_experiments.py"


@pytest.fixture(scope="module")
def lgn():
    threads = torch.get_num_threads()
    spec = importlib.util.spec_from_file_location("lgn_experiments", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    torch.set_num_threads(threads)  # the script pins one thread for its own runs
    return module


def _sweep(folder: Path, task: str, rows: list[tuple[str, float, str]]) -> None:
    folder.mkdir(parents=True)
    runs = [
        {"model": m, "test_accuracy": acc, "params": 1000 + i, "status": status}
        for i, (m, acc, status) in enumerate(rows)
    ]
    (folder / "results.json").write_text(json.dumps({"task": task, "runs": runs}))


def test_table_report_means_over_seeds_and_skips_failed_runs(lgn, tmp_path):
    _sweep(
        tmp_path / "sweep-digits-1",
        "digits",
        [
            ("allcnnc", 0.90, "finished"),
            ("allcnnc", 0.94, "finished"),
            ("p4-allcnnc", 0.5, "failed"),
        ],
    )
    _sweep(tmp_path / "sweep-rotated-digits-1", "rotated-digits", [("p4-allcnnc", 0.8, "finished")])
    text = lgn.table_report(tmp_path)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines()}
    assert "92.00 +- 2.00" in rows["allcnnc"]
    # the failed run is not counted: p4-allcnnc has no MNIST number, one rotMNIST number
    cells = [c.strip() for c in rows["p4-allcnnc"].strip("|").split("|")]
    assert cells[2:] == ["-", "80.00", "-", "not run"]
    assert "| talk: LGCNN | - | 99.27 | 93.75 | 91.46 | 79.03 |" in text
    assert (tmp_path / "table.md").read_text() == text


def test_transfer_runs_copy_from_a_run_of_the_other_data_set(lgn, tmp_path):
    for run in lgn.TRANSFER:
        if run.transfer_from is None:
            continue
        source = lgn._by_name("transfer", run.transfer_from)
        assert source.task != run.task
        # "same channels" copies an A per output channel, so both ends must hold one
        per_out = run.model_options()["location"] == "per_out"
        assert per_out == (source.model_options()["location"] == "per_out")
        words = shlex.split(run.command(0, tmp_path, tmp_path / "src"))
        assert words[words.index("--transfer-from") + 1] == str(tmp_path / "src")


def test_learned_runs_spell_out_every_ablated_option(lgn):
    for runs in lgn.EXPERIMENTS.values():
        for run in runs:
            if run.model == "lgcnn":
                assert set(lgn.LEARNED_BASE) <= set(run.model_options())
    assert lgn.NEW_BASE["init"] == "rotation" and lgn.NEW_BASE["action_lr_scale"] == 0.1
