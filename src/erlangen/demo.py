"""The main job: what rotation symmetry buys on rotated digits.

``erlangen demo`` is a sample-efficiency sweep (:mod:`erlangen.sweep`) of the
``rotated-digits`` task: a plain CNN (Z2CNN), the same CNN with rotation augmentation, the
rotation-equivariant P4CNN and the learned-group LGCNN, trained on nested subsets of several
sizes with the same number of optimizer steps each, then measured: test error, parameter
count, training time and how far the logits are from rotation invariance on real test digits
(exact quarter turns, and a bicubic 45-degree turn), through :func:`erlangen.check.equivariance`.
Besides the sweep's outputs (``results.json``, ``results.csv``, ``report.md``,
``metrics_vs_size.png`` and every run's folder under ``runs/``) it draws ``equivariance.png``
and ``samples.png`` into ``runs/demo-<time>/``.

The default plan is sized to finish in under 10 minutes on 2 CPU cores; ``FULL_PLAN``
(``--full``) is the long version.

>>> from erlangen.demo import DEFAULT_PLAN, run_demo
>>> result = run_demo(DEFAULT_PLAN, out="runs")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .sweep import SweepPlan, SweepResult, read_sweep, run_sweep
from .tasks import ClassificationTask, get_task

#: the tasks the demo runs on: the rotated digits, and the same digits upright
DEMO_TASKS = ("rotated-digits", "digits")

#: the default demo: under 10 minutes on 2 CPU cores (recipe: the task's, batch 32, Adam,
#: lr 3e-3, cosine schedule)
DEFAULT_PLAN = SweepPlan(
    task="rotated-digits",
    models=("z2cnn", "z2cnn+aug", "p4cnn", "lgcnn"),
    sizes=(100, 300, 1000),
    steps=600,
)
#: ``--full``: the whole training pool, more steps and three seeds
FULL_PLAN = dataclasses.replace(
    DEFAULT_PLAN, sizes=(100, 300, 1000, 3000), seeds=(0, 1, 2), steps=2000
)


def demo_plan(
    full: bool = False,
    task: str = "rotated-digits",
    models: Sequence[str] = (),
    sizes: Sequence[int] = (),
    seeds: int | None = None,
    steps: int | None = None,
) -> SweepPlan:
    """The default (or ``full``) plan with the given changes; empty or None keeps the plan's.

    Raises ``KeyError`` for a task other than those in :data:`DEMO_TASKS`.
    """
    if task not in DEMO_TASKS:
        raise KeyError(f"the demo runs on {' or '.join(DEMO_TASKS)}, got {task!r}")
    plan = FULL_PLAN if full else DEFAULT_PLAN
    changes: dict[str, Any] = {"task": task}
    if models:
        changes["models"] = tuple(models)
    if sizes:
        changes["sizes"] = tuple(sizes)
    if seeds is not None:
        changes["seeds"] = tuple(range(seeds))
    if steps is not None:
        changes["steps"] = steps
    return dataclasses.replace(plan, **changes)


def demo_figures(result: SweepResult, task: ClassificationTask) -> list[str]:
    """Draw ``equivariance.png`` and ``samples.png`` (from ``task``'s data) into the demo's
    folder; return the Markdown that shows them in ``report.md``."""
    out = result.out_dir
    lines = [
        f"Symmetry probes: on the first {task.probe_images} test digits in float64 with "
        "`erlangen.check.equivariance`, `rot90` = quarter turns (90, 180, 270 degrees; exact "
        "pixel permutations), `rot45` = one 45-degree turn (bicubic); error = "
        "max |f(gx) - f(x)| / max |f(x)| over the digits; 'same pred' = how often the "
        "predicted class does not change.",
        "",
    ]
    finished = [r for r in result.rows if r["status"] == "finished"]
    if finished:
        plot_equivariance(finished, out / "equivariance.png")
        lines += ["![rotation invariance of the logits](equivariance.png)", ""]
    data = task.load(result.plan.data_seed)
    save_digit_grid(data.x_train[:40], data.y_train[:40], out / "samples.png")
    lines += [
        "Training digits (the first 40 of the nested order):",
        "",
        "![training digits](samples.png)",
        "",
    ]
    return lines


def run_demo(
    plan: SweepPlan = DEFAULT_PLAN,
    out: str | os.PathLike = "runs",
    device: str = "auto",
    *,
    console=None,
    **kwargs: Any,
) -> SweepResult:
    """Train and measure every run of ``plan``; write everything into ``out/demo-<time>/``.

    Parameters
    ----------
    plan : SweepPlan
        A plan on an image classification task with rotation probes (the CLI allows
        :data:`DEMO_TASKS`).
    out : path-like
        Parent folder.
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    console : rich.console.Console, optional
        Show progress there (:func:`erlangen.sweep.run_with_progress`).
    kwargs
        Passed on to :func:`erlangen.sweep.run_sweep` (``jobs``, ``threads``, ``on_done``,
        ``task`` to use a task object instead of looking ``plan.task`` up, ``sweep_dir`` to
        continue an interrupted demo...).

    Raises
    ------
    erlangen.sweep.SweepInterrupted
        On Ctrl-C, after writing the results, report and figures of the finished runs;
        :func:`resume_demo` continues it.
    """
    task = kwargs.pop("task", None) or get_task(plan.task)
    options = dict(
        out=out,
        device=device,
        task=task,
        name="demo",
        title=f"erlangen demo: {plan.task}",
        finish=partial(demo_figures, task=task),
        command="demo",
        **kwargs,
    )
    if console is not None:
        from .sweep import run_with_progress

        return run_with_progress(plan, console, label="demo runs", **options)
    return run_sweep(plan, **options)


def resume_demo(
    demo_dir: str | os.PathLike, device: str | None = None, *, console=None, **kwargs: Any
) -> SweepResult:
    """Continue the interrupted demo in ``demo_dir`` with its recorded plan (finished runs
    kept, interrupted ones continued from their checkpoints); see
    :func:`erlangen.sweep.resume_sweep`. ``device`` defaults to the recorded one."""
    plan, doc = read_sweep(demo_dir)
    if doc.get("command", "sweep") != "demo":
        raise ValueError(
            f"{demo_dir} is not a demo folder (continue it with: erlangen sweep --resume)"
        )
    return run_demo(
        plan,
        device=device or doc.get("device", "auto"),
        console=console,
        sweep_dir=demo_dir,
        **kwargs,
    )


# ----------------------------------------------------------------------------- figures
def _by_model(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["model"], []).append(r)
    return groups


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
