"""Sample-efficiency sweeps for any task: training-set sizes x models x seeds.

``erlangen sweep TASK`` trains every model of the task (or those given) on nested training
subsets of several sizes, with the **same number of optimizer steps** for every run (small
sets are seen for many epochs, large ones for few), measures each trained model with the
task's metrics, and writes into ``runs/sweep-<task>-<time>/``:

- ``results.json``: the plan, the environment, total and data time, one row per run (after
  every run, so partial results survive a crash; ``complete`` is true at the end);
- ``results.csv``: the same rows;
- ``report.md``: the set-up and a table of the task's columns;
- ``metrics_vs_size.png``: each of the task's plotted metrics against training-set size
  (log x; log y when the task asks), one panel per metric, one line per model;
- ``runs/<model>-n<size>-seed<seed>/``: every run's own folder (config, checkpoint, logs,
  results), so ``erlangen evaluate`` can measure one again.

Runs can go in parallel processes (``jobs``), each with its own number of threads: on a
small CPU, one single-threaded process per core often beats one process using every core.
The worker processes end with their parent, however it ends.

Interrupted work is kept: Ctrl-C writes the results, report and plots of the finished runs
(:class:`SweepInterrupted`), and :func:`resume_sweep` (``erlangen sweep --resume DIR``)
continues the sweep, keeping the finished rows and continuing the interrupted runs from their
checkpoints. One process at a time works in a sweep folder.

>>> from erlangen.sweep import SweepPlan, run_sweep
>>> plan = SweepPlan(task="nbody-gravity", models=("gatr", "mlp"), sizes=(100, 1000), steps=500)
>>> result = run_sweep(plan, jobs=2, threads=1)  # doctest: +SKIP

Modules: :mod:`~erlangen.sweep.plan` (what a sweep trains and its checks),
:mod:`~erlangen.sweep.runner` (running, resuming, interruptions),
:mod:`~erlangen.sweep.workers` (one run, the worker processes),
:mod:`~erlangen.sweep.outputs` (results, report, plot, reading a sweep back) and
:mod:`~erlangen.sweep.progress` (the live display).
"""

from .outputs import (
    SweepResult,
    markdown_table,
    plot_metrics_vs_size,
    read_sweep,
    rich_table,
    summarize,
    write_outputs,
)
from .plan import Contender, SweepPlan, check_plan, check_plan_fits
from .progress import run_with_progress
from .runner import SweepInterrupted, resume_sweep, run_sweep

__all__ = [
    "Contender",
    "SweepInterrupted",
    "SweepPlan",
    "SweepResult",
    "check_plan",
    "check_plan_fits",
    "markdown_table",
    "plot_metrics_vs_size",
    "read_sweep",
    "resume_sweep",
    "rich_table",
    "run_sweep",
    "run_with_progress",
    "summarize",
    "write_outputs",
]
