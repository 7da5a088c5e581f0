"""Routed (bi-level routing) attention in Triton (semantics: ``visionattn.ops.routed``).

Block-sparse FlashAttention: a program takes a tile of one region's queries and, for each of the
region's top-k routed regions, loads that region's key / value tiles by index straight from the
(B, H, W, heads, D) maps; online softmax across all of them. Nothing is gathered into memory (the
official code copies top-k regions' keys and values per query region).

Small regions (BiFormer's 2x2 = 4 query tokens at stage 3) would give tl.dot tiles below 16, so PACK
regions share a program: their queries stack into one tile, each slot loads the PACK regions routed
to them side by side, and a block-diagonal mask keeps every query on its own region's keys.

Backward: query-centric; each program owns its queries' dQ; dK / dV are added atomically in fp32
(many regions route to the same key region).
"""
import torch
import triton
import triton.language as tl

from ._common import AotSpec, check_dtype, dot_precision, grid_dims, large_tiles, signature, tile


@triton.jit
def _query_setup(pid, n_regions, lq, rqh, rqw, grid_w, PACK: tl.constexpr, BLOCK_M: tl.constexpr):
    q_tiles = tl.cdiv(PACK * lq, BLOCK_M)
    group = pid // q_tiles
    m = (pid % q_tiles) * BLOCK_M + tl.arange(0, BLOCK_M)
    pq = m // lq
    local = m % lq
    region = group * PACK + pq
    m_ok = (m < PACK * lq) & (region < n_regions)
    y = (region // grid_w) * rqh + local // rqw
    x = (region % grid_w) * rqw + local % rqw
    return group, pq, m_ok, y, x


@triton.jit
def _routed_keys(n, t, b, group, n_regions, lk, rkh, rkw, grid_w, IDX, i_sb, i_sr, i_st, PACK: tl.constexpr):
    pk = n // lk
    local = n % lk
    src = group * PACK + pk                     # the packed query region whose route this key follows
    n_ok = (n < PACK * lk) & (src < n_regions)
    routed = tl.load(IDX + b * i_sb + src * i_sr + t * i_st, mask=n_ok, other=0)
    ky = (routed // grid_w) * rkh + local // rkw
    kx = (routed % grid_w) * rkw + local % rkw
    return pk, n_ok, ky, kx


@triton.jit
def _routed_fwd(
    Q, K, V, IDX, O, LSE,
    q_sb, q_sy, q_sx, q_sh, q_sd, k_sb, k_sy, k_sx, k_sh, k_sd, v_sb, v_sy, v_sx, v_sh, v_sd,
    o_sb, o_sy, o_sx, o_sh, o_sd, l_sb, l_sy, l_sx, l_sh, i_sb, i_sr, i_st,
    heads, n_regions, grid_w, topk, rqh, rqw, rkh, rkw, dqk, dv, scale,
    PACK: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_DQK: tl.constexpr,
    BLOCK_DV: tl.constexpr, PRECISION: tl.constexpr,
):
    lq = rqh * rqw
    lk = rkh * rkw
    bh = tl.program_id(1)
    b = bh // heads
    head = bh % heads
    group, pq, m_ok, y, x = _query_setup(tl.program_id(0), n_regions, lq, rqh, rqw, grid_w, PACK, BLOCK_M)
    dk_ = tl.arange(0, BLOCK_DQK)
    dv_ = tl.arange(0, BLOCK_DV)
    q = tl.load(Q + b * q_sb + head * q_sh + y[:, None] * q_sy + x[:, None] * q_sx + dk_[None, :] * q_sd,
                mask=m_ok[:, None] & (dk_[None, :] < dqk), other=0.0)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_DV], tl.float32)
    for t in range(topk):
        for n0 in range(0, PACK * lk, BLOCK_N):
            n = n0 + tl.arange(0, BLOCK_N)
            pk, n_ok, ky, kx = _routed_keys(n, t, b, group, n_regions, lk, rkh, rkw, grid_w, IDX, i_sb, i_sr, i_st,
                                            PACK)
            k = tl.load(K + b * k_sb + head * k_sh + ky[:, None] * k_sy + kx[:, None] * k_sx + dk_[None, :] * k_sd,
                        mask=n_ok[:, None] & (dk_[None, :] < dqk), other=0.0)
            v = tl.load(V + b * v_sb + head * v_sh + ky[:, None] * v_sy + kx[:, None] * v_sx + dv_[None, :] * v_sd,
                        mask=n_ok[:, None] & (dv_[None, :] < dv), other=0.0)
            s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale
            s = tl.where(n_ok[None, :] & (pq[:, None] == pk[None, :]), s, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(s, 1))
            m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
            alpha = tl.exp(m_i - m_safe)
            p = tl.exp(s - m_safe[:, None])
            l_i = l_i * alpha + tl.sum(p, 1)
            acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=PRECISION)
            m_i = m_new
    l_safe = tl.where(m_ok, l_i, 1.0)
    acc = acc / l_safe[:, None]
    tl.store(O + b * o_sb + head * o_sh + y[:, None] * o_sy + x[:, None] * o_sx + dv_[None, :] * o_sd,
             acc.to(O.dtype.element_ty), mask=m_ok[:, None] & (dv_[None, :] < dv))
    tl.store(LSE + b * l_sb + head * l_sh + y * l_sy + x * l_sx, m_i + tl.log(l_safe), mask=m_ok)


