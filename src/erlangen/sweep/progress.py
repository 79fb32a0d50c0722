"""A sweep with a live display: bars on a terminal, a line per run in a log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..tasks import get_task
from .outputs import SweepResult, markdown_table
from .plan import Contender, SweepPlan
from .runner import run_sweep


def run_with_progress(
    plan: SweepPlan, console, *, label: str = "runs", **kwargs: Any
) -> SweepResult:
    """:func:`run_sweep` with a display on ``console`` (a :class:`rich.console.Console`).

    On a terminal: a bar over all runs and, when runs go one at a time, one over the current
    run's optimizer steps with its last epoch's training metrics. In a log file: a line when a
    run starts and its row of the results table when it ends. ``kwargs`` go to
    :func:`run_sweep` (``callbacks``, ``on_start``, ``on_done`` and ``on_resume`` are taken here).
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

    def on_resume(rows: Sequence[dict[str, Any]]) -> None:
        progress.update(overall, completed=len(rows))
        if not live:
            console.print(f"continuing: {len(rows)} of {len(plan.runs())} runs were done")

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
            on_resume=on_resume,
            callbacks=lambda: [StepProgress()],
            **kwargs,
        )
