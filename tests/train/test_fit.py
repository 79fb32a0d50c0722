"""train.fit: run folder, determinism, resume, NaN stop, auxiliary losses, evaluation."""

from __future__ import annotations

import json

import lightning.pytorch as pl
import pytest
import torch
from train_helpers import CrashAfterEpoch, SimulatedCrash

from erlangen import train
from erlangen.train import (
    NonFiniteLossError,
    TrainConfig,
    evaluate_run,
    fit,
    load_checkpoint,
    resume,
    weights_digest,
)

TASK = "digits-8x8"


def config(model="test-tiny", **kw) -> TrainConfig:
    kw.setdefault("epochs", 2)
    kw.setdefault("train_size", 200)
    kw.setdefault("device", "cpu")
    return TrainConfig(task=TASK, model=model, **kw)


def quiet_fit(cfg, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("evaluate", False)
    return fit(cfg, **kw)


def test_run_folder_records_config_seed_logs_and_results(tiny_models, tmp_path):
    result = fit(config(seed=7, epochs=3, train_size=None), out=tmp_path, progress=False)
    run = result.run_dir
    assert run.parent == tmp_path and run.name.startswith(f"{TASK}-test-tiny-")
    recorded = json.loads((run / "config.json").read_text())
    cfg = recorded["config"]
    assert cfg["seed"] == 7 and cfg["model"] == "test-tiny" and cfg["task"] == TASK
    # the recipe is resolved, not left as None
    assert cfg["lr"] == 3e-3 and cfg["batch_size"] == 64 and cfg["optimizer"] == "adam"
    assert recorded["environment"]["torch"] == torch.__version__
    assert TrainConfig.from_dict(cfg) == result.config
    lines = (run / "logs" / "session0" / "metrics.csv").read_text().splitlines()
    assert lines[0].split(",")[:2] == ["epoch", "step"] and len(lines) == 4
    results = json.loads((run / "results.json").read_text())
    assert results["status"] == "finished" and results["epochs"] == 3
    assert results["steps"] == 3 * 19  # 1198 samples in batches of <= 64
    assert results["test_accuracy"] > 0.5  # it learned something
    for key in ("rot90_rel_error", "rot45_rel_error", "rot90_agreement", "params"):
        assert key in results
    checkpoint = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert checkpoint["epoch"] == 2
    assert set(checkpoint["state_dict"]) == {f"model.{k}" for k in result.model.state_dict()}


def test_same_seed_same_weights_other_seed_other_weights(tiny_models, tmp_path):
    a = quiet_fit(config(seed=1), out=tmp_path)
    b = quiet_fit(config(seed=1), out=tmp_path)
    c = quiet_fit(config(seed=2), out=tmp_path)
    assert weights_digest(a.model) == weights_digest(b.model)
    assert weights_digest(a.model) != weights_digest(c.model)


@pytest.mark.parametrize("augment", [False, True])
def test_resume_continues_exactly_like_an_uninterrupted_run(tiny_models, tmp_path, augment):
    cfg = config(epochs=4, augment=augment, seed=3)
    whole = quiet_fit(cfg, out=tmp_path)
    run_dir = tmp_path / "interrupted"
    with pytest.raises(SimulatedCrash):
        quiet_fit(cfg, run_dir=run_dir, callbacks=[CrashAfterEpoch(1)])
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["epoch"] == 1
    resumed = resume(run_dir, progress=False, evaluate=False)
    assert resumed.metrics["steps"] == whole.metrics["steps"]
    assert weights_digest(resumed.model) == weights_digest(whole.model)
    second = (run_dir / "logs" / "session1" / "metrics.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in second[1:]] == ["2", "3"]  # only the missing epochs


def test_resume_without_checkpoint_is_a_clear_error(tiny_models, tmp_path):
    run_dir = quiet_fit(config(epochs=1), out=tmp_path).run_dir
    (run_dir / "checkpoints" / "last.ckpt").unlink()
    with pytest.raises(train.CheckpointError, match=r"no checkpoints/last\.ckpt"):
        resume(run_dir, progress=False)
    with pytest.raises(FileNotFoundError, match="not an erlangen run folder"):
        resume(tmp_path / "nowhere", progress=False)


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tiny_models, tmp_path):
    # 200 samples = 4 batches per epoch; NaN from the 6th step on (epoch 1, batch 1)
    cfg = config(model="test-nan", model_options={"after": 5}, epochs=5)
    run_dir = tmp_path / "nan"
    with pytest.raises(NonFiniteLossError, match=r"not finite .* epoch 1, step 5") as info:
        quiet_fit(cfg, run_dir=run_dir)
    assert "last good checkpoint (end of epoch 0)" in str(info.value)
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert checkpoint["epoch"] == 0
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values())
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "stopped: non-finite loss"


