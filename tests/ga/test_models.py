"""GATr on n-body: SE(3)- and permutation-equivariant, not E(3) (the documented caveat), and
it trains. The baselines it is compared with are tested in tests/train/test_nbody_task.py."""

import pytest
import torch

from erlangen import registry
from erlangen.check import assert_equivariant, assert_not_equivariant
from erlangen.data.nbody import generate
from erlangen.fields import FieldTypeError, InvariantField, NodeField
from erlangen.ga.models import GATrNBody, nbody_types
from erlangen.groups import E, Symmetric


def small_gatr(**kw):
    torch.manual_seed(0)
    model = GATrNBody(hidden_mv=4, hidden_s=8, blocks=2, heads=2, **kw)
    with torch.no_grad():  # the output layer starts at zero: make it non-trivial for checks
        for p in model.net.linear_out.parameters():
            p.normal_(0.0, 0.3)
    return model


def test_gatr_nbody_is_se3_equivariant():
    report = assert_equivariant(small_gatr())  # float64, atol 1e-12, rtol 1e-10
    assert report.group == "SE(3)"


def test_gatr_nbody_float32():
    assert_equivariant(small_gatr(), dtype=torch.float32, atol=1e-5, rtol=1e-4)


def test_gatr_nbody_is_not_reflection_equivariant():
    """The documented caveat: points are embedded with e123 = +1, so mirrors break it."""
    in_type, out_type = nbody_types(E(3))
    assert (in_type, out_type) == nbody_types("E3")  # the group by name, as on the CLI
    assert_not_equivariant(small_gatr(), in_type, out_type)


def _permutation_types(n=5):
    """Bodies permuted on axis 1; NodeField samples (2, n, channels) for node_dim=1."""
    S = Symmetric(n)
    in_type = tuple(NodeField(S, channels=c, node_dim=1) for c in (1, 3, 3))
    return in_type, NodeField(S, channels=3, node_dim=1)


def test_permutation_equivariance():
    assert_equivariant(small_gatr(), *_permutation_types(), atol=1e-10)


def test_gatr_padding_mask():
    model = small_gatr().double()
    m, x, v = (torch.randn(2, 5, k, dtype=torch.float64) for k in (1, 3, 3))
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[0, 3:] = False
    out = model(m, x, v, mask=mask)
    torch.testing.assert_close(out[0, :3], model(m[:1, :3], x[:1, :3], v[:1, :3])[0])


def test_untrained_model_predicts_no_motion_and_validates_inputs():
    m, x, v = torch.rand(3, 4, 1), torch.randn(3, 4, 3), torch.randn(3, 4, 3)
    model = GATrNBody(hidden_mv=4, hidden_s=8, blocks=1, heads=2)
    torch.testing.assert_close(model(m, x, v), x)
    with pytest.raises(FieldTypeError, match=r"masses must be \(3, 4, 1\), got \(3, 4, 0\)"):
        model(m[..., :0], x, v)
    with pytest.raises(FieldTypeError, match=r"velocities must be \(3, 4, 3\), got \(3, 4, 2\)"):
        model(m, x, v[..., :2])
    with pytest.raises(FieldTypeError, match=r"positions must be \(batch, bodies, 3\), got"):
        model(m, x[0], v)


def test_gatr_nbody_is_registered():
    registry.load_all()
    assert registry.MODELS["gatr-nbody"].family == "ga"
    model = registry.MODELS["gatr-nbody"].factory(hidden_mv=4, hidden_s=8, blocks=1, heads=2)
    assert isinstance(model, GATrNBody)
    assert isinstance(model.in_type[0], InvariantField)


def test_a_few_adam_steps_reduce_the_loss():
    data = generate(32, bodies=4, seed=5)
    m, x, v, y = (
        torch.from_numpy(data[k]).float() for k in ("masses", "positions", "velocities", "targets")
    )
    torch.manual_seed(0)
    model = GATrNBody(hidden_mv=8, hidden_s=16, blocks=2, heads=2)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = (model(m, x, v) - y).square().mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses
