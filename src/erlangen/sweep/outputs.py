"""A sweep's folder: its results (``results.json``, ``results.csv``), ``report.md``, the plot of
the task's metrics against training-set size, and reading a sweep back to continue it."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..environment import environment
from ..tasks import Task
from .plan import Contender, SweepPlan

RESULTS_FILE = "results.json"
#: bookkeeping of :func:`erlangen.train.fit` that does not go into the sweep's rows
NOT_METRICS = ("status", "task", "model", "weight_digests", "world_size", "train_samples")
#: columns every row starts with (after model, size and seed)
ROW_HEAD = ("steps", "epochs", "params", "train_time_s")


@dataclass
class SweepResult:
    out_dir: Path
    plan: SweepPlan
    rows: list[dict[str, Any]] = field(default_factory=list)
    total_time_s: float = 0.0
    #: heading of ``report.md`` (default ``erlangen sweep: <task>``)
    title: str | None = None
    #: the command that continues it: ``erlangen <command> --resume <out_dir>``
    command: str = "sweep"
    #: why the sweep stopped before its last run (None while it runs and when it finished)
    stopped: str | None = None


def is_final(row: dict[str, Any]) -> bool:
    """Whether a recorded row is done for good: finished, or stopped by a non-finite loss."""
    return row.get("status") == "finished" or str(row.get("status", "")).startswith("stopped")


def read_sweep(sweep_dir: str | Path) -> tuple[SweepPlan, dict[str, Any]]:
    """The plan and the whole record (``results.json``) of the sweep in ``sweep_dir``.

    Raises
    ------
    FileNotFoundError
        When ``sweep_dir`` has no ``results.json``.
    ValueError
        When the file is damaged (the message names the file and the field).
    """
    path = Path(sweep_dir) / RESULTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {sweep_dir} is not a sweep folder")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(
            f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}); the file "
            "is damaged"
        ) from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file; the file is damaged") from None
    if not isinstance(doc, dict) or "plan" not in doc:
        raise ValueError(f"{path}: no 'plan'; the file is damaged or not a sweep's")
    try:
        plan = SweepPlan.from_dict(doc["plan"])
    except ValueError as e:
        raise ValueError(f"{path}: plan: {e}") from None
    rows = doc.get("runs", [])
    keys = ("model", "train_size", "seed", "status")
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and all(k in r for k in keys) for r in rows
    ):
        raise ValueError(f"{path}: field 'runs' must be a list of rows with {', '.join(keys)}")
    if doc.get("command", "sweep") not in ("sweep", "demo"):
        raise ValueError(f"{path}: field 'command' must be sweep or demo, got {doc['command']!r}")
    return plan, doc


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
    """``results.json``, ``results.csv`` and, when ``final`` or when the sweep stopped early
    (``result.stopped``), ``report.md`` (with the ``extra`` Markdown lines after the results)
    and the plot of the finished runs."""
    from ..data import atomic_write_bytes

    out = result.out_dir
    doc = {
        "plan": dataclasses.asdict(result.plan),
        "task": task.name,
        "command": result.command,
        "title": result.title,
        "complete": final,
        "stopped": result.stopped,
        "total_time_s": result.total_time_s,
        **env,
        "environment": environment(stamp="finished"),
        "runs": result.rows,
    }
    atomic_write_bytes(out / RESULTS_FILE, (json.dumps(doc, indent=2) + "\n").encode())
    if result.rows:
        fields = list(dict.fromkeys(k for r in result.rows for k in r))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(result.rows)
        atomic_write_bytes(out / "results.csv", text.getvalue().encode())
    if not (final or result.stopped):
        return
    finished = [r for r in result.rows if r["status"] == "finished"]
    if finished and task.plots:
        plot_metrics_vs_size(finished, task, out / "metrics_vs_size.png")
    atomic_write_bytes(out / "report.md", report_markdown(result, task, doc, extra).encode())


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
    if result.stopped:
        when = (
            f"Stopped {env['finished']} after {len(result.rows)} of {len(plan.runs())} runs "
            f"({result.stopped}); `erlangen {result.command} --resume {result.out_dir}` "
            f"continues it. So far {result.total_time_s / 60:.1f} min (data "
        )
    else:
        when = f"Finished {env['finished']} in {result.total_time_s / 60:.1f} min (data "
    plotted = task.plots and any(r["status"] == "finished" for r in result.rows)
    lines = [
        f"# {result.title or f'erlangen sweep: {task.name}'}",
        "",
        when
        + f"{doc['data_time_s']:.1f} s) on {env['platform']} ({env['cpus']} CPUs), {doc['jobs']} "
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
        *(["![metrics against training-set size](metrics_vs_size.png)", ""] if plotted else []),
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
