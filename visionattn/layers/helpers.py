"""Small pieces the attention layers and model files share: padding to a multiple, the Swin shift rule, window
partitioning, a depthwise convolution on channels-last maps, bilinear resizing, and the ViT-to-pyramid levels.

Functions whose control flow depends on tensor sizes are registered with timm's fx tracer as leaf functions
(``register_notrace_function``), so ``torch.fx`` traces the models that call them."""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from timm.layers import register_notrace_function, resample_abs_pos_embed
from torch import nn


def check_layout(x: torch.Tensor, dim: int, name: str, layout: str) -> None:
    """The input of a layer in its layout: "NHWC" (B, H, W, C) maps, "NCHW" (B, C, H, W) maps or "NLC" (B, N, C)
    tokens, with ``dim`` channels. Raises ValueError naming the layer, the layout and what came."""
    rank = 3 if layout == "NLC" else 4
    channels = x.shape[1] if layout == "NCHW" and x.dim() == 4 else x.shape[-1]
    if x.dim() != rank or channels != dim:
        shape = "(B, N, C)" if layout == "NLC" else "(B, C, H, W)" if layout == "NCHW" else "(B, H, W, C)"
        raise ValueError(f"{name} expects {shape} inputs with C = {dim}, got shape {list(x.shape)}")


def check_tokens(x: torch.Tensor, dim: int, name: str, grid: Tuple[int, int], prefix: int) -> None:
    """(B, prefix + H * W, C) tokens of an (H, W) grid with ``dim`` channels (ViT layers that take the grid)."""
    if x.dim() != 3 or x.shape[-1] != dim or x.shape[1] != prefix + grid[0] * grid[1]:
        raise ValueError(f"{name} expects (B, {prefix} + H * W, C) tokens with C = {dim} of the given grid {list(grid)}"
                         f", got shape {list(x.shape)}")


def ceil_div(a: int, b: int) -> int:
    """ceil(a / b) for positive sizes, as (a + b - 1) // b: exact for symbolic sizes, and the same in an ONNX
    graph (its integer division truncates, so the -(-a // b) form would round the wrong way there)."""
    return (a + b - 1) // b


def exporting() -> bool:
    """Whether torch.export is tracing the model. False in TorchScript, which can compile neither branch of the
    test nor torch.compiler's flag."""
    if torch.jit.is_scripting():
        return False
    return torch.compiler.is_exporting()


def size_shortcuts() -> bool:
    """Whether to skip work that is the identity at some sizes (no padding needed, a resize to the same size).
    Not under torch.export: such a test on a symbolic size becomes a guard that fixes the exported program to
    sizes where the shortcut holds (or fails), while the general path gives the same values at every size."""
    return not exporting()


def _pool_matrix(n, out: int, like: torch.Tensor) -> torch.Tensor:
    """(out, n) averaging weights of adaptive average pooling along one axis: bin i covers
    [floor(i * n / out), ceil((i + 1) * n / out)), as ``F.adaptive_avg_pool2d``."""
    i = torch.arange(out, device=like.device)
    start, end = (i * n) // out, ((i + 1) * n + out - 1) // out
    j = torch.arange(n, device=like.device)
    inside = (j[None] >= start[:, None]) & (j[None] < end[:, None])
    return inside.to(like.dtype) / (end - start)[:, None].to(like.dtype)


