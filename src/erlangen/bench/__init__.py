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
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.utils.benchmark as tb

from ..environment import environment

#: modules that register benchmarks when imported (a family's benchmarks add themselves here)
BENCH_MODULES: tuple[str, ...] = (
    "erlangen.bench.core",
    "erlangen.bench.grid",
    "erlangen.bench.learned",
    "erlangen.bench.ga",
    "erlangen.bench.graph",
    "erlangen.bench.o3",
    "erlangen.bench.potential",
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
    """One callable's timing: the median and IQR over rounds of the per-round medians (ms)."""

    label: str
    median_ms: float
    iqr_ms: float
    runs: int
    rounds_ms: list[float] = field(default_factory=list)


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    q = torch.tensor(values, dtype=torch.float64).quantile(
        torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)
    )
    return float(q[0]), float(q[1]), float(q[2])


@dataclass
class BenchResult:
    name: str
    family: str
    note: str
    ours: Timing
    references: list[Timing] = field(default_factory=list)

    def ratios(self, ref: Timing) -> list[float]:
        """Per-round ratios ours / reference (both measured in the same round)."""
        return [a / b for a, b in zip(self.ours.rounds_ms, ref.rounds_ms)]

    def ratio(self, ref: Timing) -> float:
        """Median of the per-round ratios ours / reference."""
        return _quartiles(self.ratios(ref))[1]

    def ratio_iqr(self, ref: Timing) -> tuple[float, float]:
        """First and third quartiles of the per-round ratios."""
        q1, _, q3 = _quartiles(self.ratios(ref))
        return q1, q3


BENCHMARKS: dict[str, Benchmark] = {}


def register(name: str, family: str, description: str = ""):
    """Decorator: register ``build(device) -> BenchPair`` under ``name``."""

    def decorate(build: Callable[[str], BenchPair]):
        BENCHMARKS[name] = Benchmark(name, family, description, build)
        return build

    return decorate


def load_all() -> None:
    for module in BENCH_MODULES:
        importlib.import_module(module)


def fwd_bwd(
    fn: Callable[..., object],
    *inputs: torch.Tensor,
    params: Iterable[torch.Tensor] | None = None,
) -> Callable[[], None]:
    """A benchmark step: clear the gradients, run ``fn(*inputs)``, sum every output tensor and
    backpropagate.

    Parameters
    ----------
    fn : callable or nn.Module
        Returns a tensor, or a tuple/list of tensors (all are summed).
    *inputs : Tensor
        Their gradients are cleared too (set ``requires_grad`` to time input gradients).
    params : iterable of Tensor, optional
        Parameters whose gradients are cleared; ``fn.parameters()`` for a module.
    """
    if params is None:
        params = fn.parameters() if isinstance(fn, torch.nn.Module) else ()
    tensors = [*params, *inputs]

    def step() -> None:
        for t in tensors:
            t.grad = None
        out = fn(*inputs)
        outs = out if isinstance(out, tuple | list) else (out,)
        sum(o.sum() for o in outs).backward()

    return step


def peer_available(module: str) -> bool:
    """Whether a peer library can be imported (it lives in ``.venv-bench``)."""
    try:
        importlib.import_module(module)
    except Exception:
        return False
    return True


def _measure(fn: Callable[[], object], min_run_time: float, device: str) -> float:
    """Median seconds per call of one ``blocked_autorange`` block."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    m = tb.Timer(stmt="fn()", globals={"fn": fn}).blocked_autorange(min_run_time=min_run_time)
    return m.median


def time_callables(
    callables: dict[str, Callable[[], object]],
    min_run_time: float,
    device: str,
    rounds: int = 10,
) -> list[Timing]:
    """Time callables in interleaved rounds, rotating the order each round (A B C, B C A,
    ...), so that a slow phase of a shared machine hits all of them alike. Each round gives
    one median per callable; ratios are then taken round by round."""
    for fn in callables.values():
        for _ in range(3):  # warm-up: allocator, lazy initialisation, caches
            fn()
    labels = list(callables)
    per_round: dict[str, list[float]] = {label: [] for label in labels}
    budget = max(min_run_time / max(rounds, 1), 1e-3)
    for r in range(rounds):
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            per_round[label].append(_measure(callables[label], budget, device) * 1e3)
    out = []
    for label in labels:
        q1, med, q3 = _quartiles(per_round[label])
        out.append(Timing(label, med, q3 - q1, rounds, per_round[label]))
    return out


def run(
    names: list[str] | None = None,
    min_run_time: float = 0.5,
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
    rounds: int = 10,
) -> list[BenchResult]:
    """Run the named benchmarks (all when ``names`` is empty).

    Parameters
    ----------
    names : list of str, optional
    min_run_time : float
        Seconds of timing per callable, spread over ``rounds``.
    device : str
    progress : callable, optional
        Called with each benchmark's name before it runs.
    rounds : int
        Interleaved rounds; ratios are medians of the per-round ratios.
    """
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
            {pair.ours_label: pair.ours, **pair.references}, min_run_time, device, rounds
        )
        results.append(BenchResult(name, bench.family, pair.note, timings[0], timings[1:]))
    return results


def check_arguments(names: list[str] | None, min_run_time: float, device: str, rounds: int) -> None:
    """Refuse, before any timing, unknown benchmarks (``KeyError``), a run time that is not a
    positive number, fewer than one round and a device that is not there (``ValueError``)."""
    load_all()
    unknown = [n for n in names or () if n not in BENCHMARKS]
    if unknown:
        raise KeyError(f"unknown benchmarks {unknown}; available: {', '.join(sorted(BENCHMARKS))}")
    if not 0 < min_run_time < math.inf:
        raise ValueError(f"min_run_time must be a positive number of seconds, got {min_run_time}")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"device must be cpu or cuda, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for, but torch sees no CUDA device")


def save_json(results: list[BenchResult], path: str | Path) -> tuple[Path | None, str | None]:
    """:func:`to_json`, keeping the results when ``path`` cannot be written: they then go to
    a new file in the temporary folder.

    Returns
    -------
    (path written or None, why ``path`` could not be written or None)
    """
    try:
        return to_json(results, path), None
    except OSError as e:
        error = e.strerror or str(e)
    try:
        fd, fallback = tempfile.mkstemp(prefix="erlangen-bench-", suffix=".json")
        os.close(fd)
        return to_json(results, fallback), error
    except OSError:
        return None, error


def to_json(results: list[BenchResult], path: str | Path) -> Path:
    """Write the results (with ratios and the environment) to ``path``."""
    rows = []
    for r in results:
        row = asdict(r)
        row["ratios"] = {ref.label: r.ratio(ref) for ref in r.references}
        row["ratio_iqr"] = {ref.label: r.ratio_iqr(ref) for ref in r.references}
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
    columns = ("benchmark", "ours: median ms (IQR)", "reference", "ref: median ms (IQR)")
    for col in (*columns, "ratio (IQR)"):
        t.add_column(col, justify="left" if col in ("benchmark", "reference") else "right")
    for r in results:
        ours = f"{r.ours.median_ms:.3f} ({r.ours.iqr_ms:.3f})"
        for i, ref in enumerate(r.references):
            t.add_row(
                r.name if i == 0 else "",
                ours if i == 0 else "",
                ref.label,
                f"{ref.median_ms:.3f} ({ref.iqr_ms:.3f})",
                "{:.2f}x ({:.2f}-{:.2f})".format(r.ratio(ref), *r.ratio_iqr(ref)),
            )
    return t
