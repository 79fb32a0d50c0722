"""The O(3) benchmarks build and run once at small sizes (timings are not asserted)."""

import torch

from erlangen import bench
from erlangen.bench import o3 as bench_o3


def test_benchmarks_are_registered():
    bench.load_all()
    names = {n for n, b in bench.BENCHMARKS.items() if b.family == "o3"}
    assert {"o3-conv-l2", "o3-conv-l3-fwd", "o3-product-l10", "o3-sh-l8"} <= names


def test_pairs_run_and_agree():
    pair = bench_o3.conv_pair(2, backward=True, edges=20)
    pair.ours()
    for ref in pair.references.values():
        ref()
    forward = bench_o3.conv_pair(2, backward=False, edges=20)
    torch.testing.assert_close(
        forward.ours(), forward.references["e3nn 0.6 TensorProduct"](), atol=1e-5, rtol=1e-4
    )
    product = bench_o3.product_pair(3, batch=8)
    torch.testing.assert_close(
        product.ours(), product.references["dense Clebsch-Gordan blocks"](), atol=1e-5, rtol=1e-4
    )
    sh = bench_o3.sh_pair(3, backward=False, points=16)
    torch.testing.assert_close(sh.ours(), sh.references["e3nn 0.6 spherical_harmonics"]())


def test_crossover_plot_and_mixing_rows(tmp_path):
    rows = bench_o3.crossover([1, 2], rounds=1, min_run_time=0.01, out=str(tmp_path / "x.png"))
    assert [r["L"] for r in rows] == [1, 2] and (tmp_path / "x.png").stat().st_size > 0
    (row,) = bench_o3.mixing_errors(degrees=(32,), seeds=1)
    assert row["max_rel"] < 1e-10
