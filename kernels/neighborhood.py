"""2-D neighborhood attention in Triton (semantics: ``visionattn.ops.neighborhood``).

Fused kernel: a dilated map is d_h x d_w interleaved sub-maps (dilation groups) in which the
neighborhood is a plain k x k window, so each program takes a TY x TX tile of one group's queries. The
keys of all its windows lie in a (TY + kh - 1) x (TX + kw - 1) region of that group (clamped windows
move by at most one token per query), which the program walks in tiles with tl.dot, keeping only the
keys inside each query's own window (no score map beyond a tile is ever materialised), then walks the
extra tokens in the same online softmax. Window starts, border masks and relative-position bias indices
are computed from coordinates.

Unfused kernels (``neighborhood_scores`` / ``neighborhood_aggregate``): one query per row, the kh * kw
slots gathered one by one (memory bound; TransNeXt changes the weights between the two).

Backward: query-centric; each program owns its queries' dQ (and d(weights)), and adds dK / dV /
d(extra K, V) / d(bias) atomically in fp32 (neighboring windows share keys).
"""
import torch
import triton
import triton.language as tl

from ._common import AotSpec, check_dtype, dot_precision, grid_dims, large_tiles, signature, tile


@triton.jit
def _window_start(i, length, K: tl.constexpr, CLAMP: tl.constexpr):
    """Start of the window of group coordinate i on a group axis of `length` tokens."""
    if CLAMP:
        return tl.minimum(tl.maximum(i - K // 2, 0), length - K)
    else:
        return i - K // 2


@triton.jit
def _tile_setup(pid, h, w, TY: tl.constexpr, TX: tl.constexpr, DH: tl.constexpr, DW: tl.constexpr,
                KH: tl.constexpr, KW: tl.constexpr, CLAMP: tl.constexpr):
    tiles_y = tl.cdiv(tl.cdiv(h, DH), TY)
    tiles_x = tl.cdiv(tl.cdiv(w, DW), TX)
    tx = pid % tiles_x
    rest = pid // tiles_x
    ty = rest % tiles_y
    rest = rest // tiles_y
    gx = rest % DW
    gy = rest // DW
    len_y = (h - gy + DH - 1) // DH       # this group's length per axis
    len_x = (w - gx + DW - 1) // DW
    m = tl.arange(0, TY * TX)
    qgy = ty * TY + m // TX              # group coordinates of the tile's queries
    qgx = tx * TX + m % TX
    m_ok = (qgy < len_y) & (qgx < len_x)
    sy = _window_start(qgy, len_y, KH, CLAMP)
    sx = _window_start(qgx, len_x, KW, CLAMP)
    ry0 = _window_start(ty * TY, len_y, KH, CLAMP)   # the key region of the whole tile
    rx0 = _window_start(tx * TX, len_x, KW, CLAMP)
    return gy, gx, len_y, len_x, qgy, qgx, m_ok, sy, sx, ry0, rx0


@triton.jit
def _region_keys(n, ry0, rx0, len_y, len_x, RW: tl.constexpr, RN: tl.constexpr):
    kgy = ry0 + n // RW
    kgx = rx0 + n % RW
    k_ok = (n < RN) & (kgy >= 0) & (kgy < len_y) & (kgx >= 0) & (kgx < len_x)
    return kgy, kgx, k_ok


@triton.jit
def _local_scores(q, k, qgy, qgx, kgy, kgx, sy, sx, m_ok, k_ok, head, RPB, r_sh, r_sy, r_sx, scale,
                  KH: tl.constexpr, KW: tl.constexpr, HAS_RPB: tl.constexpr, PRECISION: tl.constexpr):
    in_win = ((kgy[None, :] >= sy[:, None]) & (kgy[None, :] < sy[:, None] + KH)
              & (kgx[None, :] >= sx[:, None]) & (kgx[None, :] < sx[:, None] + KW) & k_ok[None, :] & m_ok[:, None])
    s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale
    if HAS_RPB:
        by = kgy[None, :] - qgy[:, None] + KH - 1
        bx = kgx[None, :] - qgx[:, None] + KW - 1
        s += tl.load(RPB + head * r_sh + by * r_sy + bx * r_sx, mask=in_win, other=0.0).to(tl.float32)
    return tl.where(in_win, s, float("-inf")), in_win


@triton.jit
def _online(m_i, l_i, acc, s, v, PRECISION: tl.constexpr):
    m_new = tl.maximum(m_i, tl.max(s, 1))
    m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)   # rows with nothing valid yet
    alpha = tl.exp(m_i - m_safe)
    p = tl.exp(s - m_safe[:, None])
    l_i = l_i * alpha + tl.sum(p, 1)
    acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=PRECISION)
    return m_new, l_i, acc


