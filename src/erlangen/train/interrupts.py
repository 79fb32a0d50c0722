"""Ctrl-C during training: a clean stop that says what the run folder keeps.

Lightning turns a ``KeyboardInterrupt`` inside ``Trainer.fit`` into ``sys.exit(1)`` (and
ignores SIGINT from then on), which would end a sweep without its report. While
:func:`~erlangen.train.fit` runs in the main thread with Python's default SIGINT handler,
:func:`stop_on_sigint` makes Ctrl-C raise :class:`Stop` instead, which Lightning passes on
like any error after its clean-up; ``fit`` then raises :class:`TrainingInterrupted` (a
``KeyboardInterrupt``) naming the run folder and what it keeps. A process that ignores SIGINT
(the workers of a parallel sweep, which their parent stops) keeps ignoring it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path


class Stop(BaseException):
    """Raised by the SIGINT handler of :func:`stop_on_sigint` (not a ``KeyboardInterrupt``,
    which Lightning would turn into ``sys.exit``)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`~erlangen.train.fit`.

    Attributes
    ----------
    run_dir : Path or None
        The run folder (None when it was not created yet).
    epochs_done : int or None
        Epochs its checkpoint holds (None without a checkpoint).
    epochs : int or None
        Epochs of the whole run.
    """

    def __init__(
        self, message: str, run_dir: Path | None, epochs_done: int | None, epochs: int | None
    ):
        super().__init__(message)
        self.run_dir, self.epochs_done, self.epochs = run_dir, epochs_done, epochs

    def __str__(self) -> str:
        return str(self.args[0])


def _raise_stop(signum, frame) -> None:
    raise Stop()


@contextlib.contextmanager
def stop_on_sigint() -> Iterator[None]:
    """Within the block, SIGINT raises :class:`Stop` (only in the main thread, and only where
    SIGINT has Python's default handler: a handler of the caller's, or an ignored SIGINT, is
    left alone)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    previous = signal.signal(signal.SIGINT, _raise_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Within the block, SIGINT is ignored (main thread only): for writing a report after a
    first Ctrl-C, which a second one should not cut short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
