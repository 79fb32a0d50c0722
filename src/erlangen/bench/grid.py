"""Benchmarks and measurements of the grids family.

Benchmarks (``erlangen bench grid-p4-conv grid-p4m-conv``): a p4 / p4m group convolution,
forward + backward, against

- the floor: a plain ``F.conv2d`` with a learned weight of the same expanded shape
  ``(out * |G|, in * |G|, k, k)``, so the ratio is the cost of expanding the filter bank;
- escnn's ``R2Conv`` between regular fields of C4 / D4 in training mode (it expands its
  sampled steerable basis on every forward), when escnn is importable (``make bench``).

Equivariance-error table for C_n / D_n (approximate, interpolated rotations)::

    python -m erlangen.bench.grid errors

prints the markdown table of ``docs/grids.md``. The ratios that ``docs/grids.md``
quotes (the core harness's interleaved rounds, single-threaded, plus build times and the
share of the filter expansion)::

    python -m erlangen.bench.grid ratios --rounds 30
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ..check import equivariance
from ..groups import Cyclic, Dihedral, FiniteGroup
from . import BenchPair, fwd_bwd, peer_available, register

BATCH, SIZE, KERNEL = 8, 32, 3
EXPANDED = 64  # channels * |G| on both sides


def _group_conv_pair(
    group: FiniteGroup,
    device: str,
    expanded: int = EXPANDED,
    kernel: int = KERNEL,
    size: int = SIZE,
    batch: int = BATCH,
) -> BenchPair:
    from ..grid import GroupConv2d

    order = group.order
    channels = expanded // order
    pad = kernel // 2
    layer = GroupConv2d(channels, channels, kernel, group, padding=pad).to(device)
    x = torch.randn(batch, channels, order, size, size, device=device, requires_grad=True)

    weight = nn.Parameter(torch.randn(expanded, expanded, kernel, kernel, device=device) * 0.05)
    bias = nn.Parameter(torch.zeros(expanded, device=device))
    x_flat = torch.randn(batch, expanded, size, size, device=device, requires_grad=True)

    def plain(inp):
        return F.conv2d(inp, weight, bias, padding=pad)

    refs = {"F.conv2d, same expanded shape": fwd_bwd(plain, x_flat, params=[weight, bias])}
    if peer_available("escnn"):
        try:
            refs["escnn R2Conv (train)"] = _escnn_step(group, channels, kernel, size, batch, device)
        except Exception as err:  # a broken peer install must not hide our numbers
            warnings.warn(f"escnn is importable but R2Conv failed to build: {err!r}", stacklevel=2)
    note = (
        f"{group.name} regular fields: {channels} x {order} -> {channels} x {order} channels, "
        f"{kernel}x{kernel}, padding {pad}, batch {batch}, {size}x{size}, forward+backward"
    )
    return BenchPair(
        ours=fwd_bwd(layer, x),
        references=refs,
        ours_label=f"GroupConv2d ({group.name})",
        note=note,
    )


def _escnn_conv(group: FiniteGroup, channels: int, kernel: int):
    from escnn import gspaces
    from escnn import nn as enn

    n = group.n
    space = gspaces.flipRot2dOnR2(n) if isinstance(group, Dihedral) else gspaces.rot2dOnR2(n)
    ftype = enn.FieldType(space, channels * [space.regular_repr])
    return enn.R2Conv(ftype, ftype, kernel, padding=kernel // 2), ftype


def _escnn_step(group: FiniteGroup, channels: int, kernel: int, size: int, batch: int, device):
    from escnn import nn as enn

    conv, ftype = _escnn_conv(group, channels, kernel)
    conv = conv.to(device)
    conv.train()
    x = torch.randn(batch, channels * group.order, size, size, device=device, requires_grad=True)
    return fwd_bwd(
        lambda t: conv(enn.GeometricTensor(t, ftype)).tensor, x, params=conv.parameters()
    )


@register("grid-p4-conv", "grid", "p4 GroupConv2d vs plain conv2d (same shape) and escnn, fwd+bwd")
def _p4(device: str) -> BenchPair:
    return _group_conv_pair(Cyclic(4), device)


@register(
    "grid-p4m-conv", "grid", "p4m GroupConv2d vs plain conv2d (same shape) and escnn, fwd+bwd"
)
def _p4m(device: str) -> BenchPair:
    return _group_conv_pair(Dihedral(4), device)


@register(
    "grid-p4m-conv-wide",
    "grid",
    "p4m GroupConv2d 32 -> 32 fields, 5x5, on 8x8 maps (a deep layer) vs conv2d and escnn",
)
def _p4m_wide(device: str) -> BenchPair:
    return _group_conv_pair(Dihedral(4), device, expanded=256, kernel=5, size=8, batch=8)


def construction_times(group: FiniteGroup, fields: int, kernel: int) -> dict[str, float]:
    """Seconds to build one layer ``fields`` regular fields -> ``fields``: ours and escnn's
    (escnn caches bases per process, so its first build is what a user waits for)."""
    from ..grid import GroupConv2d

    out = {}
    start = time.perf_counter()
    GroupConv2d(fields, fields, kernel, group, padding=kernel // 2)
    out["erlangen GroupConv2d"] = time.perf_counter() - start
    if peer_available("escnn"):
        start = time.perf_counter()
        _escnn_conv(group, fields, kernel)
        out["escnn R2Conv"] = time.perf_counter() - start
    return out


# ----------------------------------------------------------------------------- interleaved
def interleaved_ratios(
    names: list[str], rounds: int = 30, min_run_time: float = 3.0, device: str = "cpu"
) -> list[dict]:
    """Ours against each reference with the core harness (interleaved rounds, ratios taken
    round by round): medians (ms) and the median and quartiles of the per-round ratios."""
    from . import run

    out = []
    for result in run(names, min_run_time=min_run_time, device=device, rounds=rounds):
        for ref in result.references:
            q1, q3 = result.ratio_iqr(ref)
            out.append(
                dict(
                    benchmark=result.name,
                    reference=ref.label,
                    ours_ms=result.ours.median_ms,
                    ref_ms=ref.median_ms,
                    ratio=result.ratio(ref),
                    ratio_q1=q1,
                    ratio_q3=q3,
                    note=result.note,
                )
            )
    return out


def expansion_share(group: FiniteGroup, rounds: int = 200) -> tuple[float, float]:
    """Milliseconds of the filter expansion alone (gather + bias repeat, forward + backward)
    for the benchmark layer, and of the whole layer step."""
    from ..grid import GroupConv2d

    channels = EXPANDED // group.order
    layer = GroupConv2d(channels, channels, KERNEL, group, padding=1)
    x = torch.randn(BATCH, channels, group.order, SIZE, SIZE, requires_grad=True)

    def expand():
        layer.weight.grad = layer.bias.grad = None
        (layer.expanded_weight().sum() + layer.expanded_bias().sum()).backward()

    step = fwd_bwd(layer, x)
    result = []
    for fn, n in ((expand, rounds), (step, max(3, rounds // 20))):
        fn()
        start = time.perf_counter()
        for _ in range(n):
            fn()
        result.append((time.perf_counter() - start) / n * 1e3)
    return result[0], result[1]


# ----------------------------------------------------------------------------- error table
def approximate_errors(
    groups: list[FiniteGroup],
    kernels: list[int],
    methods: list[str],
    seeds: int = 3,
    n: int = 16,
    channels: int = 4,
) -> list[dict]:
    """Largest relative equivariance error (float64, the checker's default inputs) of lifting
    and group convolutions, over ``seeds`` initialisations and ``n`` random elements each.

    ``method`` is a ``filter_rotation`` or ``"isotropic"`` (ring basis with frequency 0 only:
    rotation-invariant filters, whose error is that of resampling the images alone).
    Returns one dict per (group, kernel, method) with keys ``group, kernel, method,
    n_params, lifting, group_conv``.
    """
    from ..grid import GroupConv2d, LiftingConv2d, RingBasis

    rows = []
    for group in groups:
        for k in kernels:
            for method in methods:
                errs = {}
                n_params = 0
                for label, cls in (("lifting", LiftingConv2d), ("group_conv", GroupConv2d)):
                    worst = 0.0
                    for seed in range(seeds):
                        torch.manual_seed(seed)
                        if method == "isotropic":  # rotation-invariant filters: the floor
                            ring = RingBasis(k, max_frequency=0)
                            layer = cls(
                                channels, channels, k, group, filter_rotation="ring", ring=ring
                            )
                        else:
                            layer = cls(channels, channels, k, group, filter_rotation=method)
                        n_params = layer.params_per_filter
                        report = equivariance(layer, n=n, seed=seed)
                        worst = max(worst, report.max_rel)
                    errs[label] = worst
                rows.append(
                    dict(group=group.name, kernel=k, method=method, n_params=n_params, **errs)
                )
    return rows


def exact_sizes(name: str, sizes: list[int], **options) -> dict[int, float]:
    """Largest relative invariance error of a registered model over all elements of its group
    (float64, eval mode) for each input size."""
    import warnings as _warnings

    from ..registry import get_model

    out = {}
    for size in sizes:
        torch.manual_seed(0)
        model = get_model(name).factory(**options)
        group = model.in_type.group
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            report = equivariance(model, n=0, elements=group.elements(), sample={"size": size})
        out[size] = report.max_rel
    return out


def _markdown(rows: list[dict]) -> str:
    lines = [
        "| group | kernel | filter rotation | params / filter | lifting max rel err "
        "| group conv max rel err |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['group']} | {r['kernel']}x{r['kernel']} | {r['method']} | {r['n_params']} "
            f"| {r['lifting']:.3g} | {r['group_conv']:.3g} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m erlangen.bench.grid")
    sub = parser.add_subparsers(dest="command", required=True)
    errors = sub.add_parser("errors", help="equivariance error of C_n / D_n layers (markdown)")
    errors.add_argument("--groups", default="C3,C6,C8,C12,C16,D3,D6,D8,D16")
    errors.add_argument("--kernels", default="3,5,7")
    errors.add_argument("--methods", default="ring,bilinear")
    errors.add_argument("--seeds", type=int, default=3)
    ratios = sub.add_parser("ratios", help="interleaved timing of the grid benchmarks")
    ratios.add_argument("--rounds", type=int, default=30)
    ratios.add_argument("--min-run-time", type=float, default=3.0)
    ratios.add_argument("--threads", type=int, default=1)
    ratios.add_argument("--device", default="cpu")
    sizes = sub.add_parser("sizes", help="which input sizes keep the models exactly invariant")
    sizes.add_argument("--models", default="p4cnn,p4mcnn,p4-allcnnc,p4m-allcnnc")
    sizes.add_argument("--sizes", default="28,29,30,31,32,33,34,35,36")
    args = parser.parse_args(argv)

    if args.command == "sizes":
        torch.set_num_threads(1)
        size_list = [int(v) for v in args.sizes.split(",")]
        print("| model | " + " | ".join(map(str, size_list)) + " |")
        print("|---|" + "---|" * len(size_list))
        variants = [(m, {}) for m in args.models.split(",")]
        if "p4-allcnnc" in args.models:
            variants.append(("p4-allcnnc", {"downsample_kernel": 3}))
        for model, options in variants:
            errs = exact_sizes(model, size_list, **options)
            label = model + "".join(f" ({k}={v})" for k, v in options.items())
            cells = ["exact" if errs[n] < 1e-10 else f"{errs[n]:.0e}" for n in size_list]
            print(f"| {label} | " + " | ".join(cells) + " |")
        return

    if args.command == "ratios":
        torch.set_num_threads(args.threads)
        names = ["grid-p4-conv", "grid-p4m-conv", "grid-p4m-conv-wide"]
        print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.device}")
        print("| benchmark | reference | ours ms | reference ms | ratio (median) | IQR |")
        print("|---|---|---|---|---|---|")
        for r in interleaved_ratios(names, args.rounds, args.min_run_time, args.device):
            print(
                f"| {r['benchmark']} | {r['reference']} | {r['ours_ms']:.2f} | {r['ref_ms']:.2f} "
                f"| {r['ratio']:.3f}x | {r['ratio_q1']:.3f}-{r['ratio_q3']:.3f} |"
            )
        for fields, kernel in ((32, 5), (64, 7)):
            built = construction_times(Dihedral(4), fields, kernel)
            print(
                f"build D4 {fields} -> {fields} regular fields, {kernel}x{kernel}: "
                + ", ".join(f"{k} {v:.3f} s" for k, v in built.items())
            )
        if args.device == "cpu":
            for group in (Cyclic(4), Dihedral(4)):
                expand, step = expansion_share(group)
                print(
                    f"{group.name}: filter expansion fwd+bwd {expand:.3f} ms of a "
                    f"{step:.2f} ms layer step ({100 * expand / step:.1f}%)"
                )
        return

    from ..groups import parse_group

    torch.set_num_threads(1)  # many tiny convolutions: threads cost more than they give
    groups = [parse_group(g) for g in args.groups.split(",")]
    rows = approximate_errors(
        groups,  # type: ignore[arg-type]
        [int(k) for k in args.kernels.split(",")],
        args.methods.split(","),
        seeds=args.seeds,
    )
    print(_markdown(rows))
    worst = {
        m: max(r["lifting"] for r in rows if r["method"] == m) for m in args.methods.split(",")
    }
    worst_g = {
        m: max(r["group_conv"] for r in rows if r["method"] == m) for m in args.methods.split(",")
    }
    for m in worst:
        print(f"\nworst {m}: lifting {worst[m]:.3g}, group conv {worst_g[m]:.3g}")


if __name__ == "__main__":  # pragma: no cover
    main()
