"""Window attention in Triton (the semantics are ``visionattn.ops.window``'s; this matches its reference).

One program per (window, head, tile of the window's queries). Queries, keys and values are read where
they lie in the (B, H, W, heads, D) maps: the cyclic shift, the window partition and the halo are
index arithmetic, so nothing is rolled, partitioned or padded in memory. Swin's SW-MSA region mask is
computed from token coordinates (no (nW, L, L) mask is read); the relative position bias is read
through its broadcast strides. Online softmax over key tiles; Q, K, V read once, O written once when a
window's queries fit one tile (7x7 = 49 -> 64, 8x8 = 64).

Backward is query-centric too: each program recomputes its probabilities from the saved log-sum-exp,
owns its queries' dQ, and writes dK / dV directly when it owns the window's keys (no halo, one query
tile), else adds them atomically (halo windows overlap); d(bias) is added atomically through the bias's
broadcast strides, which sums it over the broadcast batch / window axes.
"""
import torch
import triton
import triton.language as tl

from ._common import AotSpec, check_dtype, dot_precision, grid_dims, large_tiles, signature, tile

SHIFT_MASK_VALUE = tl.constexpr(-100.0)  # timm's SW-MSA mask value


@triton.jit
def _key_coords(n, wi, wj, hk, wk, BH: tl.constexpr, BW: tl.constexpr, HALO_H: tl.constexpr,
                HALO_W: tl.constexpr, SH: tl.constexpr, SW: tl.constexpr):
    KWW: tl.constexpr = BW + 2 * HALO_W
    kys = wi * BH - HALO_H + n // KWW          # coordinates in the rolled (or halo-padded) map
    kxs = wj * BW - HALO_W + n % KWW
    inside = (kys >= 0) & (kys < hk) & (kxs >= 0) & (kxs < wk)
    if SH + SW > 0:
        ky = (kys + SH) % hk                   # shifted[y] = original[(y + shift) mod H]
        kx = (kxs + SW) % wk
    else:
        ky = kys
        kx = kxs
    return kys, kxs, ky, kx, inside


@triton.jit
def _region(ys, xs, h, w, WH: tl.constexpr, WW: tl.constexpr, SH: tl.constexpr, SW: tl.constexpr):
    """timm's SW-MSA region id of a rolled-map coordinate: three bands per axis."""
    ry = (ys >= h - WH).to(tl.int32) + (ys >= h - SH).to(tl.int32)
    rx = (xs >= w - WW).to(tl.int32) + (xs >= w - SW).to(tl.int32)
    return ry * 3 + rx


@triton.jit
def _scores(q, k, m, n, m_ok, n_ok, qys, qxs, kys, kxs, b, head, w, BIAS,
            b_sb, b_sh, b_sw, b_sq, b_sk, hq, wq, scale,
            WH: tl.constexpr, WW: tl.constexpr, SH: tl.constexpr, SW: tl.constexpr,
            HAS_BIAS: tl.constexpr, PRECISION: tl.constexpr):
    s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale
    if HAS_BIAS:
        bias = tl.load(BIAS + b * b_sb + head * b_sh + w * b_sw + m[:, None] * b_sq + n[None, :] * b_sk,
                       mask=m_ok[:, None] & n_ok[None, :], other=0.0)
        s += bias.to(tl.float32)
    if SH + SW > 0:
        same = _region(qys, qxs, hq, wq, WH, WW, SH, SW)[:, None] == _region(kys, kxs, hq, wq, WH, WW, SH, SW)[None, :]
        s = tl.where(same, s, s + SHIFT_MASK_VALUE)
    return tl.where(n_ok[None, :], s, float("-inf"))


