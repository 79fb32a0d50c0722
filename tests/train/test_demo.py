"""The demo's plan, its outputs, and a demo that survives a diverging run."""

from __future__ import annotations

import dataclasses
import json

import pytest

from erlangen import registry
from erlangen.demo import DEFAULT_PLAN, FULL_PLAN, demo_plan, run_demo


def test_plans():
    assert DEFAULT_PLAN.models == ("z2cnn", "z2cnn+aug", "p4cnn", "lgcnn")
    assert DEFAULT_PLAN.task == "rotated-digits" and DEFAULT_PLAN.steps == 600
    assert set(DEFAULT_PLAN.sizes) < set(FULL_PLAN.sizes) and len(FULL_PLAN.seeds) == 3
    plan = demo_plan(task="digits", models=["p4cnn"], sizes=[50], seeds=2, steps=7)
    assert (plan.task, plan.models, plan.sizes, plan.seeds, plan.steps) == (
        "digits",
        ("p4cnn",),
        (50,),
        (0, 1),
        7,
    )
    assert demo_plan(full=True) == FULL_PLAN and demo_plan() == DEFAULT_PLAN
    with pytest.raises(KeyError, match="rotated-digits or digits, got 'nbody-gravity'"):
        demo_plan(task="nbody-gravity")


def test_a_diverging_run_is_recorded_and_the_demo_goes_on(tiny_models, tmp_path, monkeypatch):
    diverging = registry.Entry(
        "test-diverging", "test", "NaN at once", lambda **kw: tiny_models.nan_cnn(after=0, **kw)
    )
    monkeypatch.setitem(registry.MODELS, "test-diverging", diverging)
    plan = dataclasses.replace(
        DEFAULT_PLAN,
        task="digits-8x8",
        models=("test-diverging", "test-tiny"),
        sizes=(30,),
        steps=2,
    )
    result = run_demo(plan, out=tmp_path, device="cpu")
    assert result.out_dir.name.startswith("demo-")
    bad, good = result.rows
    assert bad["status"].startswith("stopped: the training loss is not finite")
    assert bad.get("test_error") is None and good["status"] == "finished"
    assert good["steps"] == 2 and good["rot90_rel_error"] is not None
    doc = json.loads((result.out_dir / "results.json").read_text())
    assert doc["complete"] and len(doc["runs"]) == 2
    report = (result.out_dir / "report.md").read_text()
    assert report.startswith("# erlangen demo: digits-8x8")
    assert "Stopped: test-diverging" in report and "| test-diverging | 30 | 0 | - |" in report
    for name in ("metrics_vs_size.png", "equivariance.png", "samples.png"):
        assert (result.out_dir / name).is_file(), name
        assert f"]({name})" in report
