#!/usr/bin/env python
"""Compile every Triton kernel ahead of time for real GPU targets and report its resource use.

    python tools/kernel_report.py --arch 80 90 --json kernels.json [--markdown kernels.md]

No GPU is needed: each configuration the ops launch (every tile configuration their heuristics pick
at backbone shapes, fp16 and bf16) is compiled with ``triton.compile`` for sm_<arch>, and registers,
spills (local memory) and shared memory are read from the cubin with the ``cuobjdump`` that ships in
the triton wheel. Exit status 1 if any kernel spills or needs more shared memory than the target has
per block (sm_80: 163 KB, sm_90: 227 KB).
"""
import argparse
import concurrent.futures as futures
import json
import os
import re
import subprocess
import sys
import tempfile

SHARED_LIMIT = {80: 163 * 1024, 86: 99 * 1024, 89: 99 * 1024, 90: 227 * 1024}


def _cuobjdump():
    import triton
    path = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")
    if not os.path.exists(path):
        raise SystemExit(f"cuobjdump not found at {path}; the triton wheel ships it with its NVIDIA backend")
    return path


def all_specs():
    from visionattn.kernels import neighborhood, routed, window
    return window.aot_specs() + neighborhood.aot_specs() + routed.aot_specs()


def compile_one(index, arch):
    """Compile spec `index` for sm_<arch>; one row of the report."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    spec = all_specs()[index]
    src = ASTSource(fn=spec.fn, signature=spec.signature, constexprs=spec.constexprs, attrs=spec.attrs)
    kernel = triton.compile(src, target=GPUTarget("cuda", arch, 32),
                            options=dict(num_warps=spec.num_warps, num_stages=spec.num_stages))
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(kernel.asm["cubin"])
        f.flush()
        usage = subprocess.run([_cuobjdump(), "--dump-resource-usage", f.name], capture_output=True, text=True,
                               check=True).stdout
    fields = dict(re.findall(r"(REG|STACK|SHARED|LOCAL):(\d+)", usage))
    return {"kernel": spec.kernel, "config": spec.config, "dtype": spec.dtype, "arch": f"sm_{arch}",
            "registers": int(fields["REG"]), "spill_bytes": int(fields["LOCAL"]) + int(fields["STACK"]),
            "shared_bytes": int(kernel.metadata.shared) + int(fields["SHARED"]), "num_warps": spec.num_warps,
            "num_stages": spec.num_stages}


def problems(rows):
    bad = []
    for r in rows:
        arch = int(r["arch"][3:])
        if r["spill_bytes"] > 0:
            bad.append(f"{r['kernel']} [{r['config']}] {r['dtype']} {r['arch']}: spills {r['spill_bytes']} bytes")
        if r["shared_bytes"] > SHARED_LIMIT[arch]:
            bad.append(f"{r['kernel']} [{r['config']}] {r['dtype']} {r['arch']}: {r['shared_bytes']} B shared > "
                       f"{SHARED_LIMIT[arch]} B")
    return bad


def markdown(rows):
    lines = ["| kernel | config | dtype | arch | registers | spill bytes | shared bytes |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['kernel']} | {r['config']} | {r['dtype']} | {r['arch']} | {r['registers']} | {r['spill_bytes']} | "
              f"{r['shared_bytes']} |" for r in rows]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", nargs="+", type=int, default=[80, 90], choices=sorted(SHARED_LIMIT))
    p.add_argument("--json", help="write the rows here")
    p.add_argument("--markdown", help="write a table here")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel compiles")
    p.add_argument("--kernel", nargs="+", help="only kernels whose name contains one of these")
    args = p.parse_args(argv)
    if os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
        raise SystemExit("unset TRITON_INTERPRET: the report compiles real GPU code")
    specs = all_specs()
    todo = [(i, arch) for arch in args.arch for i, s in enumerate(specs)
            if not args.kernel or any(k in s.kernel for k in args.kernel)]
    with futures.ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(compile_one, *zip(*todo)))
    table = markdown(rows)
    print(table)
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(rows, f, indent=1)
        os.replace(tmp, args.json)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")
    bad = problems(rows)
    for line in bad:
        print("DEFECT:", line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