@triton.jit
def _window_fwd(
    Q, K, V, BIAS, O, LSE,
    q_sb, q_sy, q_sx, q_sh, q_sd, k_sb, k_sy, k_sx, k_sh, k_sd, v_sb, v_sy, v_sx, v_sh, v_sd,
    o_sb, o_sy, o_sx, o_sh, o_sd, l_sb, l_sy, l_sx, l_sh, b_sb, b_sh, b_sw, b_sq, b_sk,
    n_windows, grid_w, hq, wq, hk, wk, dqk, dv, scale,
    WH: tl.constexpr, WW: tl.constexpr, BH: tl.constexpr, BW: tl.constexpr,
    HALO_H: tl.constexpr, HALO_W: tl.constexpr, SH: tl.constexpr, SW: tl.constexpr, HAS_BIAS: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_DQK: tl.constexpr, BLOCK_DV: tl.constexpr,
    PRECISION: tl.constexpr,
):
    LQ: tl.constexpr = WH * WW
    LK: tl.constexpr = (BH + 2 * HALO_H) * (BW + 2 * HALO_W)
    pid = tl.program_id(0)
    head = tl.program_id(1)
    b = pid // n_windows
    w = pid % n_windows
    wi = w // grid_w
    wj = w % grid_w
    m = tl.program_id(2) * BLOCK_M + tl.arange(0, BLOCK_M)
    m_ok = m < LQ
    qys = wi * WH + m // WW
    qxs = wj * WW + m % WW
    qy = (qys + SH) % hq
    qx = (qxs + SW) % wq
    dk_ = tl.arange(0, BLOCK_DQK)
    dv_ = tl.arange(0, BLOCK_DV)
    q = tl.load(Q + b * q_sb + head * q_sh + qy[:, None] * q_sy + qx[:, None] * q_sx + dk_[None, :] * q_sd,
                mask=m_ok[:, None] & (dk_[None, :] < dqk), other=0.0)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_DV], tl.float32)
    for n0 in range(0, LK, BLOCK_N):
        n = n0 + tl.arange(0, BLOCK_N)
        n_ok = n < LK
        kys, kxs, ky, kx, inside = _key_coords(n, wi, wj, hk, wk, BH, BW, HALO_H, HALO_W, SH, SW)
        kv_ok = n_ok & inside          # outside the map: zero keys / values that still take part
        k = tl.load(K + b * k_sb + head * k_sh + ky[:, None] * k_sy + kx[:, None] * k_sx + dk_[None, :] * k_sd,
                    mask=kv_ok[:, None] & (dk_[None, :] < dqk), other=0.0)
        s = _scores(q, k, m, n, m_ok, n_ok, qys, qxs, kys, kxs, b, head, w, BIAS, b_sb, b_sh, b_sw, b_sq, b_sk,
                    hq, wq, scale, WH, WW, SH, SW, HAS_BIAS, PRECISION)
        m_new = tl.maximum(m_i, tl.max(s, 1))
        alpha = tl.exp(m_i - m_new)
        p = tl.exp(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(V + b * v_sb + head * v_sh + ky[:, None] * v_sy + kx[:, None] * v_sx + dv_[None, :] * v_sd,
                    mask=kv_ok[:, None] & (dv_[None, :] < dv), other=0.0)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=PRECISION)
        m_i = m_new
    acc = acc / l_i[:, None]
    tl.store(O + b * o_sb + head * o_sh + qy[:, None] * o_sy + qx[:, None] * o_sx + dv_[None, :] * o_sd,
             acc.to(O.dtype.element_ty), mask=m_ok[:, None] & (dv_[None, :] < dv))
    tl.store(LSE + b * l_sb + head * l_sh + qy * l_sy + qx * l_sx, m_i + tl.log(l_i), mask=m_ok)