def adaptive_avg_pool2d(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """``F.adaptive_avg_pool2d`` of a (B, C, H, W) map; under torch.export as two averaging matmuls, because
    ONNX has no adaptive pooling (the exporter fixes its kernel to the example's size, wrong at any other)."""
    if size_shortcuts():
        return F.adaptive_avg_pool2d(x, size)
    rows, cols = _pool_matrix(x.shape[-2], size[0], x), _pool_matrix(x.shape[-1], size[1], x)
    return torch.einsum("ph,bchw,qw->bcpq", rows, x, cols)


@register_notrace_function
def pad_to_multiple(x: torch.Tensor, multiple: Tuple[int, int], channels_last: bool = True,
                    centered: bool = False) -> torch.Tensor:
    """Zero-pad a map at the bottom / right so its height and width are multiples of ``multiple`` (h, w).

    ``channels_last``: x is (B, H, W, C) (the transformer families' layout), else (B, C, H, W). ``centered``:
    split the padding of each axis instead, p // 2 before and the rest after (CSWin's rule; crop the result
    back with ``crop_centered``)."""
    h, w = (x.shape[1], x.shape[2]) if channels_last else (x.shape[-2], x.shape[-1])
    ph, pw = (multiple[0] - h % multiple[0]) % multiple[0], (multiple[1] - w % multiple[1]) % multiple[1]
    if size_shortcuts() and ph == 0 and pw == 0:
        return x
    top, left = (ph // 2, pw // 2) if centered else (0, 0)
    pads = [left, pw - left, top, ph - top]
    return F.pad(x, [0, 0] + pads if channels_last else pads)


def crop_centered(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """The (h, w) = ``size`` middle of a (B, H', W', C) map padded by ``pad_to_multiple(..., centered=True)``."""
    if size_shortcuts() and x.shape[1] == size[0] and x.shape[2] == size[1]:
        return x
    top, left = (x.shape[1] - size[0]) // 2, (x.shape[2] - size[1]) // 2
    return x[:, top:top + size[0], left:left + size[1]]


def window_partition(x: torch.Tensor, window: Tuple[int, int]) -> torch.Tensor:
    """(B, H, W, C) map -> (B * nW, wh, ww, C) windows of ``window`` (wh, ww), numbered row-major (H, W
    multiples of the window)."""
    b, h, w, c = x.shape
    wh, ww = window
    x = x.view(b, h // wh, wh, w // ww, ww, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, wh, ww, c)


def window_merge(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """The inverse of ``window_partition``: (B * nW, wh, ww, C) windows -> the (B, H, W, C) map of ``size``."""
    _, wh, ww, c = x.shape
    nh, nw = size[0] // wh, size[1] // ww
    x = x.view(-1, nh, nw, wh, ww, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, size[0], size[1], c)


def swin_shift(size: Tuple[int, int], window: Tuple[int, int], shifted: bool) -> Tuple[int, int]:
    """Swin's shift of a shifted-window (SW-MSA) block: half a window along every axis longer than the window;
    an axis no longer than the window is one window and is not shifted (timm's and the official rule)."""
    if not shifted:
        return (0, 0)
    return (window[0] // 2 if size[0] > window[0] else 0, window[1] // 2 if size[1] > window[1] else 0)


def resize_bilinear(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Bilinear resampling of the last two dims (align_corners=False); the identity when the size is equal."""
    if size_shortcuts() and x.shape[-2] == size[0] and x.shape[-1] == size[1]:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, N, heads * D) -> (B, heads, N, D), the layout of ``ops.attention``."""
    return x.reshape(x.shape[0], x.shape[1], num_heads, -1).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, N, D) -> (B, N, heads * D)."""
    return x.transpose(1, 2).flatten(2)


class DWConv(nn.Module):
    """3x3 depthwise convolution on a (B, H, W, C) map, zero padding 1 (same size out). The official LITv2 /
    TransNeXt key is ``dwconv.dwconv``."""

    def __init__(self, dim: int, kernel_size: int = 3):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size, 1, kernel_size // 2, bias=True, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dwconv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


@register_notrace_function
def resample_pos_embed(pos: torch.Tensor, grid: Tuple[int, int], trained_grid: Tuple[int, int],
                       num_prefix_tokens: int = 0) -> torch.Tensor:
    """A ViT's absolute position embedding (1, prefix + h * w, C) for another token grid (bicubic, timm's
    ``resample_abs_pos_embed``); unchanged on the trained grid."""
    if size_shortcuts() and grid[0] == trained_grid[0] and grid[1] == trained_grid[1]:
        return pos
    return resample_abs_pos_embed(pos, [grid[0], grid[1]], [trained_grid[0], trained_grid[1]],
                                  num_prefix_tokens=num_prefix_tokens)


def vit_level_reductions(patch_size: int) -> List[int]:
    """The strides of the four pyramid levels a plain ViT of ``patch_size`` gives (4, 8, 16, 32 for 16)."""
    return [patch_size // 4, patch_size // 2, patch_size, patch_size * 2]


@register_notrace_function
def vit_level(tokens: torch.Tensor, grid: Tuple[int, int], level: int, image_size: Tuple[int, int],
              patch_size: int) -> torch.Tensor:
    """Patch tokens (B, H * W, C) of one ViT block (class token removed) as the NCHW map of pyramid level
    0..3, resampled without parameters: bilinear x4 (level 0), bilinear x2 (1), identity (2), 2x2 max-pool
    with ceil mode (3); then cropped to ceil(image / stride), which removes only the rows / columns of the
    image's padding to whole patches (the ViT-Adapter-free levels of Agent-DeiT's and ConViT's dense use)."""
    b, _, c = tokens.shape
    x = tokens.transpose(1, 2).reshape(b, c, grid[0], grid[1])
    if level == 0:
        x = F.interpolate(x, scale_factor=4.0, mode="bilinear", align_corners=False)
    elif level == 1:
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
    elif level == 3:
        x = F.max_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)
    stride = vit_level_reductions(patch_size)[level]
    return x[:, :, :ceil_div(image_size[0], stride), :ceil_div(image_size[1], stride)].contiguous()
