"""Plot a training run's learning curve: a metric of ``metrics.csv`` (every session, so resumed
runs are whole) against the optimizer step, with the run's final validation and test values
and, optionally, a published value as horizontal lines.

    python scripts/plot_learning_curve.py runs/qm9-egnn-<time> docs/figures/graphs/qm9_gap.png \
        --metric train/mae --published 0.048 --label "EGNN paper"

The metric and the final values are in the task's units (``unit`` in ``results.json``).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def read_metric(run: Path, metric: str) -> tuple[list[int], list[float]]:
    """(steps, values) of ``metric`` over all sessions of ``run``, in step order."""
    points: dict[int, float] = {}
    for path in sorted((run / "logs").glob("session*/metrics.csv")):
        with path.open() as f:
            for row in csv.DictReader(f):
                if row.get(metric):
                    points[int(row["step"])] = float(row[metric])
    if not points:
        raise SystemExit(f"no {metric!r} in {run}/logs/session*/metrics.csv")
    steps = sorted(points)
    return steps, [points[s] for s in steps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="run folder (config.json, logs/, results.json)")
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--metric", default="train/mae", help="column of metrics.csv")
    parser.add_argument("--published", type=float, help="published value, same units")
    parser.add_argument("--label", default="published", help="legend of --published")
    args = parser.parse_args()

    steps, values = read_metric(args.run, args.metric)
    results = json.loads((args.run / "results.json").read_text())
    unit = results.get("unit", "")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(steps, values, marker=".", label=f"{args.metric} (mean over each epoch)")
    for key, style in (("val_mae", "--"), ("test_mae", ":")):
        if key in results:
            ax.axhline(results[key], ls=style, color="k", label=f"{key} {results[key]:.3g}")
    if args.published is not None:
        ax.axhline(args.published, color="C3", label=f"{args.label} {args.published:g}")
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(f"MAE ({unit})" if unit else args.metric)
    title = f"{results.get('task', '')} {results.get('model', '')}"
    ax.set_title(f"{title}, {results.get('train_samples', '?')} training samples")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(args.out)


if __name__ == "__main__":
    main()
