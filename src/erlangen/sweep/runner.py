"""Running a sweep (:func:`run_sweep`), continuing an interrupted one (:func:`resume_sweep`),
and what Ctrl-C leaves (:class:`SweepInterrupted`)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..tasks import Task, get_task
from ..train import distributed, folder_lock
from ..train.interrupts import sigint_ignored
from ..train.run_dir import check_can_create, unique_dir
from .outputs import (
    NOT_METRICS,
    ROW_HEAD,
    SweepResult,
    is_final,
    read_sweep,
    write_outputs,
)
from .plan import Contender, SweepPlan, check_plan, check_plan_fits
from .workers import run_one, stop_workers, timed_run_one, worker_init


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sweep; its folder holds the results, report and plots of the runs
    that finished, and the checkpoints of those that were running.

    Attributes
    ----------
    sweep_dir : Path
    finished, total : int
        Runs recorded and runs planned.
    command : str
        ``sweep`` or ``demo``: ``erlangen <command> --resume <sweep_dir>`` continues it.
    """

    def __init__(self, message: str, sweep_dir: Path, finished: int, total: int, command: str):
        super().__init__(message)
        self.sweep_dir, self.finished, self.total = sweep_dir, finished, total
        self.command = command

    def __str__(self) -> str:
        return str(self.args[0])


def run_sweep(
    plan: SweepPlan,
    out: str | os.PathLike = "runs",
    device: str = "auto",
    *,
    jobs: int = 1,
    threads: int | None = None,
    task: Task | None = None,
    on_start: Callable[[int, int, Contender, int, int], None] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    on_resume: Callable[[Sequence[dict[str, Any]]], None] | None = None,
    callbacks: Callable[[], Sequence[Any]] | None = None,
    name: str | None = None,
    title: str | None = None,
    finish: Callable[[SweepResult], Sequence[str]] | None = None,
    command: str = "sweep",
    sweep_dir: str | os.PathLike | None = None,
    checkpoint_interval_s: float = 60.0,
) -> SweepResult:
    """Train and measure every run of ``plan``; write results into ``out/<name>-<time>/``.

    Everything that can be checked is checked before the folder is created: the plan, the
    device, that ``out`` can hold a folder, the training-set sizes against the task's data,
    and every model with its options against the data (:func:`check_plan_fits`).

    Parameters
    ----------
    plan : SweepPlan
    out : path-like
        Parent folder.
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    jobs : int
        Runs trained at the same time, each in its own process (1: in this process). With
        several jobs, runs start model by model in the order of ``plan.models`` (list the
        slowest first), and the rows are written in table order. The worker processes end
        with this one, however it ends (:mod:`erlangen.sweep.workers`).
    threads : int, optional
        Torch threads per run (default: this process's setting for ``jobs=1``, cores / jobs
        otherwise).
    task : Task, optional
        Use this task object instead of looking ``plan.task`` up (it must be picklable when
        ``jobs > 1``).
    on_start : callable, optional
        ``on_start(i, total, contender, size, seed)`` before each run (``jobs=1`` only).
    on_done : callable, optional
        ``on_done(row)`` after each run.
    on_resume : callable, optional
        ``on_resume(rows)`` with the rows an interrupted sweep had finished, before the
        remaining runs start (only with ``sweep_dir``).
    callbacks : callable, optional
        Returns extra Lightning callbacks for each run (``jobs=1`` only).
    name : str, optional
        Prefix of the output folder (default ``sweep-<task>``).
    title : str, optional
        Heading of ``report.md`` (default ``erlangen sweep: <task>``).
    finish : callable, optional
        ``finish(result)`` after the last run (and after an interruption), before the report
        is written: it may write more files into ``result.out_dir`` and returns Markdown
        lines for ``report.md``.
    command : str
        The command named in the report of an interrupted sweep (``erlangen <command>
        --resume``), recorded in ``results.json``.
    sweep_dir : path-like, optional
        Continue the interrupted sweep in this folder instead of starting a new one (see
        :func:`resume_sweep`): its finished rows are kept, runs that were under way continue
        from their checkpoints, the others start.
    checkpoint_interval_s : float
        Each run writes its checkpoint at the end of an epoch when this many seconds have
        passed since the last one (and always at its end).

    Raises
    ------
    SweepInterrupted
        On Ctrl-C, after writing the results, report and plots of the finished runs.
    """
    t_start = time.perf_counter()
    task = task or get_task(plan.task)
    plan = plan.filled(task)
    check_plan(plan, task)
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    distributed.accelerator(device)  # refuses cuda without CUDA and unknown devices
    earlier: dict[str, Any] = {}
    if sweep_dir is None:
        check_can_create(out)
    else:
        recorded, earlier = read_sweep(sweep_dir)
        if recorded.filled(task) != plan:
            raise ValueError(f"{sweep_dir} was run with another plan: {recorded}")
    t_data = time.perf_counter()
    data = task.load(plan.data_seed)  # generate/cache the data once, before any run reads it
    data_time = time.perf_counter() - t_data
    check_plan_fits(plan, task, data)
    del data

    with contextlib.ExitStack() as stack:
        if sweep_dir is None:
            out_dir = unique_dir(Path(out), name or f"sweep-{task.name}")
        else:
            out_dir = Path(sweep_dir)
        stack.enter_context(folder_lock(out_dir, "sweep folder"))
        return _run(
            plan,
            task,
            out_dir,
            device,
            jobs=jobs,
            threads=threads,
            earlier=earlier,
            t_start=t_start - float(earlier.get("total_time_s", 0.0)),
            data_time=data_time,
            on_start=on_start,
            on_done=on_done,
            on_resume=on_resume,
            callbacks=callbacks,
            title=title if title is not None else earlier.get("title"),
            finish=finish,
            command=command,
            checkpoint_interval_s=checkpoint_interval_s,
        )