@triton.jit
def _na_fwd(
    Q, K, V, RPB, EK, EV, EB, O, LSE,
    q_sb, q_sy, q_sx, q_sh, q_sd, k_sb, k_sy, k_sx, k_sh, k_sd, v_sb, v_sy, v_sx, v_sh, v_sd,
    o_sb, o_sy, o_sx, o_sh, o_sd, l_sb, l_sy, l_sx, l_sh, r_sh, r_sy, r_sx,
    ek_sb, ek_sn, ek_sh, ek_sd, ev_sb, ev_sn, ev_sh, ev_sd, eb_sb, eb_sy, eb_sx, eb_sh, eb_sn,
    heads, h, w, dqk, dv, n_extra, scale,
    KH: tl.constexpr, KW: tl.constexpr, DH: tl.constexpr, DW: tl.constexpr, CLAMP: tl.constexpr,
    TY: tl.constexpr, TX: tl.constexpr, HAS_RPB: tl.constexpr, HAS_EXTRA: tl.constexpr, HAS_EB: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_DQK: tl.constexpr, BLOCK_DV: tl.constexpr,
    PRECISION: tl.constexpr,
):
    RW: tl.constexpr = TX + KW - 1
    RN: tl.constexpr = (TY + KH - 1) * RW
    bh = tl.program_id(1)
    b = bh // heads
    head = bh % heads
    gy, gx, len_y, len_x, qgy, qgx, m_ok, sy, sx, ry0, rx0 = _tile_setup(tl.program_id(0), h, w, TY, TX, DH, DW,
                                                                          KH, KW, CLAMP)
    qy = gy + DH * qgy
    qx = gx + DW * qgx
    dk_ = tl.arange(0, BLOCK_DQK)
    dv_ = tl.arange(0, BLOCK_DV)
    q = tl.load(Q + b * q_sb + head * q_sh + qy[:, None] * q_sy + qx[:, None] * q_sx + dk_[None, :] * q_sd,
                mask=m_ok[:, None] & (dk_[None, :] < dqk), other=0.0)
    m_i = tl.full([TY * TX], float("-inf"), tl.float32)
    l_i = tl.zeros([TY * TX], tl.float32)
    acc = tl.zeros([TY * TX, BLOCK_DV], tl.float32)
    for n0 in range(0, RN, BLOCK_N):
        n = n0 + tl.arange(0, BLOCK_N)
        kgy, kgx, k_ok = _region_keys(n, ry0, rx0, len_y, len_x, RW, RN)
        ky = gy + DH * kgy
        kx = gx + DW * kgx
        k = tl.load(K + b * k_sb + head * k_sh + ky[:, None] * k_sy + kx[:, None] * k_sx + dk_[None, :] * k_sd,
                    mask=k_ok[:, None] & (dk_[None, :] < dqk), other=0.0)
        v = tl.load(V + b * v_sb + head * v_sh + ky[:, None] * v_sy + kx[:, None] * v_sx + dv_[None, :] * v_sd,
                    mask=k_ok[:, None] & (dv_[None, :] < dv), other=0.0)
        s, _ = _local_scores(q, k, qgy, qgx, kgy, kgx, sy, sx, m_ok, k_ok, head, RPB, r_sh, r_sy, r_sx, scale,
                             KH, KW, HAS_RPB, PRECISION)
        m_i, l_i, acc = _online(m_i, l_i, acc, s, v, PRECISION)
    if HAS_EXTRA:
        for e0 in range(0, n_extra, BLOCK_E):
            e = e0 + tl.arange(0, BLOCK_E)
            e_ok = e < n_extra
            ek = tl.load(EK + b * ek_sb + e[:, None] * ek_sn + head * ek_sh + dk_[None, :] * ek_sd,
                         mask=e_ok[:, None] & (dk_[None, :] < dqk), other=0.0)
            ev = tl.load(EV + b * ev_sb + e[:, None] * ev_sn + head * ev_sh + dv_[None, :] * ev_sd,
                         mask=e_ok[:, None] & (dv_[None, :] < dv), other=0.0)
            s = tl.dot(q, tl.trans(ek), input_precision=PRECISION) * scale
            if HAS_EB:
                s += tl.load(EB + b * eb_sb + qy[:, None] * eb_sy + qx[:, None] * eb_sx + head * eb_sh
                             + e[None, :] * eb_sn, mask=m_ok[:, None] & e_ok[None, :], other=0.0).to(tl.float32)
            s = tl.where(e_ok[None, :], s, float("-inf"))
            m_i, l_i, acc = _online(m_i, l_i, acc, s, ev, PRECISION)
    l_safe = tl.where(m_ok, l_i, 1.0)    # tile rows past the map see no keys
    acc = acc / l_safe[:, None]
    tl.store(O + b * o_sb + head * o_sh + qy[:, None] * o_sy + qx[:, None] * o_sx + dv_[None, :] * o_sd,
             acc.to(O.dtype.element_ty), mask=m_ok[:, None] & (dv_[None, :] < dv))
    tl.store(LSE + b * l_sb + head * l_sh + qy * l_sy + qx * l_sx, m_i + tl.log(l_safe), mask=m_ok)


