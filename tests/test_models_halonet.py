"""HaloNet (va_<timm name>): timm's ByobNet with the halo attention on visionattn.ops.window_attention.

There is no official non-timm release, so parity is against timm itself: timm's model for the same name
(random weights, fixed seed, non-trivial batch-norm statistics) is saved to a file, loaded into ours through
pretrained=True, and both must give the same logits."""
import pytest
import timm
import torch
from timm.layers.halo_attn import HaloAttn as TimmHaloAttn
from torch import nn

from _model_checks import check_features
from visionattn.layers import HaloAttn
from visionattn.models.halonet import checkpoint_filter_fn
from _helpers import on_backend
from visionattn.ops import use_backend

SLOW = pytest.mark.slow
# (timm name, another size timm accepts: timm's HaloAttn needs every halo stage's map to be a multiple of its
# block, so multiples of 256 (block 8 at stride 32), of 224 for haloregnetz_b (block 7 at stride 16, then 2x2 pool))
VARIANTS = [
    pytest.param("halonet_h1", (512, 256), marks=SLOW),
    pytest.param("halonet26t", (512, 256)),
    pytest.param("sehalonet33ts", (256, 512)),
    pytest.param("halonet50ts", (512, 256), marks=SLOW),
    pytest.param("eca_halonext26ts", (256, 512)),
    pytest.param("haloregnetz_b", (448, 224)),
    pytest.param("lamhalobotnet50ts_256", (512, 256), marks=SLOW),
    pytest.param("halo2botnet50ts_256", (256, 512), marks=SLOW),
]
FIXED = ("lamhalobotnet50ts_256", "halo2botnet50ts_256")   # bottleneck attention: fixed img_size, as in timm
SMALLEST = "eca_halonext26ts"
LEVELS = dict(levels=5, reductions=(2, 4, 8, 16, 32))      # timm's ByobNet feature_info for these networks



def _names(params):
    """One pytest.param per variant name, slow for the big ones."""
    return [pytest.param(p.values[0], marks=p.marks) for p in params]


def randomize(model, size, seed=0):
    """Weights whose every block matters and whose activations stay well scaled (so fp32 comparisons are
    meaningful): batch-norm affine parameters away from their initial values (timm zero-inits the last norm
    of each residual branch), running statistics calibrated on one random batch, unit-scale logits, and
    sharper attention: with timm's initial query scale the softmax is nearly uniform, every output token is
    close to the mean value, and the batch norm after the attention amplifies the cancellation (rounding
    differences then grow through halonet_h1's 19 attention blocks)."""
    g = torch.Generator().manual_seed(seed)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * m.weight.shape[1] ** -0.5)
            elif type(m).__name__ == "HaloAttn":
                m.q.weight.mul_(4.0)
        for m in norms:
            m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            m.reset_running_stats()
            m.momentum = None                                      # running stats = this batch's statistics
        model.train()(torch.randn(2, 3, *size, generator=g))
        for m in norms:
            m.momentum = 0.1
            m.running_var.add_(0.1)                                # bounded gain for near-constant channels
    return model.eval()


def timm_pair(name, tmp_path, size=None, wrap=None):
    """timm's `name` (random weights) and ours (`va_name`, pretrained=True from timm's saved state dict)."""
    kwargs = dict(img_size=size) if name in FIXED and size else {}
    torch.manual_seed(0)
    ref = timm.create_model(name, **kwargs)
    ref = randomize(ref, size if kwargs else ref.pretrained_cfg["input_size"][1:])
    sd = ref.state_dict()
    path = tmp_path / f"{name}.pth"
    torch.save({wrap: sd} if wrap else sd, path)
    ours = timm.create_model(f"va_{name}", pretrained=True, pretrained_cfg_overlay=dict(file=str(path)),
                             **kwargs).eval()
    return ref, ours


def assert_same_logits(ref, ours, size, backend="torch", batch=1):
    x = torch.randn(batch, 3, *size)
    with torch.no_grad():
        expected = ref(x)
        with on_backend(backend):
            got = ours(x)
    err = (got - expected).abs().max().item()
    tol = 1e-4 * max(1.0, expected.abs().max().item())
    assert expected.std() > 0.1, "degenerate logits: the comparison would not test anything"
    print(f"parity {type(ours).__name__}/{ours.pretrained_cfg['architecture']} {size} {backend}: "
          f"max |logits - timm| = {err:.3g}, |logits|max = {expected.abs().max().item():.3g}")
    assert err <= tol, f"at {size} ({backend}): max |logits - timm| = {err} > {tol}"
    return err