@triton.jit
def _routed_bwd(
    Q, K, V, IDX, DO, LSE, DELTA, DQ, DK, DV,
    q_sb, q_sy, q_sx, q_sh, q_sd, k_sb, k_sy, k_sx, k_sh, k_sd, v_sb, v_sy, v_sx, v_sh, v_sd,
    o_sb, o_sy, o_sx, o_sh, o_sd, l_sb, l_sy, l_sx, l_sh, i_sb, i_sr, i_st,
    dq_sb, dq_sy, dq_sx, dq_sh, dq_sd, dk_sb, dk_sy, dk_sx, dk_sh, dk_sd, dv_sb, dv_sy, dv_sx, dv_sh, dv_sd,
    heads, n_regions, grid_w, topk, rqh, rqw, rkh, rkw, dqk, dv, scale,
    PACK: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_DQK: tl.constexpr,
    BLOCK_DV: tl.constexpr, PRECISION: tl.constexpr,
):
    """DO shares O's strides and DELTA LSE's; gradient buffers are fp32 with their own strides."""
    lq = rqh * rqw
    lk = rkh * rkw
    bh = tl.program_id(1)
    b = bh // heads
    head = bh % heads
    group, pq, m_ok, y, x = _query_setup(tl.program_id(0), n_regions, lq, rqh, rqw, grid_w, PACK, BLOCK_M)
    dk_ = tl.arange(0, BLOCK_DQK)
    dv_ = tl.arange(0, BLOCK_DV)
    q = tl.load(Q + b * q_sb + head * q_sh + y[:, None] * q_sy + x[:, None] * q_sx + dk_[None, :] * q_sd,
                mask=m_ok[:, None] & (dk_[None, :] < dqk), other=0.0)
    do = tl.load(DO + b * o_sb + head * o_sh + y[:, None] * o_sy + x[:, None] * o_sx + dv_[None, :] * o_sd,
                 mask=m_ok[:, None] & (dv_[None, :] < dv), other=0.0)
    l_off = b * l_sb + head * l_sh + y * l_sy + x * l_sx
    lse = tl.load(LSE + l_off, mask=m_ok, other=0.0)
    delta = tl.load(DELTA + l_off, mask=m_ok, other=0.0)
    dq = tl.zeros([BLOCK_M, BLOCK_DQK], tl.float32)
    for t in range(topk):
        for n0 in range(0, PACK * lk, BLOCK_N):
            n = n0 + tl.arange(0, BLOCK_N)
            pk, n_ok, ky, kx = _routed_keys(n, t, b, group, n_regions, lk, rkh, rkw, grid_w, IDX, i_sb, i_sr, i_st,
                                            PACK)
            k_mask = n_ok[:, None] & (dk_[None, :] < dqk)
            v_mask = n_ok[:, None] & (dv_[None, :] < dv)
            k = tl.load(K + b * k_sb + head * k_sh + ky[:, None] * k_sy + kx[:, None] * k_sx + dk_[None, :] * k_sd,
                        mask=k_mask, other=0.0)
            v = tl.load(V + b * v_sb + head * v_sh + ky[:, None] * v_sy + kx[:, None] * v_sx + dv_[None, :] * v_sd,
                        mask=v_mask, other=0.0)
            s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale
            valid = m_ok[:, None] & n_ok[None, :] & (pq[:, None] == pk[None, :])
            p = tl.where(valid, tl.exp(s - lse[:, None]), 0.0)
            dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)
            ds = p * (dp - delta[:, None])
            dq += tl.dot(ds.to(k.dtype), k, input_precision=PRECISION)
            tl.atomic_add(DV + b * dv_sb + head * dv_sh + ky[:, None] * dv_sy + kx[:, None] * dv_sx
                          + dv_[None, :] * dv_sd, tl.dot(tl.trans(p.to(do.dtype)), do, input_precision=PRECISION),
                          mask=v_mask)
            tl.atomic_add(DK + b * dk_sb + head * dk_sh + ky[:, None] * dk_sy + kx[:, None] * dk_sx
                          + dk_[None, :] * dk_sd,
                          tl.dot(tl.trans(ds.to(q.dtype)), q, input_precision=PRECISION) * scale, mask=k_mask)
    tl.store(DQ + b * dq_sb + head * dq_sh + y[:, None] * dq_sy + x[:, None] * dq_sx + dk_[None, :] * dq_sd,
             dq * scale, mask=m_ok[:, None] & (dk_[None, :] < dqk))


