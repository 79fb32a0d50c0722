"""The timings of issue 15 (GATr speed) in one process, on whichever erlangen is on the path.

Every row times ours and its reference interleaved in rounds (``erlangen.bench.time_callables``)
and prints the median of the per-round ratios ours / reference with its interquartile range.
Only APIs that exist before and after the GATr work are used, so the same file measures both
trees side by side:

    PYTHONPATH=/path/to/main/src python scripts/ga_speed.py            # before
    PYTHONPATH=src python scripts/ga_speed.py                          # after
    PYTHONPATH=src python scripts/ga_speed.py nbody gatr-1024          # some rows
    PYTHONPATH=src python scripts/ga_speed.py profile                  # one n-body step

Rows (names for the command line): ``nbody`` (one Adam step of gatr-nbody against
transformer-nbody, CPU recipe sizes, batch 64 x 4 bodies), ``gatr-N`` for N in 64, 256, 1024,
4096 (GATr forward+backward against a pre-norm Transformer of the same real width, as
``ga-gatr-nN`` of ``erlangen bench``), ``equilinear-N`` and ``bilinear-N`` for N in 64, 256,
8192 (16 mv + 32 scalar channels, forward+backward with input gradients, against one dense
GEMM 288 -> 288), ``linear-c8`` and ``linear-so3`` (the core's EquivariantLinear against
nn.Linear, batch 4096). Only when named: ``bilinear-parts-N`` (N = 256, 8192: GeometricBilinear
and its own input and output maps against the GEMM) and ``linear-assembly-c8``,
``linear-assembly-so3`` (EquivariantLinear and the assembly of its matrix from the basis
weights against nn.Linear).
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

import erlangen
from erlangen.bench import fwd_bwd, time_callables


def _nbody():
    from erlangen.data.nbody import generate
    from erlangen.registry import get_model
    from erlangen.tasks.nbody import CPU_MODEL_OPTIONS

    data = generate(64, bodies=4, seed=1)
    keys = ("masses", "positions", "velocities", "targets")
    m, x, v, y = (torch.from_numpy(data[k]).float() for k in keys)

    def step_of(name):
        torch.manual_seed(0)
        model = get_model(name).factory(**CPU_MODEL_OPTIONS[name])
        opt = torch.optim.Adam(model.parameters(), lr=3e-4)

        def step():
            opt.zero_grad()
            F.mse_loss(model(m, x, v), y).backward()
            opt.step()

        return step

    return {"gatr-nbody": step_of("gatr-nbody"), "transformer-nbody": step_of("transformer-nbody")}


def _gatr(tokens: int):
    from erlangen.ga.layers import GATr

    mv, s, blocks, heads = 16, 32, 2, 4
    torch.manual_seed(0)
    batch = max(1, 512 // tokens)
    gatr = GATr(1, 1, mv, 1, 1, s, blocks=blocks, heads=heads)
    x = torch.randn(batch, tokens, 1, 16)
    xs = torch.randn(batch, tokens, 1)
    width = 16 * mv + s
    layer = nn.TransformerEncoderLayer(
        width, heads, 2 * width, dropout=0.0, batch_first=True, norm_first=True
    )
    plain = nn.Sequential(
        nn.Linear(17, width),
        nn.TransformerEncoder(layer, blocks, enable_nested_tensor=False),
        nn.Linear(width, 17),
    )
    flat = torch.cat([x.flatten(-2), xs], -1)
    return {"GATr": fwd_bwd(gatr, x, xs), f"Transformer (width {width})": fwd_bwd(plain, flat)}


def _layer(kind: str, tokens: int):
    from erlangen.ga.layers import EquiLinear, GeometricBilinear

    c, s = 16, 32
    torch.manual_seed(0)
    layer = (EquiLinear if kind == "equilinear" else GeometricBilinear)(c, c, s, s)
    x = torch.randn(tokens, c, 16, requires_grad=True)
    xs = torch.randn(tokens, s, requires_grad=True)
    dense = nn.Linear(16 * c + s, 16 * c + s)
    flat = torch.randn(tokens, 16 * c + s, requires_grad=True)
    return {
        type(layer).__name__: fwd_bwd(layer, x, xs),
        "dense GEMM 288->288": fwd_bwd(dense, flat),
    }


def _bilinear_parts(tokens: int):
    """GeometricBilinear against its own input and output maps and the dense GEMM."""
    from erlangen.ga.layers import EquiLinear, GeometricBilinear

    torch.manual_seed(0)
    layer = GeometricBilinear(16, 16, 32, 32)  # hidden 8: 32 projected channels, 16 products
    x = torch.randn(tokens, 16, 16, requires_grad=True)
    xs = torch.randn(tokens, 32, requires_grad=True)
    proj, out = EquiLinear(16, 32, 32, 0), EquiLinear(16, 16, 32, 32)
    dense = nn.Linear(288, 288)
    flat = torch.randn(tokens, 288, requires_grad=True)
    return {
        "GeometricBilinear": fwd_bwd(layer, x, xs),
        "dense GEMM 288->288": fwd_bwd(dense, flat),
        "its input map EquiLinear(16+32 -> 32)": fwd_bwd(
            lambda a, b: proj(a, b)[0], x, xs, params=proj.parameters()
        ),
        "its output map EquiLinear(16+32 -> 16+32)": fwd_bwd(out, x, xs),
    }


def _core_linear(which: str, assembly: bool = False):
    from erlangen.groups import SO3, Cyclic, irrep, regular
    from erlangen.nn import EquivariantLinear

    torch.manual_seed(0)
    if which == "c8":
        rep = 32 * regular(Cyclic(8))
    else:
        G = SO3()
        rep = 32 * irrep(G, 0) + 16 * irrep(G, 1) + 8 * irrep(G, 2)
    layer = EquivariantLinear(rep, rep)
    dense = nn.Linear(layer.rep_in.dim, layer.rep_out.dim)
    x = torch.randn(4096, layer.rep_in.dim)
    timed = {"EquivariantLinear": fwd_bwd(layer, x), "nn.Linear": fwd_bwd(dense, x)}
    if assembly:  # the matrix and bias built from the basis weights, forward+backward
        timed["its weight assembly"] = fwd_bwd(
            lambda: (layer.weight(), layer.bias()), params=layer.parameters()
        )
    return timed


ROWS = {
    "nbody": _nbody,
    **{f"gatr-{n}": (lambda n=n: _gatr(n)) for n in (64, 256, 1024, 4096)},
    **{
        f"{k}-{n}": (lambda k=k, n=n: _layer(k, n))
        for k in ("equilinear", "bilinear")
        for n in (64, 256, 8192)
    },
    "linear-c8": lambda: _core_linear("c8"),
    "linear-so3": lambda: _core_linear("so3"),
    **{f"bilinear-parts-{n}": (lambda n=n: _bilinear_parts(n)) for n in (256, 8192)},
    "linear-assembly-c8": lambda: _core_linear("c8", assembly=True),
    "linear-assembly-so3": lambda: _core_linear("so3", assembly=True),
}
#: rows that a run without names skips (the parts of the layers above)
EXTRA = {"bilinear-parts-256", "bilinear-parts-8192", "linear-assembly-c8", "linear-assembly-so3"}


def profile_nbody(steps: int = 5, top: int = 12) -> None:
    """Print the phases (forward, backward, optimizer; ms per step inside ``torch.profiler``),
    the aten calls per step and the top operators by self time of one n-body Adam step of
    each model, after 3 warm-up steps."""
    from torch.profiler import ProfilerActivity, profile, record_function

    from erlangen.data.nbody import generate
    from erlangen.registry import get_model
    from erlangen.tasks.nbody import CPU_MODEL_OPTIONS

    data = generate(64, bodies=4, seed=1)
    keys = ("masses", "positions", "velocities", "targets")
    m, x, v, y = (torch.from_numpy(data[k]).float() for k in keys)
    for name in ("gatr-nbody", "transformer-nbody"):
        torch.manual_seed(0)
        model = get_model(name).factory(**CPU_MODEL_OPTIONS[name])
        opt = torch.optim.Adam(model.parameters(), lr=3e-4)

        def step(model=model, opt=opt):
            opt.zero_grad()
            with record_function("phase: forward"):
                loss = F.mse_loss(model(m, x, v), y)
            with record_function("phase: backward"):
                loss.backward()
            with record_function("phase: optimizer"):
                opt.step()

        for _ in range(3):
            step()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                step()
        averages = prof.key_averages()
        phases = ", ".join(
            f"{e.key.removeprefix('phase: ')} {e.cpu_time_total / 1e3 / steps:.1f} ms"
            for e in averages
            if e.key.startswith("phase: ")
        )
        top_level = sum(
            1
            for e in prof.events()
            if e.name.startswith("aten::")
            and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::"))
        )
        print(f"{name}: {phases}; {top_level / steps:.0f} aten calls per step", flush=True)
        print(f"  {'operator':<48} {'calls/step':>10} {'self ms/step':>12}")
        ops = sorted(
            (e for e in averages if e.key.startswith("aten::")),
            key=lambda e: -e.self_cpu_time_total,
        )
        for e in ops[:top]:
            calls, ms = e.count / steps, e.self_cpu_time_total / 1e3 / steps
            print(f"  {e.key[:48]:<48} {calls:>10.0f} {ms:>12.2f}")


def _quartiles(values):
    q = statistics.quantiles(values, n=4)
    return q[0], statistics.median(values), q[2]


def main(names: list[str]) -> None:
    print(
        f"erlangen from {erlangen.__file__}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {time.strftime('%H:%M:%S')}",
        flush=True,
    )
    if names[:1] == ["profile"]:
        profile_nbody()
        return
    print(f"{'row':<16} {'ours ms':>10} {'ref ms':>10} {'ratio':>7}  (IQR)", flush=True)
    for name in names or [n for n in ROWS if n not in EXTRA]:
        callables = ROWS[name]()
        ours, ref, *parts = time_callables(callables, min_run_time=0.5, device="cpu", rounds=10)
        ratios = [a / b for a, b in zip(ours.rounds_ms, ref.rounds_ms)]
        q1, med, q3 = _quartiles(ratios)
        print(
            f"{name:<16} {ours.median_ms:>10.3f} {ref.median_ms:>10.3f} {med:>6.2f}x  "
            f"({q1:.2f}-{q3:.2f})",
            flush=True,
        )
        for part in parts:  # a part of ours, against the reference and against ours
            to_ref = _quartiles([a / b for a, b in zip(part.rounds_ms, ref.rounds_ms)])
            to_ours = _quartiles([a / b for a, b in zip(part.rounds_ms, ours.rounds_ms)])
            print(
                f"  {part.label}: {part.median_ms:.3f} ms, {to_ref[1]:.2f}x the reference "
                f"({to_ref[0]:.2f}-{to_ref[2]:.2f}), {to_ours[1]:.2f}x ours "
                f"({to_ours[0]:.2f}-{to_ours[2]:.2f})",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1:])
