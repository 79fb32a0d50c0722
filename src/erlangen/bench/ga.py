"""Benchmarks of the geometric-algebra family.

- ``ga-gatr-n{N}``: GATr forward+backward against a plain pre-norm Transformer with the same
  number of real channels per token (16 x multivector channels + scalars), same depth and
  heads, at N tokens (64 and 256 by default; 1024, 4096 and 16384 as well when the environment
  variable ``ERLANGEN_BENCH_LARGE=1`` is set);
- ``ga-nbody-step``: one Adam step of ``gatr-nbody`` against ``transformer-nbody``, both at
  the sizes of the task's CPU recipe, batch 64 x 4 bodies;
- ``ga-geometric-product``: the layers' geometric product (:mod:`erlangen.ga.products`, kernel
  layout) against a dense matmul with the FLOPs of the full table (``(M, 256) @ (256, 16)``)
  and against :func:`erlangen.ga.algebra.geometric_product` (einsum);
- ``ga-equilinear-n{N}``, ``ga-bilinear-n{N}``: :class:`~erlangen.ga.layers.EquiLinear` and
  :class:`~erlangen.ga.layers.GeometricBilinear` (16 multivector + 32 scalar channels in and
  out) forward+backward against one dense GEMM with the same inputs and outputs
  (``nn.Linear(288, 288)``), at 64, 256 and 8192 tokens;
- with ``ERLANGEN_BENCH_COMPILE=1``: ``ga-nbody-step-compiled``, ``ga-gatr-n64-compiled``,
  ``ga-gatr-n256-compiled``: both models under ``torch.compile``, with the eager rows beside
  them (compiling takes minutes per model on a CPU).

Training-step times of the n-body models at the registered (reference) sizes:
``python -m erlangen.bench.ga steps``; the profile of one n-body step (time per phase, top
operators): ``python -m erlangen.bench.ga profile``.

Memory: ``python -m erlangen.bench.ga memory`` measures the peak memory of
:class:`~erlangen.ga.layers.GeometricAttention` (one SDPA call) and of an explicit
``softmax(q k^T) v`` at growing token counts with ``torch.profiler`` (``profile_memory``).

The reference GATr implementation is not on PyPI (``pip download gatr`` finds nothing), so it
cannot be installed into ``.venv-bench`` and is not a peer here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..ga import algebra as ga
from ..ga import kernels, products
from ..ga.layers import EquiLinear, GATr, GeometricAttention, GeometricBilinear
from . import BenchPair, fwd_bwd, register

#: GATr size used by the token benchmarks
MV, S, BLOCKS, HEADS = 16, 32, 2, 4


def _gatr_pair(tokens: int, device: str, compile: bool = False) -> BenchPair:
    torch.manual_seed(0)
    batch = max(1, 512 // tokens)
    gatr = GATr(1, 1, MV, 1, 1, S, blocks=BLOCKS, heads=HEADS).to(device)
    x = torch.randn(batch, tokens, 1, 16, device=device)
    s = torch.randn(batch, tokens, 1, device=device)
    width = 16 * MV + S  # the same number of real channels per token
    layer = nn.TransformerEncoderLayer(
        width, HEADS, 2 * width, dropout=0.0, batch_first=True, norm_first=True
    )
    plain = nn.Sequential(
        nn.Linear(17, width),
        nn.TransformerEncoder(layer, BLOCKS, enable_nested_tensor=False),
        nn.Linear(width, 17),
    ).to(device)
    flat = torch.cat([x.flatten(-2), s], -1)
    suffix = " compiled" if compile else ""
    ours = fwd_bwd(torch.compile(gatr) if compile else gatr, x, s, params=gatr.parameters())
    refs = {
        f"Transformer (width {width}){suffix}": fwd_bwd(
            torch.compile(plain) if compile else plain, flat, params=plain.parameters()
        )
    }
    if compile:
        refs["GATr (eager)"] = fwd_bwd(gatr, x, s)
        refs[f"Transformer (width {width}) (eager)"] = fwd_bwd(plain, flat)
    return BenchPair(
        ours=ours,
        references=refs,
        ours_label="GATr" + suffix,
        note=(
            f"{batch} x {tokens} tokens, {MV} mv + {S} scalar channels, {BLOCKS} blocks, "
            f"{HEADS} heads, forward+backward; per token: divide by {batch * tokens}"
        ),
    )


_TOKENS = [64, 256]
if os.environ.get("ERLANGEN_BENCH_LARGE") == "1":
    _TOKENS += [1024, 4096, 16384]

for _n in _TOKENS:
    register(
        f"ga-gatr-n{_n}",
        "ga",
        f"GATr vs Transformer (same real channels), {_n} tokens, fwd+bwd",
    )(lambda device, _n=_n: _gatr_pair(_n, device))


@register("ga-geometric-product", "ga", "geometric product (layers' kernel) vs matmul, equal FLOPs")
def _geometric_product(device: str) -> BenchPair:
    torch.manual_seed(0)
    m = 64 * 1024
    x = torch.randn(m, 16, device=device)
    y = torch.randn(m, 16, device=device)
    xk, yk = x.T.reshape(16, m, 1).contiguous(), y.T.reshape(16, m, 1).contiguous()
    plan = products.plans(xk.device, xk.dtype)[0].forward
    pairs = torch.randn(m, 256, device=device)
    w = torch.randn(256, 16, device=device)
    return BenchPair(
        ours=lambda: products.table_product(plan, xk, yk),
        references={
            "(M, 256) @ (256, 16) matmul": lambda: pairs @ w,
            "algebra.geometric_product (einsum, 16^3 table)": lambda: ga.geometric_product(x, y),
        },
        ours_label="geometric product (kernel layout)",
        note=(
            f"M = {m} pairs of multivectors, forward; the matmul does the 4096 multiply-adds per "
            "pair of the dense table, the kernel 2560 on tiles (192 non-zero)"
        ),
    )


def _dense_reference(in_width: int, out_width: int, tokens: int, device: str):
    """One dense GEMM with the same inputs and outputs: ``nn.Linear(in_width, out_width)`` on
    the flattened, concatenated input ``(tokens, in_width)`` (input gradients on)."""
    dense = nn.Linear(in_width, out_width).to(device)
    flat = torch.randn(tokens, in_width, device=device, requires_grad=True)
    return fwd_bwd(dense, flat)


def _layer_pair(layer: nn.Module, tokens: int, label: str, device: str) -> BenchPair:
    """A GA layer (``c`` multivector + ``s`` scalar channels in and out) forward+backward
    against one dense GEMM of the same real shape."""
    torch.manual_seed(0)
    layer = layer.to(device)
    mv_in, s_in = layer.in_type[0].channels, layer.in_type[1].channels
    mv_out, s_out = layer.out_type[0].channels, layer.out_type[1].channels
    x = torch.randn(tokens, mv_in, 16, device=device, requires_grad=True)
    s = torch.randn(tokens, s_in, device=device, requires_grad=True)
    in_width, out_width = 16 * mv_in + s_in, 16 * mv_out + s_out
    return BenchPair(
        ours=fwd_bwd(layer, x, s),
        references={
            f"one dense GEMM {in_width} -> {out_width}": _dense_reference(
                in_width, out_width, tokens, device
            )
        },
        ours_label=label,
        note=(
            f"{tokens} tokens, {mv_in} mv + {s_in} scalars -> {mv_out} mv + {s_out} scalars, "
            "forward+backward (input and weight gradients)"
        ),
    )


#: token counts of the single-layer benchmarks: the n-body batch (64 systems x 4 bodies) and
#: smaller, and one large count
LAYER_TOKENS = (64, 256, 8192)
LAYER_MV, LAYER_S = 16, 32

for _n in LAYER_TOKENS:
    register(
        f"ga-equilinear-n{_n}",
        "ga",
        f"EquiLinear ({LAYER_MV} mv + {LAYER_S} s) vs one dense GEMM, {_n} tokens, fwd+bwd",
    )(
        lambda device, _n=_n: _layer_pair(
            EquiLinear(LAYER_MV, LAYER_MV, LAYER_S, LAYER_S), _n, "EquiLinear", device
        )
    )
    register(
        f"ga-bilinear-n{_n}",
        "ga",
        f"GeometricBilinear ({LAYER_MV} mv + {LAYER_S} s) vs one dense GEMM, {_n} tokens, fwd+bwd",
    )(
        lambda device, _n=_n: _layer_pair(
            GeometricBilinear(LAYER_MV, LAYER_MV, LAYER_S, LAYER_S),
            _n,
            "GeometricBilinear",
            device,
        )
    )


# --------------------------------------------------------------------- n-body training step
def nbody_batch(batch: int = 64, bodies: int = 4, device: str = "cpu") -> tuple[Tensor, ...]:
    """``(masses, positions, velocities, targets)`` of ``batch`` simulated systems."""
    from ..data.nbody import generate

    data = generate(batch, bodies=bodies, seed=1)
    keys = ("masses", "positions", "velocities", "targets")
    return tuple(torch.from_numpy(data[k]).float().to(device) for k in keys)


def nbody_model(name: str, device: str = "cpu", compile: bool = False) -> nn.Module:
    """An n-body model at the sizes of the task's CPU recipe."""
    from ..registry import get_model
    from ..tasks.nbody import CPU_MODEL_OPTIONS  # registers the baselines too

    torch.manual_seed(0)
    model = get_model(name).factory(**CPU_MODEL_OPTIONS[name]).to(device)
    return torch.compile(model) if compile else model


