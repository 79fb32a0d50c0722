"""Benchmarks of the O(3) family, ours against e3nn 0.6 (and sphericart) in one run.

Registered for ``erlangen bench`` (interleaved rounds, medians, per-round ratios):

- ``o3-conv-l{L}`` / ``o3-conv-l{L}-fwd``: the channel-wise convolution tensor product of
  NequIP, 32 channels, 10,000 edges: features ``32x(0e + 1o + ... L)`` times the edge
  spherical harmonics ``0e + 1o + ... L`` into ``32x(0e + 1o + ... L)`` (every path parity
  allows), per-edge weights; forward + backward (gradients of features, harmonics and
  weights) or forward only. Reference: ``e3nn.o3.TensorProduct`` with the same
  instructions, the same numbers (tested). With ``ERLANGEN_BENCH_COMPILE=1`` also
  ``o3-conv-l{L}-compiled``: both sides through ``torch.compile`` (compilation excluded);
- ``o3-product-l{L}``: the all-degree product (degrees ``<= L`` times degrees ``<= L`` into
  ``<= 2L``, 1,000 products, forward) on the Gauss-Legendre grid against the same Gaunt
  product through dense Clebsch-Gordan blocks;
- ``o3-sh-l{L}`` / ``o3-sh-l{L}-fwd``: spherical harmonics of 100,000 vectors, all degrees
  ``<= L``, against e3nn and, when installed, sphericart.

The docs tables and the crossover plot::

    python -m erlangen.bench.o3 conv --rounds 10
    python -m erlangen.bench.o3 crossover --rounds 5      # docs/figures/o3/crossover.png
    python -m erlangen.bench.o3 sh --rounds 10
    python -m erlangen.bench.o3 mixing                    # equivariance error vs grid size
    python -m erlangen.bench.o3 sh-threshold              # where sphericart takes over
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from ..groups.irreps import Irreps
from ..o3 import DenseProduct, GridProduct, TensorProduct, spherical_harmonics
from ..o3.grid import exact_resolution
from . import BenchPair, fwd_bwd, peer_available, register

CHANNELS, EDGES = 32, 10_000
PRODUCT_BATCH = 1_000
SH_POINTS = 100_000
COMPILE = os.environ.get("ERLANGEN_BENCH_COMPILE") == "1"


def conv_irreps(lmax: int, channels: int = CHANNELS) -> tuple[Irreps, Irreps]:
    """Features ``C x (0e + 1o + ... lmax)`` and edge harmonics ``0e + 1o + ... lmax``."""
    features = Irreps([(channels, (l, (-1) ** l)) for l in range(lmax + 1)])  # noqa: E741
    return features, Irreps.spherical_harmonics(lmax)


def conv_pair(lmax: int, backward: bool, compiled: bool = False, edges: int = EDGES) -> BenchPair:
    """Our channel-wise product and e3nn's on the same edges and weights."""
    from e3nn import o3 as e3

    torch.manual_seed(0)
    features, sh = conv_irreps(lmax)
    ours = TensorProduct(features, sh, features, mode="uvu", weights="external")
    instructions = [(p.i1, p.i2, p.i_out, "uvu", True) for p in ours.paths]
    theirs = e3.TensorProduct(
        features.to_e3nn(),
        sh.to_e3nn(),
        features.to_e3nn(),
        instructions,
        shared_weights=False,
        internal_weights=False,
    )
    x = torch.randn(edges, features.dim, requires_grad=backward)
    y = torch.randn(edges, sh.dim, requires_grad=backward)
    w = torch.randn(edges, ours.weight_numel, requires_grad=backward)
    fn_ours, fn_theirs = ours, theirs
    if compiled:
        fn_ours, fn_theirs = torch.compile(ours), torch.compile(theirs)
    if backward:
        run_ours = fwd_bwd(fn_ours, x, y, w, params=())
        run_theirs = fwd_bwd(fn_theirs, x, y, w, params=())
    else:

        def run_ours():
            with torch.no_grad():
                return fn_ours(x, y, w)

        def run_theirs():
            with torch.no_grad():
                return fn_theirs(x, y, w)

    kind = "forward+backward" if backward else "forward"
    return BenchPair(
        ours=run_ours,
        references={f"e3nn 0.6 TensorProduct{' (compiled)' if compiled else ''}": run_theirs},
        ours_label=f"erlangen TensorProduct{' (compiled)' if compiled else ''}",
        note=(
            f"{features} x {sh} -> {features}, uvu, {len(ours.paths)} paths, {edges} edges, "
            f"per-edge weights, {kind}"
        ),
    )


