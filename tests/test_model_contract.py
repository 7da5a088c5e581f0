"""One model contract for every registered variant (and every pretrained tag) of the project, as timm's own
``tests/test_models.py`` runs over timm's models: the same assertions, written here so they run in ``make test``
(the timm wheel does not ship its tests), plus the project's own rules (features at any size, the same pruning
behaviour in every family, unknown options refused, backends agreeing through the layers).

Which of timm's tests each covers:
  test_forward            test_model_forward (+ grad checkpointing gives the same output)
  test_backward           test_model_backward
  test_default_cfgs       test_model_default_cfgs / test_model_default_cfgs_non_std (per pretrained tag)
  test_features           test_model_forward_features, test_model_forward_intermediates_features
  test_intermediates      test_model_forward_intermediates
  test_fx                 test_model_forward_fx, test_model_backward_fx
  test_torchscript        test_model_forward_torchscript, test_model_forward_fx_torchscript
timm's exclusions are applied to each model's counterpart (a ``va_`` model is held to what timm's model of the same
name passes; Agent-DeiT and ConViT are ViTs: timm's non-standard filters; the other families have no counterpart).
"""
import fnmatch
import math

import pytest
import timm
import torch
from timm.layers import get_channel_dim, get_spatial_dim
from timm.models import get_notrace_functions, get_notrace_modules, model_entrypoint

import visionattn  # noqa: F401  (registers the zoo)
from _model_checks import check_bad_inputs, check_features

VARIANTS = sorted(n for n in timm.list_models() if model_entrypoint(n).__module__.startswith("visionattn."))
TAGS = sorted(t for t in timm.list_models(include_tags=True) if t.split(".")[0] in VARIANTS)
# model files that belong to another file's family (Agent-CSwin is part of Agent Attention: one card, one recipe
# folder)
SUBFAMILIES = {"agent_cswin": "agent"}


def family(name):
    module = model_entrypoint(name.split(".")[0]).__module__.rsplit(".", 1)[-1]
    return SUBFAMILIES.get(module, module)


FAMILIES = sorted({family(n) for n in VARIANTS})

# full-size forward / backward passes of these take many seconds on 2 CPU cores: the `slow` marker
SLOW = {
    "va_swin_small_patch4_window7_224", "va_swin_base_patch4_window7_224", "va_swin_base_patch4_window12_384",
    "va_swin_large_patch4_window7_224", "va_swin_large_patch4_window12_384",
    "agent_swin_s", "agent_swin_b", "agent_pvt_s", "agent_pvt_m", "agent_pvt_l", "agent_deit_s", "agent_deit_b",
    "agent_cswin_s", "agent_cswin_b",
    "biformer_s", "biformer_b", "litv2_m", "litv2_b", "transnext_small", "transnext_base",
    "va_shvit_s3", "va_shvit_s4", "va_convit_small", "va_convit_base",
    "va_halonet_h1", "va_halonet50ts", "va_lamhalobotnet50ts_256", "va_halo2botnet50ts_256", "va_sehalonet33ts",
    "va_haloregnetz_b", "va_eca_halonext26ts",
}
# the ViT families: timm's NON_STD_FILTERS hold their counterparts ('convit_*', 'deit*')
NON_STD = ("va_convit_*", "agent_deit_*")
# timm scripts its own Swin, HaloNet (byoanet), SHViT and ConViT: so must their va_ counterparts. The other
# families have no timm counterpart; why they do not script is in their model cards.
SCRIPTED = ("va_swin_*", "va_*halo*", "va_shvit_*", "va_convit_*")

# timm's sizes (tests/test_models.py)
TARGET_FWD_SIZE = MAX_FWD_SIZE = 384
TARGET_BWD_SIZE, MAX_BWD_SIZE = 128, 320
MAX_FWD_OUT_SIZE = 448
TARGET_JIT_SIZE, MAX_JIT_SIZE = 128, 320
TARGET_FFEAT_SIZE, MAX_FFEAT_SIZE = 96, 256
TARGET_FWD_FX_SIZE, MAX_FWD_FX_SIZE = 128, 256
TARGET_BWD_FX_SIZE, MAX_BWD_FX_SIZE = 128, 224


