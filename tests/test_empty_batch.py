"""Every built-in layer example and model handles an empty batch: empty outputs, no error."""

import warnings

import pytest
import torch

from erlangen import registry
from erlangen.nn import types_of

registry.load_all()
ENTRIES = {
    **{f"model:{k}": v for k, v in registry.MODELS.items()},
    **{f"example:{k}": v for k, v in registry.EXAMPLES.items()},
}
BUILTIN = sorted(k for k, v in ENTRIES.items() if v.factory.__module__.startswith("erlangen."))


def _empty(t):
    """The type with a leading batch of size 0 (for types that draw a batch)."""
    settings = t.sampling_settings()
    if "batch_shape" in settings and getattr(t, "batch_shape", None):
        return t.replace(batch_shape=(0, *t.batch_shape[1:]))
    if "shape" in settings and getattr(t, "shape", None):
        return t.replace(shape=(0, *t.shape[1:]))
    return t


@pytest.mark.parametrize("name", BUILTIN)
def test_empty_batch_gives_empty_outputs(name):
    torch.manual_seed(0)
    module = ENTRIES[name].factory().eval()
    types = types_of(module.in_type)
    if all(_empty(t) is t for t in types):
        # graphs and atoms have no batch axis (PyG's layout): tests/graph checks graphs of 0
        # nodes, tests/o3/test_potential.py a potential of 0 atoms
        assert ENTRIES[name].family in ("graph", "o3"), name
        return
    xs = [_empty(t).sample(dtype=torch.float32) for t in types]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        out = module(*xs)
    outs = out if isinstance(out, tuple) else (out,)
    for y in outs:
        assert y is None or (y.shape[0] == 0 and y.numel() == 0), (name, tuple(y.shape))


def test_gatr_with_zero_tokens_gives_empty_outputs():
    from erlangen.ga import GATr

    torch.manual_seed(0)
    net = GATr(1, 1, hidden_mv=8, in_s=1, out_s=1, hidden_s=8, blocks=2, heads=2).eval()
    for lead in [(2, 0), (0, 3), (0, 0)]:
        y, s = net(torch.randn(*lead, 1, 16), torch.randn(*lead, 1))
        assert y.shape == (*lead, 1, 16) and s.shape == (*lead, 1)
