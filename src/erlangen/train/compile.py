"""``erlangen train --compile``: the model runs under ``torch.compile`` for the training steps.

:class:`CompileModel` compiles the model in place (``nn.Module.compile``: the parameter names,
checkpoints and state dicts are the eager model's), then compiles forward and backward on the
first training batch before the first step and records how long that took
(``compile_time_s`` in ``results.json``; it includes one forward and backward pass). The
warm-up changes nothing: gradients are cleared, buffers (e.g. batch-norm statistics) restored
and the random state left as it was. After training the model is eager again, so evaluation
and the equivariance check (float64) run without recompiling. Shapes that change later (the
last, smaller batch of an epoch) recompile once, inside the training time.
"""

from __future__ import annotations

import time

import lightning.pytorch as pl
import torch


class CompileModel(pl.Callback):
    """Compile ``pl_module.model`` for training and time the compilation.

    Attributes
    ----------
    compile_time_s : float or None
        Seconds of the warm-up step that compiled forward and backward.
    """

    def __init__(self, **compile_options):
        self.compile_options = compile_options
        self.compile_time_s: float | None = None

    def on_train_start(self, trainer, pl_module) -> None:
        model = pl_module.model
        model.compile(**self.compile_options)
        batch = tuple(
            t[: pl_module.recipe.batch_size].to(pl_module.device) for t in pl_module.tensors
        )
        buffers = {k: v.clone() for k, v in model.named_buffers()}
        with torch.random.fork_rng(devices=[]):
            start = time.perf_counter()
            loss, _ = pl_module.task.loss(model, batch, augment=False)
            loss.backward()
            self.compile_time_s = time.perf_counter() - start
        model.zero_grad(set_to_none=True)
        with torch.no_grad():
            for name, value in model.named_buffers():
                value.copy_(buffers[name])

    def on_train_end(self, trainer, pl_module) -> None:
        pl_module.model._compiled_call_impl = None  # eager again (nn.Module.compile's hook)
