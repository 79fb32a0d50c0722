"""``erlangen train --compile``: every built-in model compiles to the eager numbers, a compiled
run records its compilation time and trains like the eager run. The compiling tests are slow
(minutes on a 2-core CPU); the default run checks only the batch sizes the warm-up compiles."""

from __future__ import annotations

import warnings

import pytest
import torch

from erlangen import registry
from erlangen.tasks import TASKS, get_task
from erlangen.testing import sample_inputs
from erlangen.train import TrainConfig, fit
from erlangen.train.batches import EpochBatchSampler
from erlangen.train.compile import batch_sizes


@pytest.mark.parametrize("samples, batch", [(200, 64), (1000, 64), (100, 64), (128, 64)])
def test_warm_up_compiles_every_batch_size_the_sampler_draws(samples, batch):
    sampler = EpochBatchSampler(samples, batch, seed=0, epoch_fn=lambda: 0)
    assert batch_sizes(samples, batch) == sorted({len(b) for b in sampler})


def _model_kwargs(name: str) -> dict:
    for task_name in TASKS:
        task = get_task(task_name)
        if name in getattr(task, "models", ()):
            return {**task.model_kwargs(), **task.model_options(name)}
    return {}


registry.load_all()
BUILTIN = sorted(
    n for n, e in registry.MODELS.items() if e.factory.__module__.startswith("erlangen.")
)


@pytest.mark.slow
@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_model_compiles_to_the_eager_numbers(name):
    """Traced (dynamo and AOT autograd, without code generation: minutes less per model);
    forward and input gradients against eager."""
    torch.manual_seed(0)
    model = registry.MODELS[name].factory(**_model_kwargs(name)).eval()
    inputs = [x.requires_grad_() for x in sample_inputs(model)]
    compiled = torch.compile(model, backend="aot_eager")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outputs = [compiled(*inputs), model(*inputs)]
    grads = []
    for out in outputs:
        out = out if isinstance(out, tuple) else (out,)
        total = sum(o.square().sum() for o in out if o is not None)
        grads.append(torch.autograd.grad(total, [x for x in inputs if x.is_floating_point()]))
    a, b = (o if isinstance(o, tuple) else (o,) for o in outputs)
    for x, y in zip(a, b):
        if x is not None:
            torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)
    for x, y in zip(*grads):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_compiled_run_records_its_compile_time_and_trains_like_eager(nbody_task, tmp_path):
    """A few steps of GATr on n-body with the real compiler (inductor): the same losses as
    the eager run within float32 tolerance, ``compile_time_s`` in the results, checkpoints
    with the eager parameter names, evaluation eager again."""
    runs = {}
    for flag in (False, True):
        cfg = TrainConfig(
            task="test-nbody", model="gatr", train_size=64, steps=3, device="cpu", compile=flag
        )
        runs[flag] = fit(cfg, out=tmp_path / str(flag), progress=False)
    eager, compiled = runs[False].metrics, runs[True].metrics
    assert compiled["compile_time_s"] > 0 and "compile_time_s" not in eager
    assert compiled["test_mse"] == pytest.approx(eager["test_mse"], rel=1e-3)
    assert runs[True].model._compiled_call_impl is None  # eager after training
    a, b = runs[False].model.state_dict(), runs[True].model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-3)