def timm_parity(name, size, tmp_path, backend="torch", wrap=None, batch=1):
    ref, ours = timm_pair(name, tmp_path, size, wrap)
    return assert_same_logits(ref, ours, size, backend, batch)


# ----------------------------------------------------------------------------------------------------------
# the layer against timm's HaloAttn

LAYER_CASES = [  # (dim, dim_out, kwargs, input size)
    (16, 16, dict(num_heads=2, block_size=4, halo_size=1), (8, 12)),
    (16, 16, dict(num_heads=2, block_size=8, halo_size=3), (16, 16)),
    (16, 32, dict(num_heads=4, block_size=8, halo_size=2, stride=2, dim_head=8), (16, 24)),
    (24, 24, dict(num_heads=2, block_size=7, halo_size=2, stride=2, qk_ratio=0.33), (14, 21)),   # avg-pool down
    (16, 16, dict(num_heads=2, block_size=4, halo_size=2, stride=2, avg_down=True, qkv_bias=True), (8, 8)),
    (16, 16, dict(num_heads=1, block_size=4, halo_size=0, scale_pos_embed=True), (8, 4)),
]


def _pair(dim, dim_out, kwargs):
    ref = TimmHaloAttn(dim, dim_out, **kwargs).eval()
    ours = HaloAttn(dim, dim_out, **kwargs).eval()
    assert ours.load_state_dict(ref.state_dict()) is not None
    assert sorted(ours.state_dict()) == sorted(ref.state_dict())
    return ref, ours


@pytest.mark.parametrize("backend", ["reference", "torch"])
@pytest.mark.parametrize("dim,dim_out,kwargs,size", LAYER_CASES)
def test_layer_matches_timm_halo_attn(dim, dim_out, kwargs, size, backend):
    ref, ours = _pair(dim, dim_out, kwargs)
    x = torch.randn(2, dim, *size, requires_grad=True)
    x2 = x.detach().clone().requires_grad_()
    expected = ref(x)
    with use_backend(backend):
        got = ours(x2)
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=1e-4)
    w = torch.randn(expected.shape)
    (expected * w).sum().backward()
    (got * w).sum().backward()
    torch.testing.assert_close(x2.grad, x.grad, atol=1e-4, rtol=1e-4)
    for (n, p), (_, p_ref) in zip(ours.named_parameters(), ref.named_parameters()):
        torch.testing.assert_close(p.grad, p_ref.grad, atol=1e-4, rtol=1e-4, msg=lambda m: f"grad of {n}: {m}")