@triton.jit
def _na_bwd(
    Q, K, V, RPB, EK, EV, EB, DO, LSE, DELTA, DQ, DK, DV, DRPB, DEK, DEV, DEB,
    q_sb, q_sy, q_sx, q_sh, q_sd, k_sb, k_sy, k_sx, k_sh, k_sd, v_sb, v_sy, v_sx, v_sh, v_sd,
    o_sb, o_sy, o_sx, o_sh, o_sd, l_sb, l_sy, l_sx, l_sh, r_sh, r_sy, r_sx,
    ek_sb, ek_sn, ek_sh, ek_sd, ev_sb, ev_sn, ev_sh, ev_sd, eb_sb, eb_sy, eb_sx, eb_sh, eb_sn,
    dq_sb, dq_sy, dq_sx, dq_sh, dq_sd, dk_sb, dk_sy, dk_sx, dk_sh, dk_sd, dv_sb, dv_sy, dv_sx, dv_sh, dv_sd,
    dek_sb, dek_sn, dek_sh, dek_sd, dev_sb, dev_sn, dev_sh, dev_sd, deb_sb, deb_sy, deb_sx, deb_sh, deb_sn,
    heads, h, w, dqk, dv, n_extra, scale,
    KH: tl.constexpr, KW: tl.constexpr, DH: tl.constexpr, DW: tl.constexpr, CLAMP: tl.constexpr,
    TY: tl.constexpr, TX: tl.constexpr, HAS_RPB: tl.constexpr, HAS_EXTRA: tl.constexpr, HAS_EB: tl.constexpr,
    RPB_GRAD: tl.constexpr, EB_GRAD: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_DQK: tl.constexpr, BLOCK_DV: tl.constexpr,
    PRECISION: tl.constexpr,
):
    """DO shares O's strides, DELTA LSE's, DRPB the (contiguous) table's; gradient buffers are fp32."""
    RW: tl.constexpr = TX + KW - 1
    RN: tl.constexpr = (TY + KH - 1) * RW
    bh = tl.program_id(1)
    b = bh // heads
    head = bh % heads
    gy, gx, len_y, len_x, qgy, qgx, m_ok, sy, sx, ry0, rx0 = _tile_setup(tl.program_id(0), h, w, TY, TX, DH, DW,
                                                                          KH, KW, CLAMP)
    qy = gy + DH * qgy
    qx = gx + DW * qgx
    dk_ = tl.arange(0, BLOCK_DQK)
    dv_ = tl.arange(0, BLOCK_DV)
    q = tl.load(Q + b * q_sb + head * q_sh + qy[:, None] * q_sy + qx[:, None] * q_sx + dk_[None, :] * q_sd,
                mask=m_ok[:, None] & (dk_[None, :] < dqk), other=0.0)
    do = tl.load(DO + b * o_sb + head * o_sh + qy[:, None] * o_sy + qx[:, None] * o_sx + dv_[None, :] * o_sd,
                 mask=m_ok[:, None] & (dv_[None, :] < dv), other=0.0)
    l_off = b * l_sb + head * l_sh + qy * l_sy + qx * l_sx
    lse = tl.load(LSE + l_off, mask=m_ok, other=0.0)
    delta = tl.load(DELTA + l_off, mask=m_ok, other=0.0)
    dq = tl.zeros([TY * TX, BLOCK_DQK], tl.float32)
    for n0 in range(0, RN, BLOCK_N):
        n = n0 + tl.arange(0, BLOCK_N)
        kgy, kgx, k_ok = _region_keys(n, ry0, rx0, len_y, len_x, RW, RN)
        ky = gy + DH * kgy
        kx = gx + DW * kgx
        k_mask = k_ok[:, None] & (dk_[None, :] < dqk)
        v_mask = k_ok[:, None] & (dv_[None, :] < dv)
        k = tl.load(K + b * k_sb + head * k_sh + ky[:, None] * k_sy + kx[:, None] * k_sx + dk_[None, :] * k_sd,
                    mask=k_mask, other=0.0)
        v = tl.load(V + b * v_sb + head * v_sh + ky[:, None] * v_sy + kx[:, None] * v_sx + dv_[None, :] * v_sd,
                    mask=v_mask, other=0.0)
        s, in_win = _local_scores(q, k, qgy, qgx, kgy, kgx, sy, sx, m_ok, k_ok, head, RPB, r_sh, r_sy, r_sx,
                                  scale, KH, KW, HAS_RPB, PRECISION)
        p = tl.where(in_win, tl.exp(s - lse[:, None]), 0.0)
        dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k, input_precision=PRECISION)
        tl.atomic_add(DV + b * dv_sb + head * dv_sh + ky[:, None] * dv_sy + kx[:, None] * dv_sx + dv_[None, :] * dv_sd,
                      tl.dot(tl.trans(p.to(do.dtype)), do, input_precision=PRECISION), mask=v_mask)
        tl.atomic_add(DK + b * dk_sb + head * dk_sh + ky[:, None] * dk_sy + kx[:, None] * dk_sx + dk_[None, :] * dk_sd,
                      tl.dot(tl.trans(ds.to(q.dtype)), q, input_precision=PRECISION) * scale, mask=k_mask)
        if RPB_GRAD:
            by = kgy[None, :] - qgy[:, None] + KH - 1
            bx = kgx[None, :] - qgx[:, None] + KW - 1
            tl.atomic_add(DRPB + head * r_sh + by * r_sy + bx * r_sx, ds, mask=in_win)
    if HAS_EXTRA:
        for e0 in range(0, n_extra, BLOCK_E):
            e = e0 + tl.arange(0, BLOCK_E)
            e_ok = e < n_extra
            ek_mask = e_ok[:, None] & (dk_[None, :] < dqk)
            ev_mask = e_ok[:, None] & (dv_[None, :] < dv)
            ek = tl.load(EK + b * ek_sb + e[:, None] * ek_sn + head * ek_sh + dk_[None, :] * ek_sd, mask=ek_mask,
                         other=0.0)
            ev = tl.load(EV + b * ev_sb + e[:, None] * ev_sn + head * ev_sh + dv_[None, :] * ev_sd, mask=ev_mask,
                         other=0.0)
            s = tl.dot(q, tl.trans(ek), input_precision=PRECISION) * scale
            if HAS_EB:
                s += tl.load(EB + b * eb_sb + qy[:, None] * eb_sy + qx[:, None] * eb_sx + head * eb_sh
                             + e[None, :] * eb_sn, mask=m_ok[:, None] & e_ok[None, :], other=0.0).to(tl.float32)
            valid = m_ok[:, None] & e_ok[None, :]
            p = tl.where(valid, tl.exp(s - lse[:, None]), 0.0)
            dp = tl.dot(do, tl.trans(ev), input_precision=PRECISION)
            ds = p * (dp - delta[:, None])
            dq += tl.dot(ds.to(ek.dtype), ek, input_precision=PRECISION)
            tl.atomic_add(DEV + b * dev_sb + e[:, None] * dev_sn + head * dev_sh + dv_[None, :] * dev_sd,
                          tl.dot(tl.trans(p.to(do.dtype)), do, input_precision=PRECISION), mask=ev_mask)
            tl.atomic_add(DEK + b * dek_sb + e[:, None] * dek_sn + head * dek_sh + dk_[None, :] * dek_sd,
                          tl.dot(tl.trans(ds.to(q.dtype)), q, input_precision=PRECISION) * scale, mask=ek_mask)
            if EB_GRAD:
                tl.atomic_add(DEB + b * deb_sb + qy[:, None] * deb_sy + qx[:, None] * deb_sx + head * deb_sh
                              + e[None, :] * deb_sn, ds, mask=valid)
    tl.store(DQ + b * dq_sb + head * dq_sh + qy[:, None] * dq_sy + qx[:, None] * dq_sx + dk_[None, :] * dq_sd,
             dq * scale, mask=m_ok[:, None] & (dk_[None, :] < dqk))