for _l in (1, 2, 3):
    register(f"o3-conv-l{_l}", "o3", f"channel-wise conv TP, L={_l}, 32 ch, 10k edges, fwd+bwd")(
        lambda device, _l=_l: conv_pair(_l, backward=True)
    )
    register(f"o3-conv-l{_l}-fwd", "o3", f"channel-wise conv TP, L={_l}, 32 ch, 10k edges, fwd")(
        lambda device, _l=_l: conv_pair(_l, backward=False)
    )
    if COMPILE:
        register(f"o3-conv-l{_l}-compiled", "o3", f"conv TP L={_l}, both compiled, fwd+bwd")(
            lambda device, _l=_l: conv_pair(_l, backward=True, compiled=True)
        )


def product_pair(lmax: int, batch: int = PRODUCT_BATCH) -> BenchPair:
    """The all-degree Gaunt product, grid against dense blocks."""
    torch.manual_seed(0)
    grid, dense = GridProduct(lmax, lmax), DenseProduct(lmax, lmax)
    x1 = torch.randn(batch, (lmax + 1) ** 2)
    x2 = torch.randn(batch, (lmax + 1) ** 2)

    def run(module):
        def step():
            with torch.no_grad():
                return module(x1, x2)

        return step

    n_theta, n_phi = exact_resolution(4 * lmax)
    return BenchPair(
        ours=run(grid),
        references={"dense Clebsch-Gordan blocks": run(dense)},
        ours_label=f"grid product ({n_theta} x {n_phi})",
        note=f"degrees <= {lmax} x degrees <= {lmax} -> <= {2 * lmax}, {batch} products, forward",
    )


for _l in (1, 2, 3, 4, 6, 8, 10):
    register(f"o3-product-l{_l}", "o3", f"all-degree product L={_l}: grid vs dense CG, forward")(
        lambda device, _l=_l: product_pair(_l)
    )


def sh_pair(lmax: int, backward: bool, points: int = SH_POINTS) -> BenchPair:
    """Spherical harmonics up to ``lmax`` of ``points`` vectors: ours, e3nn, sphericart."""
    from e3nn import o3 as e3

    torch.manual_seed(0)
    x = torch.randn(points, 3, requires_grad=backward)
    ls = list(range(lmax + 1))

    def ours(v):
        return spherical_harmonics(ls, v, True, "component", backend="torch")

    def theirs(v):
        return e3.spherical_harmonics(ls, v, True, normalization="component")

    def fast(v):
        return spherical_harmonics(ls, v, True, "component", backend="sphericart")

    def wrap(fn):
        if backward:
            return fwd_bwd(fn, x, params=())

        def step():
            with torch.no_grad():
                return fn(x)

        return step

    references = {"e3nn 0.6 spherical_harmonics": wrap(theirs)}
    if peer_available("sphericart.torch"):
        references["sphericart (erlangen backend='sphericart')"] = wrap(fast)
    kind = "forward+backward" if backward else "forward"
    return BenchPair(
        ours=wrap(ours),
        references=references,
        ours_label="erlangen spherical_harmonics (torch)",
        note=f"l <= {lmax}, {points} vectors, component normalisation, {kind}",
    )


for _l in (3, 8):
    register(f"o3-sh-l{_l}", "o3", f"spherical harmonics l <= {_l}, 100k vectors, fwd+bwd")(
        lambda device, _l=_l: sh_pair(_l, backward=True)
    )
    register(f"o3-sh-l{_l}-fwd", "o3", f"spherical harmonics l <= {_l}, 100k vectors, fwd")(
        lambda device, _l=_l: sh_pair(_l, backward=False)
    )


# --------------------------------------------------------------------- docs tables
def _rows(names: list[str], rounds: int, min_run_time: float) -> list[dict]:
    from . import run

    out = []
    for result in run(names, min_run_time=min_run_time, rounds=rounds):
        for ref in result.references:
            q1, q3 = result.ratio_iqr(ref)
            out.append(
                dict(
                    benchmark=result.name,
                    ours=result.ours.label,
                    reference=ref.label,
                    ours_ms=result.ours.median_ms,
                    ours_iqr=result.ours.iqr_ms,
                    ref_ms=ref.median_ms,
                    ref_iqr=ref.iqr_ms,
                    speedup=1 / result.ratio(ref),
                    speedup_q1=1 / q3,
                    speedup_q3=1 / q1,
                    note=result.note,
                )
            )
    return out


