"""The charged-particle n-body task (the EGNN protocol) and the adapter that runs the graph
family's models on the n-body tasks' tensors (``erlangen.tasks.nbody_graph``), EGNN on the
gravity task included."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from train_helpers import CrashAfterEpoch, SimulatedCrash, tiny_nbody_task

from erlangen.check import assert_equivariant, assert_not_equivariant
from erlangen.data.charged import charged_nbody
from erlangen.data.graphs import charged_graph
from erlangen.ga.models import nbody_types
from erlangen.graph import GNN
from erlangen.groups import E
from erlangen.registry import get_model
from erlangen.tasks import TASKS, get_task
from erlangen.tasks.charged import CHARGED_ALIASES, CHARGED_MODEL_OPTIONS, CHARGED_MODELS
from erlangen.tasks.nbody_graph import GraphNBody
from erlangen.train import TrainConfig, fit, load_checkpoint, resume, weights_digest

#: tiny sizes of every model, so that a few steps take a moment
TINY = {
    "egnn-nbody": {"hidden": 8, "layers": 1},
    "gnn-nbody": {"hidden": 8, "layers": 1},
    "linear-nbody": {},
    "fa-gnn-nbody": {"hidden": 8, "layers": 1, "stochastic": True},
    "fa-transformer-nbody": {"hidden": 8, "layers": 1, "heads": 2, "stochastic": True},
    "gatr-nbody": {"hidden_mv": 2, "hidden_s": 4, "blocks": 1, "heads": 1},
}


@pytest.fixture
def charged_task(monkeypatch):
    """``nbody-charged`` on 40 training and 16 validation/test systems, tiny models, a
    recipe of 4 steps of batch 10; registered as ``test-charged`` for the test."""
    task = dataclasses.replace(
        TASKS["nbody-charged"],
        name="test-charged",
        train_pool=40,
        test_samples=16,
        equivariance_samples=4,
        equivariance_elements=2,
        default_options=TINY,
        recipe=dataclasses.replace(TASKS["nbody-charged"].recipe, steps=4, batch_size=10),
    )
    monkeypatch.setitem(TASKS, task.name, task)
    return task


def quiet_fit(task, model, **kw):
    cfg = TrainConfig(task=task.name, model=model, device="cpu", **kw.pop("config", {}))
    kw.setdefault("progress", False)
    return fit(cfg, **kw)


def test_the_registered_task_follows_the_protocol():
    task = get_task("nbody-charged")
    r = task.recipe
    assert (r.optimizer, r.lr, r.batch_size, r.schedule) == ("adam", 5e-4, 100, "constant")
    assert task.train_pool == 3000 and task.test_samples == 2000
    assert task.models == CHARGED_MODELS
    assert [task.model_name(a) for a in CHARGED_ALIASES] == list(CHARGED_MODELS)
    assert task.model_options("gatr-nbody") == CHARGED_MODEL_OPTIONS["gatr-nbody"]
    assert task.model_options("fa-gnn-nbody") == {"stochastic": True}
    # the graph models at the paper's size: 64 features, 4 layers
    egnn = get_model("egnn-nbody").factory()
    assert len(egnn.graph.layers) == 4 and egnn.graph.embed.out_features == 64


def test_every_family_trains_and_is_measured(charged_task, tmp_path):
    for model in CHARGED_ALIASES:
        m = quiet_fit(charged_task, model, out=tmp_path).metrics
        assert m["model"] == CHARGED_ALIASES[model] and m["steps"] == 4
        assert 0 < m["test_mse"] < 10 and 0 < m["val_mse"] < 10, model
        assert m["test_samples"] == 16
        if model == "gnn":  # positions are plain inputs: not equivariant
            assert m["se3_rel_error"] > 1e-6
        else:
            assert m["se3_rel_error"] < 1e-12, model


def test_the_metrics_are_the_mse_of_the_test_and_validation_positions(charged_task):
    data = charged_task.load(0)

    class Still(torch.nn.Module):  # predicts no motion
        def forward(self, charges, positions, velocities):
            return positions

    out = charged_task.evaluate(Still(), data)
    for split, key in (("test", "test_mse"), ("val", "val_mse")):
        d = data.tests[split]
        expected = (d.positions - d.targets).double().square().mean().item()
        assert out[key] == pytest.approx(expected, rel=1e-9)
    assert len(data.train_subset(None)[0]) == 40
    assert torch.equal(data.train_subset(5)[1], charged_nbody("train", 40).positions[:5])


def test_resume_is_bit_exact_for_egnn(charged_task, tmp_path):
    config = {"steps": 10, "seed": 3}
    whole = quiet_fit(charged_task, "egnn", out=tmp_path, config=config, evaluate=False)
    run_dir = tmp_path / "interrupted"
    with pytest.raises(SimulatedCrash):
        quiet_fit(
            charged_task,
            "egnn",
            run_dir=run_dir,
            config=config,
            evaluate=False,
            callbacks=[CrashAfterEpoch(0)],
        )
    assert load_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 4
    resumed = resume(run_dir, progress=False, evaluate=False)
    assert weights_digest(resumed.model) == weights_digest(whole.model)


# ------------------------------------------------------------------------ the adapter
def test_the_adapter_builds_the_papers_inputs():
    data = charged_nbody("test", 3)
    q, x, v, _ = data.tensors()
    model = get_model("egnn-nbody").factory(hidden=8, layers=1)
    h, _, edge_index, edge_attr, _, batch = model.inputs(q, x, v)
    assert (
        h.shape == (15, 1) and edge_index.shape == (2, 60) and batch.tolist()[:6] == [0] * 5 + [1]
    )
    torch.testing.assert_close(h[:, 0], v.reshape(15, 3).norm(dim=-1))
    # the same edges and edge features as the Data objects of the data module
    reference = charged_graph(q[1], x[1], v[1], data.targets[1])
    ours = edge_index[:, edge_index[0] >= 5] - 5
    ours, attr = ours[:, ours[0] < 5], edge_attr[(edge_index[0] >= 5) & (edge_index[0] < 10)]
    key = lambda e: (e[0] * 5 + e[1]).argsort()  # noqa: E731
    torch.testing.assert_close(
        ours[:, key(ours)], reference.edge_index[:, key(reference.edge_index)]
    )
    torch.testing.assert_close(attr[key(ours)], reference.edge_attr[key(reference.edge_index)])
    assert model(q, x, v).shape == (3, 5, 3)


def test_egnn_in_the_adapter_is_e3_equivariant_and_a_gnn_on_positions_is_not():
    in_type, out_type = nbody_types(E(3), bodies=5)
    egnn = get_model("egnn-nbody").factory(hidden=8, layers=2, coord_init_gain=1.0)
    assert_equivariant(egnn, in_type, out_type)
    broken = GraphNBody(GNN(6, 3, hidden=8, layers=1, edge_dim=2), "position+velocity")
    assert_not_equivariant(broken, in_type, out_type)


def test_the_adapter_refuses_what_cannot_work():
    with pytest.raises(ValueError, match="node_inputs must be one of"):
        get_model("egnn-nbody").factory(node_inputs="charge")
    with pytest.raises(ValueError, match="gives 2 node features, the graph network takes 1"):
        GraphNBody(get_model("egnn").factory(), "speed+scalar")
    model = get_model("linear-nbody").factory()
    q, x, v = torch.ones(2, 5, 1), torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    with pytest.raises(ValueError, match="padded"):
        model(q, x, v, mask=torch.tensor([[True] * 5, [True] * 4 + [False]]))
    with pytest.raises(ValueError, match=r"velocities must be \(2, 5, 3\)"):
        model(q, x, v[:, :, :2])


def test_egnn_on_the_gravity_task(monkeypatch, tmp_path):
    task = tiny_nbody_task()
    options = {**task.default_options, "egnn-nbody": {"node_inputs": "speed+scalar", "hidden": 8}}
    task = dataclasses.replace(task, default_options=options)
    monkeypatch.setitem(TASKS, task.name, task)
    assert TASKS["nbody-gravity"].model_name("egnn") == "egnn-nbody"
    assert TASKS["nbody-gravity"].model_options("egnn-nbody") == {"node_inputs": "speed+scalar"}
    m = quiet_fit(task, "egnn", out=tmp_path, config={"steps": 2}).metrics
    assert m["model"] == "egnn-nbody" and m["se3_rel_error"] < 1e-12
    assert m["test_6body_mse"] > 0  # a graph network takes any number of bodies
    assert m["test_shifted_mse"] == pytest.approx(m["test_mse"], rel=1e-3)
