"""The kernel layout computes exactly what the algebra defines (float64), its hand-written
autograd nodes give the gradients (and higher derivatives) of the plain operations, and the
tiled products equal the untiled ones."""

import pytest
import torch

from erlangen.ga import algebra as ga
from erlangen.ga import kernels, products
from erlangen.ga.group import equi_linear_basis
from erlangen.ga.layers import EquiLayerNorm, EquiLinear, GatedGELU, GeometricBilinear

F64 = torch.float64


def test_layout_round_trip_and_order():
    x = torch.randn(3, 4, 5, 16, dtype=F64)
    k = kernels.to_kernel_layout(x)
    assert k.shape == (16, 12, 5)
    torch.testing.assert_close(kernels.from_kernel_layout(k, (3, 4)), x, rtol=0, atol=0)
    # the first half has no e0; component m + 8 is e0 times component m, without a sign
    assert all(0 not in ga.BLADES[i] for i in kernels.KERNEL_ORDER[:8])
    e0 = torch.zeros(16, dtype=F64)
    e0[ga.E0] = 1.0
    basis = torch.eye(16, dtype=F64)[list(kernels.KERNEL_ORDER)]  # reference components
    for m in range(8):
        torch.testing.assert_close(ga.geometric_product(e0, basis[m]), basis[m + 8])


def test_products_equal_the_algebra():
    torch.manual_seed(0)
    x, y = torch.randn(2, 5, 3, 16, dtype=F64), torch.randn(2, 5, 3, 16, dtype=F64)
    xk, yk = kernels.to_kernel_layout(x), kernels.to_kernel_layout(y)
    gp, join = products.plans(xk.device, F64)
    for plan, reference in ((gp.forward, ga.geometric_product), (join.forward, ga.join)):
        expected = kernels.to_kernel_layout(reference(x, y))
        for product in (products.table_product, products.table_product_composite):
            torch.testing.assert_close(product(plan, xk, yk), expected, rtol=1e-12, atol=1e-12)


def test_product_tables_keep_three_of_eight_blocks():
    for table in products.product_tables():
        for t in (table, table.permute(1, 0, 2), table.permute(2, 0, 1)):
            blocks = t.reshape(2, 8, 2, 8, 2, 8).ne(0).any(dim=(1, 3, 5))
            assert int(blocks.sum()) == 3
            plan = products._plan(t)
            assert sum(term.table.numel() for term in plan) < t.numel()


@pytest.mark.parametrize("tokens", [1, 5, 300])  # one tile, a partial tile, several tiles
def test_tiles_equal_one_product(tokens, monkeypatch):
    monkeypatch.setattr(products, "TILE_PAIRS", 64)
    a, b = torch.randn(16, tokens, 3, dtype=F64), torch.randn(16, tokens, 3, dtype=F64)
    plan = products.plans(a.device, F64)[0].forward
    torch.testing.assert_close(
        products.table_product(plan, a, b), products.table_product_composite(plan, a, b)
    )


def test_equi_linear_equals_the_nine_maps():
    torch.manual_seed(0)
    layer = EquiLinear(3, 4, in_s=2, out_s=5).double()
    x, s = torch.randn(6, 3, 16, dtype=F64), torch.randn(6, 2, dtype=F64)
    y, t = layer(x, s)
    dense = torch.einsum("oib,bjk,nik->noj", layer.weight, equi_linear_basis(dtype=F64), x)
    dense[..., 0] += s @ layer.s_to_mv.T + layer.bias
    torch.testing.assert_close(y, dense)
    torch.testing.assert_close(t, x[..., 0] @ layer.mv_to_s.T + s @ layer.s_to_s.T + layer.bias_s)


