"""The ``erlangen`` command line.

A user's mistake ends a command with one line on stderr (``error: ...``) and exit code 2,
before any folder is created; ``erlangen --debug ...`` (or ``ERLANGEN_DEBUG=1``) shows the
traceback instead. A failure that is no mistake of the user's gets one line and exit code 1;
Ctrl-C gets a line naming what was kept and the command that continues it, and exit code 130.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

if next((a for a in sys.argv[1:] if not a.startswith("-")), None) in (
    "train",
    "demo",
    "evaluate",
    "sweep",
):
    # Training on a shared machine: OpenMP threads that spin while they wait make a 2-thread
    # run 3-6x slower as soon as another process wants the cores; sleeping threads do not.
    # Read by the OpenMP runtime when torch loads it, so it is set before `import torch`.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from . import __version__
from .registry import load_factory

#: the environment variable that shows tracebacks, like ``--debug``
DEBUG_ENV = "ERLANGEN_DEBUG"


#: click's base of usage errors, as typer raises it (recent typers vendor their own click)
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class _OneLineErrors(TyperGroup):
    """The command group, with a usage error (an unknown option, a value of the wrong type, a
    missing argument) reported in one line, like every other mistake."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _CLICK_ERROR as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # `erlangen` alone: help was shown
                sys.exit(e.exit_code)
            ctx = getattr(e, "ctx", None)
            hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            _print_error(f"{e.format_message()}{hint}")
            sys.exit(2)
        except typer.Abort:
            _print_error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="erlangen",
    help="Geometric deep learning with symmetry checked numerically.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_OneLineErrors,
)
# wide tables when the output is a file or a pipe (rich would wrap at 80 columns)
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16}


class _Settings:
    """Set by the group's options at every invocation."""

    debug = False


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar=DEBUG_ENV, help=f"show tracebacks (also {DEBUG_ENV}=1)"),
    ] = False,
) -> None:
    """Geometric deep learning with symmetry checked numerically."""
    _Settings.debug = debug


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _print_error(message: str, prefix: str = "error: ") -> None:
    err_console.print(
        f"[bold red]{escape(prefix)}[/]{escape(_one_line(message))}",
        soft_wrap=True,
        highlight=False,
    )


def _fail(message: str, code: int = 2) -> typer.Exit:
    _print_error(message)
    return typer.Exit(code)


#: what training, sweeps, the demo and their figures need beyond the base install
TRAIN_EXTRA = ("lightning", "matplotlib", "mlxtend")


def _user_error_types() -> tuple[type[BaseException], ...]:
    """The errors that are a user's mistake: a bad value or name, a missing or unwritable
    file, a damaged checkpoint, a folder in use."""
    found: list[type[BaseException]] = [ValueError, TypeError, LookupError, OSError]
    train = sys.modules.get("erlangen.train")
    for name in ("CheckpointError", "FolderInUseError"):
        if hasattr(train, name):
            found.append(getattr(train, name))
    return tuple(found)


def _quoted(path) -> str:
    return shlex.quote(str(path))


def _exit_for(command: str, error: BaseException) -> typer.Exit:
    """Print the one line for ``error`` raised by ``erlangen command``; the exit to raise."""
    if isinstance(error, ImportError) and (error.name or "").partition(".")[0] in TRAIN_EXTRA:
        module = (error.name or "").partition(".")[0]
        return _fail(f"erlangen {command} needs {module}: pip install 'erlangen[train]'")
    if isinstance(error, KeyboardInterrupt):
        message = str(error) or f"erlangen {command} was interrupted"
        run_dir = getattr(error, "run_dir", None)
        sweep_dir = getattr(error, "sweep_dir", None)
        if sweep_dir is not None:
            message += f"; continue with: erlangen {error.command} --resume {_quoted(sweep_dir)}"
        elif run_dir is not None:
            message += f"; continue with: erlangen train --resume {_quoted(run_dir)}"
        _print_error(message, prefix="")
        return typer.Exit(130)
    if type(error).__name__ == "NonFiniteLossError":
        return _fail(str(error), code=1)
    if isinstance(error, KeyError) and error.args:
        return _fail(str(error.args[0]))
    if isinstance(error, _user_error_types()):
        return _fail(str(error) or type(error).__name__)
    return _fail(
        f"{type(error).__name__}: {error} (not a mistake of yours, as far as erlangen can "
        f"tell; erlangen --debug {command} ... shows the traceback)",
        code=1,
    )


