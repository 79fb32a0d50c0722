"""Tracking learned actions: the known actions and distances, the per-layer trace, the
models' training protocols (their own learning rate for A, diagnostics) and the
diagnostics.csv a training run writes and a resumed run continues."""

from __future__ import annotations

import csv

import pytest
import torch

from erlangen import registry
from erlangen.data import ImageSplits
from erlangen.grid.inspect import plot_action_traces, read_trace
from erlangen.grid.learned import flip_action, learned_layers, rot90_action, rotation_action
from erlangen.grid.learned.known import (
    known_actions,
    known_distances,
    nearest_actions,
    rotation_distance,
)
from erlangen.grid.learned.trace import TRACE_KEYS, action_trace
from erlangen.tasks import ClassificationTask, Recipe

registry.load_all()

SMALL = dict(widths=(2, 3), input_size=16, in_channels=1)


def build(name="lg-allcnnc", **options):
    torch.manual_seed(0)
    return registry.get_model(name).factory(**{**SMALL, **options})


def test_rotation_distance_takes_the_nearer_generator():
    for k in (3, 4, 5):
        A = torch.stack([rot90_action(k), rotation_action(k, -90), flip_action(k)])
        dist = rotation_distance(A, 4)
        assert dist[:2].abs().max() == 0
        assert dist[2] > 0.5
    # order 2: the half turn is the generator
    assert rotation_distance(rotation_action(3, 180), 2).item() == 0


def test_known_distances_match_nearest_actions():
    A = flip_action(3, "lr") + 0.01 * torch.randn(9, 9, generator=torch.Generator().manual_seed(0))
    dist = known_distances(A)
    assert dist.shape == (1, len(known_actions(3)))
    nearest = nearest_actions(A)
    assert nearest["closest"]["label"] == "a flip left-right"
    assert nearest["closest"]["distance"] == pytest.approx(float(dist.min()))


def test_trace_of_the_quarter_turn_is_zero_and_of_a_random_action_is_not():
    exact = action_trace(build(init="rot90"))
    assert exact["mean/rotation_distance"] == 0 and exact["mean/cyclic_residual"] == 0
    assert exact["mean/nearest_distance"] == 0
    names = [name for name, _ in learned_layers(build())]
    assert exact[f"{names[0]}/nearest"] == "a rotation by 90 degrees"
    assert {f"{n}/{key}" for n in names for key in TRACE_KEYS} <= set(exact)
    random = action_trace(build(init="random"))
    assert random["mean/rotation_distance"] > 0.5 and random["mean/cyclic_residual"] > 1
    assert action_trace(torch.nn.Linear(2, 2)) == {}


def test_parameter_groups_give_the_actions_their_own_learning_rate():
    model = build(action_lr_scale=0.25, parametrisation="orthogonal")
    groups = model.parameter_groups(0.01)
    assert [g["lr"] for g in groups] == [0.01, 0.0025]
    actions = {id(p) for _, layer in learned_layers(model) for p in layer.action_parameters()}
    assert {id(p) for p in groups[1]["params"]} == actions
    seen = [id(p) for g in groups for p in g["params"]]
    assert sorted(seen) == sorted(id(p) for p in model.parameters())  # each exactly once
    with pytest.raises(ValueError, match="action_lr_scale must be > 0, got 0"):
        build(action_lr_scale=0)
    with pytest.raises(ValueError, match="trace_every must be an int >= 0"):
        build(trace_every=-1)
    assert build(trace_every=7).diagnostics_every == 7


def _tiny_task() -> ClassificationTask:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(48, 1, 16, 16, generator=gen)
    y = torch.arange(48) % 3

    def load(seed: int) -> ImageSplits:
        return ImageSplits(x_train=x, y_train=y, x_test=x[:12], y_test=y[:12])

    return ClassificationTask(
        name="tiny-16",
        description="random 16x16 images, 3 classes",
        load=load,
        models=(),
        num_classes=3,
        probes=(),
        recipe=Recipe(epochs=1, batch_size=8, lr=1e-2),
    )


def test_a_training_run_records_the_trace_and_a_resumed_run_continues_it(tmp_path):
    from erlangen.train import TrainConfig, fit

    task = _tiny_task()
    options = {"widths": [2, 3], "input_size": 16, "trace_every": 2, "action_lr_scale": 0.5}
    config = TrainConfig(task="tiny-16", model="lg-allcnnc", model_options=options, epochs=2)
    fitted = fit(config, task=task, run_dir=tmp_path / "run", progress=False)
    # the optimizer got the model's parameter groups
    trace = read_trace(tmp_path / "run")
    assert trace["step"] == [0, 2, 4, 6, 8, 10, 12]  # 6 batches per epoch, 2 epochs
    first = next(name for name, _ in learned_layers(fitted.model))
    assert trace[f"{first}/nearest"][0].startswith("a ")
    assert trace["mean/cyclic_residual"][0] != trace["mean/cyclic_residual"][-1]
    assert fitted.metrics["steps"] == 12

    # resume from the end of epoch 1: rows after its step are dropped and recorded again
    import shutil

    shutil.copytree(tmp_path / "run", tmp_path / "again")
    rows = list(csv.DictReader(open(tmp_path / "again" / "diagnostics.csv")))
    with open(tmp_path / "again" / "diagnostics.csv", "w", newline="") as f:  # a stale row
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, {**rows[-1], "step": "99"}])
    config2 = TrainConfig(task="tiny-16", model="lg-allcnnc", model_options=options, epochs=3)
    fit(config2, task=task, run_dir=tmp_path / "again", resume=True, progress=False)
    again = read_trace(tmp_path / "again")
    assert again["step"] == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
    assert again["mean/cyclic_residual"][:7] == trace["mean/cyclic_residual"]

    png = plot_action_traces({"a": tmp_path / "run", "b": tmp_path / "again"}, tmp_path / "t.png")
    assert png.stat().st_size > 0


def test_the_optimizer_uses_the_parameter_groups():
    from erlangen.train import TaskModule

    model = build(action_lr_scale=0.1)
    task = _tiny_task()
    data = task.load(0)
    module = TaskModule(model, task, Recipe(epochs=1, lr=0.02), data.train_subset(None), 0)
    opt = module.configure_optimizers()
    assert [g["lr"] for g in opt.param_groups] == [0.02, pytest.approx(0.002)]


def test_read_trace_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"diagnostics\.csv"):
        read_trace(tmp_path)
    (tmp_path / "diagnostics.csv").write_text("step,mean/cyclic_residual\n")
    with pytest.raises(ValueError, match="no rows"):
        read_trace(tmp_path)
