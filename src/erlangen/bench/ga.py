"""Benchmarks of the geometric-algebra family.

- ``ga-gatr-n{N}``: GATr forward+backward against a plain pre-norm Transformer with the same
  number of real channels per token (16 x multivector channels + scalars), same depth and
  heads, at N tokens (64 and 256 by default; 1024, 4096 and 16384 as well when the environment
  variable ``ERLANGEN_BENCH_LARGE=1`` is set);
- ``ga-geometric-product``: the einsum geometric product against a dense matmul with the same
  FLOPs (``(M, 256) @ (256, 16)``: 4096 multiply-adds per pair, like the dense 16^3 table);
- ``ga-equilinear``: :class:`~erlangen.ga.layers.EquiLinear` forward+backward against
  ``nn.Linear`` of the same real shape (our layer does 24/256 of its multiply-adds), and against
  the same equivariant map applied as one dense GEMM (the alternative implementation).

Training-step times of the n-body models: ``python -m erlangen.bench.ga steps``.

Memory: ``python -m erlangen.bench.ga memory`` measures the peak memory of
:class:`~erlangen.ga.layers.GeometricAttention` (one SDPA call) and of an explicit
``softmax(q k^T) v`` at growing token counts with ``torch.profiler`` (``profile_memory``).

The reference GATr implementation is not on PyPI (``pip download gatr`` finds nothing), so it
cannot be installed into ``.venv-bench`` and is not a peer here.
"""

from __future__ import annotations

import os
import sys

import torch
from torch import nn

from ..ga import algebra as ga
from ..ga.layers import EquiLinear, GATr, GeometricAttention
from . import BenchPair, fwd_bwd, register

#: GATr size used by the token benchmarks
MV, S, BLOCKS, HEADS = 16, 32, 2, 4


def _gatr_pair(tokens: int, device: str) -> BenchPair:
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

    return BenchPair(
        ours=fwd_bwd(gatr, x, s),
        references={f"Transformer (width {width})": fwd_bwd(plain, flat)},
        ours_label="GATr",
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


@register("ga-geometric-product", "ga", "einsum geometric product vs matmul with equal FLOPs")
def _geometric_product(device: str) -> BenchPair:
    torch.manual_seed(0)
    m = 64 * 1024
    x = torch.randn(m, 16, device=device)
    y = torch.randn(m, 16, device=device)
    pairs = torch.randn(m, 256, device=device)
    w = torch.randn(256, 16, device=device)
    return BenchPair(
        ours=lambda: ga.geometric_product(x, y),
        references={"(M, 256) @ (256, 16) matmul": lambda: pairs @ w},
        ours_label="geometric_product (einsum)",
        note=f"M = {m} pairs of multivectors, forward, 4096 multiply-adds per pair in both",
    )


@register("ga-equilinear", "ga", "EquiLinear vs dense nn.Linear of the same shape, fwd+bwd")
def _equilinear(device: str) -> BenchPair:
    torch.manual_seed(0)
    tokens, c, s = 8192, 16, 32
    layer = EquiLinear(c, c, s, s).to(device)
    dense = nn.Linear(16 * c + s, 16 * c + s).to(device)
    x = torch.randn(tokens, c, 16, device=device)
    xs = torch.randn(tokens, s, device=device)
    flat = torch.cat([x.flatten(-2), xs], -1)

    def as_dense_gemm(flat_mv):
        W = layer.linear_map().reshape(16 * c, 16 * c)
        return flat_mv @ W.t()

    return BenchPair(
        ours=fwd_bwd(layer, x, xs),
        references={
            f"nn.Linear({16 * c + s}, {16 * c + s})": fwd_bwd(dense, flat),
            "same equivariant map as one dense GEMM": fwd_bwd(
                as_dense_gemm, x.flatten(-2), params=layer.parameters()
            ),
        },
        ours_label="EquiLinear",
        note=f"{tokens} tokens, {c} mv + {s} scalar channels in and out, forward+backward",
    )


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

        def explicit(x=x):
            with torch.no_grad():
                q_mv = attn.q_proj(x)[0].unflatten(-2, (heads, 2)).movedim(-3, -4)
                k_mv, v_mv = attn.kv_proj(x)[0].chunk(2, dim=-2)
                q = attn._qk_features(q_mv, None, query=True)
                k = attn._qk_features(k_mv.unsqueeze(-4), None, query=False)
                logits = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5  # (1, h, n, n)
                _ = logits.softmax(-1) @ v_mv.flatten(-2).unsqueeze(-3)

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
    their default sizes, on simulated data; median of ``steps`` steps after 3 warm-up steps."""
    import statistics
    import time

    from ..data.nbody import generate
    from ..ga.models import GATrNBody
    from ..tasks.nbody_baselines import MLPNBody, TransformerNBody

    data = generate(batch, bodies=bodies, seed=1)
    m, x, v, y = (
        torch.from_numpy(data[k]).float() for k in ("masses", "positions", "velocities", "targets")
    )
    rows = []
    for name, factory in (
        ("gatr-nbody", GATrNBody),
        ("transformer-nbody", TransformerNBody),
        ("mlp-nbody", lambda: MLPNBody(bodies=bodies)),
    ):
        torch.manual_seed(0)
        model = factory()
        opt = torch.optim.Adam(model.parameters(), lr=3e-4)
        times = []
        for i in range(3 + steps):
            start = time.perf_counter()
            opt.zero_grad()
            (model(m, x, v) - y).square().mean().backward()
            opt.step()
            if i >= 3:
                times.append(time.perf_counter() - start)
        params = sum(p.numel() for p in model.parameters())
        rows.append({"model": name, "params": params, "ms": 1e3 * statistics.median(times)})
    return rows


def _main(argv: list[str]) -> None:
    if argv[:1] == ["steps"]:
        print(f"{'model':<20} {'params':>9} {'ms per Adam step':>17}")
        for r in nbody_step_times():
            print(f"{r['model']:<20} {r['params']:>9} {r['ms']:>17.0f}")
        return
    if argv[:1] != ["memory"]:
        print("usage: python -m erlangen.bench.ga memory [TOKENS ...] | steps")
        raise SystemExit(2)
    tokens = [int(a) for a in argv[1:]] or [256, 512, 1024, 2048, 4096]
    print(f"{'tokens':>7} {'SDPA peak MB':>13} {'kB/token':>9} {'explicit peak MB':>17}")
    for r in attention_memory(tokens):
        per = r["sdpa_peak_mb"] / r["tokens"] * 1e3
        sdpa, explicit = r["sdpa_peak_mb"], r["explicit_peak_mb"]
        print(f"{r['tokens']:>7} {sdpa:>13.2f} {per:>9.2f} {explicit:>17.2f}")


if __name__ == "__main__":
    _main(sys.argv[1:])
