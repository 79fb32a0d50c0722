"""Side-by-side micro-benchmarks: always ours against a reference, timed in one run.

A benchmark is a function registered with :func:`register` that builds a :class:`BenchPair`:
our callable and one or more references (a peer library when it is installed, else the
plain-torch operation with the same FLOPs). :func:`run` times them with
``torch.utils.benchmark`` (warm-up, then ``blocked_autorange``) in interleaved rounds, and
reports medians, interquartile ranges and the ratio ours / reference. The machine is
noisy: read the ratios, not the absolute times.
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


def _measure(fn: Callable[[], object], min_run_time: float, device: str) -> list[float]:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    m = tb.Timer(stmt="fn()", globals={"fn": fn}).blocked_autorange(min_run_time=min_run_time)
    return list(m.times)


def _timing(label: str, times: list[float]) -> Timing:
    probs = torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)
    q = torch.tensor(times, dtype=torch.float64).quantile(probs)
    return Timing(label, float(q[1]) * 1e3, float(q[2] - q[0]) * 1e3, len(times))


def time_callables(
    callables: dict[str, Callable[[], object]],
    min_run_time: float,
    device: str,
    rounds: int = 3,
) -> list[Timing]:
    """Time callables in interleaved rounds (A B C A B C ...) so that a slow phase of a shared
    machine hits all of them alike; median and IQR in milliseconds, in the given order."""
    for fn in callables.values():
        for _ in range(3):  # warm-up: allocator, lazy initialisation, caches
            fn()
    times: dict[str, list[float]] = {label: [] for label in callables}
    for _ in range(rounds):
        for label, fn in callables.items():
            times[label] += _measure(fn, min_run_time / rounds, device)
    return [_timing(label, t) for label, t in times.items()]


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
        if pair.ours_label in pair.references:
            raise ValueError(f"{name}: a reference is labelled like ours ({pair.ours_label!r})")
        timings = time_callables(
            {pair.ours_label: pair.ours, **pair.references}, min_run_time, device
        )
        results.append(BenchResult(name, bench.family, pair.note, timings[0], timings[1:]))
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
