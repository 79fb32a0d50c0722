"""Diagnostics of learned actions on known matrices, the files they write, and the
benchmarks of the learned layers (built and run once; timings are not asserted)."""

import json
import math
from pathlib import Path

import pytest
import torch

from erlangen import bench
from erlangen.grid import LearnedGroupConv2d, LearnedGroupToGroupConv2d
from erlangen.grid.inspect import (
    describe_action,
    filter_orbits,
    inspect_action,
    inspect_model,
    known_actions,
    nearest_actions,
    prepare_patch,
    synthetic_patch,
)
from erlangen.grid.learned import (
    flip_action,
    pooling_action,
    rot90_action,
    rotation_action,
    shift_action,
)

PNG = b"\x89PNG\r\n\x1a\n"


def test_quarter_turn_is_recognised_with_its_eigenvalues_on_the_4th_roots():
    info = describe_action(rot90_action(3), order=4)
    closest = info["nearest"]["closest"]
    assert closest["label"] == "a rotation by 90 degrees" and closest["angle"] == 90.0
    assert closest["distance"] < 1e-12
    assert info["cyclic_residual"] == 0.0
    assert info["root_of_unity_distance"]["max"] < 1e-9
    assert info["condition_number"] == pytest.approx(1.0)
    # every eigenvalue is a 4th root of unity, and each root appears
    eig = torch.tensor(info["eigenvalues"])
    angles = torch.atan2(eig[:, 1], eig[:, 0]) / (math.pi / 2)
    assert torch.allclose(angles, angles.round(), atol=1e-9)
    assert set(angles.round().long().remainder(4).tolist()) == {0, 1, 2, 3}
    assert info["text"].startswith("A is closest to a rotation by 90 degrees")
    assert "||A^4 - I||_F = 0" in info["text"]


@pytest.mark.parametrize("angle", [45, 87, 300])
def test_interpolated_rotations_are_found_at_their_angle(angle):
    A = rotation_action(5, angle)
    nearest = nearest_actions(A)
    assert nearest["rotation"]["angle"] == angle
    assert nearest["closest"]["label"] == f"a rotation by {angle} degrees"
    info = describe_action(A, order=8)
    assert f"rotation by {angle} degrees" in info["text"]


def test_a_perturbed_rotation_is_still_closest_to_it():
    torch.manual_seed(0)
    A = rot90_action(3) + 0.02 * torch.randn(9, 9, dtype=torch.float64)
    info = describe_action(A, order=4)
    assert info["nearest"]["closest"]["angle"] == 90.0
    assert 0.005 < info["nearest"]["closest"]["distance"] < 0.2
    assert 0 < info["cyclic_residual"] < 1


@pytest.mark.parametrize(
    "A, family, label",
    [
        (flip_action(3, "lr"), "flip", "a flip left-right"),
        (flip_action(4, "transpose"), "flip", "the mirror in the main diagonal"),
        (shift_action(4, 0, 1), "shift", "a circular shift by one pixel right"),
        (pooling_action(5), "pooling", "average pooling to 3x3 and back"),
    ],
)
def test_flips_shifts_and_pooling_are_recognised(A, family, label):
    nearest = nearest_actions(A)
    assert nearest[family]["label"] == label and nearest[family]["distance"] < 1e-12
    assert nearest["closest"]["label"] == label


def test_flip_of_order_two():
    info = describe_action(flip_action(3, "ud"), order=2)
    assert info["cyclic_residual"] == 0.0 and info["root_of_unity_distance"]["max"] < 1e-12
    assert info["determinant"] == pytest.approx(-1.0)


def test_known_actions_and_patches():
    actions = known_actions(3, angle_step=10)
    families = [a.family for a in actions]
    assert families.count("rotation") == 36
    assert {"flip", "shift", "pooling"} <= set(families)
    p = synthetic_patch(5)
    # no symmetry: every rotation and mirror of the patch differs from it
    for M in [rotation_action(5, a) for a in (90, 180, 270)] + [
        flip_action(5, f) for f in ("ud", "lr", "transpose", "antitranspose")
    ]:
        assert not torch.allclose((M @ p.flatten()).view(5, 5), p)
    digit = torch.zeros(28, 28)
    digit[4:24, 12:16] = 1.0
    assert prepare_patch(digit, 7).shape == (7, 7)
    with pytest.raises(ValueError, match=r"one image \(H, W\)"):
        prepare_patch(torch.zeros(2, 3, 5, 5), 3)
    with pytest.raises(ValueError, match=r"one action of shape \(k\^2, k\^2\)"):
        describe_action(torch.eye(8), 4)


def test_inspect_action_writes_pngs_and_json(tmp_path):
    torch.manual_seed(0)
    layer = LearnedGroupConv2d(1, 3, 3, 4, init="rot90")
    info = inspect_action(layer.action()[0], tmp_path, order=4, name="rot", layer=layer)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "rot.json",
        "rot_eigenvalues.png",
        "rot_filters.png",
        "rot_matrix.png",
        "rot_orbit.png",
    ]
    for p in tmp_path.glob("*.png"):
        assert p.read_bytes()[:8] == PNG
    saved = json.loads((tmp_path / "rot.json").read_text())
    assert saved["nearest"]["closest"]["angle"] == 90.0 and saved["text"] == info["text"]


def test_filter_orbits_are_the_layer_bank():
    torch.manual_seed(0)
    layer = LearnedGroupToGroupConv2d(2, 2, 3, 4, location="per_out")
    orbits = filter_orbits(layer, max_filters=4)
    assert orbits.shape == (4, 4, 3, 3)
    bank = layer.expanded_weight().detach().double().view(2, 4, 2, 4, 3, 3)
    # orbit (o, c) at j is A^j W[o, c, 0], the bank's filter (o, j, c, j' = j)
    for f, (o, c) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        for j in range(4):
            assert torch.allclose(orbits[f, j], bank[o, j, c, j], atol=1e-6)


def test_inspect_model_summarises_every_learned_layer(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        LearnedGroupConv2d(1, 2, 3, 4, init="rot90"),
        torch.nn.ReLU(),
        LearnedGroupToGroupConv2d(2, 3, 3, 4, location="per_out", parametrisation="orthogonal"),
    )
    summary = inspect_model(model, tmp_path)
    assert [r["layer"] for r in summary["layers"]] == ["0", "2"]
    first, second = summary["layers"]
    assert first["is_rotation"] and "closest to a rotation by 90 degrees" in first["text"]
    assert len(second["actions"]) == 3 and "3 actions" in second["text"]
    assert (tmp_path / "summary.txt").read_text().strip() == summary["text"]
    assert json.loads((tmp_path / "summary.json").read_text())["layers"][1]["location"] == (
        "per_out"
    )
    for f in summary["files"]:
        assert Path(f).exists()
    with pytest.raises(ValueError, match="no learned group convolutions"):
        inspect_model(torch.nn.Linear(2, 2), tmp_path)


def test_learned_benchmarks_build_and_run_once():
    bench.load_all()
    names = [n for n, b in bench.BENCHMARKS.items() if n.startswith("learned-")]
    assert len(names) >= 3
    for name in names:
        pair = bench.BENCHMARKS[name].build("cpu")
        pair.ours()
        for ref in pair.references.values():
            ref()
