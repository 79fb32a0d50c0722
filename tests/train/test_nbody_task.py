"""The n-body regression task through the generic training machinery: recipe, short model
names, metrics (three test sets, not-applicable MLP, SE(3) error), exact steps, bit-exact
resume, the NaN stop, the distributed code path and re-evaluation; and the task's
non-equivariant baselines (``erlangen.tasks.nbody_baselines``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch
from train_helpers import CrashAfterEpoch, SimulatedCrash

import erlangen
from erlangen.check import assert_equivariant, assert_not_equivariant
from erlangen.data.nbody import generate
from erlangen.fields import FieldTypeError, NodeField
from erlangen.groups import Symmetric
from erlangen.tasks import TASKS, get_task
from erlangen.tasks.nbody import CPU_MODEL_OPTIONS, NBODY_MODELS
from erlangen.tasks.nbody_baselines import MLPNBody, TransformerNBody
from erlangen.train import (
    NonFiniteLossError,
    TrainConfig,
    evaluate_run,
    fit,
    load_checkpoint,
    resume,
    weights_digest,
)


def config(model="gatr", **kw) -> TrainConfig:
    kw.setdefault("train_size", 64)
    kw.setdefault("device", "cpu")
    return TrainConfig(task="test-nbody", model=model, **kw)


def quiet_fit(cfg, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("evaluate", False)
    return fit(cfg, **kw)


def test_the_registered_task_and_its_cpu_recipe():
    task = get_task("nbody-gravity")
    assert task is TASKS["nbody-gravity"] and task.models == NBODY_MODELS
    r = task.recipe
    assert (r.optimizer, r.lr, r.batch_size, r.schedule) == ("adam", 3e-4, 64, "constant")
    assert r.steps is not None and r.steps >= 1000
    short = ("gatr", "transformer", "mlp", "egnn")
    assert [task.model_name(m) for m in short] == list(NBODY_MODELS)
    assert task.model_name("gatr-nbody") == "gatr-nbody"
    assert task.model_options("gatr-nbody") == CPU_MODEL_OPTIONS["gatr-nbody"]
    assert task.train_pool == 100_000 and task.test_samples == 5_000
    assert task.augmentation is None and task.plot_log_y


def test_short_names_and_task_options_are_recorded_resolved(nbody_task, tmp_path):
    result = fit(
        config("gatr", steps=3, model_options={"hidden_s": 6}), out=tmp_path, progress=False
    )
    recorded = json.loads((result.run_dir / "config.json").read_text())["config"]
    assert recorded["model"] == "gatr-nbody" and result.run_dir.name.startswith("test-nbody-gatr")
    # the task's default options, with the given one on top
    assert recorded["model_options"] == {"hidden_mv": 2, "hidden_s": 6, "blocks": 1, "heads": 1}
    assert recorded["steps"] == 3 and recorded["epochs"] is None and recorded["lr"] == 3e-4
    assert TrainConfig.from_dict(recorded) == result.config
    m = result.metrics
    assert m["steps"] == 3 and m["epochs"] == 1 and m["train_samples"] == 64
    for key in ("test_mse", "test_shifted_mse", "test_6body_mse"):
        assert 0 < m[key] < 1, key
    assert m["test_samples"] == 48 and m["params"] > 0
    assert m["se3_rel_error"] < 1e-12  # GATr: SE(3)-equivariant by construction
    lines = (result.run_dir / "logs" / "session0" / "metrics.csv").read_text().splitlines()
    assert "train/loss" in lines[0] and "train/acc" not in lines[0]


def test_metrics_of_the_baselines(nbody_task, tmp_path):
    mlp = fit(config("mlp", steps=2), out=tmp_path, progress=False).metrics
    assert mlp["test_6body_mse"] is None
    assert mlp["test_6body_mse_note"].startswith("not applicable: the model is built for 4")
    assert mlp["test_mse"] > 0 and mlp["test_shifted_mse"] > 0
    transformer = fit(config("transformer", steps=2), out=tmp_path, progress=False).metrics
    assert transformer["test_6body_mse"] > 0  # a Transformer handles any number of bodies
    for m in (mlp, transformer):  # the checker sees that neither is SE(3)-equivariant
        assert m["se3_rel_error"] > 1e-6 and m["se3_abs_error"] > 1e-6


def test_mse_is_the_mean_squared_error_of_the_positions(nbody_task):
    data = nbody_task.load(0)
    test = data.tests["test"]

    class Still(torch.nn.Module):  # predicts no motion at all
        def forward(self, masses, positions, velocities):
            return positions

    expected = (test.positions - test.targets).double().square().mean().item()
    assert nbody_task.mse(Still(), test) == pytest.approx(expected, rel=1e-9)
    assert data.train_subset(5)[0].shape == (5, 4, 1) and len(data.train_subset(None)) == 4
    with pytest.raises(ValueError, match=r"train size must be in \[1, 200\]"):
        data.train_subset(500)


def test_steps_and_epochs(nbody_task, tmp_path):
    # 64 samples in batches of 16: 4 steps per epoch; 10 steps = 2 whole epochs + 2 steps
    result = quiet_fit(config(steps=10), out=tmp_path)
    assert result.metrics["steps"] == 10 and result.metrics["epochs"] == 3
    assert load_checkpoint(result.run_dir / "checkpoints" / "last.ckpt")["global_step"] == 10
    by_epochs = quiet_fit(config(epochs=2), out=tmp_path)  # epochs replace the recipe's steps
    assert by_epochs.metrics["steps"] == 8 and by_epochs.config.steps is None
    with pytest.raises(ValueError, match="give epochs or steps, not both"):
        quiet_fit(config(epochs=2, steps=3), out=tmp_path)
    with pytest.raises(ValueError, match="has no augmentation"):
        quiet_fit(config(augment=True), out=tmp_path)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_resume_is_bit_exact_on_the_regression_path(nbody_task, tmp_path, schedule):
    cfg = config("gatr", steps=10, schedule=schedule, seed=4)
    whole = quiet_fit(cfg, out=tmp_path)
    run_dir = tmp_path / "interrupted"
    with pytest.raises(SimulatedCrash):
        quiet_fit(cfg, run_dir=run_dir, callbacks=[CrashAfterEpoch(0)])
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 4
    resumed = resume(run_dir, progress=False, evaluate=False)
    assert resumed.metrics["steps"] == whole.metrics["steps"] == 10
    assert weights_digest(resumed.model) == weights_digest(whole.model)
    other = quiet_fit(config("gatr", steps=10, schedule=schedule, seed=5), out=tmp_path)
    assert weights_digest(other.model) != weights_digest(whole.model)


def test_nan_stops_the_regression_path_and_keeps_the_last_good_checkpoint(
    nbody_task, tiny_models, tmp_path
):
    cfg = config("test-nan-nbody", model_options={"after": 5}, steps=20)
    run_dir = tmp_path / "nan"
    with pytest.raises(NonFiniteLossError, match=r"not finite .* epoch 1, step 5") as info:
        quiet_fit(cfg, run_dir=run_dir)
    assert "last good checkpoint (end of epoch 0)" in str(info.value)
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert checkpoint["global_step"] == 4
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values())
    assert json.loads((run_dir / "results.json").read_text())["status"].startswith("stopped")


def test_evaluate_run_measures_a_regression_run_again(nbody_task, tmp_path):
    result = fit(config("transformer", steps=2), out=tmp_path, progress=False)
    again = evaluate_run(result.run_dir)
    assert again["model"] == "transformer-nbody"
    for key in ("test_mse", "test_shifted_mse", "test_6body_mse", "se3_rel_error"):
        assert again[key] == pytest.approx(result.metrics[key], rel=1e-6), key


def test_the_distributed_code_path_on_the_regression_path(
    nbody_task, tmp_path, torchrun_world_of_one
):
    """torchrun's set-up with a world of one: gloo process group, DDP strategy, the tuple
    batches of the regression task, exact steps and the rank digest."""
    seen = {}

    class Spy(pl.Callback):
        def on_train_start(self, trainer, pl_module):
            seen["strategy"] = type(trainer.strategy).__name__

    result = quiet_fit(config("gatr", steps=6), out=tmp_path, callbacks=[Spy()])
    assert seen == {"strategy": "DDPStrategy"} and not torch.distributed.is_initialized()
    assert result.metrics["steps"] == 6 and len(result.metrics["weight_digests"]) == 1


# --------------------------------------------------------------------- the baselines
def _permutation_types(n=5):
    """Bodies permuted on axis 1; NodeField samples (2, n, channels) for node_dim=1."""
    S = Symmetric(n)
    in_type = tuple(NodeField(S, channels=c, node_dim=1) for c in (1, 3, 3))
    return in_type, NodeField(S, channels=3, node_dim=1)


def test_the_transformer_is_permutation_equivariant():
    model = TransformerNBody(hidden=16, blocks=2, heads=2)
    with torch.no_grad():
        model.head.weight.normal_()
    assert_equivariant(model, *_permutation_types(), atol=1e-10)


def test_the_mlp_is_not_permutation_equivariant():
    torch.manual_seed(0)
    model = MLPNBody(bodies=5, hidden=16, layers=2)
    with torch.no_grad():
        model.mlp[-1].weight.normal_()
    assert_not_equivariant(model, *_permutation_types())


def test_untrained_baselines_predict_no_motion_and_validate_inputs():
    m, x, v = torch.rand(3, 4, 1), torch.randn(3, 4, 3), torch.randn(3, 4, 3)
    for model in (TransformerNBody(32, 1, 2), MLPNBody(4, 32, 2)):
        torch.testing.assert_close(model(m, x, v), x)
        with pytest.raises(FieldTypeError, match=r"masses must be \(3, 4, 1\), got \(3, 4, 0\)"):
            model(m[..., :0], x, v)
    with pytest.raises(FieldTypeError, match="built for 4 bodies, got 3"):
        MLPNBody(4, 32, 2)(m[:, :3], x[:, :3], v[:, :3])


@pytest.mark.parametrize(
    "factory",
    [
        lambda: TransformerNBody(hidden=32, blocks=2, heads=4),
        lambda: MLPNBody(bodies=4, hidden=64, layers=2),
    ],
    ids=["transformer", "mlp"],
)
def test_a_few_adam_steps_reduce_the_baselines_loss(factory):
    data = generate(32, bodies=4, seed=5)
    m, x, v, y = (
        torch.from_numpy(data[k]).float() for k in ("masses", "positions", "velocities", "targets")
    )
    torch.manual_seed(0)
    model = factory()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = (model(m, x, v) - y).square().mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.mark.parametrize(
    "trigger",
    ["__import__('erlangen.tasks', fromlist=['get_task']).get_task('nbody-gravity')"],
    ids=["task-lookup"],
)
def test_the_baselines_are_registered_by_the_task(trigger):
    """In a fresh interpreter: neither the ga family nor the core registry knows the
    baselines (the core never imports the application); looking the task up registers both."""
    code = (
        "import erlangen.ga\n"
        "from erlangen import registry\n"
        "registry.load_all()\n"
        "assert 'transformer-nbody' not in registry.MODELS\n"
        f"{trigger}\n"
        "for name in ('transformer-nbody', 'mlp-nbody'):\n"
        "    assert registry.MODELS[name].family == 'tasks', name\n"
        "    assert registry.MODELS[name].factory.__module__ == 'erlangen.tasks.nbody_baselines'\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(erlangen.__file__).parents[1]))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