def _config(lq, lk, dqk, dv, backward=False):
    """Tiles, packing and warps per pass; chosen so no configuration spills registers on sm_80 / sm_90
    (tools/kernel_report.py checks every one)."""
    wide = max(dqk, dv) > 32
    if backward:
        block_m, keys, warps = tile(lq, 32), 32, 8
    elif large_tiles():  # pack several regions per program: the interpreter's cost is per program
        block_m, keys, warps = 256, 1024, 4
    else:
        block_m, keys, warps = tile(lq, 64), 32 if wide else 64, 8 if wide else 4
    pack = max(1, block_m // lq)
    block_n = tile(pack * lk, keys)
    if block_m * block_n < 32 * 32:  # 16 x 16 tiles (packed 1-token regions) fit 4 warps
        warps = 4
    return dict(PACK=pack, BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_DQK=tile(dqk, 256), BLOCK_DV=tile(dv, 256),
                num_warps=warps)


def _programs(regions, lq, cfg):
    return triton.cdiv(regions, cfg["PACK"]) * triton.cdiv(cfg["PACK"] * lq, cfg["BLOCK_M"])


def _launch_dims(q, k, grid, index):
    b, hq, wq, heads, dqk = q.shape
    sh, sw = grid
    rqh, rqw, rkh, rkw = hq // sh, wq // sw, k.shape[1] // sh, k.shape[2] // sw
    return b, heads, sh * sw, rqh, rqw, rkh, rkw


class _RoutedAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, index, grid, scale):
        b, heads, regions, rqh, rqw, rkh, rkw = _launch_dims(q, k, grid, index)
        dqk, dv = q.shape[-1], v.shape[-1]
        cfg = _config(rqh * rqw, rkh * rkw, dqk, dv)
        o = torch.empty(*q.shape[:4], dv, dtype=q.dtype, device=q.device)
        lse = torch.empty(q.shape[:4], dtype=torch.float32, device=q.device)
        _routed_fwd[grid_dims(_programs(regions, rqh * rqw, cfg), b * heads)](
            q, k, v, index, o, lse, *q.stride(), *k.stride(), *v.stride(), *o.stride(), *lse.stride(),
            *index.stride(), heads, regions, grid[1], index.shape[-1], rqh, rqw, rkh, rkw, dqk, dv, scale, **cfg,
            PRECISION=dot_precision(q.dtype), num_stages=2)
        ctx.save_for_backward(q, k, v, index, o, lse)
        ctx.grid, ctx.scale = grid, scale
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, index, o, lse = ctx.saved_tensors
        b, heads, regions, rqh, rqw, rkh, rkw = _launch_dims(q, k, ctx.grid, index)
        do = do if do.stride() == o.stride() else do.contiguous()
        delta = (do.float() * o.float()).sum(-1)
        dq, dk, dv = (torch.zeros(t.shape, dtype=torch.float32, device=t.device) for t in (q, k, v))
        cfg = _config(rqh * rqw, rkh * rkw, q.shape[-1], v.shape[-1], backward=True)
        _routed_bwd[grid_dims(_programs(regions, rqh * rqw, cfg), b * heads)](
            q, k, v, index, do, lse, delta, dq, dk, dv, *q.stride(), *k.stride(), *v.stride(), *do.stride(),
            *lse.stride(), *index.stride(), *dq.stride(), *dk.stride(), *dv.stride(), heads, regions, ctx.grid[1],
            index.shape[-1], rqh, rqw, rkh, rkw, q.shape[-1], v.shape[-1], ctx.scale, **cfg,
            PRECISION=dot_precision(q.dtype), num_stages=1)
        return dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), None, None, None