def adam_step(model: nn.Module, batch: tuple[Tensor, ...]) -> Callable[[], None]:
    """One training step of the n-body task: forward, MSE, backward, Adam (lr 3e-4, as the
    recipe)."""
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    m, x, v, y = batch

    def step() -> None:
        opt.zero_grad()
        F.mse_loss(model(m, x, v), y).backward()
        opt.step()

    return step


def _nbody_step_pair(device: str, compile: bool = False) -> BenchPair:
    batch = nbody_batch(device=device)
    refs = {"transformer-nbody": adam_step(nbody_model("transformer-nbody", device), batch)}
    label = "gatr-nbody"
    if compile:
        label = "gatr-nbody compiled"
        refs = {
            "transformer-nbody compiled": adam_step(
                nbody_model("transformer-nbody", device, compile=True), batch
            ),
            **refs,
            "gatr-nbody (eager)": adam_step(nbody_model("gatr-nbody", device), batch),
        }
    return BenchPair(
        ours=adam_step(nbody_model("gatr-nbody", device, compile=compile), batch),
        references=refs,
        ours_label=label,
        note="one Adam step, batch 64 x 4 bodies, the CPU recipe sizes (task defaults)",
    )


register("ga-nbody-step", "ga", "n-body Adam step: gatr-nbody vs transformer-nbody (CPU sizes)")(
    _nbody_step_pair
)

