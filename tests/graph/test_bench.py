"""The graph benchmarks build and run once; the measurement tools return their rows (timings
are never asserted)."""

import pytest
import torch

from erlangen import bench
from erlangen.bench.graph import (
    dense_layer_forward,
    edge_memory,
    first_layer_variants,
    gathered_layer_forward,
    graphs,
    matched_layer,
    plain_layer_forward,
    radius_times,
)


def test_benchmarks_build_and_run_once():
    bench.load_all()
    names = [n for n in bench.BENCHMARKS if n.startswith("graph-")]
    assert "graph-egnn-fc-n500" in names and "graph-egnn-radius-n5000" in names
    for name in ("graph-egnn-fc-n5", "graph-egnn-radius-n50", "graph-fa-gnn"):
        pair = bench.BENCHMARKS[name].build("cpu")
        pair.ours()
        for ref in pair.references.values():
            ref()


def test_plain_reference_is_the_same_function():
    torch.manual_seed(0)
    layer = matched_layer().double()
    pos, edges, _ = graphs(5, "fc")
    pos = pos.double()
    h = torch.randn(pos.shape[0], 32, dtype=torch.float64)
    for a, b in zip(layer(h, pos, edges), plain_layer_forward(layer, h, pos, edges)):
        torch.testing.assert_close(a, b)


def test_the_first_layer_variants_are_the_same_function():
    torch.manual_seed(0)
    layer = matched_layer().double()
    pos, edges, _ = graphs(5, "fc")
    pos = pos.double()
    h = torch.randn(pos.shape[0], 32, dtype=torch.float64)
    for variant in (
        gathered_layer_forward(layer, h, pos, edges),
        dense_layer_forward(layer, h, pos, 5),
    ):
        for a, b in zip(layer(h, pos, edges), variant):
            torch.testing.assert_close(a, b)
    (row,) = first_layer_variants([("fc", 5)], rounds=2)
    assert row["layer_ms"] > 0 and set(row) >= {"gathered", "dense"}


def test_graphs_have_about_the_planned_neighbours():
    _, edges, b = graphs(500, "radius")
    assert b == 1 and 12 < edges.shape[1] / 500 < 30  # 24 in the bulk, fewer at the faces


def test_measurement_rows():
    (row,) = edge_memory([300])
    assert row["edges"] > 0 and row["peak_mb"] > 0 and row["largest_mb"] <= row["peak_mb"]
    pytest.importorskip("vesin")
    (row,) = radius_times([(2, 40)], repeats=1)
    assert row["torch"] > 0 and row["vesin"] > 0 and row["edges"] > 0
