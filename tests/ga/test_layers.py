"""Every GA layer is Pin(3,0,1)-equivariant (float64, tight), broken variants fail, and every
layer returns the pair ``(multivectors, scalars or None)`` that its ``out_type`` declares."""

import time

import pytest
import torch
import torch.nn.functional as F

from erlangen.check import assert_equivariant, equivariance
from erlangen.fields import FieldTypeError, InvariantField
from erlangen.ga import algebra as ga
from erlangen.ga import kernels
from erlangen.ga.embed import embed_point
from erlangen.ga.group import MultivectorField, Pin301, equi_linear_basis
from erlangen.ga.layers import (
    EquiLayerNorm,
    EquiLinear,
    GatedGELU,
    GATr,
    GATrBlock,
    GeometricAttention,
    GeometricBilinear,
    pair_types,
)
from erlangen.testing import assert_broken_fails, sample_inputs

LAYERS = {
    "linear": lambda: EquiLinear(3, 4, in_s=2, out_s=5),
    "linear-no-scalars": lambda: EquiLinear(3, 2),
    "linear-scalars-in-only": lambda: EquiLinear(3, 2, in_s=2),
    "linear-scalars-out-only": lambda: EquiLinear(3, 2, out_s=2),
    "bilinear": lambda: GeometricBilinear(3, 4, in_s=2, out_s=3),
    "bilinear-no-scalars": lambda: GeometricBilinear(3, 4),
    "gated-gelu": lambda: GatedGELU(3, 2),
    "gated-gelu-no-scalars": lambda: GatedGELU(3),
    "layernorm": lambda: EquiLayerNorm(3, 2),
    "layernorm-no-scalars": lambda: EquiLayerNorm(3),
    "attention": lambda: GeometricAttention(3, 2, heads=2, head_mv=2, head_s=3),
    "attention-multihead-no-scalars": lambda: GeometricAttention(
        3, 0, heads=2, head_mv=2, head_s=0, multi_query=False
    ),
    "block": lambda: GATrBlock(4, 6, heads=2),
    "block-no-scalars": lambda: GATrBlock(4, 0, heads=2),
    "gatr": lambda: GATr(2, 1, hidden_mv=6, in_s=1, out_s=2, hidden_s=8, blocks=2, heads=2),
    "gatr-scalars-inside-only": lambda: GATr(
        2, 1, hidden_mv=6, in_s=0, out_s=0, hidden_s=8, blocks=1, heads=2
    ),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_is_equivariant_float64(name):
    torch.manual_seed(0)
    report = assert_equivariant(LAYERS[name](), n=12)  # atol 1e-12, rtol 1e-10
    assert report.max_rel < 1e-12


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_returns_the_pair_it_declares(name):
    """Scalars are None exactly when the declared output has no scalar channels; a layer
    without scalar inputs takes None or an empty ``(..., 0)`` tensor alike."""
    torch.manual_seed(0)
    layer = LAYERS[name]()
    mv_in, s_in = layer.in_type
    mv_out, s_out = layer.out_type
    assert isinstance(mv_out, MultivectorField) and isinstance(s_out, InvariantField)
    assert isinstance(mv_in, MultivectorField) and isinstance(s_in, InvariantField)
    x, s = sample_inputs(layer)
    y, t = layer(x, s)
    mv_out.validate(y)
    if s_out.channels:
        assert t is not None
        s_out.validate(t)
        assert t.shape[:-1] == y.shape[:-2]
    else:
        assert t is None
    if not s_in.channels:
        assert s.shape[-1] == 0  # the declared type draws empty scalars
        y_none, t_none = layer(x, None)
        assert torch.equal(y_none, y) and (t_none is None) == (t is None)
        with pytest.raises(FieldTypeError, match=r"must have shape \(\.\.\., 0\), got \(2, 5, 3\)"):
            layer(x, torch.zeros(2, 5, 3))


def test_layers_stack_without_adapters():
    torch.manual_seed(0)
    first, second = EquiLinear(2, 3, in_s=1, out_s=4), GatedGELU(3, 4)
    assert second.in_type == first.out_type
    x, s = torch.randn(5, 2, 16), torch.randn(5, 1)
    y, t = second(*first(x, s))
    assert y.shape == (5, 3, 16) and t.shape == (5, 4)
    y, t = EquiLayerNorm(2)(*EquiLinear(2, 2)(x))
    assert t is None


def test_pair_types():
    mv, s = pair_types(3, 2, (4, 5))
    assert mv == MultivectorField(Pin301(), 3) and mv.batch_shape == (4, 5)
    assert s == InvariantField(Pin301(), channels=2) and s.sample_shape == (4, 5, 2)
    assert pair_types(3, 0)[1].sample_shape == (2, 0)


def test_gatr_float32_within_documented_tolerance():
    """A 2-block GATr in float32: relative error ~1e-6 measured; asserted at rtol 1e-4."""
    torch.manual_seed(0)
    net = GATr(2, 1, hidden_mv=8, in_s=1, out_s=1, hidden_s=16, blocks=2, heads=2)
    report = assert_equivariant(net, dtype=torch.float32, atol=1e-5, rtol=1e-4)
    assert report.max_rel < 1e-4


def test_equilinear_spans_the_nine_maps():
    torch.manual_seed(0)
    layer = EquiLinear(2, 3, bias=False).double()
    x = torch.randn(5, 2, 16, dtype=torch.float64)
    basis = equi_linear_basis(dtype=torch.float64)
    dense = torch.einsum("oib,bjk,nik->noj", layer.weight, basis, x)
    y, no_scalars = layer(x)
    assert no_scalars is None
    torch.testing.assert_close(y, dense)
    torch.testing.assert_close(y, torch.einsum("ojik,nik->noj", layer.linear_map(), x))


def test_equilinear_scalar_paths():
    layer = EquiLinear(2, 3, in_s=4, out_s=5).double()
    x = torch.randn(7, 2, 16, dtype=torch.float64)
    s = torch.randn(7, 4, dtype=torch.float64)
    y, t = layer(x, s)
    y0, _ = layer(x, torch.zeros_like(s))
    diff = y - y0
    assert diff[..., 1:].abs().max() == 0 and diff[..., 0].abs().max() > 0  # scalars -> scalar
    x_ns = x.clone()
    x_ns[..., 1:] = 0
    _, t_ns = layer(x_ns, s)
    torch.testing.assert_close(t, t_ns)  # only scalar components reach the scalar outputs
    with pytest.raises(FieldTypeError, match=r"\(\.\.\., 4\), got None"):
        layer(x)
    with pytest.raises(FieldTypeError, match=r"\(\.\.\., 4\), got \(7, 3\)"):
        layer(x, s[..., :3])
    with pytest.raises(FieldTypeError, match=r"\(\.\.\., 2, 16\), got \(7, 3, 16\)"):
        layer(torch.zeros(7, 3, 16, dtype=torch.float64), s)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_refuses_wrong_multivector_channels(name):
    layer = LAYERS[name]()
    x, s = sample_inputs(layer)
    wrong = x[..., :1, :] if x.shape[-2] > 1 else torch.cat([x, x], -2)
    with pytest.raises(FieldTypeError, match=r"must have shape \(\.\.\., \d+, 16\), got"):
        layer(wrong, s)


# --------------------------------------------------------------------- broken variants
# Broken variants override ``forward_kernel`` (or a hook it calls): the parents of a layer
# call that entry, not ``forward``, so a variant that only overrode ``forward`` would be
# bypassed inside a block or a GATr.
class ConstantReferenceBilinear(GeometricBilinear):
    """Join with a constant reference e123 = 1: breaks mirror equivariance."""

    def reference_e123(self, x):
        return torch.ones(x.shape[1], dtype=x.dtype)


def test_join_with_constant_reference_fails_under_reflections_only():
    torch.manual_seed(0)
    layer = ConstantReferenceBilinear(3, 4)
    report = assert_broken_fails(layer)
    assert report.max_rel > 1e-2
    # it is still equivariant under even versors (rotations and translations)
    u = Pin301().sample(40, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    even = u[~ga.is_odd(u)]
    report = equivariance(layer, elements=even)
    assert [r.passed for r in report.rows if r.kind == "given"] == [True]


class BiasEverywhere(EquiLinear):
    def forward_kernel(self, x, s):
        y, s = super().forward_kernel(x, s)
        return y + 0.5, s  # a bias on every component, e1 and e0 parts included


class EuclideanNorm(EquiLayerNorm):
    def forward_kernel(self, x, s):
        # (16, tokens, channels): sees the e0 components
        return x / x.pow(2).sum(0).mean(-1).sqrt()[:, None], None


class GateOnVector(GatedGELU):
    def forward_kernel(self, x, s):
        return x * F.gelu(x[kernels.REFERENCE_ORDER[2]]), None  # gate on e1: not invariant


def _block_with_broken_gate():
    torch.manual_seed(0)
    block = GATrBlock(4, 0, heads=2)
    block.gelu = GateOnVector(8)
    return block


def _gatr_with_broken_norm():
    torch.manual_seed(0)
    net = GATr(2, 1, hidden_mv=4, in_s=0, out_s=0, hidden_s=0, blocks=2, heads=2)
    net.blocks[1].norm2 = EuclideanNorm(4)
    return net


class AllComponentAttention(GeometricAttention):
    def features(self, x, query):
        return x  # dot product over all 16 components, e0 parts included


@pytest.mark.parametrize(
    "broken",
    [
        lambda: BiasEverywhere(3, 4),
        lambda: EuclideanNorm(3),
        lambda: GateOnVector(3),
        lambda: AllComponentAttention(3, 0, heads=2, head_mv=2, head_s=0),
        _block_with_broken_gate,
        _gatr_with_broken_norm,
    ],
    ids=[
        "bias-everywhere",
        "euclidean-norm",
        "gate-on-e1",
        "attention-all-components",
        "block-gate-on-e1",
        "gatr-euclidean-norm",
    ],
)
def test_broken_variants_fail(broken):
    torch.manual_seed(0)
    assert_broken_fails(broken())


# --------------------------------------------------------------------- attention
def test_attention_features_give_inner_product_and_minus_squared_distance():
    p = torch.randn(6, 3, dtype=torch.float64)
    points = embed_point(p)  # (6, 16)
    x = kernels.to_kernel_layout(points.unsqueeze(-2))  # (16, 6, 1)
    q = kernels.attention_features(x, query=True)[..., 0].T  # (6, 13)
    k = kernels.attention_features(x, query=False)[..., 0].T
    torch.testing.assert_close(q[:, 8:] @ k[:, 8:].T, -(torch.cdist(p, p) ** 2))
    inner = ga.inner_product(points[:, None], points[None, :])
    torch.testing.assert_close(q[:, :8] @ k[:, :8].T, inner)


def test_attention_is_one_sdpa_call(monkeypatch):
    calls = []
    real = F.scaled_dot_product_attention

    def counting(*args, **kwargs):
        calls.append(args[0].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", counting)
    attn = GeometricAttention(3, 2, heads=4, head_mv=2, head_s=3)
    attn(torch.randn(2, 7, 3, 16), torch.randn(2, 7, 2))
    assert len(calls) == 1
    # multi-query: the 4 heads' queries go in as one sequence (batch, 1, heads x tokens, width)
    assert calls[0] == (2, 1, 4 * 7, 2 * 16 + 3)
    calls.clear()
    attn = GeometricAttention(3, 2, heads=4, head_mv=2, head_s=3, multi_query=False)
    attn(torch.randn(2, 7, 3, 16), torch.randn(2, 7, 2))
    assert len(calls) == 1 and calls[0] == (2, 4, 7, 2 * 16 + 3)  # (batch, heads, tokens, width)


def test_attention_memory_is_linear_in_tokens():
    """No (tokens x tokens) tensor: SDPA's fused CPU kernel runs (it needs equal q/k/v widths;
    the math fallback would allocate 4 heads x 2048^2 floats = 64 MB at 2048 tokens)."""
    from erlangen.bench.ga import _peak_bytes

    attn = GeometricAttention(2, 1, heads=4, head_mv=1, head_s=2)
    peaks = []
    for n in (1024, 2048):
        x, s = torch.randn(1, n, 2, 16), torch.randn(1, n, 1)
        with torch.no_grad():
            peaks.append(_peak_bytes(lambda x=x, s=s: attn(x, s))[0])
    assert peaks[1] < 2.5 * peaks[0], peaks  # quadratic memory would be 4x
    assert peaks[1] < 8 * 2**20, peaks


def test_padding_mask_makes_batches_of_different_sizes_exact():
    torch.manual_seed(0)
    net = GATr(1, 1, hidden_mv=4, in_s=1, out_s=1, hidden_s=4, blocks=2, heads=2).double()
    x = torch.randn(2, 6, 1, 16, dtype=torch.float64)
    s = torch.randn(2, 6, 1, dtype=torch.float64)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False  # the second system has 4 tokens
    y, t = net(x, s, mask=mask)
    y_alone, t_alone = net(x[1:, :4], s[1:, :4])
    torch.testing.assert_close(y[1, :4], y_alone[0])
    torch.testing.assert_close(t[1, :4], t_alone[0])
    y_full, _ = net(x[:1], s[:1])
    torch.testing.assert_close(y[0], y_full[0])
    with pytest.raises(ValueError, match="mask must have shape"):
        net(x, s, mask=mask[:, :5])


def test_block_diagonal_attention_mask():
    attn = GeometricAttention(2, 0, heads=2, head_mv=2, head_s=0).double()
    x = torch.randn(6, 2, 16, dtype=torch.float64)  # unbatched: two systems of 3 tokens
    blocks = torch.block_diag(torch.ones(3, 3), torch.ones(3, 3)).bool()
    y, no_scalars = attn(x, attn_mask=blocks)
    assert no_scalars is None
    torch.testing.assert_close(y[:3], attn(x[:3])[0])
    torch.testing.assert_close(y[3:], attn(x[3:])[0])


# --------------------------------------------------------------------- training machinery
def test_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    net = GATr(1, 1, hidden_mv=4, in_s=1, out_s=1, hidden_s=4, blocks=2, heads=2).double()
    x = torch.randn(2, 5, 1, 16, dtype=torch.float64)
    s = torch.randn(2, 5, 1, dtype=torch.float64)
    grads = []
    for flag in (False, True):
        net.checkpoint = flag
        net.zero_grad()
        y, t = net(x, s)
        (y.square().sum() + t.sum()).backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_bf16_autocast_keeps_norms_in_float32(monkeypatch):
    torch.manual_seed(0)
    net = GATr(1, 1, hidden_mv=8, in_s=1, out_s=1, hidden_s=8, blocks=2, heads=2)
    x, s = torch.randn(2, 8, 1, 16), torch.randn(2, 8, 1)
    seen = []
    real = kernels.layer_norm

    def spy(t, eps):
        seen.append(t.dtype)
        return real(t, eps)

    monkeypatch.setattr(kernels, "layer_norm", spy)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, _ = net(x, s)
    assert seen and all(d == torch.float32 for d in seen)
    y32, _ = net(x, s)
    assert torch.isfinite(y.float()).all()
    rel = (y.float() - y32).norm() / y32.norm()
    assert rel < 0.1, rel  # bf16 has 8 bits of mantissa


def _compile_matches_eager(backend: str, **options) -> None:
    torch.manual_seed(0)
    net = GATr(1, 1, hidden_mv=4, in_s=1, out_s=1, hidden_s=4, blocks=1, heads=2)
    x, s = torch.randn(2, 5, 1, 16), torch.randn(2, 5, 1)
    compiled = torch.compile(net, backend=backend, **options)
    y, t = compiled(x, s)
    (y.square().sum() + t.sum()).backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    y_ref, t_ref = net(x, s)
    (y_ref.square().sum() + t_ref.sum()).backward()
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(t, t_ref, atol=1e-5, rtol=1e-4)
    for a, b in zip(grads, (p.grad for p in net.parameters())):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_gatr_compiles_to_one_graph():
    """The default run's one compile test (~5 s, capture only): GATr traces without a graph
    break (fullgraph) and its compiled forward and backward equal eager. Missing tables become
    graph constants; the hand-written autograd nodes step aside for the plain operations,
    which the compiler differentiates and fuses itself."""
    _compile_matches_eager("eager", fullgraph=True)


@pytest.mark.slow
def test_torch_compile_matches_eager():
    """With the real compiler (inductor): 3 minutes on the shared 2-core CPU."""
    start = time.perf_counter()
    _compile_matches_eager("inductor")
    print(f"compile + run: {time.perf_counter() - start:.1f} s")


def test_field_type_of_layers():
    layer = GATr(2, 1, hidden_mv=4, in_s=0, out_s=0, hidden_s=0, blocks=1, heads=2)
    assert isinstance(layer.in_type[0], MultivectorField) and layer.in_type[0].channels == 2
    assert layer.in_type[1].channels == 0 and layer.out_type[1].channels == 0
    y, s = layer(torch.randn(3, 4, 2, 16))
    assert y.shape == (3, 4, 1, 16) and s is None
    with pytest.raises(FieldTypeError, match=r"\(\.\.\., tokens, 2, 16\), got \(2, 16\)"):
        GeometricAttention(2)(torch.randn(2, 16))


def test_float_attention_mask_combines_with_padding():
    attn = GeometricAttention(2, 0, heads=2, head_mv=2, head_s=0).double()
    x = torch.randn(2, 5, 2, 16, dtype=torch.float64)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    bias = torch.zeros(5, 5, dtype=torch.float64)
    y_float, _ = attn(x, mask=mask, attn_mask=bias)
    torch.testing.assert_close(y_float, attn(x, mask=mask)[0])
    torch.testing.assert_close(y_float[1, :3], attn(x[1:, :3])[0][0])


@pytest.mark.parametrize("shape", [(2, 4, 1), (3, 5, 1), (5, 1)])
def test_scalars_must_share_the_batch_and_token_axes(shape):
    net = GATr(1, 1, hidden_mv=8, in_s=1, out_s=1, hidden_s=8, blocks=1, heads=2)
    with pytest.raises(FieldTypeError, match=r"scalars must have the batch and token axes"):
        net(torch.randn(2, 5, 1, 16), torch.randn(*shape))
