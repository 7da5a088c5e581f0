import re

import pytest
import timm
import torch

from _helpers import on_backend
from visionattn.models import swin

SMALL = "va_swin_tiny_patch4_window7_224"
NAMES = sorted(swin.ARCHS)
SLOW = {"swin_base_patch4_window7_224", "swin_base_patch4_window12_384", "swin_large_patch4_window7_224",
        "swin_large_patch4_window12_384", "swin_small_patch4_window7_224"}


def variants():
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in NAMES]


def _timm_and_ours(timm_name, tmp_path, convert=None, **kwargs):
    torch.manual_seed(0)
    ref = timm.create_model(timm_name, **kwargs).eval()
    with torch.no_grad():  # non-zero biases so every term is exercised
        for n, p in ref.named_parameters():
            if "relative_position_bias_table" in n:
                p.normal_(0, 0.5)
    sd = ref.state_dict()
    path = tmp_path / "ckpt.pth"
    torch.save(convert(sd) if convert else sd, path)
    ours = timm.create_model(f"va_{timm_name}", pretrained=True, pretrained_cfg_overlay=dict(file=str(path)),
                             **kwargs).eval()
    return ref, ours


def _assert_same_logits(ref, ours, size, backend="torch"):
    x = torch.randn(1 if backend == "triton" else 2, 3, *size)   # the interpreter is slow: one image
    with torch.no_grad(), on_backend(backend):
        expected, got = ref(x), ours(x)
    assert (got - expected).abs().max() <= 1e-4 * max(1.0, expected.abs().max().item())


@pytest.mark.parametrize("timm_name", variants())
def test_timm_weights_give_timm_logits(timm_name, tmp_path):
    ref, ours = _timm_and_ours(timm_name, tmp_path)
    _assert_same_logits(ref, ours, ref.pretrained_cfg["input_size"][1:])


@pytest.mark.parametrize("timm_name,size", [("swin_tiny_patch4_window7_224", 448),
                                            pytest.param("swin_base_patch4_window12_384", 192,
                                                         marks=pytest.mark.slow)])
def test_timm_weights_at_another_size(timm_name, size, tmp_path):
    """A size timm builds without padding; at 192 the window-12 model clamps its last stage to 6x6 windows."""
    ref, ours = _timm_and_ours(timm_name, tmp_path, img_size=size)
    _assert_same_logits(ref, ours, (size, size))


def to_microsoft_layout(sd):
    """timm's layout back to Microsoft's release: downsample at the end of a stage, head.weight, buffers."""
    out = {}
    for k, v in sd.items():
        k = re.sub(r"layers\.(\d+)\.downsample", lambda m: f"layers.{int(m.group(1)) - 1}.downsample", k)
        out[k.replace("head.fc.", "head.")] = v
    for k in list(out):
        if k.endswith("relative_position_bias_table"):
            out[k.replace("bias_table", "index")] = torch.zeros(49, 49, dtype=torch.long)
    return {"model": out}


def test_microsoft_release_layout_loads(tmp_path):
    ref, ours = _timm_and_ours("swin_tiny_patch4_window7_224", tmp_path, convert=to_microsoft_layout)
    _assert_same_logits(ref, ours, (224, 224))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["reference", "triton"])
def test_timm_logits_on_other_backends(backend, tmp_path):
    ref, ours = _timm_and_ours("swin_tiny_patch4_window7_224", tmp_path)
    _assert_same_logits(ref, ours, (224, 224), backend=backend)


def test_pretrained_cfgs_are_timms():
    assert timm.models.get_pretrained_cfg(SMALL).hf_hub_id == "timm/swin_tiny_patch4_window7_224.ms_in1k"


def test_timm_registrations_untouched():
    assert type(timm.create_model("swin_tiny_patch4_window7_224")).__module__.startswith("timm.")


def test_unsupported_timm_options_raise():
    """timm options this implementation does not honour fail loudly instead of building another model."""
    with pytest.raises(TypeError, match="head_dim"):
        timm.create_model(SMALL, head_dim=16)
    with pytest.raises(ValueError, match="attn_drop_rate"):
        timm.create_model(SMALL, attn_drop_rate=0.1)


def test_module_prefix_of_wrapped_checkpoints_is_stripped(tmp_path):
    ref = timm.create_model("swin_tiny_patch4_window7_224")
    path = tmp_path / "ddp.pth"
    torch.save({"model": {f"module.{k}": v for k, v in ref.state_dict().items()}}, path)
    ours = timm.create_model(SMALL, pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))
    assert torch.equal(ours.state_dict()["head.fc.weight"], ref.state_dict()["head.fc.weight"])
