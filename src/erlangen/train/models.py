"""The model of a run: built from its name or ``module:factory`` spec for a task, checked
against the task's data before anything is written, and a digest of its weights to compare
copies (ranks, resumed and uninterrupted runs)."""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..registry import get_model, load_factory
from ..tasks import Task
from .batches import own_loader


def _one_line(error: BaseException) -> str:
    """``Type: message`` with the message's whitespace (newlines too) collapsed."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def resolve_factory(spec: str) -> Callable[..., Any]:
    """The factory of ``spec``: a registered model name or ``module:factory`` /
    ``file.py:factory``.

    Raises
    ------
    KeyError
        For an unknown registered name (the message lists the known ones).
    ValueError
        When a factory of your own cannot be loaded (no such file or module, no such
        attribute, or an error while importing it) or is not callable.
    """
    if ":" not in spec:
        return get_model(spec).factory
    try:
        factory = load_factory(spec)
    except Exception as e:  # the user's module: any error while importing it
        raise ValueError(f"cannot load model {spec!r}: {_one_line(e)}") from e
    if not callable(factory):
        raise ValueError(f"cannot load model {spec!r}: it is a {type(factory).__name__}")
    return factory


def build_model(spec: str, task: Task, options: dict[str, Any] | None = None) -> nn.Module:
    """Build ``spec`` (a registered name or ``module:factory``) for ``task``'s data: the
    factory gets ``task.model_kwargs()`` and ``options``.

    Raises
    ------
    KeyError
        For an unknown registered name.
    ValueError
        When the factory cannot be loaded, refuses the options (an unknown keyword, a bad
        value) or fails otherwise; the message names the model and the options.
    TypeError
        When the factory returns something other than an ``nn.Module``.
    """
    factory = resolve_factory(spec)
    options = dict(options or {})
    try:
        model = factory(**task.model_kwargs(), **options)
    except Exception as e:
        raise ValueError(
            f"cannot build model {spec!r} for task {task.name!r} with options {options}: "
            f"{_one_line(e)}"
        ) from e
    if not isinstance(model, nn.Module):
        raise TypeError(f"model factory {spec!r} returned {type(model).__name__}, not nn.Module")
    return model


@contextlib.contextmanager
def warnings_only_on_success() -> Iterator[None]:
    """Hold back the warnings raised in the block (building a model, its first forward pass):
    they are issued when the block succeeds and dropped when it fails, so that a failure is
    reported in one line, not after the warnings of what led to it (e.g. torch's warning about
    a zero-width layer before the error it causes)."""
    with warnings.catch_warnings(record=True) as caught:
        yield
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


#: samples of the training data that :func:`check_model_fits` feeds through a model
FIT_CHECK_SAMPLES = 2


def check_model_fits(
    model: nn.Module, task: Task, tensors: Sequence[Tensor] | Any, name: str | None = None
) -> None:
    """Run ``task.loss`` on the first two training samples, so that a model that does not fit
    the task's data (an image model on 8x8 digits or on n-body systems, a wrong number of
    classes) fails with one message before any run folder is created.

    ``tensors`` is the training data as the trainer holds it
    (:func:`~erlangen.train.batches.training_samples`): a tuple of tensors, or the dataset of
    a task that batches its own samples (its ``train_loader`` makes the batch).

    The model runs in eval mode without gradients and with the random number generator's
    state restored afterwards, so training that follows is exactly what it would have been
    without the check.

    Raises
    ------
    ValueError
        Naming the model, the task, the shapes of the batch and the model's error.
    """
    make = own_loader(task)
    if make is None:
        batch = tuple(t[:FIT_CHECK_SAMPLES] for t in tensors)
    else:
        first = list(range(min(FIT_CHECK_SAMPLES, len(tensors))))
        batch = next(iter(make(tensors, [first])))
    was_training = model.training
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            model.eval()
            task.loss(model, batch, augment=False, generator=None)
    except Exception as e:
        if make is None:
            shapes = "shapes " + ", ".join(str(tuple(t.shape)) for t in batch)
        else:
            shapes = " ".join(repr(batch).split())
        raise ValueError(
            f"model {name or type(model).__name__!r} does not fit task {task.name!r}: on a "
            f"batch of its training data ({shapes}) it fails with {_one_line(e)}"
        ) from e
    finally:
        model.train(was_training)


def weights_digest(model: nn.Module, buffers: bool = True) -> str:
    """SHA-256 of the parameters (and buffers) by name, shape and bytes, to compare copies."""
    tensors = dict(model.named_parameters())
    if buffers:
        tensors.update(model.named_buffers())
    h = hashlib.sha256()
    for name, t in sorted(tensors.items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