@triton.jit
def _window_bwd(
    Q, K, V, BIAS, DO, LSE, DELTA, DQ, DK, DV, DBIAS,
    q_sb, q_sy, q_sx, q_sh, q_sd, k_sb, k_sy, k_sx, k_sh, k_sd, v_sb, v_sy, v_sx, v_sh, v_sd,
    o_sb, o_sy, o_sx, o_sh, o_sd, l_sb, l_sy, l_sx, l_sh, b_sb, b_sh, b_sw, b_sq, b_sk,
    dq_sb, dq_sy, dq_sx, dq_sh, dq_sd, dk_sb, dk_sy, dk_sx, dk_sh, dk_sd, dv_sb, dv_sy, dv_sx, dv_sh, dv_sd,
    db_sb, db_sh, db_sw, db_sq, db_sk,
    n_windows, grid_w, hq, wq, hk, wk, dqk, dv, scale,
    WH: tl.constexpr, WW: tl.constexpr, BH: tl.constexpr, BW: tl.constexpr,
    HALO_H: tl.constexpr, HALO_W: tl.constexpr, SH: tl.constexpr, SW: tl.constexpr, HAS_BIAS: tl.constexpr,
    BIAS_GRAD: tl.constexpr, KV_ATOMIC: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_DQK: tl.constexpr, BLOCK_DV: tl.constexpr,
    PRECISION: tl.constexpr,
):
    """DO shares O's strides and DELTA LSE's; the gradient buffers are fp32 with their own strides."""
    LQ: tl.constexpr = WH * WW
    LK: tl.constexpr = (BH + 2 * HALO_H) * (BW + 2 * HALO_W)
    pid = tl.program_id(0)
    head = tl.program_id(1)
    b = pid // n_windows
    w = pid % n_windows
    wi = w // grid_w
    wj = w % grid_w
    m = tl.program_id(2) * BLOCK_M + tl.arange(0, BLOCK_M)
    m_ok = m < LQ
    qys = wi * WH + m // WW
    qxs = wj * WW + m % WW
    qy = (qys + SH) % hq
    qx = (qxs + SW) % wq
    dk_ = tl.arange(0, BLOCK_DQK)
    dv_ = tl.arange(0, BLOCK_DV)
    q = tl.load(Q + b * q_sb + head * q_sh + qy[:, None] * q_sy + qx[:, None] * q_sx + dk_[None, :] * q_sd,
                mask=m_ok[:, None] & (dk_[None, :] < dqk), other=0.0)
    do = tl.load(DO + b * o_sb + head * o_sh + qy[:, None] * o_sy + qx[:, None] * o_sx + dv_[None, :] * o_sd,
                 mask=m_ok[:, None] & (dv_[None, :] < dv), other=0.0)
    l_off = b * l_sb + head * l_sh + qy * l_sy + qx * l_sx
    lse = tl.load(LSE + l_off, mask=m_ok, other=0.0)
    delta = tl.load(DELTA + l_off, mask=m_ok, other=0.0)
    dq = tl.zeros([BLOCK_M, BLOCK_DQK], tl.float32)
    for n0 in range(0, LK, BLOCK_N):
        n = n0 + tl.arange(0, BLOCK_N)
        n_ok = n < LK
        kys, kxs, ky, kx, inside = _key_coords(n, wi, wj, hk, wk, BH, BW, HALO_H, HALO_W, SH, SW)
        kv_ok = n_ok & inside
        k_mask = kv_ok[:, None] & (dk_[None, :] < dqk)
        v_mask = kv_ok[:, None] & (dv_[None, :] < dv)
        k = tl.load(K + b * k_sb + head * k_sh + ky[:, None] * k_sy + kx[:, None] * k_sx + dk_[None, :] * k_sd,
                    mask=k_mask, other=0.0)
        v = tl.load(V + b * v_sb + head * v_sh + ky[:, None] * v_sy + kx[:, None] * v_sx + dv_[None, :] * v_sd,
                    mask=v_mask, other=0.0)
        dk_off = b * dk_sb + head * dk_sh + ky[:, None] * dk_sy + kx[:, None] * dk_sx + dk_[None, :] * dk_sd
        dv_off = b * dv_sb + head * dv_sh + ky[:, None] * dv_sy + kx[:, None] * dv_sx + dv_[None, :] * dv_sd
        s = _scores(q, k, m, n, m_ok, n_ok, qys, qxs, kys, kxs, b, head, w, BIAS, b_sb, b_sh, b_sw, b_sq, b_sk,
                    hq, wq, scale, WH, WW, SH, SW, HAS_BIAS, PRECISION)
        p = tl.exp(s - lse[:, None])
        p = tl.where(m_ok[:, None] & n_ok[None, :], p, 0.0)
        dv_tile = tl.dot(tl.trans(p.to(do.dtype)), do, input_precision=PRECISION)
        dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k, input_precision=PRECISION)
        dk_tile = tl.dot(tl.trans(ds.to(q.dtype)), q, input_precision=PRECISION) * scale
        if KV_ATOMIC:
            tl.atomic_add(DK + dk_off, dk_tile, mask=k_mask)
            tl.atomic_add(DV + dv_off, dv_tile, mask=v_mask)
        else:
            tl.store(DK + dk_off, dk_tile, mask=k_mask)
            tl.store(DV + dv_off, dv_tile, mask=v_mask)
        if BIAS_GRAD:
            tl.atomic_add(DBIAS + b * db_sb + head * db_sh + w * db_sw + m[:, None] * db_sq + n[None, :] * db_sk,
                          ds, mask=m_ok[:, None] & n_ok[None, :])
    tl.store(DQ + b * dq_sb + head * dq_sh + qy[:, None] * dq_sy + qx[:, None] * dq_sx + dk_[None, :] * dq_sd,
             dq * scale, mask=m_ok[:, None] & (dk_[None, :] < dqk))


