"""The GA benchmarks build and run once (timings are not asserted), and the n-body profile
reports its phases and operators."""

import pytest

from erlangen import bench
from erlangen.bench.ga import profile_nbody_step

bench.load_all()
GA_BENCHMARKS = sorted(n for n, b in bench.BENCHMARKS.items() if b.family == "ga")


@pytest.mark.parametrize("name", GA_BENCHMARKS)
def test_benchmark_builds_and_runs_once(name):
    pair = bench.BENCHMARKS[name].build("cpu")
    pair.ours()
    for reference in pair.references.values():
        reference()


def test_dense_references_have_the_layers_shapes():
    pair = bench.BENCHMARKS["ga-bilinear-n64"].build("cpu")
    assert list(pair.references) == ["one dense GEMM 288 -> 288"]


def test_profile_of_one_nbody_step():
    report = profile_nbody_step("gatr-nbody", steps=1, top=5)
    assert set(report["phases"]) == {"forward", "backward", "optimizer"}
    assert report["ops_per_step"] > 100 and len(report["top"]) == 5


def test_attention_memory_rows():
    from erlangen.bench.ga import attention_memory

    rows = attention_memory(tokens=(64, 128), mv=4, heads=4)
    assert [r["tokens"] for r in rows] == [64, 128]
    for r in rows:
        logits_mb = 4 * r["tokens"] ** 2 * 4 / 2**20  # the explicit path's (heads, n, n)
        assert r["explicit_largest_mb"] >= logits_mb
        assert 0 < r["sdpa_peak_mb"] < r["explicit_peak_mb"]
