"""Every public layer (``from visionattn.layers import ...``) as a user would drop it into a network: three map
sizes (one odd and non-square), every attention backend against the reference one, forward and gradients."""
import pytest
import torch

import visionattn.layers as L
from _helpers import on_backend

SIZES = [(8, 8), (9, 13), (16, 12)]
DIM = 32


def _map(size):            # (B, H, W, C) maps: the transformer families' layout
    return torch.randn(2, *size, DIM)


def _nchw(size):
    return torch.randn(2, DIM, *size)


def _tokens(size):         # (B, N, C) tokens of an (H, W) grid
    return torch.randn(2, size[0] * size[1], DIM)


def _cls_tokens(size):     # a class token, then the grid
    return torch.randn(2, 1 + size[0] * size[1], DIM)


# name: (build, input for a size, extra forward arguments for a size)
LAYERS = {
    "WindowAttention": (lambda: L.WindowAttention(DIM, 2, window_size=4), _map, None),
    "WindowAttention-shifted": (lambda: L.WindowAttention(DIM, 2, window_size=(4, 5), shifted=True), _map, None),
    "BiLevelRoutingAttention": (lambda: L.BiLevelRoutingAttention(DIM, num_heads=2, n_win=3, topk=2), _map, None),
    "AttentionLePE": (lambda: L.AttentionLePE(DIM, num_heads=2), _map, None),
    "SpatialReductionAttention": (lambda: L.SpatialReductionAttention(DIM, 2, sr_ratio=2), _map, None),
    "Attention": (lambda: L.Attention(DIM, 2), _tokens, None),
    "SwinAgentAttention": (lambda: L.SwinAgentAttention(DIM, 2, bias_grid=(8, 8), agent_num=4), _map, None),
    "PvtAgentAttention": (lambda: L.PvtAgentAttention(DIM, 2, grid=(8, 8), agent_num=4, sr_ratio=2), _map, None),
    "DeitAgentAttention": (lambda: L.DeitAgentAttention(DIM, 2, bias_grid=(8, 8), agent_num=4), _cls_tokens,
                           lambda size: (size,)),
    # Agent-CSwin: agent / LePE branches, two stripe branches (padded along the split axis) or one over the map
    "CSWinAttention": (lambda: L.CSWinAttention(DIM, 2, split_size=3, attn_type="A", bias_grid=(8, 8), agent_num=4),
                       _map, None),
    "CSWinAttention-global": (lambda: L.CSWinAttention(DIM, 2, attn_type="A", bias_grid=(8, 8), agent_num=4), _map,
                              None),
    "CSWinAttention-lepe": (lambda: L.CSWinAttention(DIM, 2, split_size=3, attn_type="B"), _map, None),
    "CSWinAttention-lepe_global": (lambda: L.CSWinAttention(DIM, 2, attn_type="B"), _map, None),
    "HiLo": (lambda: L.HiLo(DIM, num_heads=4, window_size=2, alpha=0.5), _map, None),
    "AggregatedAttention": (lambda: L.AggregatedAttention(DIM, 2, sr_ratio=2, pretrain_size=(8, 8)), _map, None),
    "ScaledCosineAttention": (lambda: L.ScaledCosineAttention(DIM, 2), _map, None),
    "HaloAttn": (lambda: L.HaloAttn(DIM, DIM, num_heads=2, block_size=4, halo_size=1), _nchw, None),
    "HaloAttn-strided": (lambda: L.HaloAttn(DIM, DIM, stride=2, num_heads=2, block_size=4, halo_size=1), _nchw,
                         None),
    "GPSA": (lambda: L.GPSA(DIM, num_heads=4), _tokens, lambda size: (size,)),
    "SHSA": (lambda: L.SHSA(DIM, qk_dim=16, pdim=16), _nchw, None),
}


def _perturbed(layer):
    """Weights off their initial values, so zero-initialised parts (biases, BatchNorm) take part."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return layer


def _run(layer, x, args, backend):
    x = x.clone().requires_grad_()
    layer.zero_grad()
    with on_backend(backend):
        out = layer(x, *args)
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    grads = {n: p.grad.clone() for n, p in layer.named_parameters() if p.grad is not None}
    return out.detach(), x.grad, grads


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_any_size_every_backend(name):
    build, make_input, make_args = LAYERS[name]
    torch.manual_seed(0)
    layer = _perturbed(build()).eval()
    for size in SIZES:
        x = make_input(size)
        args = make_args(size) if make_args else ()
        ref, ref_gx, ref_gp = _run(layer, x, args, "reference")
        assert ref.shape[0] == x.shape[0] and torch.isfinite(ref).all()
        if x.dim() == 4:   # maps keep their size (HaloAttn with stride 2 halves it, ceil)
            spatial = (1, 2) if make_input is _map else (2, 3)
            stride = getattr(layer, "block_stride", 1) * (2 if isinstance(getattr(layer, "pool", None),
                                                                          torch.nn.AvgPool2d) else 1)
            assert tuple(ref.shape[d] for d in spatial) == tuple(-(-s // stride) for s in size), (size, ref.shape)
        else:
            assert ref.shape == x.shape
        for backend in ("torch", "triton"):
            out, gx, gp = _run(layer, x, args, backend)
            tol = dict(atol=2e-4, rtol=1e-3)
            torch.testing.assert_close(out, ref, **tol, msg=lambda m: f"{name} {size} {backend}: {m}")
            torch.testing.assert_close(gx, ref_gx, **tol, msg=lambda m: f"{name} {size} {backend} input grad: {m}")
            assert gp.keys() == ref_gp.keys()
            for n in gp:
                torch.testing.assert_close(gp[n], ref_gp[n], atol=1e-3, rtol=1e-3,
                                           msg=lambda m: f"{name} {size} {backend} grad of {n}: {m}")


def test_every_public_layer_is_covered():
    """A new layer in visionattn.layers gets a row above."""
    classes = {n for n in L.__all__ if isinstance(getattr(L, n), type) and issubclass(getattr(L, n), torch.nn.Module)}
    covered = {n.split("-")[0] for n in LAYERS}
    assert classes - {"DWConv", "Conv2dNorm"} == covered


def test_readme_network_runs():
    """The README's example: routing attention inside a small user network, any input size."""
    from torch import nn

    class TinyNet(nn.Module):
        def __init__(self, dim=64, classes=10):
            super().__init__()
            self.stem = nn.Conv2d(3, dim, 4, stride=4)
            self.attn = L.BiLevelRoutingAttention(dim, num_heads=2, n_win=4, topk=4)
            self.head = nn.Linear(dim, classes)

        def forward(self, x):
            x = self.stem(x).permute(0, 2, 3, 1)     # (B, H, W, C): the layer's layout
            x = x + self.attn(x)
            return self.head(x.mean(dim=(1, 2)))

    net = TinyNet()
    for size in ((64, 64), (75, 101)):
        assert net(torch.randn(2, 3, *size)).shape == (2, 10)


@pytest.mark.parametrize("name", list(LAYERS))
def test_a_wrong_layout_is_named(name):
    """A map in the other layout (e.g. NCHW into a (B, H, W, C) layer) fails with the layer's layout, not deep
    inside a matmul."""
    build, make_input, make_args = LAYERS[name]
    layer = build().eval()
    x = make_input((9, 13))
    args = make_args((9, 13)) if make_args else ()
    wrong = x.transpose(1, -1) if x.dim() == 4 else x[..., :-1]
    with pytest.raises(ValueError, match=rf"{name.split('-')[0]} expects \("):
        layer(wrong, *args)