def _print_table(rows: list[dict]) -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print("| benchmark | reference | ours ms (IQR) | reference ms (IQR) | speed-up (IQR) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['benchmark']} | {r['reference']} | {r['ours_ms']:.1f} ({r['ours_iqr']:.1f}) "
            f"| {r['ref_ms']:.1f} ({r['ref_iqr']:.1f}) | {r['speedup']:.2f}x "
            f"({r['speedup_q1']:.2f}-{r['speedup_q3']:.2f}) |"
        )


def crossover(
    lmaxes=range(1, 11), rounds: int = 5, min_run_time: float = 2.0, out: str | None = None
) -> list[dict]:
    """Grid against dense all-degree products for each ``L``; writes a log-log plot of the
    medians (with the fitted slopes) when ``out`` is given."""
    from . import time_callables

    rows = []
    for lmax in lmaxes:
        pair = product_pair(lmax)
        t_grid, t_dense = time_callables(
            {"grid": pair.ours, **pair.references}, min_run_time, "cpu", rounds
        )
        ratios = sorted(a / b for a, b in zip(t_dense.rounds_ms, t_grid.rounds_ms))
        rows.append(
            dict(
                L=lmax,
                grid_ms=t_grid.median_ms,
                grid_iqr=t_grid.iqr_ms,
                dense_ms=t_dense.median_ms,
                dense_iqr=t_dense.iqr_ms,
                speedup=ratios[len(ratios) // 2],
            )
        )
        print(
            f"L={lmax}: grid {t_grid.median_ms:.3f} ms, dense {t_dense.median_ms:.3f} ms, "
            f"grid faster by {rows[-1]['speedup']:.2f}x",
            flush=True,
        )
    if out is not None:
        _plot(rows, out)
    return rows


def multiply_adds(lmax: int) -> tuple[int, int]:
    """Multiply-adds per all-degree product ``(grid, dense)``, counted from the loops of
    :class:`~erlangen.o3.GridProduct` and :class:`~erlangen.o3.DenseProduct`."""
    n_theta, n_phi = exact_resolution(4 * lmax)

    def sample(l):  # noqa: E741  (Legendre step + Fourier step, one function)
        return (2 * l + 1) * (l + 1) * n_theta + n_theta * (2 * l + 1) * n_phi

    grid = 2 * sample(lmax) + n_theta * n_phi + sample(2 * lmax)
    dense = 0
    for l1 in range(lmax + 1):
        for l2 in range(lmax + 1):
            outer = (2 * l1 + 1) * (2 * l2 + 1)
            cols = sum(2 * l3 + 1 for l3 in range(abs(l1 - l2), min(l1 + l2, 2 * lmax) + 1, 2))
            dense += outer + outer * cols
    return grid, dense


def _slope(ls: list[int], ms: list[float]) -> float:
    import math

    xs, ys = [math.log(v) for v in ls], [math.log(v) for v in ms]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)