# feature levels and strides per family (SHViT: the official detection backbone's three; HaloNet: timm's five)
LEVELS = {"shvit": (3, (16, 32, 64)), "halonet": (5, (2, 4, 8, 16, 32))}


def params(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n.split(".")[0] in SLOW else n for n in names]


def matches(name, patterns):
    return any(fnmatch.fnmatch(name, p) for p in patterns)


def input_size(model=None, name="", target=None, limit=None):
    """timm's _get_input_size, where only a model whose minimum size is its input size is fixed: the cfgs copied
    from timm say ``fixed_input_size`` for Swin's 384 models, and Agent's need it to build at their size, but both
    run at any size, so they are tested at timm's smaller sizes too. Above ``limit`` timm skips the test."""
    cfg = model.pretrained_cfg if model is not None else timm.models.get_pretrained_cfg(name).to_dict()
    size, min_size = cfg["input_size"], cfg.get("min_input_size")
    if min_size == size:
        if limit and max(size) > limit:
            pytest.skip(f"fixed input size {size[1:]} above timm's limit {limit} for this test (timm skips it too)")
        return size
    if target and max(size) > target:
        size = min_size if min_size else tuple(min(x, target) for x in size)
    return size


def perturbed(model, seed=0):
    """Weights off their initialisation, so zero-initialised branches (BatchNorm gammas, biases) take part."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=g))
    return model


def test_registry_covers_every_family():
    assert FAMILIES == ["agent", "biformer", "convit", "halonet", "litv2", "shvit", "swin", "transnext"]
    assert all(not n.startswith(("swin_", "convit_", "shvit_", "halonet")) for n in VARIANTS)  # timm's names kept


# ----------------------------------------------------------------------------------------------------------
# timm's tests

@pytest.mark.parametrize("name", params(VARIANTS))
def test_forward(name):
    model = timm.create_model(name).eval()
    x = torch.randn(1, *input_size(model, target=TARGET_FWD_SIZE, limit=MAX_FWD_SIZE))
    with torch.no_grad():
        out = model(x)
        assert out.shape[0] == 1 and not torch.isnan(out).any()
        model.set_grad_checkpointing()
        torch.testing.assert_close(model(x), out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", params(VARIANTS))
def test_backward(name):
    size = input_size(name=name, target=TARGET_BWD_SIZE, limit=MAX_BWD_SIZE)
    model = timm.create_model(name, num_classes=42).train()
    x = torch.randn(2, *size)
    torch.manual_seed(0)
    out = model(x)
    out.mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing[:10]}"
    assert out.shape[-1] == 42 and not torch.isnan(out).any()
    # activation checkpointing in training: the same outputs, and it trains
    model.set_grad_checkpointing(True)
    torch.manual_seed(0)
    out2 = model(x)
    torch.testing.assert_close(out2, out, atol=1e-4, rtol=1e-4)
    out2.mean().backward()


@pytest.mark.parametrize("tag", params(TAGS))
def test_default_cfgs(tag):
    model = timm.create_model(tag).eval()
    assert model.num_classes >= 0 and model.num_features > 0 and model.head_hidden_size > 0
    cfg = model.pretrained_cfg
    sd = model.state_dict()
    if matches(tag, NON_STD):
        size = input_size(model)
        assert max(size) <= 448
        x = torch.randn(1, *size)
        with torch.no_grad():
            feats = model.forward_features(x)
            pre = model.forward_head(feats, pre_logits=True)
            assert feats.shape[-1] == model.num_features and pre.shape[1] == model.head_hidden_size
            model.reset_classifier(0)
            assert model.num_classes == 0
            out = model(x)
            assert out.shape[-1] == model.head_hidden_size and out.shape == pre.shape
            out = timm.create_model(tag, num_classes=0).eval()(x)
            assert out.shape[-1] == model.num_features
    else:
        pool_size = cfg["pool_size"]
        fmt = getattr(model, "output_fmt", "NCHW")
        spatial, channel = get_spatial_dim(fmt), get_channel_dim(fmt)
        size = tuple(min(s, MAX_FWD_OUT_SIZE) for s in cfg["input_size"])
        x = torch.randn(1, *size)
        with torch.no_grad():
            feats = model.forward_features(x)
            pre = model.forward_head(feats, pre_logits=True)
            assert (feats.shape[spatial[0]], feats.shape[spatial[1]]) == tuple(pool_size), (feats.shape, pool_size)
            assert feats.shape[channel] == model.num_features
            assert pre.shape[1] == model.head_hidden_size
            model.reset_classifier(0)
            assert model.num_classes == 0
            out = model(x)
            assert out.dim() == 2 and out.shape[1] == model.head_hidden_size and out.shape == pre.shape
            model.reset_classifier(0, "")
            out = model(x)
            assert out.dim() == 4 and (out.shape[spatial[0]], out.shape[spatial[1]]) == tuple(pool_size)
            out = timm.create_model(tag, num_classes=0, global_pool="").eval()(x)
            assert out.dim() == 4 and (out.shape[spatial[0]], out.shape[spatial[1]]) == tuple(pool_size)
    classifier = cfg["classifier"]
    for c in (classifier,) if isinstance(classifier, str) else classifier:
        assert c + ".weight" in sd, f"{c} not in model params"
    first_conv = cfg["first_conv"]
    for c in (first_conv,) if isinstance(first_conv, str) else first_conv:
        assert c + ".weight" in sd, f"{c} not in model params"


def _check_levels(model, outputs, size, batch=1, fmt="NCHW"):
    channels, reductions = model.feature_info.channels(), model.feature_info.reduction()
    assert len(outputs) == len(channels)
    feat_axis, spatial = get_channel_dim(fmt), get_spatial_dim(fmt)
    for c, r, o in zip(channels, reductions, outputs):
        assert o.shape[feat_axis] == c and o.shape[0] == batch and not torch.isnan(o).any()
        assert o.shape[spatial[0]] <= math.ceil(size[-2] / r) + 1 and o.shape[spatial[1]] <= math.ceil(size[-1] / r) + 1


@pytest.mark.parametrize("name", params(VARIANTS))
def test_features(name):
    """features_only (timm's getter wrapper, i.e. forward_intermediates) at timm's small size, and the dense
    levels (channels, strides, finite values) at 200x333 and 512x512 (the fixed-size HaloNets at 256x256)."""
    model = timm.create_model(name, features_only=True).eval()
    assert len(model.feature_info.channels()) >= 3
    size = input_size(model, target=TARGET_FFEAT_SIZE, limit=MAX_FFEAT_SIZE)
    with torch.no_grad():
        _check_levels(model, model(torch.randn(1, *size)), size)
    levels, reductions = LEVELS.get(family(name), (4, (4, 8, 16, 32)))
    fixed = model.pretrained_cfg.get("min_input_size", (0, 0, 0))[1] > 200   # bottleneck attention nets
    check_features(name, sizes=((256, 256),) if fixed else ((200, 333), (512, 512)), levels=levels,
                   reductions=reductions)


@pytest.mark.parametrize("name", params(VARIANTS))
def test_intermediates(name):
    """forward_intermediates: the levels of feature_info, final features equal to forward_features, NCHW and
    NHWC, grad checkpointing, a wrong output_fmt refused, then pruning: the same behaviour in every family."""
    model = timm.create_model(name).eval()
    info = timm.models.FeatureInfo(model.feature_info, len(model.feature_info))
    size = input_size(model, target=TARGET_FFEAT_SIZE)
    x = torch.randn(1, *size)
    with torch.no_grad():
        final, inter = model.forward_intermediates(x)
        assert len(inter) == len(info.channels()) >= 3
        for c, o in zip(info.channels(), inter):
            assert o.shape[1] == c and not torch.isnan(o).any()
        torch.testing.assert_close(final, model.forward_features(x))
        nhwc = model.forward_intermediates(x, output_fmt="NHWC", intermediates_only=True)
        for a, b in zip(inter, nhwc):
            torch.testing.assert_close(b, a.permute(0, 2, 3, 1))
        model.set_grad_checkpointing()
        final2, _ = model.forward_intermediates(x)
        torch.testing.assert_close(final2, final, rtol=1e-4, atol=1e-5)
        with pytest.raises(ValueError, match="output_fmt"):
            model.forward_intermediates(x, output_fmt="NLC")

        # pruning to the first two levels: those levels unchanged; the head goes, and where the last kept level
        # is narrower than the final features, num_features follows it
        n = len(inter)
        kept = model.prune_intermediate_layers(indices=[0, 1])
        assert list(kept) == [0, 1]
        pruned = model.forward_intermediates(x, indices=[0, 1], intermediates_only=True)
        torch.testing.assert_close(pruned[1], inter[1])
        assert model.num_classes == 0
        if info.channels()[1] != info.channels()[-1]:
            assert model.num_features == model.head_hidden_size == info.channels()[1]
        model.reset_classifier(5, "avg")      # a new head on the pruned features
        assert model(x).shape == (1, 5) and n > 2
        assert model.forward_head(model.forward_features(x), pre_logits=True).shape == (1, model.num_features)


def _fx_model(model, train=False):
    """timm's _create_fx_model: trace with timm's leaf modules / functions, return the last node."""
    from torchvision.models.feature_extraction import NodePathTracer, create_feature_extractor, get_graph_node_names
    kwargs = dict(leaf_modules=get_notrace_modules(), autowrap_functions=get_notrace_functions(),
                  param_shapes_constant=True)
    train_nodes, eval_nodes = get_graph_node_names(model, tracer_kwargs=kwargs)
    eval_return, train_return = [eval_nodes[-1]], [train_nodes[-1]]
    if train:
        graph = NodePathTracer(**kwargs).trace(model)
        nodes = list(reversed(graph.nodes))
        outputs = [n.name for n in nodes[0]._input_nodes.keys()]
        names = [n.name for n in nodes]
        train_return = [train_nodes[-names.index(o)] for o in outputs]
    return create_feature_extractor(model, train_return_nodes=train_return, eval_return_nodes=eval_return,
                                    tracer_kwargs=kwargs)


@pytest.mark.parametrize("name", params(VARIANTS))
def test_fx(name):
    """torch.fx traces the model (input checks and the attention layers are leaves); the traced graph gives the
    same logits bit for bit, and trains (every parameter gets a gradient)."""
    model = timm.create_model(name).eval()
    x = torch.randn(1, *input_size(model, target=TARGET_FWD_FX_SIZE, limit=MAX_FWD_FX_SIZE))
    with torch.inference_mode():
        out = model(x)
        fx_out = torch.cat(tuple(_fx_model(model)(x).values()))
    assert torch.equal(fx_out, out)

    size = input_size(name=name, target=TARGET_BWD_FX_SIZE, limit=MAX_BWD_FX_SIZE)
    model = _fx_model(timm.create_model(name, num_classes=42).train(), train=True)
    out = torch.cat(tuple(model(torch.randn(2, *size)).values()))
    out.mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing and out.shape[-1] == 42 and not torch.isnan(out).any()


@pytest.mark.parametrize("name", params([n for n in VARIANTS if matches(n, SCRIPTED)]))
def test_torchscript(name):
    """torch.jit.script of the model and of its fx graph (timm scripts the counterparts): same logits as eager."""
    size = input_size(name=name, target=TARGET_JIT_SIZE, limit=MAX_JIT_SIZE)
    with timm.layers.set_scriptable(True):
        model = perturbed(timm.create_model(name)).eval()
    x = torch.randn(1, *size)
    with torch.no_grad():
        ref = model(x)
        scripted = torch.jit.script(model)
        torch.testing.assert_close(scripted(x), ref, atol=1e-4, rtol=1e-4)
        fx_scripted = torch.jit.script(_fx_model(model))
        torch.testing.assert_close(torch.cat(tuple(fx_scripted(x).values())), ref, atol=1e-4, rtol=1e-4)


# ----------------------------------------------------------------------------------------------------------
# the project's own rules

@pytest.mark.parametrize("name", params(VARIANTS))
def test_head_api(name):
    """forward = forward_head(forward_features); pre-logits, class counts, the optimizer hooks."""
    model = timm.create_model(name).eval()
    x = torch.randn(1, *input_size(model, target=TARGET_FWD_SIZE))
    with torch.no_grad():
        feats = model.forward_features(x)
        torch.testing.assert_close(model.forward_head(feats), model(x), atol=1e-5, rtol=1e-5)
        assert model.forward_head(feats, pre_logits=True).shape == (1, model.num_features)
        model.reset_classifier(7)
        assert model(x).shape == (1, 7) and model.num_classes == 7
    assert model.get_classifier() is not None
    assert isinstance(model.no_weight_decay(), (set, list, tuple))
    for coarse in (True, False):
        matcher = model.group_matcher(coarse=coarse)
        assert "stem" in matcher and "blocks" in matcher


@pytest.mark.parametrize("name", params(VARIANTS))
def test_bad_inputs(name):
    """Wrong channels, too small, not (B, C, H, W): clear errors; the smallest accepted size runs."""
    model = timm.create_model(name).eval()
    check_bad_inputs(name, model.min_size)
    if not model.pretrained_cfg.get("fixed_input_size") or matches(name, ("agent_*",)):   # Agent runs any size
        with torch.no_grad():
            assert model(torch.randn(1, 3, model.min_size, model.min_size)).shape == (1, model.num_classes)


@pytest.mark.parametrize("name", params(VARIANTS))
def test_unknown_options_are_refused(name):
    with pytest.raises(TypeError, match="not_an_option"):
        timm.create_model(name, not_an_option=1)


@pytest.mark.parametrize("name", params(VARIANTS))
def test_backends_agree_through_the_layers(name):
    """The whole model on the reference and the torch backends at an odd, non-square size: every attention,
    dense ones included, goes through visionattn.ops."""
    from visionattn.ops import use_backend
    cfg = timm.models.get_pretrained_cfg(name).to_dict()
    model = perturbed(timm.create_model(name)).eval()
    size = cfg["input_size"] if cfg.get("min_input_size", (0, 0, 0))[1] > 200 else (3, 72, 104)
    x = torch.randn(1, *size)
    with torch.no_grad():
        with use_backend("reference"):
            ref = model(x)
        with use_backend("torch"):
            out = model(x)
    torch.testing.assert_close(out, ref, atol=1e-4 * max(1.0, ref.abs().max().item()), rtol=1e-4)


@pytest.mark.parametrize("name, kwargs, message", [
    ("va_swin_tiny_patch4_window7_224", dict(embed_dim=32), "WindowAttention: dim 32 must be divisible by num_heads 3"),
    ("biformer_t", dict(head_dim=48), "BiLevelRoutingAttention: qk_dim 256 and dim 256 must be divisible"),
    ("va_shvit_s1", dict(partial_dim=(32, 48, 400)), r"SHSA: pdim must lie in \(0, dim = 320\], got 400"),
    ("agent_pvt_t", dict(embed_dims=(64, 128, 320, 500)), "PvtAgentAttention: dim 500 must be divisible"),
    ("agent_swin_t", dict(agent_num=(8, 16, 49, 49)), "agent_num must be a square"),
    ("agent_cswin_t", dict(num_heads=(2, 4, 7, 16)), "CSWinAttention: dim 256 must be divisible by num_heads 7"),
    ("litv2_s", dict(embed_dim=32), "HiLo: dim 128 must be divisible by num_heads 12"),
    ("transnext_micro", dict(embed_dims=(48, 96, 192, 385)), "ScaledCosineAttention: dim 385 must be divisible"),
])
def test_impossible_configurations_fail_when_built(name, kwargs, message):
    """A configuration that cannot run fails when the model is created, naming the layer and the rule, not in
    its first forward."""
    with pytest.raises(ValueError, match=message):
        timm.create_model(name, **kwargs)


@pytest.mark.parametrize("name", ["biformer_t", "va_swin_tiny_patch4_window7_224", "agent_swin_t", "agent_pvt_t",
                                  "agent_deit_t", "agent_cswin_t", "litv2_s", "va_shvit_s1", "va_convit_tiny",
                                  "transnext_micro", "va_halonet26t"])
def test_factory_device_and_dtype(name):
    """timm's create_model(..., device=, dtype=) and its config test's build on the "meta" device (no weights
    allocated), forward included. Before: unexpected keyword 'device'; on meta, torch.is_autocast_enabled raised."""
    model = timm.create_model(name, device="meta", dtype=torch.float32).eval()
    assert all(p.device.type == "meta" for p in model.parameters())
    size = model.pretrained_cfg["input_size"][1:]
    out = model(torch.randn(1, 3, *size, device="meta"))
    assert out.device.type == "meta" and out.shape == (1, model.num_classes)
    model = timm.create_model(name, dtype=torch.float64)
    assert all(p.dtype == torch.float64 for p in model.parameters())
