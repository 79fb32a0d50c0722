"""One run of a sweep, in this process or in a worker process, and the worker processes'
life: they ignore Ctrl-C (their parent stops them) and end when their parent dies.

A parent that dies abruptly (SIGKILL, out of memory) cannot stop its workers, and a worker
would go on training runs that no one records. On Linux each worker asks the kernel, with
``prctl(PR_SET_PDEATHSIG, SIGKILL)``, to be killed the moment its parent ends: immediate, at
no cost, and effective even while the worker is inside a long native computation that holds
Python's interpreter lock. (The kernel watches the thread that started the worker: the one
that calls :func:`~erlangen.sweep.run_sweep`, which waits for its workers.) Elsewhere (macOS
has no such call) a daemon thread polls ``os.getppid()`` once a second and ends the worker
when it changes. A worker killed either way leaves its run as its last checkpoint left it:
checkpoints are written atomically, and the run folder's lock dies with the process.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..tasks import Task
from ..train import NonFiniteLossError, TrainConfig, fit
from ..train.run_dir import CONFIG_FILE

#: prctl option: the signal the kernel sends this process when its parent ends (linux/prctl.h)
PR_SET_PDEATHSIG = 1
#: seconds between two looks at the parent, where prctl is not available
WATCH_INTERVAL_S = 1.0


def run_one(
    task: Task,
    config: TrainConfig,
    run_dir: Path,
    callbacks: Sequence[Any] = (),
    checkpoint_interval_s: float = 60.0,
) -> tuple[dict[str, Any], str]:
    """Train and measure one run; a non-finite loss is recorded, not raised. A run folder that
    holds a config already (an interrupted sweep) is continued from its checkpoint."""
    try:
        fitted = fit(
            config,
            run_dir=run_dir,
            resume=(run_dir / CONFIG_FILE).is_file(),
            progress=False,
            callbacks=callbacks,
            task=task,
            checkpoint_interval_s=checkpoint_interval_s,
        )
        return fitted.metrics, "finished"
    except NonFiniteLossError as e:  # one diverging run should not cost the others
        return {}, f"stopped: {e}"


def timed_run_one(
    task: Task, config: TrainConfig, run_dir: Path, checkpoint_interval_s: float
) -> tuple[dict[str, Any], str, float]:
    """:func:`run_one` and its wall time (what a worker process runs)."""
    t0 = time.perf_counter()
    metrics, status = run_one(task, config, run_dir, (), checkpoint_interval_s)
    return metrics, status, time.perf_counter() - t0


def worker_init(threads: int, parent_pid: int) -> None:
    """Set up a worker process: Ctrl-C is for the parent (which stops the workers), the
    worker ends with its parent (:func:`end_with_parent`), and uses ``threads`` threads."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    end_with_parent(parent_pid)
    torch.set_num_threads(threads)


def end_with_parent(parent_pid: int) -> str:
    """End this process when the process ``parent_pid`` (its parent) ends; returns how:
    ``"prctl"`` (Linux) or ``"watchdog"`` (a thread polling the parent's id)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            failed = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0
        except (OSError, AttributeError):
            failed = True
        if not failed:
            if os.getppid() != parent_pid:  # the parent died before the call took effect
                os._exit(1)
            return "prctl"
    threading.Thread(
        target=watch_parent, args=(parent_pid,), name="erlangen-parent-watchdog", daemon=True
    ).start()
    return "watchdog"


def watch_parent(parent_pid: int, interval_s: float = WATCH_INTERVAL_S) -> None:
    """Poll the parent's id every ``interval_s`` seconds; end the process (``os._exit``) once
    it is no longer ``parent_pid`` (the parent died and the process was re-parented)."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)
        time.sleep(interval_s)


def stop_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Cancel what has not started and kill the worker processes at once (their runs keep
    their last checkpoints), then wait for them to be gone. (The executor has no public way
    to kill its workers before Python 3.14; its ``_processes`` have been there since 3.2.)"""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=10)
