"""The ``erlangen`` command line."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import platform
import sys
import time
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.console import Console

from . import __version__

app = typer.Typer(
    name="erlangen",
    help="Geometric deep learning with symmetry checked numerically.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# wide tables when the output is a file or a pipe (rich would wrap at 80 columns)
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16}


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


# ----------------------------------------------------------------------------- info
@app.command()
def info() -> None:
    """Versions, threads, and the groups, models, tasks and benchmarks available."""
    from rich.table import Table

    from . import bench, registry
    from .groups.parse import EXAMPLES

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
    try:
        from .tasks import TASKS

        tt = Table(title="tasks")
        tt.add_column("name")
        tt.add_column("description")
        for name, task in sorted(TASKS.items()):
            tt.add_row(name, task.description)
        console.print(tt)
    except ImportError:
        pass
    bt = Table(title="benchmarks (erlangen bench)")
    for col in ("name", "family", "description"):
        bt.add_column(col)
    for b in sorted(bench.BENCHMARKS.values(), key=lambda b: (b.family, b.name)):
        bt.add_row(b.name, b.family, b.description)
    console.print(bt)


# ----------------------------------------------------------------------------- check
def load_factory(spec: str):
    """Resolve ``package.module:factory`` or ``path/to/file.py:factory`` to a callable."""
    if ":" not in spec:
        raise ValueError(f"expected MODULE:FACTORY (e.g. mypkg.models:build), got {spec!r}")
    module_name, _, attr = spec.rpartition(":")
    if module_name.endswith(".py") or "/" in module_name:
        path = Path(module_name)
        if not path.exists():
            raise FileNotFoundError(f"no such file: {path}")
        mod_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[path.stem] = module
        mod_spec.loader.exec_module(module)
    else:
        if "" not in sys.path:
            sys.path.insert(0, "")
        module = importlib.import_module(module_name)
    if not hasattr(module, attr):
        raise AttributeError(f"{module_name} has no attribute {attr!r}")
    return getattr(module, attr)


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
        fn, in_type, out_type = build_checked(factory, group)
        report = equivariance(
            fn, in_type, out_type, n=n, dtype=DTYPES[dtype], atol=atol, rtol=rtol, seed=seed
        )
    except (ValueError, TypeError, AttributeError, ImportError, FileNotFoundError) as e:
        raise _fail(str(e)) from e
    console.print(report.rich_table())
    if not report.passed:
        raise typer.Exit(1)


# ----------------------------------------------------------------------------- tour
@app.command()
def tour(
    dtype: Annotated[str, typer.Option(help="float64 or float32")] = "float64",
) -> None:
    """Check every built-in layer example for equivariance and print one table."""
    from rich.table import Table

    from . import registry
    from .check import equivariance

    registry.load_all()
    t = Table(title=f"erlangen tour: every built-in layer example ({dtype})")
    for col in ("example", "family", "group", "max abs err", "max rel err", "result"):
        t.add_column(col)
    failed = 0
    for entry in sorted(registry.EXAMPLES.values(), key=lambda e: (e.family, e.name)):
        report = equivariance(entry.factory(), dtype=DTYPES[dtype])
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
def bench_cmd(
    names: Annotated[
        list[str] | None, typer.Argument(help="benchmarks to run (default: all)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="JSON file for the results")] = None,
    min_run_time: Annotated[float, typer.Option(help="seconds of timing per callable")] = 0.5,
    device: Annotated[str, typer.Option(help="cpu or cuda")] = "cpu",
    rounds: Annotated[int, typer.Option(help="interleaved rounds (ratios: per-round median)")] = 10,
    threads: Annotated[int | None, typer.Option(help="torch threads (default: torch's)")] = None,
    list_: Annotated[bool, typer.Option("--list", help="list the benchmarks and exit")] = False,
) -> None:
    """Time our operations against peers or plain-torch baselines; prints ratios."""
    from . import bench

    if threads is not None:
        torch.set_num_threads(threads)
    bench.load_all()
    if list_:
        for b in sorted(bench.BENCHMARKS.values(), key=lambda b: (b.family, b.name)):
            console.print(f"{b.name:<36} {b.family:<8} {b.description}")
        return
    try:
        with console.status("benchmarking") as status:
            results = bench.run(
                names,
                min_run_time,
                device,
                progress=lambda n: status.update(f"benchmarking {n}"),
                rounds=rounds,
            )
    except KeyError as e:
        raise _fail(str(e.args[0])) from e
    console.print(bench.table(results))
    path = out or Path("runs") / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    bench.to_json(results, path)
    console.print(f"results written to {path}")


# ----------------------------------------------------------------------------- demo
@app.command()
def demo() -> None:
    """The main job. Until the grids family lands it is the tour of built-in layers."""
    tour()


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
