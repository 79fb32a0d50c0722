"""Sample-efficiency sweeps (erlangen.sweep, `erlangen sweep`) and `erlangen train/evaluate`
on the n-body task, at tiny sizes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from train_helpers import tiny_nbody_task
from typer.testing import CliRunner

from erlangen.cli import app
from erlangen.sweep import (
    Contender,
    SweepPlan,
    check_plan,
    markdown_table,
    run_sweep,
    run_with_progress,
    summarize,
)
from erlangen.tasks import get_task

runner = CliRunner()
HELPERS_FILE = str(Path(__file__).parent / "train_helpers.py")


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result, result.output + (result.stderr if result.stderr_bytes is not None else "")


def test_plan_defaults_short_names_and_options(nbody_task):
    plan = SweepPlan(
        task="test-nbody",
        models=("mlp", "gatr"),
        model_options={"*": {"a": 1}, "gatr": {"b": 2}, "mlp-nbody": {"a": 3}},
    ).filled(nbody_task)
    assert plan.models == ("mlp-nbody", "gatr-nbody")  # resolved, in the given order
    assert plan.sizes == (20, 40) and plan.steps == 3  # the task's sweep defaults
    assert plan.options(nbody_task, Contender("gatr-nbody")) == {"a": 1, "b": 2}
    assert plan.options(nbody_task, Contender("mlp-nbody")) == {"a": 3}
    runs = [(c.model, n) for c, n, _ in plan.runs()]
    assert runs == [("mlp-nbody", 20), ("gatr-nbody", 20), ("mlp-nbody", 40), ("gatr-nbody", 40)]
    config = plan.config(nbody_task, Contender("gatr-nbody"), 20, 1, "cpu")
    assert (config.steps, config.train_size, config.seed, config.augment) == (3, 20, 1, None)
    assert Contender.parse(" z2cnn+aug ") == Contender("z2cnn", True)


def test_plans_are_checked_before_anything_runs(nbody_task):
    def check(**kw):
        check_plan(SweepPlan(task="test-nbody", **kw).filled(nbody_task), nbody_task)

    with pytest.raises(KeyError, match="unknown model 'nope'; available:"):
        check(models=("gatr", "nope"))
    with pytest.raises(ValueError, match="models repeat"):
        check(models=("gatr", "gatr-nbody"))
    with pytest.raises(ValueError, match="has no augmentation"):
        check(models=("gatr+aug",))
    with pytest.raises(ValueError, match="must be positive"):
        check(sizes=(0, 10))
    check(models=("gatr", f"{HELPERS_FILE}:nan_nbody"))  # factories of your own are fine


def test_summarize_skips_missing_values():
    rows = [
        {"model": "a", "train_size": 10, "m": 0.2},
        {"model": "a", "train_size": 10, "m": 0.4},
        {"model": "a", "train_size": 20, "m": 0.1},
        {"model": "b", "train_size": 10, "m": None},
    ]
    stats = summarize(rows, "m")
    assert stats == {"a": {10: pytest.approx((0.3, 0.1)), 20: (0.1, 0.0)}}


def test_an_nbody_sweep_writes_table_plot_and_runs(nbody_task, tmp_path):
    plan = SweepPlan(task="test-nbody", models=("gatr", "transformer", "mlp"), steps=3)
    result = run_sweep(plan, out=tmp_path, device="cpu")
    out = result.out_dir
    assert out.parent == tmp_path and out.name.startswith("sweep-test-nbody-")
    for name in ("results.json", "results.csv", "report.md", "metrics_vs_size.png"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "results.json").read_text())
    assert doc["complete"]
    assert doc["plan"]["models"] == ["gatr-nbody", "transformer-nbody", "mlp-nbody"]
    rows = doc["runs"]
    assert [(r["model"], r["train_size"]) for r in rows[:3]] == [
        ("gatr-nbody", 20),
        ("transformer-nbody", 20),
        ("mlp-nbody", 20),
    ]
    assert {r["steps"] for r in rows} == {3}  # the same steps whatever the size
    assert {r["status"] for r in rows} == {"finished"}
    by_model = {r["model"]: r for r in rows if r["train_size"] == 40}
    assert by_model["gatr-nbody"]["se3_rel_error"] < 1e-12
    assert by_model["mlp-nbody"]["test_6body_mse"] is None
    for r in rows:
        assert (out / r["run_dir"] / "checkpoints" / "last.ckpt").is_file()
        assert r["test_mse"] > 0 and r["test_shifted_mse"] > 0
    table = list(csv.DictReader((out / "results.csv").open()))
    assert len(table) == 6 and table[2]["test_6body_mse"] == ""
    report = (out / "report.md").read_text()
    assert "| mlp-nbody | 40 | 0 | 3 |" in report and "| n/a |" in report
    assert "not applicable: the model is built for 4 bodies" in report
    assert "metrics_vs_size.png" in report


def test_a_classification_sweep_with_models_of_your_own(tiny_models, tmp_path):
    """Any task: rotated digits at 8x8 with a tiny CNN, with and without augmentation."""
    spec = f"{HELPERS_FILE}:tiny_cnn"
    plan = SweepPlan(task="digits-8x8", models=(spec, f"{spec}+aug"), sizes=(30, 60), steps=2)
    result = run_sweep(plan, out=tmp_path, device="cpu")
    rows = result.rows
    assert [r["model"] for r in rows] == [spec, f"{spec}+aug"] * 2
    assert all(r["steps"] == 2 and 0 <= r["test_error"] <= 1 for r in rows)
    assert "rot90_rel_error" in rows[0]
    config = json.loads((result.out_dir / rows[1]["run_dir"] / "config.json").read_text())
    assert config["config"]["augment"] is True
    assert "test error" in markdown_table(rows, get_task("digits-8x8"))
    assert (result.out_dir / "metrics_vs_size.png").is_file()


def test_parallel_runs_give_the_same_results_as_serial_ones(tmp_path):
    """Two runs in two spawned processes (one thread each) match the same runs in-process."""
    task = tiny_nbody_task("test-nbody-parallel")  # travels to the workers pickled
    plan = SweepPlan(task=task.name, models=("gatr", "mlp"), sizes=(20,), steps=2)
    serial = run_sweep(plan, out=tmp_path / "serial", device="cpu", task=task)
    parallel = run_sweep(
        plan, out=tmp_path / "parallel", device="cpu", task=task, jobs=2, threads=1
    )
    assert [r["model"] for r in parallel.rows] == ["gatr-nbody", "mlp-nbody"]
    for a, b in zip(serial.rows, parallel.rows):
        assert a["test_mse"] == b["test_mse"] and a["status"] == b["status"] == "finished"
    doc = json.loads((parallel.out_dir / "results.json").read_text())
    assert doc["jobs"] == 2 and doc["threads"] == 1


def test_cli_train_evaluate_and_sweep_on_nbody(nbody_task, tmp_path):
    result, out = invoke(
        *"train test-nbody --model gatr --train-size 40 --steps 2 --no-progress".split(),
        *("--out", tmp_path / "train"),
    )
    assert result.exit_code == 0, out
    (run_dir,) = (tmp_path / "train").iterdir()
    config = json.loads((run_dir / "config.json").read_text())["config"]
    assert config["model"] == "gatr-nbody" and config["steps"] == 2
    assert "test_mse" in out and "se3_rel_error" in out
    result, out = invoke("evaluate", run_dir)
    assert result.exit_code == 0, out
    assert json.loads((run_dir / "evaluation.json").read_text())["model"] == "gatr-nbody"

    result, out = invoke(
        *"sweep test-nbody --models gatr,mlp --sizes 20 --steps 2 -o gatr:hidden_s=6".split(),
        *("--out", tmp_path / "sweep", "--device", "cpu"),
    )
    assert result.exit_code == 0, out
    (sweep_dir,) = (tmp_path / "sweep").iterdir()
    gatr_run = sweep_dir / "runs" / "gatr-nbody-n20-seed0"
    assert json.loads((gatr_run / "config.json").read_text())["config"]["model_options"] == {
        "hidden_mv": 2,
        "hidden_s": 6,
        "blocks": 1,
        "heads": 1,
    }
    assert "MSE 6 bodies" in out and "n/a" in out  # the table was printed


def test_cli_errors_are_clear(nbody_task, tmp_path):
    result, out = invoke("sweep", "test-nbody", "--models", "gatr,nope", "--out", tmp_path)
    assert result.exit_code == 2 and "unknown model 'nope'" in out
    result, out = invoke("sweep", "test-nbody", "-o", "=3", "--out", tmp_path)
    assert result.exit_code == 2 and "MODEL:KEY=VALUE" in out
    result, out = invoke(
        *"train test-nbody --model mlp --epochs 1 --steps 2 --no-progress --out".split(), tmp_path
    )
    assert result.exit_code == 2 and "give epochs or steps, not both" in out
    result, out = invoke(*"train test-nbody --model mlp --augment --out".split(), tmp_path)
    assert result.exit_code == 2 and "has no augmentation" in out
    result, out = invoke("sweep", "test-nbody", "--sizes", "10,a", "--out", tmp_path)
    assert result.exit_code == 2 and "--sizes takes int values separated by commas" in out
    assert not any(tmp_path.iterdir())


def test_live_progress_on_a_terminal(nbody_task, tmp_path):
    """On a terminal the display shows bars (runs, and the current run's steps with its
    training loss); in a log it prints one line per start and the table row per run."""
    plan = SweepPlan(task="test-nbody", models=("mlp",), sizes=(20,), steps=3)
    for terminal in (True, False):
        text = io.StringIO()
        console = Console(file=text, force_terminal=terminal, width=150)
        result = run_with_progress(plan, console, out=tmp_path, device="cpu", label="my runs")
        assert result.rows[0]["status"] == "finished" and result.rows[0]["steps"] == 3
        shown = text.getvalue()
        if terminal:
            assert "my runs" in shown and "mlp-nbody n=20 seed=0" in shown and "loss" in shown
        else:
            assert "[1/1] mlp-nbody n=20 seed=0 ..." in shown
            assert "done in" in shown and "| mlp-nbody | 20 | 0 | 3 |" in shown


@pytest.mark.slow
def test_the_real_task_from_the_command_line(tmp_path):
    """`erlangen train nbody-gravity --model gatr --train-size 1000 --steps ...` on the full
    data (100k training systems are simulated and cached, 3 x 5,000 test systems)."""
    result, out = invoke(
        *"train nbody-gravity --model gatr --train-size 1000 --steps 5 --no-progress".split(),
        *("--out", tmp_path),
    )
    assert result.exit_code == 0, out
    (run_dir,) = tmp_path.iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["model"] == "gatr-nbody" and results["steps"] == 5
    assert results["test_samples"] == 5000 and results["se3_rel_error"] < 1e-12
    result, out = invoke("evaluate", run_dir)
    assert result.exit_code == 0, out
