"""The main job: what rotation symmetry buys on rotated digits.

``erlangen demo`` trains a plain CNN (Z2CNN), the same CNN with rotation augmentation and the
rotation-equivariant P4CNN on rotated digits at several training-set sizes, then measures each
trained model: test error, parameter count, training time and how far its logits are from
rotation invariance on real test digits (exact quarter turns, and a bicubic 45-degree turn),
through :func:`erlangen.check.equivariance`. It prints a table and writes ``results.json``,
``results.csv``, ``report.md`` and PNG plots into ``runs/demo-<time>/``; every trained model
keeps its own run folder (config, checkpoint, logs) under ``runs/demo-<time>/runs/``.

Training budget: every run takes the same number of optimizer steps (``steps``), whatever the
training-set size, so small sets are seen for many epochs and large ones for few; the default
plan is sized to finish in under 10 minutes on 2 CPU cores, ``--full`` is the long version.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import io
import json
import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .train import NonFiniteLossError, TrainConfig, fit, unique_dir

AUGMENT_SUFFIX = "+aug"
#: what :func:`erlangen.train.fit` measures that goes into the demo's table
MEASURED = (
    "test_accuracy",
    "test_error",
    "test_samples",
    "params",
    "rot90_rel_error",
    "rot90_abs_error",
    "rot90_agreement",
    "rot45_rel_error",
    "rot45_abs_error",
    "rot45_agreement",
)


@dataclass(frozen=True)
class Contender:
    """A model in the comparison: a registered model name, optionally with augmentation."""

    model: str
    augment: bool = False

    @property
    def label(self) -> str:
        return self.model + (AUGMENT_SUFFIX if self.augment else "")

    @classmethod
    def parse(cls, spec: str) -> Contender:
        """``"z2cnn"`` or ``"z2cnn+aug"`` (rotation augmentation)."""
        spec = spec.strip()
        if spec.endswith(AUGMENT_SUFFIX):
            return cls(spec[: -len(AUGMENT_SUFFIX)], True)
        return cls(spec, False)


@dataclass(frozen=True)
class DemoPlan:
    """What the demo trains.

    Attributes
    ----------
    task : str
        Task name (``rotated-digits``).
    contenders : tuple of str
        Model names, ``NAME+aug`` for rotation augmentation.
    sizes : tuple of int
        Training-set sizes (nested subsets of the training pool).
    seeds : tuple of int
        One run per seed for every (contender, size).
    steps : int
        Optimizer steps per run, whatever the size: ``epochs = ceil(steps / batches)``.
    batch_size, lr, optimizer, schedule
        The recipe shared by all runs.

    The symmetry probes use the first 200 test digits (see :func:`erlangen.train.evaluate_model`).
    """

    task: str = "rotated-digits"
    contenders: tuple[str, ...] = ("z2cnn", "z2cnn+aug", "p4cnn", "lgcnn")
    sizes: tuple[int, ...] = (100, 300, 1000)
    seeds: tuple[int, ...] = (0,)
    steps: int = 600
    batch_size: int = 32
    lr: float = 3e-3
    optimizer: str = "adam"
    schedule: str = "cosine"

    def epochs(self, size: int) -> int:
        batches = math.ceil(size / self.batch_size)
        return max(1, math.ceil(self.steps / batches))

    def runs(self) -> list[tuple[Contender, int, int]]:
        """(contender, size, seed) in the order they are trained: by size, then contender."""
        return [
            (Contender.parse(c), n, s)
            for n in self.sizes
            for s in self.seeds
            for c in self.contenders
        ]


#: the default demo: under 10 minutes on 2 CPU cores
DEFAULT_PLAN = DemoPlan()
#: ``--full``: the whole training pool, five times the steps and three seeds
FULL_PLAN = DemoPlan(sizes=(100, 300, 1000, 3000), seeds=(0, 1, 2), steps=2000)


def check_models(plan: DemoPlan) -> None:
    """Raise ``KeyError`` naming the available models when a contender is not registered."""
    from .registry import get_model

    for spec in plan.contenders:
        get_model(Contender.parse(spec).model)


@dataclass
class DemoResult:
    out_dir: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    total_time_s: float = 0.0


def run_demo(
    plan: DemoPlan = DEFAULT_PLAN,
    out: str | Path = "runs",
    device: str = "auto",
    on_start: Callable[[int, int, Contender, int, int, int], None] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    callbacks: Callable[[], Sequence[Any]] | None = None,
) -> DemoResult:
    """Train and measure every run of ``plan``; write the results into ``out/demo-<time>/``.

    Parameters
    ----------
    plan : DemoPlan
    out : path-like
        Parent folder.
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    on_start : callable, optional
        ``on_start(i, total, contender, size, seed, epochs)`` before each run.
    on_done : callable, optional
        ``on_done(row)`` after each run.
    callbacks : callable, optional
        Returns extra Lightning callbacks for each run (e.g. a progress display).
    """
    t_start = time.perf_counter()
    check_models(plan)
    from .tasks import get_task

    task = get_task(plan.task)
    out_dir = unique_dir(Path(out), "demo")
    t_data = time.perf_counter()
    data = task.load(0)
    data_time = time.perf_counter() - t_data
    save_digit_grid(data.x_train[:40], data.y_train[:40], out_dir / "samples.png")

    result = DemoResult(out_dir)
    runs = plan.runs()
    for i, (contender, size, seed) in enumerate(runs):
        epochs = plan.epochs(size)
        if on_start is not None:
            on_start(i, len(runs), contender, size, seed, epochs)
        config = TrainConfig(
            task=plan.task,
            model=contender.model,
            train_size=size,
            epochs=epochs,
            batch_size=plan.batch_size,
            lr=plan.lr,
            optimizer=plan.optimizer,
            schedule=plan.schedule,
            augment=contender.augment,
            seed=seed,
            device=device,
        )
        run_dir = out_dir / "runs" / f"{contender.label}-n{size}-seed{seed}"
        t0 = time.perf_counter()
        try:
            fitted = fit(
                config,
                run_dir=run_dir,
                progress=False,
                callbacks=list(callbacks()) if callbacks else (),
                task=task,
                checkpoint_interval_s=60.0,
            )
            metrics, status = fitted.metrics, "finished"
        except NonFiniteLossError as e:  # one diverging run should not cost the others
            metrics, status = {}, f"stopped: {e}"
        row = {
            "model": contender.label,
            "train_size": size,
            "seed": seed,
            "epochs": epochs,
            "steps": metrics.get("steps"),
            "train_time_s": metrics.get("train_time_s"),
            "wall_time_s": time.perf_counter() - t0,
            **{k: metrics.get(k) for k in MEASURED},
            "status": status,
            "run_dir": str(run_dir.relative_to(out_dir)),
        }
        result.rows.append(row)
        if on_done is not None:
            on_done(row)
        result.total_time_s = time.perf_counter() - t_start
        write_outputs(result, plan, device, data_time)  # after every run: partial results survive
    result.total_time_s = time.perf_counter() - t_start
    write_outputs(result, plan, device, data_time, final=True)
    return result


# ----------------------------------------------------------------------------- outputs
COLUMNS = (
    ("model", "model", "{}"),
    ("train_size", "train size", "{}"),
    ("seed", "seed", "{}"),
    ("test_error", "test error", "{:.2%}"),
    ("params", "params", "{:,}"),
    ("train_time_s", "train time (s)", "{:.1f}"),
    ("rot90_rel_error", "rot90 rel err", "{:.1e}"),
    ("rot45_rel_error", "rot45 rel err", "{:.1e}"),
    ("rot90_agreement", "rot90 same pred", "{:.1%}"),
    ("rot45_agreement", "rot45 same pred", "{:.1%}"),
)


def _cells(row: dict[str, Any]) -> list[str]:
    cells = []
    for key, _, fmt in COLUMNS:
        value = row.get(key)
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        cells.append("-" if missing else fmt.format(value))
    return cells


def rich_table(rows: Sequence[dict[str, Any]], title: str = "erlangen demo"):
    """The results as a :class:`rich.table.Table`."""
    from rich.table import Table

    table = Table(title=title)
    for key, head, _ in COLUMNS:
        table.add_column(head, justify="left" if key == "model" else "right")
    for row in rows:
        table.add_row(*_cells(row))
    return table


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(h for _, h, _ in COLUMNS) + " |"]
    lines.append("|" + "|".join("---" if k == "model" else "---:" for k, _, _ in COLUMNS) + "|")
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def _environment(device: str) -> dict[str, Any]:
    return {
        "erlangen": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "device": ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "finished": _dt.datetime.now().isoformat(timespec="seconds"),
    }


def write_outputs(
    result: DemoResult, plan: DemoPlan, device: str, data_time: float, final: bool = False
) -> None:
    """``results.json``, ``results.csv`` and, when ``final``, the plots and ``report.md``."""
    from .data import atomic_write_bytes

    out = result.out_dir
    doc = {
        "plan": dataclasses.asdict(plan),
        "complete": final,
        "total_time_s": result.total_time_s,
        "data_time_s": data_time,
        "environment": _environment(device),
        "runs": result.rows,
    }
    atomic_write_bytes(out / "results.json", (json.dumps(doc, indent=2) + "\n").encode())
    if result.rows:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(result.rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(result.rows)
        atomic_write_bytes(out / "results.csv", text.getvalue().encode())
    finished = [r for r in result.rows if r["status"] == "finished"]
    if final and finished:
        plot_error_vs_size(finished, out / "error_vs_size.png", title=plan.task)
        plot_equivariance(finished, out / "equivariance.png")
    if final:
        (out / "report.md").write_text(report_markdown(result, plan, doc))


def _by_model(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["model"], []).append(r)
    return groups


def summarize(
    rows: Sequence[dict[str, Any]], key: str
) -> dict[str, dict[int, tuple[float, float]]]:
    """``{model: {size: (mean, std over seeds)}}`` of ``key``."""
    out: dict[str, dict[int, tuple[float, float]]] = {}
    for model, rs in _by_model(rows).items():
        sizes = sorted({r["train_size"] for r in rs})
        out[model] = {}
        for n in sizes:
            vals = np.array([r[key] for r in rs if r["train_size"] == n], dtype=float)
            out[model][n] = (float(vals.mean()), float(vals.std()))
    return out


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_error_vs_size(
    rows: Sequence[dict[str, Any]], path: Path, title: str = "rotated-digits"
) -> None:
    """Test error (%) against training-set size (log x), one line per model."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for model, per_size in summarize(rows, "test_error").items():
        sizes = sorted(per_size)
        mean = [100 * per_size[n][0] for n in sizes]
        std = [100 * per_size[n][1] for n in sizes]
        ax.errorbar(sizes, mean, yerr=std if any(std) else None, marker="o", capsize=3, label=model)
    ax.set_xscale("log")
    ax.set_xlabel("training digits")
    ax.set_ylabel("test error (%)")
    ax.set_title(f"{title}: test error against training-set size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


#: relative errors below this (zero included) are drawn at this height on the log axis
ERROR_FLOOR = 1e-16


def plot_equivariance(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Relative invariance error of the logits per model (largest training size, worst seed):
    quarter turns and 45-degree turns, log scale."""
    plt = _plt()
    largest = max(r["train_size"] for r in rows)
    groups = _by_model([r for r in rows if r["train_size"] == largest])
    models = list(groups)
    kinds = (("rot90_rel_error", "90° (exact)"), ("rot45_rel_error", "45° (bicubic)"))
    fig, ax = plt.subplots(figsize=(6, 4))
    width = 0.38
    for k, (key, label) in enumerate(kinds):
        vals = [max(r[key] for r in groups[m]) for m in models]
        xs = np.arange(len(models)) + (k - 0.5) * width
        bars = ax.bar(xs, [max(v, ERROR_FLOOR) for v in vals], width, label=label)
        for bar, v in zip(bars, vals):
            text = f"{v:.1e}" if v > 0 else "0"
            ax.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
    ax.set_yscale("log")
    ax.set_ylim(ERROR_FLOOR / 2, 10)
    ax.set_xticks(np.arange(len(models)), models)
    ax.set_ylabel("max |f(gx) - f(x)| / max |f(x)|")
    ax.set_title(f"rotation invariance of the logits ({largest} training digits)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_digit_grid(images: torch.Tensor, labels: torch.Tensor, path: Path, cols: int = 10) -> None:
    """A grid of digits ``(n, 1, H, W)`` with their labels, as PNG."""
    plt = _plt()
    n = images.shape[0]
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.0))
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(str(int(labels[i])), fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_data_figure(path: str | Path, count: int = 10, seed: int = 0) -> None:
    """The first ``count`` training digits upright (top row) and as the rotated-digits task
    holds them (bottom row, with their angles), as PNG."""
    from .data import digit_arrays

    plt = _plt()
    upright, rotated = digit_arrays(rotate=False, seed=seed), digit_arrays(rotate=True, seed=seed)
    fig, axes = plt.subplots(2, count, figsize=(count * 0.9, 2.3))
    for i in range(count):
        for row, (data, title) in enumerate(
            (
                (upright, str(int(upright["y_train"][i]))),
                (rotated, f"{math.degrees(rotated['angle_train'][i]):.0f}°"),
            )
        ):
            ax = axes[row, i]
            ax.imshow(data["x_train"][i], cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _task_description(name: str) -> str:
    from .tasks import get_task

    return get_task(name).description


def report_markdown(result: DemoResult, plan: DemoPlan, doc: dict[str, Any]) -> str:
    env = doc["environment"]
    sizes = ", ".join(str(n) for n in plan.sizes)
    lines = [
        f"# erlangen demo: {plan.task}",
        "",
        f"Finished {env['finished']} in {result.total_time_s / 60:.1f} min "
        f"(data {doc['data_time_s']:.1f} s) on {env['platform']}, {env['threads']} threads, "
        f"device {env['device']}; erlangen {env['erlangen']}, torch {env['torch']}.",
        "",
        "## Set-up",
        "",
        f"- Task `{plan.task}`: {_task_description(plan.task)}.",
        f"- Models: {', '.join(plan.contenders)} (`+aug`: random rotation of every training "
        "digit, every time it is seen).",
        f"- Training-set sizes: {sizes}; seeds: {', '.join(map(str, plan.seeds))}.",
        f"- Recipe: {plan.optimizer}, lr {plan.lr:g}, {plan.schedule} schedule, batch "
        f"{plan.batch_size}, {plan.steps} optimizer steps per run "
        f"(epochs = ceil(steps / batches per epoch)).",
        "- Symmetry probes on the first 200 test digits in float64 with "
        "`erlangen.check.equivariance`: `rot90` = quarter turns (90, 180, 270 degrees; exact "
        "pixel permutations, `ImageField(Cyclic(4))`), `rot45` = one 45-degree turn (bicubic, "
        "`ImageField(Cyclic(8))`); error = max |f(gx) - f(x)| / max |f(x)| over the digits; "
        "'same pred' = how often the predicted class does not change.",
        "",
        "## Results",
        "",
        markdown_table(result.rows),
        "",
        "![test error against training-set size](error_vs_size.png)",
        "",
        "![rotation invariance of the logits](equivariance.png)",
        "",
        "Training digits (the first 40 of the nested order):",
        "",
        "![training digits](samples.png)",
        "",
        *[
            f"- Stopped: {r['model']} with {r['train_size']} digits, seed {r['seed']}: "
            f"{r['status']}"
            for r in result.rows
            if r["status"] != "finished"
        ],
        "",
        "Every run keeps its config, checkpoint and logs under `runs/`; "
        "`erlangen evaluate runs/<run>` measures one again.",
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- progress
def run_with_progress(plan: DemoPlan, out: str | Path, device: str, console) -> DemoResult:
    """:func:`run_demo` with a live display: overall runs and the current run's epochs (on a
    terminal), or one line per finished run (in a log file)."""
    import lightning.pytorch as pl
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    live = console.is_terminal
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not live,
    )
    overall = progress.add_task("demo runs", total=len(plan.runs()))
    current = progress.add_task("", total=1)

    label = {"text": ""}

    class EpochProgress(pl.Callback):
        def on_train_epoch_end(self, trainer, pl_module) -> None:
            m = trainer.callback_metrics
            loss, acc = m.get("train/loss"), m.get("train/acc")
            extra = f"  loss {float(loss):.3f} acc {float(acc):.2f}" if loss is not None else ""
            progress.update(
                current, completed=trainer.current_epoch + 1, description=label["text"] + extra
            )

    def on_start(i, total, contender, size, seed, epochs):
        label["text"] = f"{contender.label} n={size} seed={seed}"
        progress.reset(current, total=epochs, description=label["text"])

    def on_done(row):
        progress.advance(overall)
        if row["status"] != "finished":
            console.print(f"[red]{row['model']} n={row['train_size']}: {row['status']}[/]")
        elif not live:
            console.print(
                f"{row['model']:>12} n={row['train_size']:<5} seed={row['seed']} "
                f"test error {row['test_error']:.2%}  train {row['train_time_s']:.0f}s  "
                f"rot90 {row['rot90_rel_error']:.1e}  rot45 {row['rot45_rel_error']:.1e}"
            )

    with progress:
        return run_demo(
            plan,
            out=out,
            device=device,
            on_start=on_start,
            on_done=on_done,
            callbacks=lambda: [EpochProgress()],
        )