LAYERS = {
    "linear": (lambda: EquiLinear(2, 3, in_s=2, out_s=2), 2),
    "linear-no-scalars-no-bias": (lambda: EquiLinear(2, 3, bias=False), 0),
    "linear-scalars-in": (lambda: EquiLinear(2, 3, in_s=2), 2),
    "bilinear": (lambda: GeometricBilinear(2, 2, in_s=1, out_s=1), 1),
    "layernorm": (lambda: EquiLayerNorm(2, 2), 2),
    "gated-gelu": (lambda: GatedGELU(2, 2), 2),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_hand_written_gradients_and_second_derivatives(name):
    torch.manual_seed(0)
    build, n_s = LAYERS[name]
    layer = build().double()
    x = torch.randn(3, 2, 16, dtype=F64, requires_grad=True)
    s = torch.randn(3, n_s, dtype=F64, requires_grad=True) if n_s else None
    inputs = (x, s) if s is not None else (x,)

    def f(*args):
        return tuple(t for t in layer(*args) if t is not None)

    assert torch.autograd.gradcheck(f, inputs)
    assert torch.autograd.gradgradcheck(f, inputs)


def test_attention_features_gradients():
    x = torch.randn(16, 3, 2, dtype=F64, requires_grad=True)
    for query in (True, False):

        def features(x, query=query):
            return kernels.attention_features(x, query)

        assert torch.autograd.gradcheck(features, (x,))
        assert torch.autograd.gradgradcheck(features, (x,))
        torch.testing.assert_close(
            kernels.attention_features(x, query), kernels.attention_features_composite(x, query)
        )


def test_layer_norm_gradient_where_eps_clamps():
    x = (0.01 * torch.randn(16, 3, 2, dtype=F64)).requires_grad_()  # mean <x, x> < eps
    assert torch.autograd.gradcheck(lambda x: kernels.layer_norm(x, 0.01), (x,))


def test_parameter_gradients_through_a_force_loss_equal_the_composite(monkeypatch):
    """Training on forces (the gradient of an energy with respect to the inputs) needs
    mixed second derivatives with respect to the parameters."""
    torch.manual_seed(0)
    net = torch.nn.ModuleList(
        [
            EquiLinear(2, 3, 1, 2),
            EquiLayerNorm(3, 2),
            GeometricBilinear(3, 3, 2, 2),
            GatedGELU(3, 2),
            EquiLinear(3, 1, 2, 0),
        ]
    ).double()
    x0, s0 = torch.randn(4, 2, 16, dtype=F64), torch.randn(4, 1, dtype=F64)

    def parameter_gradients():
        net.zero_grad()
        x = x0.clone().requires_grad_()
        h, s = x, s0
        for layer in net:
            h, s = layer(h, s)
        (force,) = torch.autograd.grad(h.square().sum(), x, create_graph=True)
        force.square().sum().backward()
        return [p.grad.clone() for p in net.parameters()]

    fast = parameter_gradients()
    monkeypatch.setattr(kernels, "plain_autograd", lambda x: True)
    monkeypatch.setattr(products, "plain_autograd", lambda x: True)
    for a, b in zip(fast, parameter_gradients()):
        torch.testing.assert_close(a, b)


def test_gatr_kernels_equal_the_composite_operations(monkeypatch):
    """The hand-written autograd nodes against the plain operations, through a whole GATr:
    outputs and every parameter's gradient."""
    from erlangen.ga import GATr

    torch.manual_seed(0)
    net = GATr(2, 1, hidden_mv=4, in_s=1, out_s=2, hidden_s=6, blocks=2, heads=2).double()
    x, s = torch.randn(2, 5, 2, 16, dtype=F64), torch.randn(2, 5, 1, dtype=F64)

    def run():
        net.zero_grad()
        y, t = net(x, s)
        (y.square().sum() + t.sum()).backward()
        return [y, t, *(p.grad.clone() for p in net.parameters())]

    fast = run()
    monkeypatch.setattr(kernels, "plain_autograd", lambda x: True)
    monkeypatch.setattr(products, "plain_autograd", lambda x: True)
    for a, b in zip(fast, run()):
        torch.testing.assert_close(a, b)


def _as_multi_head(mq):
    """A multi-head GeometricAttention computing what the multi-query ``mq`` computes: its
    one key/value head repeated for every head."""
    from erlangen.ga import GeometricAttention

    H, hm, hs = mq.heads, mq.head_mv, mq.head_s
    mh = GeometricAttention(mq.mv, mq.s, H, hm, hs, multi_query=False).double()
    mh.load_state_dict({k: v for k, v in mq.state_dict().items() if "kv_proj" not in k}, False)
    with torch.no_grad():
        for name, p in mq.kv_proj.named_parameters():
            rows = hs if name in ("mv_to_s", "s_to_s", "bias_s") else hm
            k, v = p.split(rows)
            getattr(mh.kv_proj, name).copy_(
                torch.cat([k.repeat(H, *[1] * (k.dim() - 1)), v.repeat(H, *[1] * (v.dim() - 1))])
            )
    return mh


@pytest.mark.parametrize("mask", ["none", "padding", "per-head float", "shared bool"])
def test_multi_query_heads_folded_into_the_queries(mask):
    """Multi-query attention runs the heads as one longer query sequence: the same numbers
    as a multi-head layer with the key/value head repeated, for every kind of mask."""
    from erlangen.ga import GeometricAttention

    torch.manual_seed(0)
    mq = GeometricAttention(3, 2, heads=3, head_mv=2, head_s=2).double()
    mh = _as_multi_head(mq)
    x, s = torch.randn(2, 5, 3, 16, dtype=F64), torch.randn(2, 5, 2, dtype=F64)
    kwargs = {}
    if mask == "padding":
        kwargs["mask"] = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    elif mask == "per-head float":
        kwargs["attn_mask"] = torch.randn(3, 5, 5, dtype=F64)
    elif mask == "shared bool":
        kwargs["attn_mask"] = torch.rand(5, 5) > 0.3
        kwargs["attn_mask"].fill_diagonal_(True)
    for a, b in zip(mq(x, s, **kwargs), mh(x, s, **kwargs)):
        torch.testing.assert_close(a, b)
