"""The grids benchmarks and the error-table tool run (timings are not asserted)."""

import torch

from erlangen import bench
from erlangen.bench.grid import approximate_errors, construction_times
from erlangen.groups import Cyclic, Dihedral


def test_benchmarks_build_and_run_once():
    bench.load_all()
    for name in ("grid-p4-conv", "grid-p4m-conv", "grid-p4m-conv-wide"):
        pair = bench.BENCHMARKS[name].build("cpu")
        assert "F.conv2d, same expanded shape" in pair.references
        pair.ours()
        for ref in pair.references.values():
            ref()


def test_floor_has_the_expanded_shape_of_ours():
    from erlangen.grid import GroupConv2d

    layer = GroupConv2d(16, 16, 3, Cyclic(4), padding=1)
    assert layer.expanded_weight().shape == (64, 64, 3, 3)


def test_error_table_rows():
    torch.manual_seed(0)
    rows = approximate_errors([Cyclic(8), Dihedral(4)], [3], ["ring"], seeds=1, n=2)
    assert [r["group"] for r in rows] == ["C8", "D4"]
    c8, d4 = rows
    assert 1e-3 < c8["lifting"] < 0.15 and c8["n_params"] == 6
    assert d4["group_conv"] < 1e-12  # quarter turns and mirrors: the ring basis is exact too


def test_construction_times_report_ours():
    built = construction_times(Dihedral(4), 4, 3)
    assert built["erlangen GroupConv2d"] > 0