if os.environ.get("ERLANGEN_BENCH_COMPILE") == "1":
    register(
        "ga-nbody-step-compiled",
        "ga",
        "n-body Adam step, torch.compile: gatr-nbody vs transformer-nbody (and eager)",
    )(lambda device: _nbody_step_pair(device, compile=True))
    for _n in (64, 256):
        register(
            f"ga-gatr-n{_n}-compiled",
            "ga",
            f"GATr vs Transformer, both torch.compile, {_n} tokens, fwd+bwd",
        )(lambda device, _n=_n: _gatr_pair(_n, device, compile=True))


# --------------------------------------------------------------------- memory
def _peak_bytes(fn) -> tuple[int, int]:
    """``(peak of live allocations, largest single allocation)`` in bytes while ``fn()`` runs,
    from the CPU allocator events that ``torch.profiler`` records."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(
        (e for e in prof.events() if e.self_cpu_memory_usage != 0),
        key=lambda e: e.time_range.start,
    )
    live = peak = largest = 0
    for e in events:
        live += e.self_cpu_memory_usage
        peak = max(peak, live)
        largest = max(largest, e.self_cpu_memory_usage)
    return peak, largest


def attention_memory(tokens=(256, 512, 1024, 2048, 4096), mv: int = 8, heads: int = 4):
    """Peak memory of a forward pass of :class:`GeometricAttention` (SDPA) and of the same
    features through an explicit ``softmax(q k^T / sqrt(d)) v``, per token count.

    Returns
    -------
    list of dict
        ``tokens``, ``sdpa_peak_mb``, ``explicit_peak_mb``, ``explicit_largest_mb``.
    """
    torch.manual_seed(0)
    attn = GeometricAttention(mv, 0, heads=heads, head_mv=2, head_s=0).eval()
    rows = []
    for n in tokens:
        x = torch.randn(1, n, mv, 16)

        def sdpa(x=x):
            with torch.no_grad():
                attn(x)

        def explicit(x=x, n=n):
            with torch.no_grad():  # the layer's own maps and features, kernel layout
                xk = kernels.to_kernel_layout(x)  # (16, n, mv)
                q_mv, _ = attn.q_proj.forward_kernel(xk, None)  # (16, n, heads * 2)
                k_mv, v_mv = attn.kv_proj.forward_kernel(xk, None)[0].chunk(2, dim=-1)
                q_f, k_f = attn.features(q_mv, query=True), attn.features(k_mv, query=False)
                f = q_f.shape[0]
                q = q_f.view(f, n, heads, 2).permute(2, 1, 0, 3).reshape(heads, n, f * 2)
                k = k_f.permute(1, 0, 2).reshape(n, f * 2)
                logits = q @ k.T / q.shape[-1] ** 0.5  # (heads, n, n)
                _ = logits.softmax(-1) @ v_mv.permute(1, 0, 2).reshape(n, 16 * 2)

        sdpa_peak, _ = _peak_bytes(sdpa)
        ex_peak, ex_largest = _peak_bytes(explicit)
        rows.append(
            {
                "tokens": n,
                "sdpa_peak_mb": sdpa_peak / 2**20,
                "explicit_peak_mb": ex_peak / 2**20,
                "explicit_largest_mb": ex_largest / 2**20,
            }
        )
    return rows


def nbody_step_times(batch: int = 64, bodies: int = 4, steps: int = 5) -> list[dict]:
    """Milliseconds per Adam step (forward, backward, update) of the three n-body models at
    their registered (reference) sizes, on simulated data; median of ``steps`` steps after 3
    warm-up steps."""
    import statistics
    import time

    from ..ga.models import GATrNBody
    from ..tasks.nbody_baselines import MLPNBody, TransformerNBody

    data = nbody_batch(batch, bodies)
    rows = []
    for name, factory in (
        ("gatr-nbody", GATrNBody),
        ("transformer-nbody", TransformerNBody),
        ("mlp-nbody", lambda: MLPNBody(bodies=bodies)),
    ):
        torch.manual_seed(0)
        model = factory()
        step = adam_step(model, data)
        times = []
        for i in range(3 + steps):
            start = time.perf_counter()
            step()
            if i >= 3:
                times.append(time.perf_counter() - start)
        params = sum(p.numel() for p in model.parameters())
        rows.append({"model": name, "params": params, "ms": 1e3 * statistics.median(times)})
    return rows


def profile_nbody_step(model: str = "gatr-nbody", steps: int = 5, top: int = 15) -> dict:
    """``torch.profiler`` of ``steps`` Adam steps of an n-body model (CPU recipe sizes, batch
    64) after 3 warm-up steps: the time of each phase and the operators that take it.

    Returns
    -------
    dict
        ``phases``: ms per step of forward, backward and optimizer (wall time inside the
        profiler, which adds its own overhead); ``ops_per_step``: aten operators called per
        step (top-level calls, forward and backward); ``top``: the ``top`` operators by self CPU
        time, each ``(name, calls per step, self ms per step)``.
    """
    from torch.profiler import ProfilerActivity, profile, record_function

    net = nbody_model(model)
    m, x, v, y = nbody_batch()
    opt = torch.optim.Adam(net.parameters(), lr=3e-4)

    def step() -> None:
        opt.zero_grad()
        with record_function("phase: forward"):
            loss = F.mse_loss(net(m, x, v), y)
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
    phases = {
        e.key.removeprefix("phase: "): e.cpu_time_total / 1e3 / steps
        for e in averages
        if e.key.startswith("phase: ")
    }
    ops = [e for e in averages if e.key.startswith("aten::")]
    # operators that other operators call (aten::t under aten::linear, ...) count once, at
    # the top: the number of dispatches a Python-level step makes
    top_level = sum(
        1
        for e in prof.events()
        if e.name.startswith("aten::")
        and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::"))
    )
    return {
        "model": model,
        "phases": phases,
        "ops_per_step": top_level / steps,
        "top": [
            (e.key, e.count / steps, e.self_cpu_time_total / 1e3 / steps)
            for e in sorted(ops, key=lambda e: -e.self_cpu_time_total)[:top]
        ],
    }


def _print_profile(model: str) -> None:
    report = profile_nbody_step(model)
    phases = ", ".join(f"{k} {v:.1f} ms" for k, v in report["phases"].items())
    print(f"{model}: {phases}; {report['ops_per_step']:.0f} operator calls per step")
    print(f"  {'operator':<46} {'calls/step':>10} {'self ms/step':>12}")
    for name, calls, ms in report["top"]:
        print(f"  {name[:46]:<46} {calls:>10.0f} {ms:>12.2f}")


def _main(argv: list[str]) -> None:
    if argv[:1] == ["profile"]:
        for model in argv[1:] or ["gatr-nbody", "transformer-nbody"]:
            _print_profile(model)
        return
    if argv[:1] == ["steps"]:
        print(f"{'model':<20} {'params':>9} {'ms per Adam step':>17}")
        for r in nbody_step_times():
            print(f"{r['model']:<20} {r['params']:>9} {r['ms']:>17.0f}")
        return
    if argv[:1] != ["memory"]:
        print("usage: python -m erlangen.bench.ga memory [TOKENS ...] | steps | profile [MODELS]")
        raise SystemExit(2)
    tokens = [int(a) for a in argv[1:]] or [256, 512, 1024, 2048, 4096]
    print(f"{'tokens':>7} {'SDPA peak MB':>13} {'kB/token':>9} {'explicit peak MB':>17}")
    for r in attention_memory(tokens):
        per = r["sdpa_peak_mb"] / r["tokens"] * 1e3
        sdpa, explicit = r["sdpa_peak_mb"], r["explicit_peak_mb"]
        print(f"{r['tokens']:>7} {sdpa:>13.2f} {per:>9.2f} {explicit:>17.2f}")


if __name__ == "__main__":
    _main(sys.argv[1:])
