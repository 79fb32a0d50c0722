"""Charged-particle n-body data: the physics, the protocol, seeding, caching, Data objects."""

import numpy as np
import pytest
import torch

from erlangen.data.charged import ChargedConfig, charged_nbody, forces, generate, initial_state


def test_forces_are_coulomb_like_and_clipped():
    q = np.array([[1.0, 1.0, -1.0]])
    x = np.array([[[0.0, 0, 0], [2.0, 0, 0], [0.0, 1.0, 0]]])
    f = forces(q, x)
    # particle 1 is pushed away from 0 (like charges, 1/4) and pulled to 2 (opposite)
    pull = -np.array([2.0, -1.0, 0]) / 5**1.5
    np.testing.assert_allclose(f[0, 1], np.array([0.25, 0, 0]) + pull)
    np.testing.assert_allclose(f.sum(1), 0.0, atol=1e-12)  # Newton's third law
    near = np.array([[[0.0, 0, 0], [1e-3, 0, 0]]])
    assert np.abs(forces(np.ones((1, 2)), near)).max() == 100.0


def test_initial_state_follows_the_protocol():
    charges, x, v = initial_state(0, 3)
    assert set(charges) <= {-1.0, 1.0} and x.shape == v.shape == (5, 3)
    np.testing.assert_allclose(np.linalg.norm(v, axis=-1), 0.5)
    again = initial_state(0, 3)
    assert all(np.array_equal(a, b) for a, b in zip((charges, x, v), again))


def test_generate_matches_a_step_by_step_loop():
    config = ChargedConfig(sample_every=2, input_frame=3, target_frame=5)
    data = generate(2, seed=1, config=config)
    charges, x, v = (np.stack(p)[None] for p in initial_state(1, 1, config))
    charges = charges[0][None]
    for step in range(1, 11):
        v = v + config.dt * forces(charges, x)
        x = x + config.dt * v
        if step == 6:
            np.testing.assert_allclose(data["positions"][1], x[0])
            np.testing.assert_allclose(data["velocities"][1], v[0])
    np.testing.assert_allclose(data["targets"][1], x[0])


def test_splits_are_seeded_cached_and_prefix_stable():
    small = charged_nbody("val", num_samples=3)
    again = charged_nbody("val", num_samples=3)  # from the cache
    assert torch.equal(small.positions, again.positions)
    two = charged_nbody("val", num_samples=2, cache=False)
    assert torch.equal(two.targets, small.targets[:2])  # the same first systems
    other = charged_nbody("test", num_samples=2, cache=False)
    assert not torch.equal(other.positions, two.positions)
    assert small.charges.shape == (3, 5, 1) and small.targets.dtype == torch.float32
    moved = (small.targets - small.positions).norm(dim=-1).mean()
    assert 0.05 < float(moved) < 5.0  # 1,000 steps of dt 0.001 at speeds around 0.5-1


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown split"):
        charged_nbody("dev")
    with pytest.raises(ValueError, match=r"num_samples must be in \[1, 2000\]"):
        charged_nbody("val", num_samples=2001)


def test_graphs_carry_the_egnn_inputs():
    pytest.importorskip("torch_geometric")
    data = charged_nbody("val", num_samples=2, cache=False)
    g = data.graphs(1)
    assert g.edge_index.shape == (2, 20) and g.edge_attr.shape == (20, 2)
    src, dst = g.edge_index
    assert torch.equal(g.edge_attr[:, 0], (g.charges[src] * g.charges[dst]).squeeze(-1))
    torch.testing.assert_close(g.x.squeeze(-1), g.vel.norm(dim=-1))
    assert len(data.graphs()) == 2


def test_a_pyg_batch_feeds_the_graph_models():
    """Batches from torch_geometric's DataLoader go straight into the layers' arguments."""
    pytest.importorskip("torch_geometric")
    from erlangen import registry
    from erlangen.data.graphs import loader

    registry.load_all()
    data = charged_nbody("val", num_samples=3, cache=False)
    batch = next(iter(loader(data.graphs(), batch_size=3)))
    torch.manual_seed(0)
    for name in ("egnn", "fa-gnn", "linear"):
        model = registry.MODELS[name].factory(**({} if name == "linear" else {"hidden": 8}))
        args = (batch.x, batch.pos, batch.edge_index, batch.edge_attr, batch.vel)
        kwargs = {} if name == "linear" else {"batch": batch.batch}
        out = model(*args, **kwargs)
        assert out.shape == (15, 3)
        first = data.graphs(0)
        alone_args = (first.x, first.pos, first.edge_index, first.edge_attr, first.vel)
        torch.testing.assert_close(out[:5], model(*alone_args), rtol=1e-4, atol=1e-5)