# ----------------------------------------------------------------------------------------------------------
# unfused primitives: one query per row, slot by slot

@triton.jit
def _slot_key(i, length, t, K: tl.constexpr, D: tl.constexpr, CLAMP: tl.constexpr):
    """Map coordinate, validity and bias index of slot t of the windows of map coordinates i."""
    if CLAMP:
        g = i % D
        glen = (length - g + D - 1) // D
        start = tl.minimum(tl.maximum(i // D - K // 2, 0), glen - K)
        key = g + D * (start + t)
        ok = i >= 0
    else:
        key = i + D * (t - K // 2)
        ok = (key >= 0) & (key < length)
    bias_index = (key - i) // D + K - 1
    return key, ok, bias_index


@triton.jit
def _scores_fwd(Q, K, RPB, S, q_sb, q_sy, q_sx, q_sh, q_sd, k_sb, k_sy, k_sx, k_sh, k_sd,
                s_sb, s_sy, s_sx, s_sh, s_st, r_sh, r_sy, r_sx, heads, h, w, dqk, scale,
                KH: tl.constexpr, KW: tl.constexpr, DH: tl.constexpr, DW: tl.constexpr, CLAMP: tl.constexpr,
                HAS_RPB: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    bh = tl.program_id(1)
    b = bh // heads
    head = bh % heads
    m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    m_ok = m < h * w
    y = m // w
    x = m % w
    d = tl.arange(0, BLOCK_D)
    d_ok = d < dqk
    q = tl.load(Q + b * q_sb + head * q_sh + y[:, None] * q_sy + x[:, None] * q_sx + d[None, :] * q_sd,
                mask=m_ok[:, None] & d_ok[None, :], other=0.0).to(tl.float32)
    for t in range(KH * KW):
        ky, oky, by = _slot_key(y, h, t // KW, KH, DH, CLAMP)
        kx, okx, bx = _slot_key(x, w, t % KW, KW, DW, CLAMP)
        ok = m_ok & oky & okx
        k = tl.load(K + b * k_sb + head * k_sh + ky[:, None] * k_sy + kx[:, None] * k_sx + d[None, :] * k_sd,
                    mask=ok[:, None] & d_ok[None, :], other=0.0).to(tl.float32)
        s = tl.sum(q * k, 1) * scale
        if HAS_RPB:
            s += tl.load(RPB + head * r_sh + by * r_sy + bx * r_sx, mask=ok, other=0.0).to(tl.float32)
        s = tl.where(oky & okx, s, float("-inf"))
        tl.store(S + b * s_sb + head * s_sh + y * s_sy + x * s_sx + t * s_st, s.to(S.dtype.element_ty), mask=m_ok)


@triton.jit
def _scores_bwd(Q, K, DS, DQ, DK, DRPB, q_sb, q_sy, q_sx, q_sh, q_sd, k_sb, k_sy, k_sx, k_sh, k_sd,
                s_sb, s_sy, s_sx, s_sh, s_st, dq_sb, dq_sy, dq_sx, dq_sh, dq_sd, dk_sb, dk_sy, dk_sx, dk_sh, dk_sd,
                r_sh, r_sy, r_sx, heads, h, w, dqk, scale,
                KH: tl.constexpr, KW: tl.constexpr, DH: tl.constexpr, DW: tl.constexpr, CLAMP: tl.constexpr,
                RPB_GRAD: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    bh = tl.program_id(1)
    b = bh // heads
    head = bh % heads
    m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    m_ok = m < h * w
    y = m // w
    x = m % w
    d = tl.arange(0, BLOCK_D)
    d_ok = d < dqk
    q = tl.load(Q + b * q_sb + head * q_sh + y[:, None] * q_sy + x[:, None] * q_sx + d[None, :] * q_sd,
                mask=m_ok[:, None] & d_ok[None, :], other=0.0).to(tl.float32)
    dq = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    for t in range(KH * KW):
        ky, oky, by = _slot_key(y, h, t // KW, KH, DH, CLAMP)
        kx, okx, bx = _slot_key(x, w, t % KW, KW, DW, CLAMP)
        ok = m_ok & oky & okx
        g = tl.load(DS + b * s_sb + head * s_sh + y * s_sy + x * s_sx + t * s_st, mask=ok, other=0.0).to(tl.float32)
        k = tl.load(K + b * k_sb + head * k_sh + ky[:, None] * k_sy + kx[:, None] * k_sx + d[None, :] * k_sd,
                    mask=ok[:, None] & d_ok[None, :], other=0.0).to(tl.float32)
        dq += g[:, None] * k
        tl.atomic_add(DK + b * dk_sb + head * dk_sh + ky[:, None] * dk_sy + kx[:, None] * dk_sx + d[None, :] * dk_sd,
                      g[:, None] * q * scale, mask=ok[:, None] & d_ok[None, :])
        if RPB_GRAD:
            tl.atomic_add(DRPB + head * r_sh + by * r_sy + bx * r_sx, g, mask=ok)
    tl.store(DQ + b * dq_sb + head * dq_sh + y[:, None] * dq_sy + x[:, None] * dq_sx + d[None, :] * dq_sd,
             dq * scale, mask=m_ok[:, None] & d_ok[None, :])


@triton.jit
def _aggregate_fwd(WT, V, O, w_sb, w_sy, w_sx, w_sh, w_st, v_sb, v_sy, v_sx, v_sh, v_sd,
                   o_sb, o_sy, o_sx, o_sh, o_sd, heads, h, w, dv,
                   KH: tl.constexpr, KW: tl.constexpr, DH: tl.constexpr, DW: tl.constexpr, CLAMP: tl.constexpr,
                   BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    bh = tl.program_id(1)
    b = bh // heads
    head = bh % heads
    m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    m_ok = m < h * w
    y = m // w
    x = m % w
    d = tl.arange(0, BLOCK_D)
    d_ok = d < dv
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    for t in range(KH * KW):
        ky, oky, by = _slot_key(y, h, t // KW, KH, DH, CLAMP)
        kx, okx, bx = _slot_key(x, w, t % KW, KW, DW, CLAMP)
        ok = m_ok & oky & okx
        wt = tl.load(WT + b * w_sb + head * w_sh + y * w_sy + x * w_sx + t * w_st, mask=ok, other=0.0).to(tl.float32)
        v = tl.load(V + b * v_sb + head * v_sh + ky[:, None] * v_sy + kx[:, None] * v_sx + d[None, :] * v_sd,
                    mask=ok[:, None] & d_ok[None, :], other=0.0).to(tl.float32)
        acc += wt[:, None] * v
    tl.store(O + b * o_sb + head * o_sh + y[:, None] * o_sy + x[:, None] * o_sx + d[None, :] * o_sd,
             acc.to(O.dtype.element_ty), mask=m_ok[:, None] & d_ok[None, :])


@triton.jit
def _aggregate_bwd(WT, V, DO, DW_, DV, w_sb, w_sy, w_sx, w_sh, w_st, v_sb, v_sy, v_sx, v_sh, v_sd,
                   o_sb, o_sy, o_sx, o_sh, o_sd, dw_sb, dw_sy, dw_sx, dw_sh, dw_st,
                   dv_sb, dv_sy, dv_sx, dv_sh, dv_sd, heads, h, w, dv,
                   KH: tl.constexpr, KW: tl.constexpr, DH: tl.constexpr, DW: tl.constexpr, CLAMP: tl.constexpr,
                   BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    bh = tl.program_id(1)
    b = bh // heads
    head = bh % heads
    m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    m_ok = m < h * w
    y = m // w
    x = m % w
    d = tl.arange(0, BLOCK_D)
    d_ok = d < dv
    do = tl.load(DO + b * o_sb + head * o_sh + y[:, None] * o_sy + x[:, None] * o_sx + d[None, :] * o_sd,
                 mask=m_ok[:, None] & d_ok[None, :], other=0.0).to(tl.float32)
    for t in range(KH * KW):
        ky, oky, by = _slot_key(y, h, t // KW, KH, DH, CLAMP)
        kx, okx, bx = _slot_key(x, w, t % KW, KW, DW, CLAMP)
        ok = m_ok & oky & okx
        v = tl.load(V + b * v_sb + head * v_sh + ky[:, None] * v_sy + kx[:, None] * v_sx + d[None, :] * v_sd,
                    mask=ok[:, None] & d_ok[None, :], other=0.0).to(tl.float32)
        tl.store(DW_ + b * dw_sb + head * dw_sh + y * dw_sy + x * dw_sx + t * dw_st, tl.sum(do * v, 1), mask=m_ok)
        wt = tl.load(WT + b * w_sb + head * w_sh + y * w_sy + x * w_sx + t * w_st, mask=ok, other=0.0).to(tl.float32)
        tl.atomic_add(DV + b * dv_sb + head * dv_sh + ky[:, None] * dv_sy + kx[:, None] * dv_sx + d[None, :] * dv_sd,
                      wt[:, None] * do, mask=ok[:, None] & d_ok[None, :])


# ----------------------------------------------------------------------------------------------------------
# launch

def _tile_shape(size, dilation, queries, widest=16):
    """A TY x TX query tile of `queries` tokens (>= 16), as wide as the group's rows allow."""
    tx = min(widest, triton.next_power_of_2(triton.cdiv(size[1], dilation[1])))
    ty = max(16 // tx, min(8, queries // tx))
    return ty, tx


def _fused_config(table, dqk, dv, n_extra, backward=False):
    """Tiles and warps per pass; chosen so no configuration spills registers on sm_80 / sm_90
    (tools/kernel_report.py checks every one)."""
    wide = max(dqk, dv) > 32
    if backward:
        queries, keys, warps = 32, 32, 8
    elif large_tiles():
        ty, tx = _tile_shape(table.size, table.dilation, 256, widest=32)
        kh, kw = table.kernel
        return dict(TY=ty, TX=tx, BLOCK_N=tile((ty + kh - 1) * (tx + kw - 1), 1024), BLOCK_E=tile(n_extra, 64),
                    BLOCK_DQK=tile(dqk, 256), BLOCK_DV=tile(dv, 256), num_warps=4)
    elif wide or n_extra:  # (at 8 warps ptxas caps registers at 128 and these spill)
        queries, keys, warps = 64, 32, 4
    else:
        queries, keys, warps = 64, 64, 8
    ty, tx = _tile_shape(table.size, table.dilation, queries)
    kh, kw = table.kernel
    region = (ty + kh - 1) * (tx + kw - 1)
    return dict(TY=ty, TX=tx, BLOCK_N=tile(region, keys), BLOCK_E=tile(n_extra, keys), BLOCK_DQK=tile(dqk, 256),
                BLOCK_DV=tile(dv, 256), num_warps=warps)


def _geometry(table):
    return dict(KH=table.kernel[0], KW=table.kernel[1], DH=table.dilation[0], DW=table.dilation[1],
                CLAMP=table.border == "clamp")


def _fused_grid(table, cfg, batch, heads):
    """Programs: dilation groups x query tiles per group, then batch x heads."""
    (h, w), (dh, dw) = table.size, table.dilation
    tiles = triton.cdiv(triton.cdiv(h, dh), cfg["TY"]) * triton.cdiv(triton.cdiv(w, dw), cfg["TX"])
    return grid_dims(dh * dw * tiles, batch * heads)


def _zeros_f32(t):
    return torch.zeros(t.shape, dtype=torch.float32, device=t.device)


class _NeighborhoodAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, rpb, ek, ev, eb, table, scale):
        b, h, w, heads, dqk = q.shape
        dv = v.shape[-1]
        n_extra = 0 if ek is None else ek.shape[1]
        o = torch.empty(b, h, w, heads, dv, dtype=q.dtype, device=q.device)
        lse = torch.empty(b, h, w, heads, dtype=torch.float32, device=q.device)
        eb_full = None if eb is None else eb.reshape((1,) * (5 - eb.dim()) + tuple(eb.shape)).expand(
            b, h, w, heads, n_extra)
        cfg = _fused_config(table, dqk, dv, n_extra)
        _na_fwd[_fused_grid(table, cfg, b, heads)](
            q, k, v, _or(rpb, q), _or(ek, q), _or(ev, q), _or(eb_full, q), o, lse,
            *q.stride(), *k.stride(), *v.stride(), *o.stride(), *lse.stride(), *_st(rpb, 3),
            *_st(ek, 4), *_st(ev, 4), *_st(eb_full, 5), heads, h, w, dqk, dv, n_extra, scale,
            **_geometry(table), HAS_RPB=rpb is not None, HAS_EXTRA=n_extra > 0, HAS_EB=eb is not None, **cfg,
            PRECISION=dot_precision(q.dtype), num_stages=2)
        ctx.save_for_backward(q, k, v, rpb, ek, ev, eb, o, lse)
        ctx.table, ctx.scale = table, scale
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, rpb, ek, ev, eb, o, lse = ctx.saved_tensors
        table, scale = ctx.table, ctx.scale
        b, h, w, heads, dqk = q.shape
        dv_dim = v.shape[-1]
        n_extra = 0 if ek is None else ek.shape[1]
        do = do if do.stride() == o.stride() else do.contiguous()
        delta = (do.float() * o.float()).sum(-1)
        dq, dk, dv = _zeros_f32(q), _zeros_f32(k), _zeros_f32(v)
        drpb = _zeros_f32(rpb) if rpb is not None and ctx.needs_input_grad[3] else None
        dek = _zeros_f32(ek) if ek is not None else None
        dev = _zeros_f32(ev) if ev is not None else None
        eb_full = deb = deb_full = None
        if eb is not None:
            eb5 = eb.reshape((1,) * (5 - eb.dim()) + tuple(eb.shape))
            eb_full = eb5.expand(b, h, w, heads, n_extra)
            if ctx.needs_input_grad[6]:
                deb = torch.zeros(eb5.shape, dtype=torch.float32, device=q.device)
                deb_full = deb.expand(b, h, w, heads, n_extra)
        rpb_c = rpb.contiguous() if rpb is not None else None    # DRPB is indexed with the table's strides
        cfg = _fused_config(table, dqk, dv_dim, n_extra, backward=True)
        _na_bwd[_fused_grid(table, cfg, b, heads)](
            q, k, v, _or(rpb_c, q), _or(ek, q), _or(ev, q), _or(eb_full, q), do, lse, delta, dq, dk, dv,
            _or(drpb, dq), _or(dek, dq), _or(dev, dq), _or(deb_full, dq),
            *q.stride(), *k.stride(), *v.stride(), *do.stride(), *lse.stride(), *_st(rpb_c, 3),
            *_st(ek, 4), *_st(ev, 4), *_st(eb_full, 5), *dq.stride(), *dk.stride(), *dv.stride(),
            *_st(dek, 4), *_st(dev, 4), *_st(deb_full, 5), heads, h, w, dqk, dv_dim, n_extra, scale,
            **_geometry(table), HAS_RPB=rpb is not None, HAS_EXTRA=n_extra > 0, HAS_EB=eb is not None,
            RPB_GRAD=drpb is not None, EB_GRAD=deb is not None, **cfg, PRECISION=dot_precision(q.dtype),
            num_stages=1)
        cast = (lambda g, ref: None if g is None else g.to(ref.dtype))
        return (dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), cast(drpb, rpb), cast(dek, ek), cast(dev, ev),
                None if deb is None else deb.reshape(eb.shape).to(eb.dtype), None, None)


def _or(t, fallback):
    return fallback if t is None else t


def _st(t, n):
    return (0,) * n if t is None else t.stride()


def _unfused_config(size, d):
    return dict(BLOCK_M=1024 if large_tiles() else 64, BLOCK_D=tile(d, 256))


def _unfused_grid(size, batch, heads, block_m):
    return grid_dims(triton.cdiv(size[0] * size[1], block_m), batch * heads)


class _NeighborhoodScores(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, rpb, table, scale):
        b, h, w, heads, dqk = q.shape
        s = torch.empty(b, h, w, heads, table.num_slots, dtype=q.dtype, device=q.device)
        cfg = _unfused_config(table.size, dqk)
        _scores_fwd[_unfused_grid(table.size, b, heads, cfg["BLOCK_M"])](
            q, k, _or(rpb, q), s, *q.stride(), *k.stride(), *s.stride(), *_st(rpb, 3), heads, h, w, dqk, scale,
            **_geometry(table), HAS_RPB=rpb is not None, **cfg, num_warps=4)
        ctx.save_for_backward(q, k, rpb)
        ctx.table, ctx.scale = table, scale
        return s

    @staticmethod
    def backward(ctx, ds):
        q, k, rpb = ctx.saved_tensors
        table, scale = ctx.table, ctx.scale
        b, h, w, heads, dqk = q.shape
        dq, dk = _zeros_f32(q), _zeros_f32(k)
        drpb = _zeros_f32(rpb) if rpb is not None and ctx.needs_input_grad[2] else None
        cfg = _unfused_config(table.size, dqk)
        _scores_bwd[_unfused_grid(table.size, b, heads, cfg["BLOCK_M"])](
            q, k, ds, dq, dk, _or(drpb, dq), *q.stride(), *k.stride(), *ds.stride(), *dq.stride(), *dk.stride(),
            *_st(drpb, 3), heads, h, w, dqk, scale, **_geometry(table), RPB_GRAD=drpb is not None, **cfg,
            num_warps=4)
        return dq.to(q.dtype), dk.to(k.dtype), None if drpb is None else drpb.to(rpb.dtype), None, None


class _NeighborhoodAggregate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weights, v, table):
        b, h, w, heads, dv = v.shape
        o = torch.empty(v.shape, dtype=v.dtype, device=v.device)
        cfg = _unfused_config(table.size, dv)
        _aggregate_fwd[_unfused_grid(table.size, b, heads, cfg["BLOCK_M"])](
            weights, v, o, *weights.stride(), *v.stride(), *o.stride(), heads, h, w, dv, **_geometry(table), **cfg,
            num_warps=4)
        ctx.save_for_backward(weights, v)
        ctx.table = table
        return o

    @staticmethod
    def backward(ctx, do):
        weights, v = ctx.saved_tensors
        table = ctx.table
        b, h, w, heads, dv_dim = v.shape
        dw, dv = _zeros_f32(weights), _zeros_f32(v)
        cfg = _unfused_config(table.size, dv_dim)
        _aggregate_bwd[_unfused_grid(table.size, b, heads, cfg["BLOCK_M"])](
            weights, v, do, dw, dv, *weights.stride(), *v.stride(), *do.stride(), *dw.stride(), *dv.stride(),
            heads, h, w, dv_dim, **_geometry(table), **cfg, num_warps=4)
        return dw.to(weights.dtype), dv.to(v.dtype), None


def neighborhood_attention(q, k, v, table, rpb, scale, extra_k, extra_v, extra_bias):
    check_dtype("neighborhood_attention", q)
    return _NeighborhoodAttention.apply(q, k, v, rpb, extra_k, extra_v, extra_bias, table, scale)


def neighborhood_scores(q, k, table, rpb, scale):
    check_dtype("neighborhood_scores", q)
    return _NeighborhoodScores.apply(q, k, rpb, table, scale)


def neighborhood_aggregate(weights, v, table):
    check_dtype("neighborhood_aggregate", v)
    return _NeighborhoodAggregate.apply(weights.to(v.dtype), v, table)


# ----------------------------------------------------------------------------------------------------------
# ahead-of-time specs for tools/kernel_report.py

def aot_specs(dtypes=("fp16", "bf16")):
    from types import SimpleNamespace
    shapes = {  # name -> (map, kernel, dilation, border, dqk, dv, extra tokens)
        "transnext_micro s1 56x56 k3 mask +49 d24": ((56, 56), (3, 3), (1, 1), "mask", 24, 24, 49),
        "transnext s4 7x7 k3 mask +49 d32": ((7, 7), (3, 3), (1, 1), "mask", 32, 32, 49),
        "nat s1 56x56 k7 d32": ((56, 56), (7, 7), (1, 1), "clamp", 32, 32, 0),
        "dinat 28x28 k7 dil4 d32": ((28, 28), (7, 7), (4, 4), "clamp", 32, 32, 0),
        "nat k13 d64": ((64, 64), (13, 13), (1, 1), "clamp", 64, 64, 0),
    }
    specs = []
    for name, (size, kernel, dil, border, dqk, dv, n_extra) in shapes.items():
        table = SimpleNamespace(size=size, kernel=kernel, dilation=dil, border=border)
        cfg, bcfg = _fused_config(table, dqk, dv, n_extra), _fused_config(table, dqk, dv, n_extra, backward=True)
        warps, bwarps = cfg.pop("num_warps"), bcfg.pop("num_warps")
        for dtype in dtypes:
            ptr = "*" + dtype
            flags = dict(**_geometry(table), HAS_RPB=True, HAS_EXTRA=n_extra > 0, HAS_EB=n_extra > 0,
                         PRECISION="ieee")
            const = dict(flags, **cfg)
            types = dict(Q=ptr, K=ptr, V=ptr, RPB="*fp32", EK=ptr, EV=ptr, EB="*fp32", O=ptr, LSE="*fp32",
                         scale="fp32")
            specs.append(AotSpec("na_fwd", f"{name} {cfg} warps={warps}", dtype, _na_fwd,
                                 signature(_na_fwd, types, const), const, num_warps=warps))
            bconst = dict(flags, **bcfg, RPB_GRAD=True, EB_GRAD=n_extra > 0)
            btypes = dict(types, DO=ptr, DELTA="*fp32", DQ="*fp32", DK="*fp32", DV="*fp32", DRPB="*fp32",
                          DEK="*fp32", DEV="*fp32", DEB="*fp32")
            specs.append(AotSpec("na_bwd", f"{name} {bcfg} warps={bwarps}", dtype, _na_bwd,
                                 signature(_na_bwd, btypes, bconst), bconst, num_warps=bwarps, num_stages=1))
            if border == "mask":  # TransNeXt's unfused pair
                ucfg = _unfused_config(size, dqk)
                uconst = dict(**_geometry(table), HAS_RPB=True, **ucfg)
                specs.append(AotSpec("na_scores_fwd", f"{name} {ucfg}", dtype, _scores_fwd,
                                     signature(_scores_fwd, dict(Q=ptr, K=ptr, RPB="*fp32", S=ptr, scale="fp32"),
                                               uconst), uconst))
                bu = dict(**_geometry(table), RPB_GRAD=True, **ucfg)
                specs.append(AotSpec("na_scores_bwd", f"{name} {ucfg}", dtype, _scores_bwd,
                                     signature(_scores_bwd, dict(Q=ptr, K=ptr, DS=ptr, DQ="*fp32", DK="*fp32",
                                                                 DRPB="*fp32", scale="fp32"), bu), bu))
                ac = dict(**_geometry(table), **ucfg)
                specs.append(AotSpec("na_aggregate_fwd", f"{name} {ucfg}", dtype, _aggregate_fwd,
                                     signature(_aggregate_fwd, dict(WT=ptr, V=ptr, O=ptr), ac), ac))
                specs.append(AotSpec("na_aggregate_bwd", f"{name} {ucfg}", dtype, _aggregate_bwd,
                                     signature(_aggregate_bwd, dict(WT=ptr, V=ptr, DO=ptr, DW_="*fp32", DV="*fp32"),
                                               ac), ac))
    return specs
