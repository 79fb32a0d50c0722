"""The gravitational n-body simulator: physics sanity, filtering, determinism, the splits."""

import numpy as np
import pytest

from erlangen.data.nbody import NBodyConfig, energy, generate, nbody, simulate


@pytest.fixture(scope="module")
def sample():
    return generate(300, bodies=4, seed=3)


def test_shapes_and_ranges(sample):
    assert sample["masses"].shape == (300, 4, 1)
    for k in ("positions", "velocities", "targets"):
        assert sample[k].shape == (300, 4, 3)
    m = np.sort(sample["masses"][..., 0], axis=1)
    assert ((m[:, -1] >= 1) & (m[:, -1] <= 10)).all()  # one star
    assert ((m[:, :-1] >= 0.01) & (m[:, :-1] <= 0.1)).all()  # planets
    # random frames: centres spread with sigma ~20
    assert 10 < sample["positions"].mean(1).std() < 30


def test_deterministic_given_seed(sample):
    again = generate(300, bodies=4, seed=3)
    for k in sample:
        np.testing.assert_array_equal(sample[k], again[k])
    other = generate(300, bodies=4, seed=4)
    assert not np.allclose(other["positions"], sample["positions"])


def test_targets_are_the_simulation_and_energy_is_roughly_conserved(sample):
    m = sample["masses"][..., 0]
    x, v = simulate(m, sample["positions"], sample["velocities"])
    np.testing.assert_allclose(x, sample["targets"])
    rel = np.abs(energy(m, x, v) - energy(m, sample["positions"], sample["velocities"]))
    rel /= np.abs(energy(m, sample["positions"], sample["velocities"]))
    assert np.median(rel) < 1e-3 and np.quantile(rel, 0.9) < 0.05


def test_planets_start_on_near_circular_orbits(sample):
    m, x, v = sample["masses"][..., 0], sample["positions"], sample["velocities"]
    star = m.argmax(1)
    idx = np.arange(len(m))
    r = x - x[idx, star][:, None]
    dv = v - v[idx, star][:, None]
    planets = np.ones(m.shape, bool)
    planets[idx, star] = False
    dist = np.linalg.norm(r, axis=-1)[planets]
    speed = np.linalg.norm(dv, axis=-1)[planets]
    circular = np.sqrt(np.repeat(m[idx, star], 3) / dist)
    assert np.median(np.abs(speed / circular - 1)) < 0.05
    assert (dist >= 0.1 - 1e-9).all() and (dist <= 1 + 1e-9).all()


def test_outlier_filter():
    strict = NBodyConfig(outlier_threshold=0.5, oversample=2.0)
    data = generate(30, bodies=4, seed=0, config=strict)
    assert (data["max_displacement"] <= 0.5).all()
    loose = generate(200, bodies=4, seed=0)
    assert (loose["max_displacement"] > 0.5).any()  # the filter did remove something
    assert (loose["max_displacement"] <= 2.0).all()


def test_shifted_set_is_the_shifted_in_distribution_set(sample):
    shifted = generate(300, bodies=4, seed=3, shift=200.0)
    np.testing.assert_allclose(shifted["positions"], sample["positions"] + [200, 0, 0], atol=1e-9)
    np.testing.assert_allclose(shifted["targets"], sample["targets"] + [200, 0, 0], atol=1e-5)
    np.testing.assert_array_equal(shifted["masses"], sample["masses"])


def test_splits_are_cached_tensors(tmp_path, monkeypatch):
    monkeypatch.setenv("ERLANGEN_CACHE", str(tmp_path))
    test = nbody("test", num_samples=40)
    assert test.masses.shape == (40, 4, 1) and test.targets.dtype.is_floating_point
    assert any(tmp_path.iterdir())
    again = nbody("test", num_samples=40)
    assert (again.positions == test.positions).all()
    shifted = nbody("test-shifted", num_samples=40)
    np.testing.assert_allclose(
        shifted.positions.numpy(), test.positions.numpy() + np.array([200, 0, 0]), atol=1e-3
    )
    six = nbody("test-6", num_samples=10)
    assert six.positions.shape == (10, 6, 3)
    val = nbody("val", num_samples=40)
    assert not np.allclose(val.masses.numpy(), test.masses.numpy())
    with pytest.raises(ValueError, match="unknown n-body split"):
        nbody("bogus")
    assert len(test.dataset()) == 40