@pytest.mark.parametrize("dim,dim_out,kwargs,size", [
    (16, 16, dict(num_heads=2, block_size=8, halo_size=3), (13, 21)),
    (16, 16, dict(num_heads=2, block_size=8, halo_size=2, stride=2), (13, 7)),
    (24, 24, dict(num_heads=2, block_size=7, halo_size=2, stride=2, qk_ratio=0.33), (9, 16)),
    (16, 16, dict(num_heads=2, block_size=4, halo_size=1), (1, 3)),
])
def test_layer_pads_like_zero_padded_timm(dim, dim_out, kwargs, size):
    """At any size the layer equals timm's HaloAttn on the input zero-padded to the block grid (keys and
    values of padded pixels are zeros, as at timm's halo borders), cropped back; the output has the size
    the block's convolutional shortcut has (ceil(H / 2) for strided queries, floor for average pooling)."""
    ref, ours = _pair(dim, dim_out, kwargs)
    h, w = size
    bs = kwargs["block_size"]
    x = torch.randn(2, dim, h, w)
    padded = nn.functional.pad(x, (0, -w % bs, 0, -h % bs))
    with torch.no_grad():
        got = ours(x)
        full = ref.pool.__class__.__name__ == "Identity" and ref(padded)
        if full is False:  # average-pooled: crop before pooling
            ref_pool, ref.pool = ref.pool, nn.Identity()
            expected = ref_pool(ref(padded)[..., :h, :w])
        else:
            s = kwargs.get("stride", 1)
            expected = full[..., :-(-h // s), :-(-w // s)]
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=1e-4)


# ----------------------------------------------------------------------------------------------------------
# timm's weights, timm's logits

@pytest.mark.parametrize("name,other", VARIANTS)
def test_timm_weights_parity(name, other, tmp_path):
    """timm's logits for timm's weights at the default size and at another (non-square) size timm accepts."""
    ref, ours = timm_pair(name, tmp_path)
    default = tuple(ours.pretrained_cfg["input_size"][1:])
    assert default == tuple(ref.pretrained_cfg["input_size"][1:])
    assert_same_logits(ref, ours, default)
    if name in FIXED:  # bottleneck attention: another size is another img_size (timm's and ours)
        del ref, ours
        timm_parity(name, other, tmp_path)
    else:
        assert_same_logits(ref, ours, other)


def test_timm_weights_parity_reference_backend(tmp_path):
    """The reference backend (the definition of the op) on timm's weights, batch of 2."""
    timm_parity(SMALLEST, (256, 256), tmp_path, backend="reference", batch=2)


@SLOW
def test_timm_weights_parity_triton(tmp_path):
    """The Triton kernels (under TRITON_INTERPRET=1 on CPU) on timm's weights."""
    timm_parity(SMALLEST, (256, 256), tmp_path, backend="triton")


@pytest.mark.parametrize("wrap", ["model", "state_dict"])
def test_checkpoint_containers_load(wrap, tmp_path):
    """Wrapped checkpoints load through pretrained=True too (bare ones: every parity test)."""
    ref, ours = timm_pair(SMALLEST, tmp_path, wrap=wrap)
    expected, got = ref.state_dict(), ours.state_dict()
    assert sorted(got) == sorted(expected)
    for k in expected:
        assert torch.equal(got[k], expected[k]), k


@pytest.mark.parametrize("name", _names(VARIANTS))
def test_checkpoint_keys_and_params_equal_timm(name):
    ref = timm.create_model(name)
    ours = timm.create_model(f"va_{name}")
    sd = checkpoint_filter_fn(ref.state_dict(), ours)
    own = ours.state_dict()
    assert sorted(sd) == sorted(own)
    assert all(sd[k].shape == own[k].shape for k in own)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    stripped = checkpoint_filter_fn({f"module.{k}": v for k, v in ref.state_dict().items()}, ours)
    assert sorted(stripped) == sorted(own)


@pytest.mark.parametrize("name", _names(VARIANTS))
def test_default_cfgs_point_at_timm_weights(name):
    ours = timm.models.get_pretrained_cfg(f"va_{name}").to_dict()
    ref = timm.models.get_pretrained_cfg(name).to_dict()
    assert ours["tag"] == ref["tag"] and ours["architecture"] == f"va_{name}"
    for key in ("url", "hf_hub_id", "input_size", "pool_size", "crop_pct", "interpolation", "mean", "std",
                "first_conv", "classifier", "num_classes", "license", "fixed_input_size"):
        assert ours.get(key) == ref.get(key), (key, ours.get(key), ref.get(key))


def test_timm_names_untouched():
    for name in [p.values[0] for p in VARIANTS]:
        assert timm.models.model_entrypoint(name).__module__ == "timm.models.byoanet"
        assert timm.models.model_entrypoint(f"va_{name}").__module__ == "visionattn.models.halonet"
        assert timm.models.get_pretrained_cfg(name).architecture == name


# ----------------------------------------------------------------------------------------------------------
# timm contract

def test_features_more_sizes():
    check_features(f"va_{SMALLEST}", sizes=((512, 512), (97, 61), (32, 32)), **LEVELS)


@SLOW
@pytest.mark.parametrize("name", FIXED)
def test_features_fixed_size(name):
    check_features(f"va_{name}", sizes=((256, 256),), **LEVELS)
    model = timm.create_model(f"va_{name}", features_only=True).eval()
    with pytest.raises(ValueError, match=r"bottleneck attention built for 256x256 inputs only, got 200x333"):
        model(torch.randn(1, 3, 200, 333))


def test_halo_layers_go_through_window_attention(monkeypatch):
    """Every halo layer of the network calls ops.window_attention with its block and halo."""
    from visionattn.layers import halo_attention
    calls = []
    real = halo_attention.ops.window_attention

    def spy(q, k, v, window_size, **kw):
        calls.append((tuple(q.shape), tuple(k.shape), window_size, kw["halo_size"]))
        return real(q, k, v, window_size, **kw)

    monkeypatch.setattr(halo_attention.ops, "window_attention", spy)
    model = timm.create_model(f"va_{SMALLEST}").eval()
    layers = [m for m in model.modules() if isinstance(m, HaloAttn)]
    with torch.no_grad():
        model(torch.randn(1, 3, 200, 333))
    assert len(calls) == len(layers) == 3   # stage 3: one halo block; stage 4: two (the first strided)
    assert [c[2:] for c in calls] == [(8, 2), (4, 2), (8, 2)]
    # 200x333: stage 3 sees 13x21 (padded to 16x24), stage 4 sees 13x21 -> strided queries 7x11 (8x12)
    assert [c[0][1:3] for c in calls] == [(16, 24), (8, 12), (8, 16)]
    assert [c[1][1:3] for c in calls] == [(16, 24), (16, 24), (8, 16)]
