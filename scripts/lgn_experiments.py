"""The learned-group experiments of docs/learned_groups.md: the ablation on rotated digits, the
knowledge-transfer table and the recovery of a known action.

    python scripts/lgn_experiments.py ablation  [--out runs/lgn] [--only NAME,...] [--seeds 1]
    python scripts/lgn_experiments.py transfer  [--out runs/lgn]
    python scripts/lgn_experiments.py recovery  [--out runs/lgn]
    python scripts/lgn_experiments.py report    [--out runs/lgn]   # tables and figures again
    python scripts/lgn_experiments.py table     [--out runs/lgn]   # the All-CNN table from
                                                # the erlangen sweep folders in OUT/table

Every run is one ``erlangen train`` run (``erlangen.train.fit`` in this process, one torch
thread), in its own folder under ``OUT/<experiment>/<name>-seed<s>/``; the command line of each
is recorded in ``OUT/<experiment>/runs.json`` with its wall and CPU time. A run that finished
(``results.json``) is skipped, one that stopped with a checkpoint is resumed, so the script can
be stopped and started again. ``report`` writes ``OUT/<experiment>/table.md`` and the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

torch.set_num_threads(1)


@dataclass(frozen=True)
class Run:
    """One training run: ``erlangen train TASK --model MODEL ...``."""

    name: str
    task: str
    model: str
    options: dict[str, Any] = field(default_factory=dict)
    train_size: int | None = 1000
    steps: int = 600
    batch_size: int = 32
    lr: float = 3e-3
    transfer_from: str | None = None  # a run name of the same experiment
    note: str = ""
    #: the recipe the options change: "before" (:data:`LEARNED_BASE`) or "after"
    #: (:data:`NEW_BASE`, the defaults this study chose)
    base: str = "before"

    def model_options(self) -> dict[str, Any]:
        """The options given to the model: for learned-group models, every ablated option
        spelled out (the base recipe under the run's own), so that a run means the same
        whatever the library's defaults are."""
        if self.model in ("lgcnn", "lg-allcnnc"):
            base = LEARNED_BASE if self.base == "before" else NEW_BASE
            return {**base, **self.options}
        return dict(self.options)

    def command(self, seed: int, out: Path, source: Path | None = None) -> str:
        words = ["erlangen", "train", self.task, "--model", self.model]
        if self.train_size is not None:
            words += ["--train-size", str(self.train_size)]
        words += ["--steps", str(self.steps), "--batch-size", str(self.batch_size)]
        words += ["--lr", f"{self.lr:g}", "--schedule", "cosine", "--seed", str(seed)]
        for key, value in self.model_options().items():
            words += ["-o", f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
        if source is not None:
            words += ["--transfer-from", str(source)]
        words += ["--out", str(out)]
        return shlex.join(words)


# ----------------------------------------------------------------------------- the ablation
#: the recipe of LGCNN before this study (the library's defaults until then), which every
#: learned-group run states in full
LEARNED_BASE: dict[str, Any] = {
    "parametrisation": "free",
    "init": "random",
    "init_noise": 0.0,
    "invertibility_weight": 1e-4,
    "cyclic_weight": 0.0,
    "action_lr_scale": 1.0,
    "location": "shared",
    "order": 4,
}
#: the defaults of lgcnn / lg-allcnnc that this study chose (see docs/learned_groups.md)
NEW_BASE: dict[str, Any] = {**LEARNED_BASE, "init": "rotation", "action_lr_scale": 0.1}
ROT = "rotated-digits"
ABLATION = [
    Run("p4cnn", ROT, "p4cnn", note="reference: the quarter turn built in"),
    Run("default", ROT, "lgcnn", note="free A, random orthogonal start, mu 1e-4"),
    # parametrisation of A (random start)
    Run("orthogonal", ROT, "lgcnn", {"parametrisation": "orthogonal"}),
    Run("toeplitz", ROT, "lgcnn", {"parametrisation": "toeplitz"}),
    Run("multiscale", ROT, "lgcnn", {"parametrisation": "multiscale"}),
    # initial action
    Run("init-identity", ROT, "lgcnn", {"init": "identity"}),
    Run("init-rot90", ROT, "lgcnn", {"init": "rot90"}),
    Run("init-rot90-noise0.01", ROT, "lgcnn", {"init": "rot90", "init_noise": 0.01}),
    Run("init-rot90-noise0.03", ROT, "lgcnn", {"init": "rot90", "init_noise": 0.03}),
    Run(
        "orthogonal-rot90-noise0.01",
        ROT,
        "lgcnn",
        {"parametrisation": "orthogonal", "init": "rot90", "init_noise": 0.01},
    ),
    # penalties
    Run("mu0", ROT, "lgcnn", {"invertibility_weight": 0.0}),
    Run("mu1e-2", ROT, "lgcnn", {"invertibility_weight": 1e-2}),
    Run("cyclic1e-2", ROT, "lgcnn", {"cyclic_weight": 1e-2}),
    Run("cyclic1e-1", ROT, "lgcnn", {"cyclic_weight": 1e-1}),
    Run(
        "orthogonal-cyclic1e-1",
        ROT,
        "lgcnn",
        {"parametrisation": "orthogonal", "cyclic_weight": 1e-1},
    ),
    # learning rate of A relative to the filters
    Run("lr0.1", ROT, "lgcnn", {"action_lr_scale": 0.1}),
    Run("lr10", ROT, "lgcnn", {"action_lr_scale": 10.0}),
    Run(
        "rot90-noise0.01-lr0.1",
        ROT,
        "lgcnn",
        {"init": "rot90", "init_noise": 0.01, "action_lr_scale": 0.1},
    ),
    Run(
        "rot90-noise0.01-lr10",
        ROT,
        "lgcnn",
        {"init": "rot90", "init_noise": 0.01, "action_lr_scale": 10.0},
    ),
    # order, location, steps
    Run("order2", ROT, "lgcnn", {"order": 2}),
    Run("order8", ROT, "lgcnn", {"order": 8}),
    Run("per-out", ROT, "lgcnn", {"location": "per_out"}),
    Run("steps2000", ROT, "lgcnn", steps=2000),
    Run("p4cnn-steps2000", ROT, "p4cnn", steps=2000),
    # around the exact quarter turn: how much freedom costs
    Run("rot90-lr0.1", ROT, "lgcnn", {"init": "rot90", "action_lr_scale": 0.1}),
    Run("rot90-lr0.01", ROT, "lgcnn", {"init": "rot90", "action_lr_scale": 0.01}),
    Run("rot90-lr10", ROT, "lgcnn", {"init": "rot90", "action_lr_scale": 10.0}),
    Run("rot90-cyclic1e-1", ROT, "lgcnn", {"init": "rot90", "cyclic_weight": 0.1}),
    Run("orthogonal-rot90", ROT, "lgcnn", {"parametrisation": "orthogonal", "init": "rot90"}),
]

#: the candidates of the ablation, on upright digits (where full rotation invariance is the
#: wrong prior): does the learned action leave the quarter turn when the data ask?
UP = "digits"
UPRIGHT = [
    Run("p4cnn", UP, "p4cnn"),
    Run("z2cnn", UP, "z2cnn"),
    Run("default", UP, "lgcnn"),
    Run("orthogonal", UP, "lgcnn", {"parametrisation": "orthogonal"}),
    Run("init-rot90", UP, "lgcnn", {"init": "rot90"}),
    Run("rot90-lr0.1", UP, "lgcnn", {"init": "rot90", "action_lr_scale": 0.1}),
    Run("rot90-lr10", UP, "lgcnn", {"init": "rot90", "action_lr_scale": 10.0}),
    Run("rot90-cyclic1e-1", UP, "lgcnn", {"init": "rot90", "cyclic_weight": 0.1}),
    Run("orthogonal-rot90", UP, "lgcnn", {"parametrisation": "orthogonal", "init": "rot90"}),
    Run("init-rot90-noise0.01", UP, "lgcnn", {"init": "rot90", "init_noise": 0.01}),
    Run(
        "rot90-noise0.01-lr0.1",
        UP,
        "lgcnn",
        {"init": "rot90", "init_noise": 0.01, "action_lr_scale": 0.1},
    ),
    Run(
        "rot90-noise0.01-lr10",
        UP,
        "lgcnn",
        {"init": "rot90", "init_noise": 0.01, "action_lr_scale": 10.0},
    ),
]

#: a task whose symmetry is known: digits under exact quarter turns; does A find the quarter
#: turn, and what does learning it cost against fixing it (p4cnn)?
QD = "quarter-digits"
#: 600 steps like the ablation: what the shared CPU allowed when these runs were made (raise it
#: for a longer study; the run folders do not record it in their names)
RECOVERY_STEPS = 600
RECOVERY = [
    Run("p4cnn", QD, "p4cnn", train_size=3000, steps=RECOVERY_STEPS, note="A fixed at the truth"),
    Run("random", QD, "lgcnn", train_size=3000, steps=RECOVERY_STEPS),
    Run(
        "random-lr10", QD, "lgcnn", {"action_lr_scale": 10.0}, train_size=3000, steps=RECOVERY_STEPS
    ),
    Run(
        "identity-lr10",
        QD,
        "lgcnn",
        {"init": "identity", "action_lr_scale": 10.0},
        train_size=3000,
        steps=RECOVERY_STEPS,
    ),
    Run("rot90", QD, "lgcnn", {"init": "rot90"}, train_size=3000, steps=RECOVERY_STEPS),
]

#: knowledge transfer (the talk's table): A learned on one data set (3,000 images), copied
#: and frozen, the filters trained on the other; "single channel": one A per layer shared by
#: all channels; "same channels": one A per output channel, copied channel by channel
FA = "fashion"


def _transfer_runs() -> list[Run]:
    runs = []
    for task, tag in ((UP, "mnist"), (FA, "fashion")):
        runs += [
            Run(f"{tag}-p4cnn", task, "p4cnn", train_size=3000),
            Run(f"{tag}-lgn", task, "lgcnn", train_size=3000, base="after"),
            Run(
                f"{tag}-lgn-per-out",
                task,
                "lgcnn",
                {"location": "per_out"},
                train_size=3000,
                base="after",
            ),
        ]
    for task, tag, other in ((UP, "mnist", "fashion"), (FA, "fashion", "mnist")):
        runs += [
            Run(
                f"{tag}-single-channel",
                task,
                "lgcnn",
                train_size=3000,
                base="after",
                transfer_from=f"{other}-lgn",
            ),
            Run(
                f"{tag}-same-channels",
                task,
                "lgcnn",
                {"location": "per_out"},
                train_size=3000,
                base="after",
                transfer_from=f"{other}-lgn-per-out",
            ),
        ]
    return runs


TRANSFER = _transfer_runs()

EXPERIMENTS: dict[str, list[Run]] = {
    "transfer": TRANSFER,
    "ablation": ABLATION,
    "upright": UPRIGHT,
    "recovery": RECOVERY,
}


# ----------------------------------------------------------------------------- running
def _run_dir(out: Path, experiment: str, run: Run, seed: int) -> Path:
    return out / experiment / f"{run.name}-seed{seed}"


def train(run: Run, seed: int, out: Path, experiment: str, device: str = "cpu") -> dict[str, Any]:
    """Train ``run`` with ``seed`` (or resume it, or skip it when finished)."""
    from erlangen.train import TrainConfig, fit

    run_dir = _run_dir(out, experiment, run, seed)
    results = run_dir / "results.json"
    if results.is_file() and json.loads(results.read_text()).get("status") == "finished":
        return json.loads(results.read_text())
    source = None
    if run.transfer_from:
        source = _run_dir(out, experiment, _by_name(experiment, run.transfer_from), seed)
    config = TrainConfig(
        task=run.task,
        model=run.model,
        model_options=run.model_options(),
        train_size=run.train_size,
        steps=run.steps,
        batch_size=run.batch_size,
        lr=run.lr,
        schedule="cosine",
        seed=seed,
        device=device,
        transfer_from=str(source) if source else None,
    )
    resume = (run_dir / "checkpoints" / "last.ckpt").is_file()
    wall, cpu = time.perf_counter(), time.process_time()
    fitted = fit(config, run_dir=run_dir, resume=resume, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    record = {
        "name": run.name,
        "seed": seed,
        "command": run.command(seed, out / experiment, source),
        "wall_s": wall,
        "cpu_s": cpu,
        "resumed": resume,
    }
    log = out / experiment / "runs.json"
    done = json.loads(log.read_text()) if log.is_file() else []
    done.append(record)
    log.write_text(json.dumps(done, indent=1) + "\n")
    print(
        f"{experiment}/{run.name} seed {seed}: test error "
        f"{fitted.metrics.get('test_error', float('nan')):.4f}, wall {wall:.0f} s, "
        f"cpu {cpu:.0f} s",
        flush=True,
    )
    return fitted.metrics


def _by_name(experiment: str, name: str) -> Run:
    for run in EXPERIMENTS[experiment]:
        if run.name == name:
            return run
    raise KeyError(f"{experiment}: no run named {name!r}")


# ----------------------------------------------------------------------------- reports
def _results(out: Path, experiment: str, run: Run, seeds: list[int]) -> list[dict]:
    found = []
    for seed in seeds:
        path = _run_dir(out, experiment, run, seed) / "results.json"
        if path.is_file():
            found.append(json.loads(path.read_text()))
    return found


def _final_trace(run_dir: Path) -> dict[str, float]:
    from erlangen.grid.inspect import read_trace

    try:
        trace = read_trace(run_dir)
    except (FileNotFoundError, ValueError):
        return {}
    return {k: v[-1] for k, v in trace.items() if k.startswith("mean/")}


def report(out: Path, experiment: str, seeds: list[int]) -> str:
    """``table.md`` of an experiment: mean and std of the test error over the seeds found,
    the final distances of the actions, and the times."""
    runs = EXPERIMENTS[experiment]
    lines = [
        "| run | options | seeds | test error | std | rot. distance | nearest distance "
        "| ||A^n - I|| | cpu s / run |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    log = out / experiment / "runs.json"
    times: dict[str, list[float]] = {}
    for rec in json.loads(log.read_text()) if log.is_file() else []:
        times.setdefault(rec["name"], []).append(rec["cpu_s"])
    for run in runs:
        found = _results(out, experiment, run, seeds)
        if not found:
            continue
        errors = [r["test_error"] for r in found]
        trace = _final_trace(_run_dir(out, experiment, run, seeds[0]))
        opts = ", ".join(f"{k}={v}" for k, v in run.options.items()) or "-"
        if run.steps != 600:
            opts += f"; {run.steps} steps"
        cells = [
            run.name if run.model == "lgcnn" else f"{run.name} ({run.model})",
            opts,
            str(len(found)),
            f"{100 * statistics.mean(errors):.2f}%",
            f"{100 * statistics.pstdev(errors):.2f}" if len(errors) > 1 else "-",
            f"{trace['mean/rotation_distance']:.3g}" if trace else "-",
            f"{trace['mean/nearest_distance']:.3g}" if trace else "-",
            f"{trace['mean/cyclic_residual']:.3g}" if trace else "-",
            f"{statistics.mean(times[run.name]):.0f}" if run.name in times else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (out / experiment / "table.md").write_text(text)
    return text


def plot(out: Path, experiment: str, seed: int, groups: dict[str, list[str]]) -> list[Path]:
    """One trace figure per group of runs (``group name -> run names``)."""
    from erlangen.grid.inspect import plot_action_traces

    paths = []
    for group, names in groups.items():
        runs = {}
        for name in names:
            run_dir = _run_dir(out, experiment, _by_name(experiment, name), seed)
            if (run_dir / "diagnostics.csv").is_file():
                runs[name] = run_dir
        if runs:
            path = out / experiment / f"trace_{group}.png"
            plot_action_traces(runs, path, title=f"{experiment}: {group}")
            paths.append(path)
    return paths


ABLATION_PLOTS = {
    "parametrisation": ["default", "orthogonal", "toeplitz", "multiscale"],
    "init": [
        "default",
        "init-identity",
        "init-rot90",
        "init-rot90-noise0.01",
        "init-rot90-noise0.03",
        "orthogonal-rot90-noise0.01",
        "orthogonal-rot90",
    ],
    "penalties": ["default", "mu0", "mu1e-2", "cyclic1e-2", "cyclic1e-1", "orthogonal-cyclic1e-1"],
    "lr": ["default", "lr0.1", "lr10", "rot90-noise0.01-lr0.1", "rot90-noise0.01-lr10"],
    "rot90": ["init-rot90", "rot90-lr0.1", "rot90-lr0.01", "rot90-lr10", "rot90-cyclic1e-1"],
    "order-location-steps": ["default", "order2", "order8", "per-out", "steps2000"],
}


def plot_errors(out: Path, experiment: str, seeds: list[int]) -> Path:
    """A bar chart of the test errors of an experiment's runs (mean, std over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, means, stds = [], [], []
    for run in EXPERIMENTS[experiment]:
        found = _results(out, experiment, run, seeds)
        if found:
            errors = [100 * r["test_error"] for r in found]
            names.append(run.name)
            means.append(statistics.mean(errors))
            stds.append(statistics.pstdev(errors) if len(errors) > 1 else 0.0)
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(names) + 1.2))
    colours = ["C1" if n.startswith("p4cnn") else "C0" for n in names]
    ax.barh(range(len(names)), means, xerr=stds, color=colours)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    for i, m in enumerate(means):
        ax.text(m, i, f" {m:.1f}%", va="center", fontsize=7)
    ax.set_xlabel("test error (%)")
    task = EXPERIMENTS[experiment][0].task
    ax.set_title(f"{experiment}: {task}, 1,000 training digits, 600 steps", fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    path = out / experiment / "errors.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_error_vs_distance(out: Path, experiments: list[str], path: Path) -> Path:
    """Test error (seed 0) against the final mean distance of the actions to the rotation,
    one panel per experiment, one point per LGCNN run, P4CNN as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(experiments), figsize=(5.6 * len(experiments), 4.2))
    for ax, experiment in zip(axes, experiments):
        for run in EXPERIMENTS[experiment]:
            if run.steps != 600:
                continue
            found = _results(out, experiment, run, [0])
            if not found:
                continue
            error = 100 * found[0]["test_error"]
            trace = _final_trace(_run_dir(out, experiment, run, 0))
            if not trace:
                ax.axhline(error, color="C1" if run.model == "p4cnn" else "0.5", ls="--", lw=1)
                ax.text(1.6, error, f" {run.model}", va="bottom", fontsize=7)
                continue
            x = max(trace["mean/rotation_distance"], 1e-3)
            ax.scatter([x], [error], s=14, color="C0")
            ax.annotate(run.name, (x, error), fontsize=6, xytext=(2, 2), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("mean distance of A to the turn by 360/n after training (seed 0)")
        ax.set_ylabel("test error (%)")
        ax.set_title(f"{EXPERIMENTS[experiment][0].task}, 1,000 digits, 600 steps", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- the table
#: the talk's All-CNN-based accuracies (%), by column
TALK = {
    "LGCNN": {"MNIST": 99.27, "rotMNIST": 93.75, "FashionMNIST": 91.46, "CIFAR10": 79.03},
    "P4CNN": {"MNIST": 99.35, "rotMNIST": 92.96, "FashionMNIST": 91.44, "CIFAR10": 75.26},
}
#: column of the table -> task
COLUMNS = {
    "MNIST": "digits",
    "rotMNIST": "rotated-digits",
    "FashionMNIST": "fashion",
    "CIFAR10": "cifar10",
}


def table_report(folder: Path) -> str:
    """The four-column table from the ``erlangen sweep`` folders under ``folder``: test
    accuracy (%) per model and column, mean and standard deviation over the seeds (the last
    sweep of each task wins)."""
    by_task: dict[str, list[dict]] = {}
    for results in sorted(folder.glob("sweep-*/results.json")):
        doc = json.loads(results.read_text())
        by_task[doc["task"]] = [r for r in doc["runs"] if r["status"] == "finished"]
    models = list(dict.fromkeys(r["model"] for rows in by_task.values() for r in rows))
    head = "| model | params | " + " | ".join(COLUMNS) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(COLUMNS)]
    for model in models:
        cells, params = [], "-"
        for task in COLUMNS.values():
            acc = [100 * r["test_accuracy"] for r in by_task.get(task, []) if r["model"] == model]
            params = next(
                (f"{r['params']:,}" for r in by_task.get(task, []) if r["model"] == model), params
            )
            if not acc:
                cells.append("not run" if task == "cifar10" else "-")
            elif len(acc) == 1:
                cells.append(f"{acc[0]:.2f}")
            else:
                cells.append(f"{statistics.mean(acc):.2f} +- {statistics.pstdev(acc):.2f}")
        lines.append(f"| {model} | {params} | " + " | ".join(cells) + " |")
    for name, row in TALK.items():
        lines.append(f"| talk: {name} | - | " + " | ".join(f"{v:.2f}" for v in row.values()) + " |")
    text = "\n".join(lines) + "\n"
    (folder / "table.md").write_text(text)
    return text


# ----------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", choices=[*EXPERIMENTS, "report", "table"])
    parser.add_argument("--out", type=Path, default=Path("runs/lgn"))
    parser.add_argument("--only", default="", help="comma-separated run names")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    if args.experiment == "table":
        print(table_report(args.out / "table"))
        return
    experiments = list(EXPERIMENTS) if args.experiment == "report" else [args.experiment]
    only = {n for n in args.only.split(",") if n}
    for experiment in experiments:
        if args.experiment != "report":
            for seed in seeds:
                for run in EXPERIMENTS[experiment]:
                    if not only or run.name in only:
                        train(run, seed, args.out, experiment, args.device)
        if not (args.out / experiment).is_dir():
            continue
        print(report(args.out, experiment, seeds))
        if experiment == "ablation":
            plot(args.out, experiment, 0, ABLATION_PLOTS)
        if experiment == "recovery":
            plot(args.out, experiment, 0, {"all": [r.name for r in RECOVERY[1:]]})
        if experiment in ("ablation", "upright"):
            plot_errors(args.out, experiment, seeds)
    if args.experiment == "report":
        plot_error_vs_distance(
            args.out, ["ablation", "upright"], args.out / "error_vs_distance.png"
        )


if __name__ == "__main__":
    main()
