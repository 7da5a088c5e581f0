#!/usr/bin/env python
"""Bytes and FLOPs of the Triton kernels' forward pass at backbone shapes, against the minimum, and the
roofline time they imply on A100 / H100 (fp16). Analytic: derived from the tile configurations the
kernels launch (``visionattn.kernels.*._config``), per image.

    python tools/kernel_roofline.py [--markdown OUT]

- minimum bytes: read Q, K, V once and write O once (fp16);
- kernel bytes: what the launch reads from DRAM assuming each program's loads miss L2 (an upper
  bound) except small tables (relative-position bias) that stay in L2;
- useful FLOPs: 4 * queries * keys-attended * head_dim (QK^T and PV); executed FLOPs add what the tiles
  compute and mask away (padding to 16-wide tiles, key regions wider than a window, packed regions).
"""
import argparse
from types import SimpleNamespace

GPUS = {"A100": dict(tflops=312.0, tbps=2.039), "H100": dict(tflops=989.0, tbps=3.35)}  # dense fp16, SXM HBM
BYTES = 2  # fp16


def _cdiv(a, b):
    return -(-a // b)


def window_row(name, size, heads, dim, window, halo=0):
    from visionattn.kernels.window import _config
    lq, lk = window * window, (window + 2 * halo) ** 2
    g = SimpleNamespace(lq=lq, lk=lk, dim_qk=dim, dim_v=dim)
    cfg = _config(g)
    tokens = size * size
    n_win = (size // window) ** 2
    q_tiles = _cdiv(lq, cfg["BLOCK_M"])
    minimum = BYTES * heads * dim * (4 * tokens)
    kv_reads = n_win * q_tiles * lk * 2 * dim * heads * BYTES          # each query tile streams its key window
    actual = BYTES * heads * dim * 2 * tokens + kv_reads + tokens * heads * 4   # + Q, O, fp32 LSE
    useful = 4 * tokens * lk * dim * heads
    m_pad, n_pad = q_tiles * cfg["BLOCK_M"], _cdiv(lk, cfg["BLOCK_N"]) * cfg["BLOCK_N"]
    executed = 4 * n_win * m_pad * n_pad * dim * heads
    return dict(case=name, kernel="window_fwd", min_mb=minimum / 1e6, kernel_mb=actual / 1e6,
                gflop=useful / 1e9, executed_gflop=executed / 1e9)


def neighborhood_row(name, size, heads, dim, kernel, extra=0):
    from types import SimpleNamespace as NS

    from visionattn.kernels.neighborhood import _fused_config
    table = NS(size=(size, size), kernel=(kernel, kernel), dilation=(1, 1))
    cfg = _fused_config(table, dim, dim, extra)
    ty, tx = cfg["TY"], cfg["TX"]
    tokens = size * size
    tiles = _cdiv(size, ty) * _cdiv(size, tx)
    region = (ty + kernel - 1) * (tx + kernel - 1)
    region_pad = _cdiv(region, cfg["BLOCK_N"]) * cfg["BLOCK_N"]
    extra_pad = _cdiv(extra, cfg["BLOCK_E"]) * cfg["BLOCK_E"] if extra else 0
    minimum = BYTES * heads * dim * (4 * tokens + 2 * extra)
    actual = BYTES * heads * dim * (2 * tokens + tiles * (region + extra) * 2) + tokens * heads * 4
    useful = 4 * tokens * (kernel * kernel + extra) * dim * heads
    executed = 4 * tiles * ty * tx * (region_pad + extra_pad) * dim * heads
    return dict(case=name, kernel="na_fwd", min_mb=minimum / 1e6, kernel_mb=actual / 1e6, gflop=useful / 1e9,
                executed_gflop=executed / 1e9)


def routed_row(name, size, heads, dim, regions, topk):
    from visionattn.kernels.routed import _config
    side = size // regions
    lq = lk = side * side
    cfg = _config(lq, lk, dim, dim)
    tokens = size * size
    r = regions * regions
    programs = _cdiv(r, cfg["PACK"]) * _cdiv(cfg["PACK"] * lq, cfg["BLOCK_M"])
    minimum = BYTES * heads * dim * 4 * tokens
    kv_reads = programs * topk * cfg["PACK"] * lk * 2 * dim * heads * BYTES
    if cfg["PACK"] == 1:
        kv_reads = r * _cdiv(lq, cfg["BLOCK_M"]) * topk * lk * 2 * dim * heads * BYTES
    actual = BYTES * heads * dim * 2 * tokens + kv_reads + tokens * heads * 4
    useful = 4 * tokens * topk * lk * dim * heads
    n_pad = _cdiv(cfg["PACK"] * lk, cfg["BLOCK_N"]) * cfg["BLOCK_N"]
    executed = 4 * programs * cfg["BLOCK_M"] * topk * n_pad * dim * heads
    return dict(case=name, kernel="routed_fwd", min_mb=minimum / 1e6, kernel_mb=actual / 1e6, gflop=useful / 1e9,
                executed_gflop=executed / 1e9)


def rows():
    out = [
        window_row("Swin-T stage 1: 56x56, win 7, 3 heads x 32", 56, 3, 32, 7),
        window_row("Swin-T stage 2: 28x28, win 7, 6 heads x 32", 28, 6, 32, 7),
        window_row("Swin-T stage 3: 14x14, win 7, 12 heads x 32", 14, 12, 32, 7),
        window_row("Swin-T stage 4: 7x7, win 7, 24 heads x 32", 7, 24, 32, 7),
        window_row("eca_halonext26ts stage 3: 16x16, block 8, halo 2, 8 heads x 16", 16, 8, 16, 8, halo=2),
        routed_row("BiFormer-T stage 1: 56x56, 7x7 regions, top-1, 2 heads x 32", 56, 2, 32, 7, 1),
        routed_row("BiFormer-T stage 2: 28x28, 7x7 regions, top-4, 4 heads x 32", 28, 4, 32, 7, 4),
        routed_row("BiFormer-T stage 3: 14x14, 7x7 regions, top-16, 8 heads x 32", 14, 8, 32, 7, 16),
        neighborhood_row("TransNeXt-Micro stage 1: 56x56, 3x3 window + 49 pooled, 2 heads x 24", 56, 2, 24, 3, 49),
    ]
    for r in out:
        r["intensity"] = r["executed_gflop"] * 1e9 / (r["kernel_mb"] * 1e6)
        for gpu, spec in GPUS.items():
            t_compute = r["executed_gflop"] * 1e9 / (spec["tflops"] * 1e12)   # seconds
            t_memory = r["kernel_mb"] * 1e6 / (spec["tbps"] * 1e12)
            r[f"{gpu}_us"] = max(t_compute, t_memory) * 1e6
            r[f"{gpu}_bound"] = "compute" if t_compute > t_memory else "memory"
    return out


def markdown(rs):
    cols = ["case", "kernel", "min_mb", "kernel_mb", "gflop", "executed_gflop", "intensity", "A100_us",
            "A100_bound", "H100_us", "H100_bound"]
    head = ["case", "kernel", "min MB", "kernel MB", "useful GFLOP", "executed GFLOP", "FLOP/byte", "A100 us",
            "A100 bound", "H100 us", "H100 bound"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rs:
        lines.append("| " + " | ".join(f"{r[c]:.3g}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--markdown")
    args = p.parse_args(argv)
    table = markdown(rows())
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