def _run(
    plan: SweepPlan,
    task: Task,
    out_dir: Path,
    device: str,
    *,
    jobs: int,
    threads: int | None,
    earlier: dict[str, Any],
    t_start: float,
    data_time: float,
    on_start,
    on_done,
    on_resume,
    callbacks,
    title: str | None,
    finish,
    command: str,
    checkpoint_interval_s: float,
) -> SweepResult:
    result = SweepResult(out_dir, plan, title=title, command=command)
    runs = plan.runs()
    threads = threads or (
        torch.get_num_threads() if jobs == 1 else max(1, (os.cpu_count() or 1) // jobs)
    )
    env = {"jobs": jobs, "threads": threads, "device": device, "data_time_s": data_time}

    run_dirs = {(c.label, n, s): out_dir / "runs" / c.run_name(n, s) for c, n, s in runs}
    order = {key: i for i, key in enumerate(run_dirs)}  # table order of the rows
    kept = [
        r
        for r in earlier.get("runs", [])
        if is_final(r) and (r["model"], r["train_size"], r["seed"]) in order
    ]
    result.rows = sorted(kept, key=lambda r: order[(r["model"], r["train_size"], r["seed"])])
    done = {(r["model"], r["train_size"], r["seed"]) for r in result.rows}
    pending = [(c, n, s) for c, n, s in runs if (c.label, n, s) not in done]
    if kept and on_resume is not None:
        on_resume(result.rows)
    result.total_time_s = time.perf_counter() - t_start
    write_outputs(result, task, env)  # the plan is on disk from the start: resumable at once

    def record(contender: Contender, size: int, seed: int, metrics, status, wall) -> None:
        run_dir = run_dirs[(contender.label, size, seed)]
        row = {
            "model": contender.label,
            "model_name": task.model_name(contender.model),
            "train_size": size,
            "seed": seed,
            **{k: metrics.get(k) for k in ROW_HEAD},
            "wall_time_s": wall,
            **{k: v for k, v in metrics.items() if k not in NOT_METRICS and k not in ROW_HEAD},
            "status": status,
            "run_dir": str(run_dir.relative_to(out_dir)),
        }
        result.rows.append(row)
        result.rows.sort(key=lambda r: order[(r["model"], r["train_size"], r["seed"])])
        if on_done is not None:
            on_done(row)
        result.total_time_s = time.perf_counter() - t_start
        write_outputs(result, task, env)  # after every run: partial results survive

    try:
        if jobs == 1:
            _serial(
                plan,
                task,
                device,
                threads,
                runs,
                pending,
                run_dirs,
                record,
                on_start,
                callbacks,
                checkpoint_interval_s,
            )
        else:
            _parallel(
                plan, task, device, jobs, threads, pending, run_dirs, record, checkpoint_interval_s
            )
    except BaseException as e:
        # Ctrl-C, or a run that failed: the finished runs get their report and plots
        result.stopped = (
            "interrupted"
            if isinstance(e, KeyboardInterrupt)
            else (f"{type(e).__name__}: {' '.join(str(e).split())}")
        )
        with sigint_ignored():
            _write_final(result, task, env, finish, t_start, final=False)
        if isinstance(e, KeyboardInterrupt):
            raise SweepInterrupted(
                f"the {command} was interrupted after {len(result.rows)} of {len(runs)} runs; "
                f"{out_dir} has their results, report and plots",
                out_dir,
                len(result.rows),
                len(runs),
                command,
            ) from None
        raise
    _write_final(result, task, env, finish, t_start, final=True)
    return result


def _write_final(result, task, env, finish, t_start: float, final: bool) -> None:
    try:
        extra = list(finish(result)) if finish is not None else []
    except Exception:
        if final:
            raise
        extra = []  # the report of an interrupted sweep matters more than its extra figures
    result.total_time_s = time.perf_counter() - t_start
    write_outputs(result, task, env, final=final, extra=extra)


def _serial(
    plan,
    task,
    device,
    threads,
    runs,
    pending,
    run_dirs,
    record,
    on_start,
    callbacks,
    checkpoint_interval_s,
) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    index = {key: i for i, key in enumerate(runs)}
    try:
        for contender, size, seed in pending:
            if on_start is not None:
                on_start(index[(contender, size, seed)], len(runs), contender, size, seed)
            config = plan.config(task, contender, size, seed, device)
            t0 = time.perf_counter()
            metrics, status = run_one(
                task,
                config,
                run_dirs[(contender.label, size, seed)],
                list(callbacks()) if callbacks else (),
                checkpoint_interval_s,
            )
            record(contender, size, seed, metrics, status, time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)


def _parallel(
    plan, task, device, jobs, threads, pending, run_dirs, record, checkpoint_interval_s
) -> None:
    labels = [Contender.parse(m).label for m in plan.models]
    by_model = sorted(pending, key=lambda r: labels.index(r[0].label))
    pool = concurrent.futures.ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_init,
        initargs=(threads, os.getpid()),
    )
    try:
        futures = {
            pool.submit(
                timed_run_one,
                task,
                plan.config(task, c, n, s, device),
                run_dirs[(c.label, n, s)],
                checkpoint_interval_s,
            ): (c, n, s)
            for c, n, s in by_model
        }
        for future in concurrent.futures.as_completed(futures):
            contender, size, seed = futures[future]
            metrics, status, wall = future.result()
            record(contender, size, seed, metrics, status, wall)
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def resume_sweep(
    sweep_dir: str | os.PathLike,
    device: str | None = None,
    *,
    task: Task | None = None,
    **kwargs: Any,
) -> SweepResult:
    """Continue the interrupted sweep in ``sweep_dir`` with its recorded plan: the finished
    rows are kept, runs that were under way continue from their checkpoints (bit-exact, like
    :func:`erlangen.train.resume`), the others start. ``device`` defaults to the recorded one;
    ``kwargs`` go to :func:`run_sweep` (``jobs``, ``threads``, ``on_done``...)."""
    plan, doc = read_sweep(sweep_dir)
    kwargs.setdefault("command", doc.get("command", "sweep"))
    return run_sweep(
        plan,
        device=device or doc.get("device", "auto"),
        task=task,
        sweep_dir=sweep_dir,
        **kwargs,
    )
