"""torch.compile (inductor, CPU) of the attention core: same outputs and gradients as eager."""
import pytest
import torch

from visionattn import ops


def _cases():
    q = torch.randn(2, 14, 14, 2, 8)
    idx = torch.stack([torch.randperm(4)[:2] for _ in range(2 * 4)]).view(2, 4, 2)
    rpb = torch.randn(2, 5, 5)
    wbias = torch.randn(2, 1, 49, 49)
    return {
        "window_shift": (lambda q, k, v: ops.window_attention(q, k, v, 7, shift_size=3, bias=wbias), q),
        "neighborhood_mask_extra": (lambda q, k, v: ops.neighborhood_attention(
            q, k, v, 3, border="mask", bias=rpb, extra_k=k[:, :2, 0], extra_v=v[:, :2, 0]), q),
        "neighborhood_clamp_dilated": (lambda q, k, v: ops.neighborhood_attention(q, k, v, 3, dilation=2), q),
        "routed": (lambda q, k, v: ops.routed_attention(q, k[:, :14, :14], v[:, :14, :14], idx, 2), q[:, :14, :14]),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_inductor_matches_eager(case):
    fn, q = _cases()[case]
    k, v = torch.randn_like(q), torch.randn_like(q)
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    ref = fn(*leaves)
    ref.sum().backward()
    ref_grads = [t.grad for t in leaves]
    leaves = [t.clone().detach().requires_grad_() for t in (q, k, v)]
    out = torch.compile(fn, backend="inductor")(*leaves)
    out.sum().backward()
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-4)
    for g, rg in zip((t.grad for t in leaves), ref_grads):
        torch.testing.assert_close(g, rg, atol=1e-4, rtol=1e-4)