def _config(g, backward=False):
    """Tiles and warps per pass; chosen so no configuration spills registers on sm_80 / sm_90
    (tools/kernel_report.py checks every one)."""
    wide = max(g.dim_qk, g.dim_v) > 32
    if backward:  # five live tile-sized fp32 matrices (S, P, dP, dS, and the dK / dV products)
        block_m, block_n, warps = tile(g.lq, 32), tile(g.lk, 32), 8
    elif large_tiles():
        block_m, block_n, warps = tile(g.lq, 256), tile(g.lk, 256), 4
    else:
        block_m, block_n, warps = tile(g.lq, 64), tile(g.lk, 32 if wide else 64), 8 if wide else 4
    return dict(BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_DQK=tile(g.dim_qk, 256), BLOCK_DV=tile(g.dim_v, 256),
                num_warps=warps)


def _geometry_constexprs(g, has_bias):
    return dict(WH=g.window[0], WW=g.window[1], BH=g.block[0], BW=g.block[1], HALO_H=g.halo[0], HALO_W=g.halo[1],
                SH=g.shift[0], SW=g.shift[1], HAS_BIAS=has_bias)


def _bias5(bias, g):
    """The bias as a 5-D (B, heads, nW, Lq, Lk) view with 0 strides on broadcast dims."""
    b5 = bias.reshape((1,) * (5 - bias.dim()) + tuple(bias.shape))
    return b5, b5.expand(g.bias_shape)


class _WindowAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, bias, g, scale):
        b, nh = g.batch, g.heads
        o = torch.empty(*q.shape[:4], g.dim_v, dtype=q.dtype, device=q.device)
        lse = torch.empty(q.shape[:4], dtype=torch.float32, device=q.device)
        has_bias = bias is not None
        bias_full = _bias5(bias, g)[1] if has_bias else q
        bias_strides = bias_full.stride() if has_bias else (0,) * 5
        cfg = _config(g)
        grid = grid_dims(b * g.num_windows, nh, triton.cdiv(g.lq, cfg["BLOCK_M"]))
        _window_fwd[grid](
            q, k, v, bias_full, o, lse, *q.stride(), *k.stride(), *v.stride(), *o.stride(), *lse.stride(),
            *bias_strides, g.num_windows, g.grid[1], *g.q_size, *g.k_size, g.dim_qk, g.dim_v, scale,
            **_geometry_constexprs(g, has_bias), **cfg, PRECISION=dot_precision(q.dtype), num_stages=2)
        ctx.save_for_backward(q, k, v, bias, o, lse)
        ctx.g, ctx.scale = g, scale
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, bias, o, lse = ctx.saved_tensors
        g, scale = ctx.g, ctx.scale
        delta = (do.float() * o.float()).sum(-1)
        dq = torch.zeros(q.shape, dtype=torch.float32, device=q.device)
        dk = torch.zeros(k.shape, dtype=torch.float32, device=q.device)
        dv = torch.zeros(v.shape, dtype=torch.float32, device=q.device)
        has_bias = bias is not None
        bias_grad = has_bias and ctx.needs_input_grad[3]
        bias_full = _bias5(bias, g)[1] if has_bias else q
        dbias = dbias_full = None
        if bias_grad:
            dbias = torch.zeros(_bias5(bias, g)[0].shape, dtype=torch.float32, device=q.device)
            dbias_full = dbias.expand(g.bias_shape)
        cfg = _config(g, backward=True)
        q_tiles = triton.cdiv(g.lq, cfg["BLOCK_M"])
        grid = grid_dims(g.batch * g.num_windows, g.heads, q_tiles)
        # the output strides describe DO, the lse strides DELTA: make them match
        do = do if do.stride() == o.stride() else do.contiguous()
        delta = delta if delta.stride() == lse.stride() else delta.contiguous()
        _window_bwd[grid](
            q, k, v, bias_full, do, lse, delta, dq, dk, dv, dbias_full if bias_grad else dq,
            *q.stride(), *k.stride(), *v.stride(), *do.stride(), *lse.stride(),
            *(bias_full.stride() if has_bias else (0,) * 5), *dq.stride(), *dk.stride(), *dv.stride(),
            *(dbias_full.stride() if bias_grad else (0,) * 5),
            g.num_windows, g.grid[1], *g.q_size, *g.k_size, g.dim_qk, g.dim_v, scale,
            **_geometry_constexprs(g, has_bias), BIAS_GRAD=bias_grad,
            KV_ATOMIC=bool(any(g.halo)) or q_tiles > 1, **cfg, PRECISION=dot_precision(q.dtype), num_stages=1)
        dbias_out = dbias.reshape(bias.shape).to(bias.dtype) if bias_grad else None
        return dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), dbias_out, None, None


