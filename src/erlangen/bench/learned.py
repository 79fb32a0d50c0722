"""Benchmarks of the learned group convolutions: what the learned action costs.

Each benchmark times a learned layer, forward + backward, against the p4 layer of the same
shape (:class:`~erlangen.grid.LiftingConv2d` / :class:`~erlangen.grid.GroupConv2d`, whose
filter expansion is an integer gather) and against a plain ``F.conv2d`` with a learned weight
of the expanded shape (the floor). The ratio to the p4 layer is the price of computing
``A^0 .. A^(n-1)`` and applying them to the filters (a GEMM before the gather), plus
the backward pass into ``A``::

    erlangen bench learned-lifting-conv learned-group-conv learned-group-conv-per-out

or, alternating the callables in short blocks so that load on a shared machine hits all of
them alike (what ``docs/learned_groups.md`` quotes)::

    python -m erlangen.bench.learned --rounds 30
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ..groups import Cyclic
from . import BenchPair, fwd_bwd, register

BATCH, SIZE, KERNEL, CHANNELS, ORDER = 8, 32, 3, 16, 4


def _pair(
    lifting: bool,
    device: str,
    channels: int = CHANNELS,
    kernel: int = KERNEL,
    size: int = SIZE,
    **options,
) -> BenchPair:
    from ..grid import GroupConv2d, LearnedGroupConv2d, LearnedGroupToGroupConv2d, LiftingConv2d

    c, n, k = channels, ORDER, kernel
    pad = k // 2
    if lifting:
        ours = LearnedGroupConv2d(c, c, k, n, padding=pad, **options)
        p4 = LiftingConv2d(c, c, k, Cyclic(n), padding=pad)
        x = torch.randn(BATCH, c, size, size, device=device)
    else:
        ours = LearnedGroupToGroupConv2d(c, c, k, n, padding=pad, **options)
        p4 = GroupConv2d(c, c, k, Cyclic(n), padding=pad)
        x = torch.randn(BATCH, c, n, size, size, device=device)
    ours, p4 = ours.to(device), p4.to(device)
    c_in = c if lifting else c * n
    weight = nn.Parameter(torch.randn(c * n, c_in, k, k, device=device) * 0.05)
    bias = nn.Parameter(torch.zeros(c * n, device=device))
    flat = x if lifting else x.flatten(1, 2)

    plain = fwd_bwd(lambda t: F.conv2d(t, weight, bias, padding=pad), flat, params=[weight, bias])

    described = ", ".join(f"{a}={b}" for a, b in options.items()) or "shared, free"
    return BenchPair(
        ours=fwd_bwd(ours, x),
        references={
            f"{type(p4).__name__} (C{n}, same shape)": fwd_bwd(p4, x),
            "F.conv2d, same expanded shape": plain,
        },
        ours_label=f"{type(ours).__name__} ({described})",
        note=(
            f"{c} -> {c} x {n} channels, {k}x{k}, padding {pad}, batch {BATCH}, "
            f"{size}x{size}, forward+backward"
        ),
    )


#: (name, description, lifting, options of :func:`_pair`): one benchmark each
_BENCHMARKS: tuple[tuple[str, str, bool, dict], ...] = (
    (
        "learned-lifting-conv",
        "LearnedGroupConv2d (shared free A, order 4) vs LiftingConv2d (p4) and conv2d, fwd+bwd",
        True,
        {},
    ),
    (
        "learned-group-conv",
        "LearnedGroupToGroupConv2d (shared free A, order 4) vs GroupConv2d (p4) and conv2d, "
        "fwd+bwd",
        False,
        {},
    ),
    (
        "learned-group-conv-per-out",
        "LearnedGroupToGroupConv2d (orthogonal A per output channel) vs GroupConv2d (p4), fwd+bwd",
        False,
        {"location": "per_out", "parametrisation": "orthogonal"},
    ),
    (
        "learned-group-conv-wide",
        "LearnedGroupToGroupConv2d 64 -> 64 x 4, 5x5, on 8x8 maps (a deep layer) vs GroupConv2d",
        False,
        {"channels": 64, "kernel": 5, "size": 8},
    ),
)
for _name, _description, _lifting, _options in _BENCHMARKS:
    register(_name, "grid", _description)(partial(_pair, _lifting, **_options))


NAMES = [name for name, *_ in _BENCHMARKS]


def expansion_times(rounds: int = 200, **options) -> dict[str, float]:
    """Milliseconds of the filter-bank expansion alone (forward + backward) of the
    ``learned-group-conv`` layer and of the p4 layer of the same shape (its gather)."""
    import time

    from ..grid import GroupConv2d, LearnedGroupToGroupConv2d

    learned = LearnedGroupToGroupConv2d(CHANNELS, CHANNELS, KERNEL, ORDER, **options)
    p4 = GroupConv2d(CHANNELS, CHANNELS, KERNEL, Cyclic(ORDER))
    out = {}
    for label, module, expand in (
        ("learned: A powers + GEMM + gather", learned, learned.expanded_weight),
        ("p4: index gather", p4, p4.expanded_weight),
    ):
        params = list(module.parameters())

        def step(expand=expand, params=params):
            for q in params:
                q.grad = None
            expand().sum().backward()

        step()
        start = time.perf_counter()
        for _ in range(rounds):
            step()
        out[label] = (time.perf_counter() - start) / rounds * 1e3
    return out


def main(argv: list[str] | None = None) -> None:
    from .grid import interleaved_ratios

    parser = argparse.ArgumentParser(prog="python -m erlangen.bench.learned")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--min-run-time", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.device}")
    print("| benchmark | reference | ours ms | reference ms | ratio (median) | IQR |")
    print("|---|---|---|---|---|---|")
    for r in interleaved_ratios(NAMES, args.rounds, args.min_run_time, args.device):
        print(
            f"| {r['benchmark']} | {r['reference']} | {r['ours_ms']:.2f} | {r['ref_ms']:.2f} "
            f"| {r['ratio']:.3f}x | {r['ratio_q1']:.3f}-{r['ratio_q3']:.3f} |"
        )
    if args.device == "cpu":
        for options in ({}, {"location": "per_out", "parametrisation": "orthogonal"}):
            times = expansion_times(**options)
            label = ", ".join(f"{a}={b}" for a, b in options.items()) or "shared, free"
            print(
                f"filter expansion fwd+bwd ({label}): "
                + ", ".join(f"{k} {v:.3f} ms" for k, v in times.items())
            )


if __name__ == "__main__":  # pragma: no cover
    main()