def _plot(rows: list[dict], out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ls = [r["L"] for r in rows]
    fig, (ax, ax_ops) = plt.subplots(1, 2, figsize=(10, 4))
    tail = [r for r in rows if r["L"] >= 4] if len(ls) > 4 else rows
    for key, label, marker in (("dense_ms", "dense CG blocks", "s"), ("grid_ms", "grid", "o")):
        slope = _slope([r["L"] for r in tail], [r[key] for r in tail])
        ax.loglog(ls, [r[key] for r in rows], marker=marker, label=f"{label} (slope {slope:.1f})")
    crossing = next((r["L"] for r in rows if r["speedup"] > 1), None)
    if crossing is not None:
        ax.axvline(crossing, color="grey", linestyle=":", label=f"grid faster from L = {crossing}")
    ax.set_xlabel("L (inputs: all degrees <= L; output: <= 2L)")
    ax.set_ylabel(f"ms per {PRODUCT_BATCH} products (median)")
    ax.set_xticks(ls, [str(v) for v in ls])
    ax.set_title("measured, forward, CPU")
    ax.legend(fontsize=8)
    counts = [multiply_adds(v) for v in ls]
    big = [r["L"] for r in tail]
    for k, label, marker in ((1, "dense CG blocks", "s"), (0, "grid", "o")):
        slope = _slope(big, [counts[ls.index(v)][k] for v in big])
        ax_ops.loglog(
            ls, [c[k] for c in counts], marker=marker, label=f"{label} (slope {slope:.1f})"
        )
    ax_ops.set_xlabel("L")
    ax_ops.set_ylabel("multiply-adds per product")
    ax_ops.set_xticks(ls, [str(v) for v in ls])
    ax_ops.set_title("counted: O(L^3) against O(L^6)")
    ax_ops.legend(fontsize=8)
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def mixing_errors(degrees=(6, 8, 12, 16, 24, 32), seeds: int = 3) -> list[dict]:
    """Equivariance error (max relative, float64) of a SiLU :class:`GridMixing` on
    ``4x0e + 4x1o + 4x2e`` against the grid's exactness degree."""
    from ..check import equivariance
    from ..o3 import GridMixing

    rows = []
    for degree in degrees:
        errs = []
        for seed in range(seeds):
            torch.manual_seed(seed)
            layer = GridMixing("4x0e + 4x1o + 4x2e", hidden=8, resolution=exact_resolution(degree))
            errs.append(equivariance(layer, n=8, seed=seed).max_rel)
        rows.append(dict(degree=degree, grid=exact_resolution(degree), max_rel=max(errs)))
    return rows


def sh_threshold(points=(64, 256, 1024, 4096, 16384, 65536), lmaxes=(3, 8), rounds: int = 7):
    """Median ms of the torch recurrence and of sphericart per batch size, forward (no
    autograd) and forward+backward: where ``backend="auto"`` should use sphericart."""
    from . import time_callables

    rows = []
    for lmax in lmaxes:
        ls = list(range(lmax + 1))
        for n in points:
            x = torch.randn(n, 3)
            xg = x.clone().requires_grad_()

            def run(backend, backward, ls=ls, x=x, xg=xg):
                def fn(v):
                    return spherical_harmonics(ls, v, True, "component", backend=backend)

                if backward:
                    return fwd_bwd(fn, xg, params=())

                def step():
                    with torch.no_grad():
                        return fn(x)

                return step

            callables = {
                f"{b}{'+bwd' if g else ''}": run(b, g)
                for g in (False, True)
                for b in ("torch", "sphericart")
            }
            t = {r.label: r.median_ms for r in time_callables(callables, 0.5, "cpu", rounds)}
            rows.append(dict(L=lmax, points=n, **t))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m erlangen.bench.o3")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("conv", "sh"):
        p = sub.add_parser(name)
        p.add_argument("--rounds", type=int, default=10)
        p.add_argument("--min-run-time", type=float, default=5.0)
        p.add_argument("--lmax", default="1,2,3" if name == "conv" else "3,8")
    cross = sub.add_parser("crossover")
    cross.add_argument("--rounds", type=int, default=5)
    cross.add_argument("--min-run-time", type=float, default=2.0)
    cross.add_argument("--lmax", type=int, default=10)
    cross.add_argument("--out", default="docs/figures/o3/crossover.png")
    sub.add_parser("mixing")
    sub.add_parser("sh-threshold")
    args = parser.parse_args(argv)

    if args.command in ("conv", "sh"):
        lmaxes = [int(v) for v in args.lmax.split(",")]
        suffixes = ("-fwd", "") + (("-compiled",) if COMPILE and args.command == "conv" else ())
        names = [f"o3-{args.command}-l{lmax}{s}" for lmax in lmaxes for s in suffixes]
        _print_table(_rows(names, args.rounds, args.min_run_time))
    elif args.command == "crossover":
        rows = crossover(range(1, args.lmax + 1), args.rounds, args.min_run_time, args.out)
        print("| L | grid ms (IQR) | dense CG ms (IQR) | grid faster by |")
        print("|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['L']} | {r['grid_ms']:.3f} ({r['grid_iqr']:.3f}) | "
                f"{r['dense_ms']:.3f} ({r['dense_iqr']:.3f}) | {r['speedup']:.2f}x |"
            )
        tail = [r for r in rows if r["L"] >= 4] if len(rows) > 4 else rows
        for key in ("grid_ms", "dense_ms"):
            slope = _slope([r["L"] for r in tail], [r[key] for r in tail])
            print(f"log-log slope of {key} for L >= 4: {slope:.2f}")
        Path(args.out).with_suffix(".json").write_text(json.dumps(rows, indent=2))
    elif args.command == "sh-threshold":
        print(
            "| L | vectors | torch fwd ms | sphericart fwd ms | torch fwd+bwd ms | "
            "sphericart fwd+bwd ms |"
        )
        print("|---|---|---|---|---|---|")
        for r in sh_threshold():
            print(
                f"| {r['L']} | {r['points']} | {r['torch']:.3f} | {r['sphericart']:.3f} | "
                f"{r['torch+bwd']:.3f} | {r['sphericart+bwd']:.3f} |"
            )
    else:
        print("| grid exact to degree | n_theta x n_phi | max relative equivariance error |")
        print("|---|---|---|")
        for r in mixing_errors():
            print(f"| {r['degree']} | {r['grid'][0]} x {r['grid'][1]} | {r['max_rel']:.1e} |")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
