"""The demo's plan, its bookkeeping, and a demo that survives a diverging run."""

from __future__ import annotations

import json

import pytest

from erlangen import registry
from erlangen.demo import DEFAULT_PLAN, FULL_PLAN, Contender, DemoPlan, run_demo, summarize


def test_contenders_and_epochs():
    assert Contender.parse("z2cnn+aug") == Contender("z2cnn", True)
    assert Contender.parse(" p4cnn ") == Contender("p4cnn", False)
    assert Contender("z2cnn", True).label == "z2cnn+aug"
    plan = DemoPlan(steps=250, batch_size=64)
    # every size gets at least `steps` optimizer steps: ceil(steps / batches per epoch) epochs
    assert [plan.epochs(n) for n in (100, 300, 1000, 3000)] == [125, 50, 16, 6]
    assert DEFAULT_PLAN.contenders == ("z2cnn", "z2cnn+aug", "p4cnn", "lgcnn")
    assert set(DEFAULT_PLAN.sizes) < set(FULL_PLAN.sizes) and len(FULL_PLAN.seeds) == 3
    runs = DemoPlan(contenders=("a", "b"), sizes=(10, 20), seeds=(0,)).runs()
    assert [(c.model, n) for c, n, _ in runs] == [("a", 10), ("b", 10), ("a", 20), ("b", 20)]


def test_summarize_over_seeds():
    rows = [
        {"model": "m", "train_size": 10, "test_error": 0.2},
        {"model": "m", "train_size": 10, "test_error": 0.4},
        {"model": "m", "train_size": 20, "test_error": 0.1},
    ]
    stats = summarize(rows, "test_error")
    assert stats["m"][10] == pytest.approx((0.3, 0.1)) and stats["m"][20] == (0.1, 0.0)


def test_a_diverging_run_is_recorded_and_the_demo_goes_on(tiny_models, tmp_path, monkeypatch):
    diverging = registry.Entry(
        "test-diverging", "test", "NaN at once", lambda **kw: tiny_models.nan_cnn(after=0, **kw)
    )
    monkeypatch.setitem(registry.MODELS, "test-diverging", diverging)
    contenders = ("test-diverging", "test-tiny")
    plan = DemoPlan(task="digits-8x8", contenders=contenders, sizes=(30,), steps=2)
    result = run_demo(plan, out=tmp_path, device="cpu")
    bad, good = result.rows
    assert bad["status"].startswith("stopped: the training loss is not finite")
    assert bad["test_error"] is None and good["status"] == "finished"
    doc = json.loads((result.out_dir / "results.json").read_text())
    assert doc["complete"] and len(doc["runs"]) == 2
    report = (result.out_dir / "report.md").read_text()
    assert "Stopped: test-diverging" in report and "| test-diverging | 30 | 0 | - |" in report
    assert (result.out_dir / "error_vs_size.png").is_file()