def _guard(command: str, *modules: str):
    """Decorator of every command: it checks ``modules`` (of the ``train`` extra) before
    any work, and turns what the command raises into one line and an exit code
    (:func:`_exit_for`); with ``--debug`` the error is raised as it is, with its traceback."""

    def decorate(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            try:
                for module in modules:
                    importlib.import_module(module)
                return function(*args, **kwargs)
            except (typer.Exit, typer.Abort, _CLICK_ERROR, SystemExit):
                raise
            except BaseException as e:
                if _Settings.debug:
                    raise
                raise _exit_for(command, e) from None

        return run

    return decorate


def _from_command_line(ctx: typer.Context, name: str) -> bool:
    """Whether the parameter ``name`` was given on the command line (not defaulted)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _given(ctx: typer.Context, allowed: tuple[str, ...]) -> list[str]:
    """The options given on the command line other than ``allowed`` (parameter names), as
    the user spelled them (``--epochs``)."""
    names = []
    for param in ctx.command.params:
        if param.name in allowed or param.name == "ctx":
            continue
        if _from_command_line(ctx, param.name):
            long = [o for o in param.opts if o.startswith("--")]
            names.append((long or param.opts or [param.name])[0])
    return names


def _refuse_with_resume(ctx: typer.Context, folder: Path, allowed: tuple[str, ...], hint: str):
    """Refuse options that a resumed run or sweep would ignore, naming them."""
    ignored = _given(ctx, ("resume", *allowed))
    if ignored:
        raise ValueError(
            f"--resume continues {folder} with its recorded plan and options, so "
            f"{', '.join(ignored)} would be ignored; only {hint} when resuming"
        )


# ----------------------------------------------------------------------------- info
@app.command()
@_guard("info")
def info() -> None:
    """Versions, threads, and the groups, models, tasks and benchmarks available."""
    from rich.table import Table

    from . import bench, registry
    from .groups.parse import EXAMPLES
    from .tasks import TASKS

    registry.load_all()
    bench.load_all()
    versions = {
        "erlangen": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    for mod in ("numpy", "e3nn", "lightning", "torch_geometric"):
        try:
            versions[mod] = importlib.import_module(mod).__version__
        except Exception:
            versions[mod] = "not installed"
    t = Table(title="erlangen", show_header=False)
    for k, v in versions.items():
        t.add_row(k, str(v))
    t.add_row("threads", str(torch.get_num_threads()))
    t.add_row("cuda", str(torch.cuda.is_available()))
    t.add_row("groups", EXAMPLES)
    console.print(t)
    for title, table in (
        ("models", registry.MODELS),
        ("layer examples (erlangen tour)", registry.EXAMPLES),
    ):
        tt = Table(title=title)
        for col in ("name", "family", "description"):
            tt.add_column(col)
        for e in sorted(table.values(), key=lambda e: (e.family, e.name)):
            tt.add_row(e.name, e.family, e.description)
        console.print(tt)
    tt = Table(title="tasks")
    tt.add_column("name")
    tt.add_column("description")
    for name, task in sorted(TASKS.items()):
        tt.add_row(name, task.description)
    console.print(tt)
    bt = Table(title="benchmarks (erlangen bench)")
    for col in ("name", "family", "description"):
        bt.add_column(col)
    for b in sorted(bench.BENCHMARKS.values(), key=lambda b: (b.family, b.name)):
        bt.add_row(b.name, b.family, b.description)
    console.print(bt)


# ----------------------------------------------------------------------------- check
def build_checked(factory, group_name: str | None):
    """Call a user factory; returns ``(fn, in_type, out_type)``."""
    kwargs = {}
    if group_name is not None:
        from .groups import parse_group

        params = inspect.signature(factory).parameters
        if "group" not in params:
            raise TypeError("--group was given but the factory takes no `group` argument")
        kwargs["group"] = parse_group(group_name)
    built = factory(**kwargs)
    if isinstance(built, tuple):
        if len(built) != 3:
            raise TypeError("a factory may return a module, or (fn, in_type, out_type)")
        return built
    return built, None, None


@app.command()
@_guard("check")
def check(
    spec: Annotated[
        str, typer.Argument(help="MODULE:FACTORY or FILE.py:FACTORY building the model")
    ],
    group: Annotated[
        str | None, typer.Option(help="pass group=... to the factory (e.g. C4, D4, SO3)")
    ] = None,
    n: Annotated[int, typer.Option("-n", help="random group elements")] = 16,
    dtype: Annotated[str, typer.Option(help="float64, float32 or bfloat16")] = "float64",
    atol: Annotated[float | None, typer.Option(help="absolute tolerance")] = None,
    rtol: Annotated[float | None, typer.Option(help="relative tolerance")] = None,
    seed: Annotated[int, typer.Option(help="seed for inputs and elements")] = 0,
) -> None:
    """Check the equivariance of your model; exits 1 when it fails.

    The factory returns an nn.Module that declares `in_type` and `out_type` (erlangen field
    types), or a tuple `(fn, in_type, out_type)`.
    """
    from .check import equivariance

    if dtype not in DTYPES:
        raise _fail(f"--dtype must be one of {', '.join(DTYPES)}, got {dtype}")
    try:
        factory = load_factory(spec)
    except Exception as e:  # the user's module: any error while importing it
        raise _fail(f"cannot load {spec!r}: {type(e).__name__}: {e}") from e
    try:
        fn, in_type, out_type = build_checked(factory, group)
        report = equivariance(
            fn, in_type, out_type, n=n, dtype=DTYPES[dtype], atol=atol, rtol=rtol, seed=seed
        )
    except (ValueError, TypeError, LookupError) as e:
        raise _fail(str(e)) from e
    except Exception as e:  # the user's model failed to build or to run
        raise _fail(f"checking {spec!r} failed: {type(e).__name__}: {e}") from e
    console.print(report.rich_table())
    if not report.passed:
        raise typer.Exit(1)


# ----------------------------------------------------------------------------- tour
@app.command()
@_guard("tour")
def tour(
    dtype: Annotated[str, typer.Option(help="float64 or float32")] = "float64",
) -> None:
    """Check every built-in layer example for equivariance and print one table."""
    from rich.table import Table

    from . import registry
    from .check import equivariance

    if dtype not in ("float64", "float32"):
        raise ValueError(f"--dtype must be float64 or float32, got {dtype!r}")

    registry.load_all()
    t = Table(title=f"erlangen tour: every built-in layer example ({dtype})")
    for col in ("example", "family", "group", "max abs err", "max rel err", "result"):
        t.add_column(col)
    failed = 0
    for entry in sorted(registry.EXAMPLES.values(), key=lambda e: (e.family, e.name)):
        report = equivariance(entry.factory(), dtype=DTYPES[dtype], **entry.check)
        failed += not report.passed
        verdict = "[green]pass[/]" if report.passed else "[bold red]FAIL[/]"
        t.add_row(
            entry.name,
            entry.family,
            report.group,
            f"{report.max_abs:.2e}",
            f"{report.max_rel:.2e}",
            verdict,
        )
    console.print(t)
    if failed:
        raise typer.Exit(1)


# ----------------------------------------------------------------------------- bench
@app.command("bench")
@_guard("bench")
def bench_cmd(
    names: Annotated[
        list[str] | None, typer.Argument(help="benchmarks to run (default: all)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="JSON file for the results")] = None,
    min_run_time: Annotated[float, typer.Option(help="seconds of timing per callable")] = 0.5,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
    rounds: Annotated[
        int, typer.Option(min=1, help="interleaved rounds (ratios: per-round median)")
    ] = 10,
    threads: Annotated[
        int | None, typer.Option(min=1, help="torch threads (default: torch's)")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="list the benchmarks and exit")] = False,
) -> None:
    """Time our operations against peers or plain-torch baselines; prints ratios. The results
    are kept even when the JSON file cannot be written (they go to a temporary file)."""
    from . import bench

    bench.load_all()
    if list_:
        for b in sorted(bench.BENCHMARKS.values(), key=lambda b: (b.family, b.name)):
            console.print(f"{b.name:<36} {b.family:<8} {b.description}")
        return
    bench.check_arguments(names, min_run_time, device, rounds)
    path = out or Path("runs") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    if path.is_dir():
        raise ValueError(f"--out {path} is a folder; give the path of a JSON file")
    if threads is not None:
        torch.set_num_threads(threads)
    with console.status("benchmarking") as status:
        results = bench.run(
            names,
            min_run_time,
            device,
            progress=lambda n: status.update(f"benchmarking {n}"),
            rounds=rounds,
        )
    console.print(bench.table(results))
    written, error = bench.save_json(results, path)
    if error is not None:
        kept = f"they are in {written}" if written is not None else "they are printed above"
        raise OSError(f"cannot write the results to {path} ({error}); {kept}")
    console.print(f"results written to {written}")


# ----------------------------------------------------------------------------- train
def _parse_options(pairs: list[str] | None) -> dict:
    """``KEY=VALUE`` pairs; values are read as JSON when they parse (numbers, true, lists)."""
    import json

    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option takes KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _sweep_folder_hint(folder: Path) -> str:
    """What to say of a folder given to ``train --resume`` that is a sweep's or a demo's."""
    import json

    try:
        doc = json.loads((folder / "results.json").read_text())
    except (OSError, ValueError):
        return ""
    if isinstance(doc, dict) and "plan" in doc:
        command = doc.get("command", "sweep")
        return f"{folder} is a {command} folder: continue it with erlangen {command} --resume"
    return ""


@app.command()
@_guard("train", "lightning")
def train(
    ctx: typer.Context,
    task: Annotated[
        str | None, typer.Argument(help="task name (see `erlangen info`); omit with --resume")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="registered model name, or MODULE:FACTORY / FILE.py:FACTORY"),
    ] = None,
    train_size: Annotated[
        int | None, typer.Option(min=1, help="train on the first N samples")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(min=1, help="epochs (default: the task's recipe)")
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(min=1, help="optimizer steps instead of epochs (exactly this many)"),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="batch size per process")] = None,
    lr: Annotated[float | None, typer.Option(help="learning rate")] = None,
    weight_decay: Annotated[float | None, typer.Option(help="weight decay")] = None,
    optimizer: Annotated[str | None, typer.Option(help="adam, adamw or sgd")] = None,
    schedule: Annotated[str | None, typer.Option(help="constant or cosine")] = None,
    augment: Annotated[
        bool | None, typer.Option("--augment/--no-augment", help="random rotations of inputs")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of initialisation and training")] = 0,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="model option KEY=VALUE")
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            help="continue this run folder from its last checkpoint (with its recorded "
            "options; only --device and --progress apply)"
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="parent folder of the run folder")] = Path("runs"),
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    transfer_from: Annotated[
        Path | None,
        typer.Option(
            help="run folder whose model hands this one what they share (e.g. learned group "
            "actions), frozen"
        ),
    ] = None,
    compile_: Annotated[
        bool,
        typer.Option("--compile", help="train under torch.compile (compile time in results.json)"),
    ] = False,
) -> None:
    """Train one model on one task; the run folder gets config, checkpoints, logs, results.
    Ctrl-C stops it, keeping the last checkpoint; --resume continues it."""
    from . import train as training

    if resume is not None:
        if not (resume / "config.json").is_file() and _sweep_folder_hint(resume):
            raise ValueError(_sweep_folder_hint(resume))
        recorded = training.read_config(resume)
        if task is not None and task != recorded.task:
            raise ValueError(f"{resume} is a run of task {recorded.task!r}, not {task!r}")
        if model is not None and model != recorded.model:
            raise ValueError(f"{resume} is a run of model {recorded.model!r}, not {model!r}")
        _refuse_with_resume(
            ctx, resume, ("task", "model", "device", "progress"), "--device and --progress apply"
        )
        result = training.resume(resume, progress=progress, device=device)
    else:
        if task is None or model is None:
            raise ValueError("give a TASK and --model NAME (or --resume RUN_DIR)")
        from .registry import get_model
        from .tasks import get_task

        model = get_task(task).model_name(model)  # the task's short names, resolved
        if ":" not in model:
            get_model(model)
        config = training.TrainConfig(
            task=task,
            model=model,
            model_options=_parse_options(option),
            train_size=train_size,
            epochs=epochs,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            optimizer=optimizer,
            schedule=schedule,
            augment=augment,
            seed=seed,
            device=device,
            transfer_from=str(transfer_from) if transfer_from is not None else None,
            compile=compile_,
        )
        result = training.fit(config, out=out, progress=progress)
    if result.metrics:
        _print_metrics(f"{result.config.model} on {result.config.task}", result.metrics)
        console.print(f"run folder: {result.run_dir}")


def _print_metrics(title: str, metrics: dict) -> None:
    from rich.table import Table

    t = Table(title=title, show_header=False)
    for key, value in metrics.items():
        if key in ("weight_digests",):
            continue
        if isinstance(value, float):
            value = f"{value:.4g}"
        t.add_row(key, str(value))
    console.print(t)


@app.command()
@_guard("evaluate", "lightning")
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="a run folder written by `erlangen train`")],
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "cpu",
) -> None:
    """Re-load a run's checkpoint and config; report the task's metrics (test accuracy or
    MSE, equivariance errors)."""
    from . import train as training

    metrics = training.evaluate_run(run_dir, device=device)
    _print_metrics(f"evaluation of {run_dir}", metrics)


# ----------------------------------------------------------------------------- md
@app.command()
@_guard("md", "matplotlib")
def md(
    run_dir: Annotated[
        Path, typer.Argument(help="a run folder of `erlangen train ... --model potential`")
    ],
    structure: Annotated[
        Path | None, typer.Option(help="structure file ASE reads (xyz, cif, POSCAR, ...)")
    ] = None,
    repeat: Annotated[
        int, typer.Option(min=1, help="without --structure: fcc Cu, REPEAT^3 cubic cells")
    ] = 3,
    steps: Annotated[int, typer.Option(min=1, help="velocity-Verlet steps")] = 1000,
    timestep: Annotated[float, typer.Option(help="femtoseconds per step")] = 2.0,
    temperature: Annotated[float, typer.Option(help="initial temperature (K)")] = 600.0,
    interval: Annotated[int, typer.Option(min=1, help="steps between records")] = 5,
    seed: Annotated[int, typer.Option(help="seed of the initial velocities")] = 0,
    float32: Annotated[bool, typer.Option(help="evaluate in float32 (default float64)")] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "cpu",
    out: Annotated[Path | None, typer.Option(help="folder for md.json and md.png")] = None,
) -> None:
    """NVE molecular dynamics with a trained potential through ASE: energy drift per atom per
    picosecond, with a plot of the energies against time."""
    from .tasks.dynamics import run_md

    summary = run_md(
        run_dir,
        structure=structure,
        repeat=repeat,
        steps=steps,
        timestep_fs=timestep,
        temperature_k=temperature,
        interval=interval,
        seed=seed,
        device=device,
        float64=not float32,
        out=out,
    )
    files = summary.pop("files")
    _print_metrics(f"NVE with the potential of {run_dir}", summary)
    console.print(f"written: {', '.join(files)}")


def _split(text: str | None, kind=str, option: str = "") -> tuple:
    """``"a, b"`` -> ``("a", "b")`` (converted by ``kind``); ``None`` or ``""`` -> ``()``."""
    try:
        return tuple(kind(t.strip()) for t in (text or "").split(",") if t.strip())
    except ValueError:
        raise ValueError(
            f"{option or 'the option'} takes {kind.__name__} values separated by commas, "
            f"got {text!r}"
        ) from None


# ----------------------------------------------------------------------------- inspect
@app.command("inspect")
@_guard("inspect", "lightning", "matplotlib")
def inspect_cmd(
    run_dir: Annotated[Path, typer.Argument(help="a run folder of a model with learned groups")],
    out: Annotated[Path | None, typer.Option(help="folder for the figures")] = None,
    patch: Annotated[int, typer.Option(help="index of the test image used as a patch")] = 0,
) -> None:
    """Draw what a learned-group model learned: the matrices A, their eigenvalues, the nearest
    known actions (rotations, flips, shifts, pooling), A applied to a patch and to the filters."""
    from . import train as training
    from .grid import learned_layers
    from .grid.inspect import inspect_model

    config, task, model = training.load_run(run_dir)
    if not any(True for _ in learned_layers(model)):
        raise ValueError(f"{config.model} (in {run_dir}) has no learned-group layers to inspect")
    data = task.load(config.data_seed)
    if not 0 <= patch < data.x_test.shape[0]:
        raise ValueError(f"--patch must be in [0, {data.x_test.shape[0]}), got {patch}")
    image = data.x_test[patch, 0]
    folder = out or Path(run_dir) / "inspect"
    summary = inspect_model(model, folder, patch=image)
    console.print(summary["text"])
    console.print(f"figures and numbers written to {folder}")


# ----------------------------------------------------------------------------- demo
@app.command()
@_guard("demo", "lightning", "matplotlib", "mlxtend")
def demo(
    ctx: typer.Context,
    models: Annotated[
        str | None,
        typer.Option(help="comma-separated models; NAME+aug adds rotation augmentation"),
    ] = None,
    sizes: Annotated[str | None, typer.Option(help="comma-separated training-set sizes")] = None,
    seeds: Annotated[int | None, typer.Option(min=1, help="seeds per (model, size)")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="optimizer steps per run")] = None,
    full: Annotated[
        bool, typer.Option(help="the long version: sizes up to 3000, 3 seeds, 2000 steps")
    ] = False,
    out: Annotated[Path, typer.Option(help="parent folder of demo-<time>/")] = Path("runs"),
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    task: Annotated[
        str, typer.Option(help="rotated-digits, or digits (the same digits upright)")
    ] = "rotated-digits",
    resume: Annotated[
        Path | None,
        typer.Option(help="continue this interrupted demo folder (only --device applies)"),
    ] = None,
) -> None:
    """The main job: Z2CNN, Z2CNN + augmentation, P4CNN and LGCNN on rotated digits at
    several training-set sizes; accuracy, parameters, time and rotation-equivariance error.
    Ctrl-C writes the report of the finished runs; --resume continues the demo."""
    from . import demo as demo_mod
    from . import sweep as sweep_mod
    from .tasks import get_task

    if resume is not None:
        _refuse_with_resume(ctx, resume, ("device",), "--device applies")
        given = _from_command_line(ctx, "device")
        result = demo_mod.resume_demo(resume, device=device if given else None, console=console)
    else:
        plan = demo_mod.demo_plan(
            full=full,
            task=task,
            models=_split(models),
            sizes=_split(sizes, int, "--sizes"),
            seeds=seeds,
            steps=steps,
        )
        sweep_mod.check_plan(plan.filled(get_task(plan.task)), get_task(plan.task))
        result = demo_mod.run_demo(plan, out=out, device=device, console=console)
    the_task = get_task(result.plan.task)
    console.print(
        sweep_mod.rich_table(result.rows, the_task, title=f"erlangen demo ({the_task.name})")
    )
    console.print(
        f"finished in {result.total_time_s / 60:.1f} min; results, plots and report.md in "
        f"{result.out_dir}"
    )


# ----------------------------------------------------------------------------- sweep
def _parse_model_options(pairs: list[str] | None) -> dict[str, dict]:
    """``KEY=VALUE`` (every model) or ``MODEL:KEY=VALUE`` (one model) -> ``{model: options}``,
    ``"*"`` for every model."""
    options: dict[str, dict] = {}
    for pair in pairs or []:
        target, sep, value = pair.partition("=")
        model, colon, key = target.rpartition(":")
        if not sep or not key:
            raise ValueError(f"--option takes KEY=VALUE or MODEL:KEY=VALUE, got {pair!r}")
        parsed = _parse_options([f"{key}={value}"])
        options.setdefault(model if colon else "*", {}).update(parsed)
    return options


@app.command()
@_guard("sweep", "lightning", "matplotlib")
def sweep(
    ctx: typer.Context,
    task: Annotated[
        str | None, typer.Argument(help="task name (see `erlangen info`); omit with --resume")
    ] = None,
    models: Annotated[
        str | None,
        typer.Option(help="comma-separated models (default: the task's); NAME+aug augments"),
    ] = None,
    sizes: Annotated[
        str | None, typer.Option(help="comma-separated training-set sizes (default: the task's)")
    ] = None,
    seeds: Annotated[int, typer.Option(min=1, help="seeds per (model, size): 0, 1, ...")] = 1,
    steps: Annotated[
        int | None,
        typer.Option(min=1, help="optimizer steps of every run (default: the task's)"),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="batch size")] = None,
    lr: Annotated[float | None, typer.Option(help="learning rate")] = None,
    optimizer: Annotated[str | None, typer.Option(help="adam, adamw or sgd")] = None,
    schedule: Annotated[str | None, typer.Option(help="constant or cosine")] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="model option KEY=VALUE or MODEL:KEY=VALUE"),
    ] = None,
    jobs: Annotated[int, typer.Option(min=1, help="runs in parallel, one process each")] = 1,
    threads: Annotated[
        int | None, typer.Option(min=1, help="torch threads per run (default: cores / jobs)")
    ] = None,
    out: Annotated[Path, typer.Option(help="parent folder of sweep-<task>-<time>/")] = Path("runs"),
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    resume: Annotated[
        Path | None,
        typer.Option(
            help="continue this interrupted sweep folder (only --jobs, --threads and --device "
            "apply)"
        ),
    ] = None,
) -> None:
    """Sample efficiency: train models on nested training subsets of several sizes, the same
    number of steps each; table, results.json/csv, report.md and plots of the task's metrics.
    Ctrl-C writes the report of the finished runs; --resume continues the sweep."""
    from . import sweep as sweep_mod
    from .tasks import get_task

    if resume is not None:
        recorded, doc = sweep_mod.read_sweep(resume)
        if doc.get("command", "sweep") != "sweep":
            raise ValueError(
                f"{resume} is a {doc['command']} folder: continue it with erlangen "
                f"{doc['command']} --resume"
            )
        if task is not None and task != recorded.task:
            raise ValueError(f"{resume} is a sweep of task {recorded.task!r}, not {task!r}")
        _refuse_with_resume(
            ctx,
            resume,
            ("task", "jobs", "threads", "device"),
            "--jobs, --threads and --device apply",
        )
        plan = recorded
        given = _from_command_line(ctx, "device")
        device = device if given else doc.get("device", "auto")
    else:
        if task is None:
            raise ValueError("give a TASK (or --resume SWEEP_DIR)")
        plan = sweep_mod.SweepPlan(
            task=task,
            models=_split(models),
            sizes=_split(sizes, int, "--sizes"),
            seeds=tuple(range(seeds)),
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            schedule=schedule,
            model_options=_parse_model_options(option),
        )
    the_task = get_task(plan.task)
    plan = plan.filled(the_task)
    sweep_mod.check_plan(plan, the_task)
    result = sweep_mod.run_with_progress(
        plan,
        console,
        out=out,
        device=device,
        jobs=jobs,
        threads=threads,
        sweep_dir=resume,
    )
    console.print(
        sweep_mod.rich_table(result.rows, the_task, title=f"erlangen sweep ({plan.task})")
    )
    console.print(
        f"finished in {result.total_time_s / 60:.1f} min; results, plots and report.md in "
        f"{result.out_dir}"
    )


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