def window_attention(q, k, v, g, bias, scale):
    check_dtype("window_attention", q)
    return _WindowAttention.apply(q, k, v, bias, g, scale)


# ----------------------------------------------------------------------------------------------------------
# ahead-of-time specs for tools/kernel_report.py: the configurations the op launches at backbone shapes

def aot_specs(dtypes=("fp16", "bf16")):
    from types import SimpleNamespace
    shapes = {  # name -> geometry the families launch
        "swin 7x7 shift3 d32": dict(window=(7, 7), block=(7, 7), halo=(0, 0), shift=(3, 3), dim_qk=32, dim_v=32),
        "swin 8x8 d32": dict(window=(8, 8), block=(8, 8), halo=(0, 0), shift=(0, 0), dim_qk=32, dim_v=32),
        "window 12x12 d32": dict(window=(12, 12), block=(12, 12), halo=(0, 0), shift=(0, 0), dim_qk=32, dim_v=32),
        "window 16x16 shift8 d64": dict(window=(16, 16), block=(16, 16), halo=(0, 0), shift=(8, 8), dim_qk=64,
                                        dim_v=64),
        "halonet b8 h2 d16/d32": dict(window=(8, 8), block=(8, 8), halo=(2, 2), shift=(0, 0), dim_qk=16, dim_v=32),
        "halonet b8 h3 s2 d16": dict(window=(4, 4), block=(8, 8), halo=(3, 3), shift=(0, 0), dim_qk=16, dim_v=16),
        "litv2 hifi 2x2 d32": dict(window=(2, 2), block=(2, 2), halo=(0, 0), shift=(0, 0), dim_qk=32, dim_v=32),
    }
    specs = []
    for name, s in shapes.items():
        g = SimpleNamespace(lq=s["window"][0] * s["window"][1],
                            lk=(s["block"][0] + 2 * s["halo"][0]) * (s["block"][1] + 2 * s["halo"][1]),
                            dim_qk=s["dim_qk"], dim_v=s["dim_v"], window=s["window"], block=s["block"],
                            halo=s["halo"], shift=s["shift"])
        cfg, bcfg = _config(g), _config(g, backward=True)
        warps, bwarps = cfg.pop("num_warps"), bcfg.pop("num_warps")
        for dtype in dtypes:
            ptr = "*" + dtype
            const = dict(**_geometry_constexprs(g, True), **cfg, PRECISION="ieee")
            types = dict(Q=ptr, K=ptr, V=ptr, BIAS="*fp32", O=ptr, LSE="*fp32", scale="fp32")
            specs.append(AotSpec("window_fwd", f"{name} {cfg} warps={warps}", dtype, _window_fwd,
                                 signature(_window_fwd, types, const), const, num_warps=warps, num_stages=2))
            bconst = dict(**_geometry_constexprs(g, True), **bcfg, PRECISION="ieee", BIAS_GRAD=True,
                          KV_ATOMIC=bool(any(g.halo)) or g.lq > bcfg["BLOCK_M"])
            btypes = dict(types, DO=ptr, DELTA="*fp32", DQ="*fp32", DK="*fp32", DV="*fp32", DBIAS="*fp32")
            specs.append(AotSpec("window_bwd", f"{name} {bcfg} warps={bwarps}", dtype, _window_bwd,
                                 signature(_window_bwd, btypes, bconst), bconst, num_warps=bwarps, num_stages=1))
    return specs