class PoisonParameters(pl.Callback):
    """Makes a weight infinite after the last step of ``epoch``: the loss was still finite."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == 3:
            with torch.no_grad():
                pl_module.model.head.weight[0, 0] = float("inf")


def test_non_finite_parameters_are_not_checkpointed(tiny_models, tmp_path):
    run_dir = tmp_path / "inf"
    with pytest.raises(NonFiniteLossError, match=r"parameters became non-finite .*head\.weight"):
        quiet_fit(config(epochs=3), run_dir=run_dir, callbacks=[PoisonParameters(1)])
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["epoch"] == 0


def test_auxiliary_loss_is_added_to_the_task_loss(tiny_models, tmp_path):
    result = quiet_fit(config(model="test-aux", epochs=3, lr=0.05), out=tmp_path)
    # only the auxiliary loss (extra - 3)^2 reaches `extra`: without it, Adam would leave it at
    # exactly 0 (no gradient); with it, it moves towards 3
    assert 0.1 < result.model.extra.item() < 3.0
    header = (result.run_dir / "logs" / "session0" / "metrics.csv").read_text().splitlines()[0]
    assert "train/aux_loss" in header


def test_augmentation_changes_training(tiny_models, tmp_path):
    plain = quiet_fit(config(seed=0), out=tmp_path)
    augmented = quiet_fit(config(seed=0, augment=True), out=tmp_path)
    assert weights_digest(plain.model) != weights_digest(augmented.model)


def test_evaluate_run_reloads_the_checkpoint(tiny_models, tmp_path):
    result = fit(config(epochs=2), out=tmp_path, progress=False)
    again = evaluate_run(result.run_dir)
    assert again["test_accuracy"] == result.metrics["test_accuracy"]
    assert again["rot90_rel_error"] == pytest.approx(result.metrics["rot90_rel_error"])
    assert (result.run_dir / "evaluation.json").is_file()


def test_probes_tell_invariant_from_plain_models(tiny_models, tmp_path):
    invariant = fit(config(model="test-invariant"), out=tmp_path, progress=False).metrics
    plain = fit(config(model="test-tiny"), out=tmp_path, progress=False).metrics
    assert invariant["rot90_rel_error"] < 1e-12 and invariant["rot90_agreement"] == 1.0
    assert plain["rot90_rel_error"] > 1e-3
    # 45 degrees is only interpolated: no exactness for either model
    assert invariant["rot45_rel_error"] > 1e-6


def test_unknown_model_lists_the_available_ones(tiny_models, tmp_path):
    with pytest.raises(KeyError, match=r"unknown model 'nope'; available: .*test-tiny"):
        quiet_fit(config(model="nope"), out=tmp_path)


def test_unknown_task_and_bad_recipe(tmp_path):
    with pytest.raises(KeyError, match=r"unknown task 'nope'; available: .*rotated-digits"):
        quiet_fit(TrainConfig(task="nope", model="x"), out=tmp_path)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        quiet_fit(config(optimizer="rmsprop"), out=tmp_path)
    with pytest.raises(ValueError, match="unknown config fields"):
        TrainConfig.from_dict({"task": TASK, "model": "x", "colour": "blue"})
