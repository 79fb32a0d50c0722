"""``erlangen train --compile``: the model runs under ``torch.compile`` for the training steps.

:class:`CompileModel` compiles the model in place (``nn.Module.compile``: the parameter names,
checkpoints and state dicts are the eager model's), then compiles forward and backward for
every batch size the training will see (the sampler's batches take one or two sizes) before
the first step, and records how long that took (``compile_time_s`` in ``results.json``; it
includes one forward and backward pass per size). The warm-up changes nothing: gradients are
cleared, buffers (e.g. batch-norm statistics) restored and the random state left as it was.
After training the model is eager again, so evaluation and the equivariance check (float64)
run without recompiling.
"""

from __future__ import annotations

import math
import time

import lightning.pytorch as pl
import torch

from . import distributed


def batch_sizes(samples: int, batch_size: int) -> list[int]:
    """The sizes the training batches take (:class:`~erlangen.train.EpochBatchSampler` splits
    a rank's share into nearly equal batches: one or two sizes)."""
    share = math.ceil(samples / distributed.world_size())
    batches = math.ceil(share / batch_size)
    return sorted({len(b) for b in torch.tensor_split(torch.arange(share), batches)})


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
        buffers = {k: v.clone() for k, v in model.named_buffers()}
        samples = pl_module.tensors[0].shape[0]
        start = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            for size in batch_sizes(samples, pl_module.recipe.batch_size):
                batch = tuple(t[:size].to(pl_module.device) for t in pl_module.tensors)
                loss, _ = pl_module.task.loss(model, batch, augment=False)
                loss.backward()
        self.compile_time_s = time.perf_counter() - start
        model.zero_grad(set_to_none=True)
        with torch.no_grad():
            for name, value in model.named_buffers():
                value.copy_(buffers[name])

    def on_train_end(self, trainer, pl_module) -> None:
        pl_module.model._compiled_call_impl = None  # eager again (nn.Module.compile's hook)
