"""Side-by-side micro-benchmarks: always ours against a reference, timed in one run.

A benchmark is a function registered with :func:`register` that builds a :class:`BenchPair`:
our callable and one or more references (a peer library when it is installed, else the
plain-torch operation with the same FLOPs). :func:`run` times each with
``torch.utils.benchmark`` (warm-up, then ``blocked_autorange``) and reports medians,
interquartile ranges and the ratio ours / reference. The machine is noisy: read the ratios,
not the absolute times.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.utils.benchmark as tb

#: modules that register benchmarks when imported (those not present are skipped)
BENCH_MODULES: tuple[str, ...] = (
    "erlangen.bench.core",
    "erlangen.bench.grid",
    "erlangen.bench.learned",
    "erlangen.bench.graph",
    "erlangen.bench.ga",
    "erlangen.bench.o3",
)


@dataclass
class BenchPair:
    """What one benchmark times.

    Attributes
    ----------
    ours : callable
        Our operation (no arguments).
    references : dict
        ``label -> callable`` for each reference.
    ours_label : str
    note : str
        What the pair measures (shapes, forward or forward+backward).
    """

    ours: Callable[[], object]
    references: dict[str, Callable[[], object]]
    ours_label: str = "erlangen"
    note: str = ""


@dataclass
class Benchmark:
    name: str
    family: str
    description: str
    build: Callable[[str], BenchPair]


@dataclass
class Timing:
    label: str
    median_ms: float
    iqr_ms: float
    runs: int


@dataclass
class BenchResult:
    name: str
    family: str
    note: str
    ours: Timing
    references: list[Timing] = field(default_factory=list)

    def ratio(self, ref: Timing) -> float:
        return self.ours.median_ms / ref.median_ms


BENCHMARKS: dict[str, Benchmark] = {}


def register(name: str, family: str, description: str = ""):
    """Decorator: register ``build(device) -> BenchPair`` under ``name``."""

    def decorate(build: Callable[[str], BenchPair]):
        BENCHMARKS[name] = Benchmark(name, family, description, build)
        return build

    return decorate


def load_all() -> None:
    for module in BENCH_MODULES:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


def peer_available(module: str) -> bool:
    """Whether a peer library can be imported (it lives in ``.venv-bench``)."""
    try:
        importlib.import_module(module)
    except Exception:
        return False
    return True


def time_callable(fn: Callable[[], object], label: str, min_run_time: float, device: str) -> Timing:
    """Median and interquartile range of ``fn()`` in milliseconds."""
    for _ in range(3):  # warm-up (allocator, lazy init, caches)
        fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    m = tb.Timer(stmt="fn()", globals={"fn": fn}, label=label).blocked_autorange(
        min_run_time=min_run_time
    )
    return Timing(label, m.median * 1e3, m.iqr * 1e3, len(m.times))


def run(
    names: list[str] | None = None,
    min_run_time: float = 0.5,
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> list[BenchResult]:
    """Run the named benchmarks (all when ``names`` is empty)."""
    load_all()
    selected = names or sorted(BENCHMARKS)
    unknown = [n for n in selected if n not in BENCHMARKS]
    if unknown:
        raise KeyError(f"unknown benchmarks {unknown}; available: {', '.join(sorted(BENCHMARKS))}")
    results = []
    for name in selected:
        bench = BENCHMARKS[name]
        if progress:
            progress(name)
        pair = bench.build(device)
        ours = time_callable(pair.ours, pair.ours_label, min_run_time, device)
        refs = [
            time_callable(fn, label, min_run_time, device) for label, fn in pair.references.items()
        ]
        results.append(BenchResult(name, bench.family, pair.note, ours, refs))
    return results


def environment() -> dict:
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def to_json(results: list[BenchResult], path: str | Path) -> Path:
    """Write the results (with ratios and the environment) to ``path``."""
    rows = []
    for r in results:
        row = asdict(r)
        row["ratios"] = {ref.label: r.ratio(ref) for ref in r.references}
        rows.append(row)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"environment": environment(), "results": rows}, indent=2))
    return path


def table(results: list[BenchResult]):
    """A :class:`rich.table.Table` with one row per (benchmark, reference)."""
    from rich.table import Table

    t = Table(
        title=f"erlangen bench (torch {torch.__version__}, {torch.get_num_threads()} threads)"
    )
    for col in ("benchmark", "ours: median ms (IQR)", "reference", "ref: median ms (IQR)", "ratio"):
        t.add_column(col, justify="left" if col in ("benchmark", "reference") else "right")
    for r in results:
        ours = f"{r.ours.median_ms:.3f} ({r.ours.iqr_ms:.3f})"
        for i, ref in enumerate(r.references):
            t.add_row(
                r.name if i == 0 else "",
                ours if i == 0 else "",
                ref.label,
                f"{ref.median_ms:.3f} ({ref.iqr_ms:.3f})",
                f"{r.ratio(ref):.2f}x",
            )
    return t