def routed_attention(q, k, v, index, grid, scale):
    check_dtype("routed_attention", q)
    return _RoutedAttention.apply(q, k, v, index, grid, scale)


# ----------------------------------------------------------------------------------------------------------
# ahead-of-time specs for tools/kernel_report.py

def aot_specs(dtypes=("fp16", "bf16")):
    shapes = {  # BiFormer-T at 224 (7x7 regions) and a detection-size stage 1 (1344 input, 16x16 regions)
        "biformer s1 8x8 tokens top1 d32": (64, 64, 32, 32),
        "biformer s2 4x4 tokens top4 d32": (16, 16, 32, 32),
        "biformer s3 2x2 tokens top16 d32": (4, 4, 32, 32),
        "biformer det s1 21x21 tokens d32": (441, 441, 32, 32),
        "region 1 token d64": (1, 1, 64, 64),
    }
    specs = []
    for name, (lq, lk, dqk, dv) in shapes.items():
        cfg, bcfg = _config(lq, lk, dqk, dv), _config(lq, lk, dqk, dv, backward=True)
        warps, bwarps = cfg.pop("num_warps"), bcfg.pop("num_warps")
        for dtype in dtypes:
            ptr = "*" + dtype
            const, bconst = dict(**cfg, PRECISION="ieee"), dict(**bcfg, PRECISION="ieee")
            types = dict(Q=ptr, K=ptr, V=ptr, IDX="*i64", O=ptr, LSE="*fp32", scale="fp32")
            specs.append(AotSpec("routed_fwd", f"{name} {cfg} warps={warps}", dtype, _routed_fwd,
                                 signature(_routed_fwd, types, const), const, num_warps=warps))
            btypes = dict(types, DO=ptr, DELTA="*fp32", DQ="*fp32", DK="*fp32", DV="*fp32")
            specs.append(AotSpec("routed_bwd", f"{name} {bcfg} warps={bwarps}", dtype, _routed_bwd,
                                 signature(_routed_bwd, btypes, bconst), bconst, num_warps=bwarps, num_stages=1))
    return specs
