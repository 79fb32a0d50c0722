"""Training on Lightning: one model on one task, with checkpoints, resume, logs and DDP.

>>> from erlangen.train import TrainConfig, fit
>>> config = TrainConfig(task="rotated-digits", model="p4cnn", train_size=300)
>>> result = fit(config)  # doctest: +SKIP
>>> result.metrics["test_accuracy"]  # doctest: +SKIP

The task (:class:`erlangen.tasks.Task`) supplies the data (a tuple of tensors per sample),
the loss and the metrics; this module supplies the rest, the same for every task
(:class:`TaskModule`).

A run lives in its own folder, ``runs/<task>-<model>-<time>/``:

- ``config.json``: the full resolved configuration (seed included) and the environment;
- ``checkpoints/last.ckpt``: written at the end of every epoch, atomically (a temporary file
  in the same folder, flushed and fsynced, then ``os.replace``), so a crash mid-write leaves
  the previous checkpoint intact; read back with ``torch.load(..., weights_only=True)``;
- ``logs/session<k>/metrics.csv`` (and ``logs/tensorboard`` when tensorboard is installed):
  one CSV per start, so a resumed run keeps the earlier log;
- ``results.json``: the task's metrics (test accuracy or MSE, symmetry errors), parameter
  count, steps and training time (or why the run stopped).

Determinism and resume: every source of randomness during training is re-seeded at the start
of each epoch from ``(seed, epoch, rank)`` (the shuffling, the augmentation angles, dropout),
so a run resumed from the checkpoint of epoch ``k`` continues exactly as the uninterrupted
run would have. A run may be given in optimizer ``steps`` instead of epochs; it then stops
after exactly that many steps (the last epoch cut short).

Non-finite loss: the loss is checked at every step (on every rank, agreed through the
process group) and the parameters before every checkpoint; a NaN or inf stops training with
:class:`NonFiniteLossError` and the last good checkpoint stays as it was.

Before any folder is created or written, everything that can be checked is: the config
(:class:`ConfigError` names the file and field of a damaged ``config.json``), the device, the
training-set size, the model options, that the model fits the task's data
(:func:`check_model_fits`) and, on resume, that the checkpoint fits the model. One process at
a time trains in a run folder (:func:`folder_lock`, :class:`FolderInUseError`); Ctrl-C stops
training with :class:`TrainingInterrupted`, naming the run folder and the checkpoint it keeps.

Several processes: launch the same command with ``torchrun --nproc_per_node=N``; the run
uses Lightning's DDP strategy with the gloo backend on CPU (NCCL on GPUs). ``batch_size`` is
per process; each process reads its own shard of every epoch's permutation. At the end the
ranks compare a digest of their weights (recorded in ``results.json``) and fail loudly if they
differ.

Modules, one idea each: :mod:`~erlangen.train.config` (:class:`TrainConfig`,
:class:`FitResult`, :func:`read_config`), :mod:`~erlangen.train.run_dir` (the run folder and
its files), :mod:`~erlangen.train.models` (:func:`build_model`, :func:`weights_digest`),
:mod:`~erlangen.train.batches` (:class:`EpochBatchSampler`),
:mod:`~erlangen.train.task_module` (:class:`TaskModule`, :class:`NonFiniteLossError`),
:mod:`~erlangen.train.callbacks` (checkpoint, rank digests, progress bar),
:mod:`~erlangen.train.checkpoints` (atomic save, :func:`load_checkpoint`,
:class:`AtomicCheckpointIO`, :class:`CheckpointError`), :mod:`~erlangen.train.locks` (one
process per folder), :mod:`~erlangen.train.interrupts` (Ctrl-C), :mod:`~erlangen.train.distributed`
(ranks, broadcast, the torchrun process group), :mod:`~erlangen.train.trainer` (:func:`fit`,
:func:`resume`), :mod:`~erlangen.train.evaluation` (:func:`evaluate_model`, :func:`load_run`,
:func:`evaluate_run`) and :mod:`~erlangen.train.transfer` (:func:`transfer_from_run`).
"""

from ..tasks.base import count_parameters
from .batches import EpochBatchSampler
from .checkpoints import AtomicCheckpointIO, CheckpointError, atomic_torch_save, load_checkpoint
from .config import ConfigError, FitResult, TrainConfig, read_config
from .evaluation import evaluate_model, evaluate_run, load_run
from .interrupts import TrainingInterrupted
from .locks import FolderInUseError, folder_lock
from .models import build_model, check_model_fits, weights_digest
from .task_module import NonFiniteLossError, TaskModule
from .trainer import fit, resume
from .transfer import transfer_from_run, transfer_group_actions

__all__ = [
    "AtomicCheckpointIO",
    "CheckpointError",
    "ConfigError",
    "EpochBatchSampler",
    "FitResult",
    "FolderInUseError",
    "NonFiniteLossError",
    "TaskModule",
    "TrainConfig",
    "TrainingInterrupted",
    "atomic_torch_save",
    "build_model",
    "check_model_fits",
    "count_parameters",
    "evaluate_model",
    "evaluate_run",
    "fit",
    "folder_lock",
    "load_checkpoint",
    "load_run",
    "read_config",
    "resume",
    "transfer_from_run",
    "transfer_group_actions",
    "weights_digest",
]
