"""`erlangen train`, `erlangen evaluate` and `erlangen demo` from the command line."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from erlangen import registry
from erlangen.cli import app

HELPERS = Path(__file__).parent / "train" / "train_helpers.py"
sys.path.insert(0, str(HELPERS.parent))
import train_helpers  # noqa: E402

runner = CliRunner()


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ERLANGEN_CACHE", str(tmp_path_factory.getbasetemp() / "cli-cache"))


@pytest.fixture
def tiny(monkeypatch):
    entry = registry.Entry("test-tiny", "test", "tiny", train_helpers.tiny_cnn)
    monkeypatch.setitem(registry.MODELS, "test-tiny", entry)
    inv = registry.Entry("test-invariant", "test", "C4-invariant", train_helpers.invariant_cnn)
    monkeypatch.setitem(registry.MODELS, "test-invariant", inv)


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    return result, result.output + (result.stderr if result.stderr_bytes is not None else "")


def test_train_evaluate_and_resume(tmp_path):
    model = f"{HELPERS}:tiny_cnn"
    result, out = invoke(
        *"train digits-8x8 --epochs 1 --train-size 100 --seed 5 --lr 0.01 --augment".split(),
        *("--model", model, "--out", tmp_path, "--no-progress"),
    )
    assert result.exit_code == 0, out
    (run_dir,) = tmp_path.iterdir()
    config = json.loads((run_dir / "config.json").read_text())["config"]
    assert config["seed"] == 5 and config["lr"] == 0.01 and config["augment"] is True
    assert "test_accuracy" in out and str(run_dir) in out.replace("\n", "")

    result, out = invoke("evaluate", run_dir)
    assert result.exit_code == 0, out
    assert "rot90_rel_error" in out and (run_dir / "evaluation.json").is_file()

    result, out = invoke("train", "--resume", run_dir, "--no-progress")
    assert result.exit_code == 0, out  # already complete: nothing left to train
    result, out = invoke("train", "rotated-digits", "--resume", run_dir)
    assert result.exit_code == 2 and "is a run of task 'digits-8x8'" in out


def test_model_options_reach_the_factory(tmp_path):
    result, out = invoke(
        *"train digits-8x8 -o width=3 --epochs 1 --train-size 50 --no-progress".split(),
        *("--model", f"{HELPERS}:tiny_cnn", "--out", tmp_path),
    )
    assert result.exit_code == 0, out
    results = json.loads(next(tmp_path.iterdir()).joinpath("results.json").read_text())
    assert results["params"] == 3 * 9 + 3 + 2 * 3 + 3 * 16 * 10 + 10


def test_train_errors_are_clear(tmp_path):
    result, out = invoke("train", "digits-8x8", "--model", "no-such-model", "--out", tmp_path)
    assert result.exit_code == 2 and "unknown model 'no-such-model'; available:" in out
    result, out = invoke("train", "no-such-task", "--model", "x", "--out", tmp_path)
    assert result.exit_code == 2 and "unknown task 'no-such-task'; available:" in out
    result, out = invoke("train", "digits-8x8", "--out", tmp_path)
    assert result.exit_code == 2 and "--model" in out
    result, out = invoke("evaluate", tmp_path / "nothing")
    assert result.exit_code == 2 and "not an erlangen run folder" in out
    assert not any(tmp_path.iterdir())


def test_nan_exits_with_a_message(tmp_path):
    result, out = invoke(
        *"train digits-8x8 -o after=0 --epochs 2 --train-size 50 --no-progress".split(),
        *("--model", f"{HELPERS}:nan_cnn", "--out", tmp_path),
    )
    assert result.exit_code == 1 and "not finite" in out


def test_demo_refuses_unknown_models(tmp_path):
    result, out = invoke("demo", "--models", "z2cnn-nope,p4cnn", "--out", tmp_path)
    assert result.exit_code == 2
    assert "unknown model 'z2cnn-nope'; available:" in out
    assert not any(tmp_path.iterdir())


def test_demo_end_to_end_with_tiny_models(tiny, tmp_path):
    result, out = invoke(
        *"demo --models test-tiny,test-tiny+aug,test-invariant --sizes 20,40 --steps 2".split(),
        *("--out", tmp_path, "--device", "cpu"),
    )
    assert result.exit_code == 0, out
    (demo_dir,) = tmp_path.iterdir()
    assert demo_dir.name.startswith("demo-")
    outputs = "results.json results.csv report.md metrics_vs_size.png equivariance.png samples.png"
    for name in outputs.split():
        assert (demo_dir / name).is_file(), name
    doc = json.loads((demo_dir / "results.json").read_text())
    assert doc["complete"] and len(doc["runs"]) == 6
    rows = list(csv.DictReader((demo_dir / "results.csv").open()))
    first = [(r["model"], r["train_size"]) for r in rows[:3]]
    assert first == [("test-tiny", "20"), ("test-tiny+aug", "20"), ("test-invariant", "20")]
    by_model = {r["model"]: r for r in doc["runs"] if r["train_size"] == 40}
    assert by_model["test-invariant"]["rot90_rel_error"] < 1e-12
    assert by_model["test-tiny"]["rot90_rel_error"] > 1e-3
    # the same number of steps whatever the size: 20 digits = 1 batch of 32, 40 digits = 2
    steps = {(r["train_size"], r["epochs"], r["steps"]) for r in doc["runs"]}
    assert steps == {(20, 2, 2), (40, 1, 2)}
    for r in doc["runs"]:
        assert (demo_dir / r["run_dir"] / "checkpoints" / "last.ckpt").is_file()
    report = (demo_dir / "report.md").read_text()
    assert "| test-invariant | 40 |" in report and "metrics_vs_size.png" in report
    assert "test error" in out  # the table was printed
