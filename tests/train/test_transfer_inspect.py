"""Knowledge transfer between runs (--transfer-from) and `erlangen inspect RUN_DIR`."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from erlangen.cli import app
from erlangen.grid import group_actions
from erlangen.train import TrainConfig, fit, load_run

runner = CliRunner()


def small_lgcnn(**changes) -> TrainConfig:
    base = dict(
        task="rotated-digits",
        model="lgcnn",
        model_options={"channels": 3, "init": "random"},
        train_size=40,
        epochs=1,
        batch_size=20,
    )
    base.update(changes)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return fit(small_lgcnn(seed=1), out=out, progress=False, evaluate=False).run_dir


def test_transfer_copies_and_freezes_the_actions(source_run, tmp_path):
    result = fit(
        small_lgcnn(seed=2, transfer_from=str(source_run)),
        out=tmp_path,
        progress=False,
        evaluate=False,
    )
    _, _, source = load_run(source_run)
    before = group_actions(source)
    after = group_actions(result.model)
    assert before.keys() == after.keys() and before
    for name in before:  # trained one epoch on a new seed, yet the actions did not move
        assert torch.allclose(before[name], after[name], atol=1e-6), name
    record = json.loads((result.run_dir / "config.json").read_text())
    assert record["config"]["transfer_from"] == str(source_run)
    assert sorted(record["transferred_group_actions"]) == sorted(before)


def test_transfer_needs_a_model_that_can_receive_one(source_run, tmp_path):
    with pytest.raises(ValueError, match="model 'p4cnn' cannot receive a transfer"):
        fit(
            small_lgcnn(model="p4cnn", model_options={}, transfer_from=str(source_run)),
            out=tmp_path,
            progress=False,
            evaluate=False,
        )


def test_inspect_writes_figures_and_a_summary(source_run, tmp_path):
    out = tmp_path / "inspect"
    result = runner.invoke(app, ["inspect", str(source_run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "closest" in result.output
    assert (out / "summary.txt").is_file() and (out / "summary.json").is_file()
    assert len(list(out.glob("*.png"))) >= 4


def test_inspect_refuses_models_without_learned_layers(tmp_path):
    run = fit(
        small_lgcnn(model="p4cnn", model_options={"channels": 3}),
        out=tmp_path,
        progress=False,
        evaluate=False,
    ).run_dir
    result = runner.invoke(app, ["inspect", str(run)])
    assert result.exit_code == 2 and "no learned-group layers" in " ".join(result.output.split())
    missing = runner.invoke(app, ["inspect", str(tmp_path / "nope")])
    assert missing.exit_code == 2
