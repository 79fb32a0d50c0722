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

>>> from erlangen.sweep import SweepPlan, run_sweep
>>> plan = SweepPlan(task="nbody-gravity", models=("gatr", "mlp"), sizes=(100, 1000), steps=500)
>>> result = run_sweep(plan, jobs=2, threads=1)  # doctest: +SKIP
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import io
import json
import math
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .environment import environment
from .tasks import Task, get_task
from .train import NonFiniteLossError, TrainConfig, fit
from .train.run_dir import unique_dir

AUGMENT_SUFFIX = "+aug"
#: bookkeeping of :func:`erlangen.train.fit` that does not go into the sweep's rows
NOT_METRICS = ("status", "task", "model", "weight_digests", "world_size", "train_samples")
#: columns every row starts with (after model, size and seed)
ROW_HEAD = ("steps", "epochs", "params", "train_time_s")


@dataclass(frozen=True)
class Contender:
    """A model in a sweep: a model name (registered, short or ``module:factory``), optionally
    with the task's augmentation (``NAME+aug``)."""

    model: str
    augment: bool = False

    @property
    def label(self) -> str:
        return self.model + (AUGMENT_SUFFIX if self.augment else "")

    def run_name(self, size: int, seed: int) -> str:
        """Folder name of one run: ``<label>-n<size>-seed<seed>``, with a factory spec's
        path reduced to its file name and other characters unsafe in a file name replaced."""
        label = re.sub(r"[^A-Za-z0-9._+-]+", "_", self.label.rsplit("/", 1)[-1])
        return f"{label}-n{size}-seed{seed}"

    @classmethod
    def parse(cls, spec: str) -> Contender:
        spec = spec.strip()
        if spec.endswith(AUGMENT_SUFFIX):
            return cls(spec[: -len(AUGMENT_SUFFIX)], True)
        return cls(spec, False)


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep trains.

    Attributes
    ----------
    task : str
        Task name.
    models : tuple of str
        Model names (registered, the task's short names, or ``module:factory``);
        ``NAME+aug`` adds the task's augmentation. Empty: the task's models.
    sizes : tuple of int
        Training-set sizes (nested subsets). Empty: the task's ``sweep_sizes``.
    seeds : tuple of int
        One run per seed for every (model, size).
    steps : int, optional
        Optimizer steps of every run. None: the task's ``sweep_steps``.
    batch_size, lr, optimizer, schedule : optional
        Recipe overrides shared by all runs (None: the task's recipe).
    model_options : dict
        Factory options per model name (short or registered), and under ``"*"`` options for
        every model; on top of the task's defaults.
    data_seed : int
        Seed of the task's data.
    """

    task: str
    models: tuple[str, ...] = ()
    sizes: tuple[int, ...] = ()
    seeds: tuple[int, ...] = (0,)
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    schedule: str | None = None
    model_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_seed: int = 0

    def filled(self, task: Task) -> SweepPlan:
        """A copy with the task's defaults for empty models, sizes and steps, and the task's
        short model names resolved (runs are labelled and recorded with registered names)."""
        models = []
        for spec in self.models or task.models:
            contender = Contender.parse(spec)
            models.append(Contender(task.model_name(contender.model), contender.augment).label)
        options = {
            key if key == "*" else task.model_name(key): value
            for key, value in self.model_options.items()
        }
        return dataclasses.replace(
            self,
            models=tuple(models),
            model_options=options,
            sizes=self.sizes or tuple(task.sweep_sizes),
            steps=self.steps if self.steps is not None else task.sweep_steps,
        )

    def runs(self) -> list[tuple[Contender, int, int]]:
        """``(contender, size, seed)`` in table order: by size, then seed, then model."""
        return [
            (Contender.parse(m), n, s) for n in self.sizes for s in self.seeds for m in self.models
        ]

    def options(self, task: Task, contender: Contender) -> dict[str, Any]:
        """The options given for ``contender``: those for every model (``"*"``), then those
        for its name (short or resolved)."""
        out = dict(self.model_options.get("*", {}))
        for key in dict.fromkeys((contender.model, task.model_name(contender.model))):
            out.update(self.model_options.get(key, {}))
        return out

    def config(self, task: Task, contender: Contender, size: int, seed: int, device: str):
        """The :class:`~erlangen.train.TrainConfig` of one run."""
        return TrainConfig(
            task=task.name,
            model=contender.model,
            model_options=self.options(task, contender),
            train_size=size,
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.lr,
            optimizer=self.optimizer,
            schedule=self.schedule,
            augment=True if contender.augment else None,
            seed=seed,
            data_seed=self.data_seed,
            device=device,
        )


def check_plan(plan: SweepPlan, task: Task) -> None:
    """Raise early (``KeyError`` / ``ValueError``) for unknown models, bad sizes or steps."""
    from .registry import get_model

    if not plan.models or not plan.sizes:
        raise ValueError("a sweep needs at least one model and one training-set size")
    labels = [Contender.parse(m).label for m in plan.models]
    if len(set(labels)) < len(labels):
        raise ValueError(f"models repeat in the sweep: {', '.join(labels)}")
    for spec in plan.models:
        contender = Contender.parse(spec)
        if ":" not in contender.model:
            get_model(task.model_name(contender.model))
        if contender.augment and not task.augmentation:
            raise ValueError(f"{spec}: task {task.name!r} has no augmentation")
    if any(n < 1 for n in plan.sizes) or (plan.steps is not None and plan.steps < 1):
        raise ValueError(f"sizes and steps must be positive, got {plan.sizes} and {plan.steps}")
    if not plan.seeds:
        raise ValueError("a sweep needs at least one seed")


@dataclass
class SweepResult:
    out_dir: Path
    plan: SweepPlan
    rows: list[dict[str, Any]] = field(default_factory=list)
    total_time_s: float = 0.0
    #: heading of ``report.md`` (default ``erlangen sweep: <task>``)
    title: str | None = None


def _run_one(
    task: Task, config: TrainConfig, run_dir: Path, callbacks: Sequence[Any] = ()
) -> tuple[dict[str, Any], str]:
    """Train and measure one run; a non-finite loss is recorded, not raised."""
    try:
        fitted = fit(
            config,
            run_dir=run_dir,
            progress=False,
            callbacks=callbacks,
            task=task,
            checkpoint_interval_s=60.0,
        )
        return fitted.metrics, "finished"
    except NonFiniteLossError as e:  # one diverging run should not cost the others
        return {}, f"stopped: {e}"


def _worker_init(threads: int) -> None:
    torch.set_num_threads(threads)


def _timed_run_one(
    task: Task, config: TrainConfig, run_dir: Path
) -> tuple[dict[str, Any], str, float]:
    t0 = time.perf_counter()
    metrics, status = _run_one(task, config, run_dir)
    return metrics, status, time.perf_counter() - t0


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
    callbacks: Callable[[], Sequence[Any]] | None = None,
    name: str | None = None,
    title: str | None = None,
    finish: Callable[[SweepResult], Sequence[str]] | None = None,
) -> SweepResult:
    """Train and measure every run of ``plan``; write results into ``out/<name>-<time>/``.

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
        slowest first), and the rows are written in table order.
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
    callbacks : callable, optional
        Returns extra Lightning callbacks for each run (``jobs=1`` only).
    name : str, optional
        Prefix of the output folder (default ``sweep-<task>``).
    title : str, optional
        Heading of ``report.md`` (default ``erlangen sweep: <task>``).
    finish : callable, optional
        ``finish(result)`` after the last run, before the final outputs are written: it may
        write more files into ``result.out_dir`` and returns Markdown lines for ``report.md``.
    """
    t_start = time.perf_counter()
    task = task or get_task(plan.task)
    plan = plan.filled(task)
    check_plan(plan, task)
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    out_dir = unique_dir(Path(out), name or f"sweep-{task.name}")
    t_data = time.perf_counter()
    task.load(plan.data_seed)  # generate/cache the data once, before any run reads it
    data_time = time.perf_counter() - t_data

    result = SweepResult(out_dir, plan, title=title)
    runs = plan.runs()
    threads = threads or (
        torch.get_num_threads() if jobs == 1 else max(1, (os.cpu_count() or 1) // jobs)
    )
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    env = {"jobs": jobs, "threads": threads, "device": device, "data_time_s": data_time}

    run_dirs = {(c.label, n, s): out_dir / "runs" / c.run_name(n, s) for c, n, s in runs}
    order = {key: i for i, key in enumerate(run_dirs)}  # table order of the rows

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

    if jobs == 1:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            for i, (contender, size, seed) in enumerate(runs):
                if on_start is not None:
                    on_start(i, len(runs), contender, size, seed)
                config = plan.config(task, contender, size, seed, device)
                t0 = time.perf_counter()
                metrics, status = _run_one(
                    task,
                    config,
                    run_dirs[(contender.label, size, seed)],
                    list(callbacks()) if callbacks else (),
                )
                record(contender, size, seed, metrics, status, time.perf_counter() - t0)
        finally:
            torch.set_num_threads(before)
    else:
        labels = [Contender.parse(m).label for m in plan.models]
        by_model = sorted(runs, key=lambda r: labels.index(r[0].label))
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_worker_init, initargs=(threads,)
        ) as pool:
            futures = {
                pool.submit(
                    _timed_run_one,
                    task,
                    plan.config(task, c, n, s, device),
                    run_dirs[(c.label, n, s)],
                ): (c, n, s)
                for c, n, s in by_model
            }
            for future in concurrent.futures.as_completed(futures):
                contender, size, seed = futures[future]
                metrics, status, wall = future.result()
                record(contender, size, seed, metrics, status, wall)
    extra = list(finish(result)) if finish is not None else []
    result.total_time_s = time.perf_counter() - t_start
    write_outputs(result, task, env, final=True, extra=extra)
    return result


# ----------------------------------------------------------------------------- outputs
def _columns(task: Task) -> list[tuple[str, str, str]]:
    head = [
        ("model", "model", "{}"),
        ("train_size", "train size", "{}"),
        ("seed", "seed", "{}"),
        ("steps", "steps", "{}"),
        ("params", "params", "{:,}"),
        ("train_time_s", "train time (s)", "{:.0f}"),
    ]
    return head + [(c.key, c.header, c.fmt) for c in task.columns]


def _cells(row: dict[str, Any], columns) -> list[str]:
    cells = []
    for key, _, fmt in columns:
        value = row.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            applicable = row.get("status") != "finished" or f"{key}_note" not in row
            cells.append("-" if applicable else "n/a")
        else:
            cells.append(fmt.format(value))
    return cells


def rich_table(rows: Sequence[dict[str, Any]], task: Task, title: str = "erlangen sweep"):
    """The results as a :class:`rich.table.Table` with the task's columns."""
    from rich.table import Table

    columns = _columns(task)
    table = Table(title=title)
    for key, head, _ in columns:
        table.add_column(head, justify="left" if key == "model" else "right")
    for row in rows:
        table.add_row(*_cells(row, columns))
    return table


def markdown_table(rows: Sequence[dict[str, Any]], task: Task) -> str:
    """The results as a Markdown table with the task's columns."""
    columns = _columns(task)
    lines = ["| " + " | ".join(h for _, h, _ in columns) + " |"]
    lines.append("|" + "|".join("---" if k == "model" else "---:" for k, _, _ in columns) + "|")
    lines += ["| " + " | ".join(_cells(r, columns)) + " |" for r in rows]
    return "\n".join(lines)


def write_outputs(
    result: SweepResult,
    task: Task,
    env: dict[str, Any],
    final: bool = False,
    extra: Sequence[str] = (),
) -> None:
    """``results.json``, ``results.csv`` and, when ``final``, ``report.md`` (with the
    ``extra`` Markdown lines after the results) and the plot."""
    from .data import atomic_write_bytes

    out = result.out_dir
    doc = {
        "plan": dataclasses.asdict(result.plan),
        "task": task.name,
        "complete": final,
        "total_time_s": result.total_time_s,
        **env,
        "environment": environment(stamp="finished"),
        "runs": result.rows,
    }
    atomic_write_bytes(out / "results.json", (json.dumps(doc, indent=2) + "\n").encode())
    if result.rows:
        fields = list(dict.fromkeys(k for r in result.rows for k in r))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(result.rows)
        atomic_write_bytes(out / "results.csv", text.getvalue().encode())
    finished = [r for r in result.rows if r["status"] == "finished"]
    if final and finished and task.plots:
        plot_metrics_vs_size(finished, task, out / "metrics_vs_size.png")
    if final:
        (out / "report.md").write_text(report_markdown(result, task, doc, extra))


def summarize(
    rows: Sequence[dict[str, Any]], key: str
) -> dict[str, dict[int, tuple[float, float]]]:
    """``{model: {size: (mean, std over seeds)}}`` of ``key``, skipping missing values."""
    values: dict[str, dict[int, list[float]]] = {}
    for r in rows:
        if r.get(key) is not None:
            values.setdefault(r["model"], {}).setdefault(r["train_size"], []).append(r[key])
    return {
        model: {n: (float(np.mean(v)), float(np.std(v))) for n, v in sorted(sizes.items())}
        for model, sizes in values.items()
    }


def plot_metrics_vs_size(rows: Sequence[dict[str, Any]], task: Task, path: Path) -> None:
    """One panel per metric in ``task.plots`` against training-set size (log x, and log y
    when ``task.plot_log_y``), one line per model (mean over seeds, std as error bars);
    models without a value for a panel are listed in it as not applicable."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = task.plots
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.9), squeeze=False)
    models = list(dict.fromkeys(r["model"] for r in rows))
    colours = {m: f"C{i}" for i, m in enumerate(models)}
    for ax, (key, title) in zip(axes[0], panels):
        stats = summarize(rows, key)
        for model in models:
            if model not in stats:
                continue
            sizes = sorted(stats[model])
            mean = [stats[model][n][0] for n in sizes]
            std = [stats[model][n][1] for n in sizes]
            ax.errorbar(
                sizes,
                mean,
                yerr=std if any(std) else None,
                marker="o",
                capsize=3,
                label=model,
                color=colours[model],
            )
        missing = [m for m in models if m not in stats]
        if missing:
            ax.text(
                0.03,
                0.03,
                "n/a: " + ", ".join(missing),
                transform=ax.transAxes,
                fontsize=8,
                color="0.35",
            )
        ax.set_xscale("log")
        if task.plot_log_y:
            ax.set_yscale("log")
        ax.set_xlabel(task.size_label)
        ax.set_ylabel(key)
        ax.set_title(title, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        if stats:
            ax.legend(fontsize=8)
    fig.suptitle(f"{task.name}: metrics against training-set size", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report_markdown(
    result: SweepResult, task: Task, doc: dict[str, Any], extra: Sequence[str] = ()
) -> str:
    """``report.md``: set-up, table, plot, the ``extra`` lines and the runs that stopped."""
    plan, env = result.plan, doc["environment"]
    options = {
        task.model_name(Contender.parse(m).model): {
            **task.model_options(task.model_name(Contender.parse(m).model)),
            **plan.options(task, Contender.parse(m)),
        }
        for m in plan.models
    }
    recipe = task.recipe
    lines = [
        f"# {result.title or f'erlangen sweep: {task.name}'}",
        "",
        f"Finished {env['finished']} in {result.total_time_s / 60:.1f} min (data "
        f"{doc['data_time_s']:.1f} s) on {env['platform']} ({env['cpus']} CPUs), {doc['jobs']} "
        f"parallel run(s) with {doc['threads']} thread(s) each, device {doc['device']}; erlangen "
        f"{env['erlangen']}, torch {env['torch']}.",
        "",
        "## Set-up",
        "",
        f"- Task `{task.name}`: {task.description}.",
        f"- Models: {', '.join(f'`{m}`' for m in plan.models)}; options: "
        + ("; ".join(f"`{m}` {json.dumps(o)}" for m, o in options.items() if o) or "none")
        + ".",
        f"- Training-set sizes: {', '.join(str(n) for n in plan.sizes)} (nested subsets); "
        f"seeds: {', '.join(map(str, plan.seeds))}; data seed {plan.data_seed}.",
        f"- Every run: {plan.steps} optimizer steps, {plan.optimizer or recipe.optimizer}, lr "
        f"{plan.lr or recipe.lr:g}, {plan.schedule or recipe.schedule} schedule, batch "
        f"{plan.batch_size or recipe.batch_size}.",
        "",
        "## Results",
        "",
        markdown_table(result.rows, task),
        "",
        *(["![metrics against training-set size](metrics_vs_size.png)", ""] if task.plots else []),
        *extra,
        *[
            f"- Stopped: {r['model']} with {r['train_size']} samples, seed {r['seed']}: "
            f"{r['status']}"
            for r in result.rows
            if r["status"] != "finished"
        ],
        *sorted(
            {
                f"- n/a: {r['model']}: {v}"
                for r in result.rows
                for k, v in r.items()
                if k.endswith("_note")
            }
        ),
        "",
        "Every run keeps its config, checkpoint and logs under `runs/`; "
        "`erlangen evaluate runs/<run>` measures one again.",
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- progress
def run_with_progress(
    plan: SweepPlan, console, *, label: str = "runs", **kwargs: Any
) -> SweepResult:
    """:func:`run_sweep` with a display on ``console`` (a :class:`rich.console.Console`).

    On a terminal: a bar over all runs and, when runs go one at a time, one over the current
    run's optimizer steps with its last epoch's training metrics. In a log file: a line when a
    run starts and its row of the results table when it ends. ``kwargs`` go to
    :func:`run_sweep` (``callbacks``, ``on_start`` and ``on_done`` are taken here).
    """
    import lightning.pytorch as pl
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    task = kwargs.pop("task", None) or get_task(plan.task)
    plan = plan.filled(task)
    live = console.is_terminal
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not live,
    )
    overall = progress.add_task(label, total=len(plan.runs()))
    current = progress.add_task("", total=plan.steps, visible=kwargs.get("jobs", 1) == 1)
    run_label = {"text": ""}

    class StepProgress(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            progress.update(current, completed=trainer.global_step)

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            shown = [
                f"{key.removeprefix('train/')} {float(value):.3g}"
                for key, value in trainer.callback_metrics.items()
                if key.startswith("train/") and not key.endswith("time_s")
            ]
            progress.update(current, description="  ".join([run_label["text"], *shown]))

    def on_start(i: int, total: int, contender: Contender, size: int, seed: int) -> None:
        run_label["text"] = f"{contender.label} n={size} seed={seed}"
        progress.reset(current, total=plan.steps, description=run_label["text"])
        if not live:
            console.print(f"[{i + 1}/{total}] {run_label['text']} ...", highlight=False)

    def on_done(row: dict[str, Any]) -> None:
        progress.advance(overall)
        if row["status"] != "finished":
            console.print(f"[red]{row['model']} n={row['train_size']}: {row['status']}[/]")
        elif not live:
            cells = markdown_table([row], task).splitlines()[-1]
            console.print(f"done in {row['wall_time_s']:.0f} s: {cells}", highlight=False)

    with progress:
        return run_sweep(
            plan,
            task=task,
            on_start=on_start,
            on_done=on_done,
            callbacks=lambda: [StepProgress()],
            **kwargs,
        )


__all__ = [
    "Contender",
    "SweepPlan",
    "SweepResult",
    "check_plan",
    "markdown_table",
    "plot_metrics_vs_size",
    "rich_table",
    "run_sweep",
    "run_with_progress",
    "summarize",
    "write_outputs",
]
