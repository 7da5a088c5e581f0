"""Measurements behind every speed, memory and FLOP figure the project quotes (``tools/benchmark.py``).

- FLOPs: ``torch.utils.flop_counter`` (multiply-adds counted as 2), with the CPU flash-attention ops
  that torch 2.x leaves uncounted added; attention ops are counted on the ``reference`` backend, whose
  einsums show the true work of the pattern whatever backend runs it.
- Time: configurations alternate inside one process (round-robin, after warm-up) and the median of
  the repetitions is reported, so a figure is always compared with figures from the same run.
- Peak memory: each configuration runs again in a fresh process; after a warm-up call, the figure is
  how far the process's peak resident set rose during one more call (CPU has no allocator statistics).
- Profile (``--profile``): where one batch's time goes, ``torch.profiler`` self CPU time of the aten ops
  summed into kinds of work (GEMM, convolution, attention, layout copies, ...), so a speed figure comes
  with the reason for it.
"""
import copy
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

from visionattn import ops
from visionattn.deploy import fuse
from visionattn.checkpoint import atomic_write_text

aten = torch.ops.aten


def _sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _sdpa_backward_flops(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


def _deform_conv2d_flops(input_shape, weight_shape, offset_shape, mask_shape, bias_shape, *args, out_shape=None,
                         **kwargs):
    """torchvision's deformable convolution: a convolution's multiply-adds (sampling not counted)."""
    b, cout, hout, wout = out_shape
    return 2 * b * cout * hout * wout * weight_shape[1] * weight_shape[2] * weight_shape[3]


EXTRA_FLOP_FORMULAS = {
    aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_flops,
    aten._scaled_dot_product_flash_attention_for_cpu_backward: _sdpa_backward_flops,
}
try:
    import torchvision  # noqa: F401  (registers torch.ops.torchvision)
    EXTRA_FLOP_FORMULAS[torch.ops.torchvision.deform_conv2d] = _deform_conv2d_flops
except (ImportError, AttributeError):
    pass


def count_flops(fn, *args, backward=False):
    """FLOPs of ``fn(*args)`` (and of its backward if asked), attention ops on the reference backend."""
    with ops.use_backend("reference"), FlopCounterMode(display=False, custom_mapping=EXTRA_FLOP_FORMULAS) as fc:
        out = fn(*args)
        if backward:
            out.float().sum().backward()
    return fc.get_total_flops()


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "date": datetime.date.today().isoformat()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def time_round_robin(configs, reps, warmup=1):
    """configs: {name: callable}. Runs them in alternation; returns {name: [seconds per rep]}."""
    for fn in configs.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in configs}
    for _ in range(reps):
        for name, fn in configs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def median(xs):
    return statistics.median(xs)


def gemm_gflops(n=2048, reps=5):
    """The same-run reference rate: fp32 n x n matmul, GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    times = time_round_robin({"gemm": lambda: torch.mm(a, b)}, reps)["gemm"]
    return 2 * n ** 3 / median(times) / 1e9


def _status_mb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":")) / 1024  # kB


def reset_peak_rss():
    """Linux: writing 5 to clear_refs resets the peak-RSS mark (VmHWM) to the current RSS."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def probe_memory(spec):
    """Run ``python -m visionattn.bench --probe SPEC`` in a fresh process; its peak-RSS rise in MB."""
    # a fixed mmap threshold makes glibc return every large block on free, so RSS follows live tensors
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()), MALLOC_MMAP_THRESHOLD_="131072")
    proc = subprocess.run([sys.executable, "-m", "visionattn.bench", "--probe", json.dumps(spec)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe failed for {spec}:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["peak_mb"]


# ----------------------------------------------------------------------------------------------------------
# op cases: realistic backbone shapes

def op_cases():
    """(name, op, builder) for the shapes the families run; builder(batch) -> (fn(*tensors), tensors)."""
    def window(b, size, heads, dim, window, shift=0, halo=0, stride=1):
        q = torch.randn(b, size // stride, size // stride, heads, dim)
        k, v = torch.randn(b, size, size, heads, dim), torch.randn(b, size, size, heads, dim)
        lk = (window * stride + 2 * halo) ** 2
        bias = torch.randn(heads, 1, window * window, lk)
        return (lambda q, k, v: ops.window_attention(q, k, v, window, shift_size=shift, halo_size=halo,
                                                     bias=bias)), (q, k, v)

    def neighborhood(b, size, heads, dim, kernel, border, extra=0, dilation=1):
        q, k, v = (torch.randn(b, size, size, heads, dim) for _ in range(3))
        rpb = torch.randn(heads, 2 * kernel - 1, 2 * kernel - 1)
        ek = torch.randn(b, extra, heads, dim) if extra else None
        ev = torch.randn(b, extra, heads, dim) if extra else None
        return (lambda q, k, v: ops.neighborhood_attention(q, k, v, kernel, dilation=dilation, border=border,
                                                           bias=rpb, extra_k=ek, extra_v=ev)), (q, k, v)

    def routed(b, size, heads, dim, regions, topk):
        q, k, v = (torch.randn(b, size, size, heads, dim) for _ in range(3))
        index = torch.stack([torch.randperm(regions * regions)[:topk] for _ in range(b * regions * regions)])
        index = index.view(b, regions * regions, topk)
        return (lambda q, k, v: ops.routed_attention(q, k, v, index, regions, scale=(heads * dim) ** -0.5)), (q, k, v)

    return [
        ("swin_t.stage1 W-MSA 56x56 win7 3h", "window", lambda b: window(b, 56, 3, 32, 7)),
        ("swin_t.stage1 SW-MSA 56x56 win7 shift3 3h", "window", lambda b: window(b, 56, 3, 32, 7, shift=3)),
        ("swin_t.stage3 SW-MSA 14x14 win7 shift3 12h", "window", lambda b: window(b, 14, 12, 32, 7, shift=3)),
        ("halonet26t.stage3 16x16 block8 halo2 8h", "window", lambda b: window(b, 16, 8, 16, 8, halo=2)),
        ("litv2_s.stage3 HiFi 14x14 win2 1h", "window", lambda b: window(b, 14, 1, 32, 2)),
        ("nat.stage1 56x56 k7 clamp 2h", "neighborhood", lambda b: neighborhood(b, 56, 2, 32, 7, "clamp")),
        ("nat 28x28 k7 dil2 clamp 4h", "neighborhood", lambda b: neighborhood(b, 28, 4, 32, 7, "clamp", dilation=2)),
        ("transnext_micro.stage1 56x56 k3 mask +49 pooled 2h", "neighborhood",
         lambda b: neighborhood(b, 56, 2, 24, 3, "mask", extra=49)),
        ("biformer_t.stage1 56x56 7x7 regions top1 2h", "routed", lambda b: routed(b, 56, 2, 32, 7, 1)),
        ("biformer_t.stage2 28x28 7x7 regions top4 4h", "routed", lambda b: routed(b, 28, 4, 32, 7, 4)),
        ("biformer_t.stage3 14x14 7x7 regions top16 8h", "routed", lambda b: routed(b, 14, 8, 32, 7, 16)),
    ]


def _op_case(name):
    for case in op_cases():
        if case[0] == name:
            return case
    raise KeyError(f"unknown op case {name!r}; known: {[c[0] for c in op_cases()]}")


def _op_call(fn, tensors, backend, backward):
    def run():
        with ops.use_backend(backend):
            if backward:
                leaves = [t.detach().requires_grad_() for t in tensors]
                fn(*leaves).sum().backward()
            else:
                with torch.no_grad():
                    fn(*tensors)
    return run


def bench_ops(batch=8, reps=10, backends=("reference", "torch"), backward=False, memory=True, select=None):
    rows = []
    for name, op, build in op_cases():
        if select and not any(s in name for s in select):
            continue
        torch.manual_seed(0)
        fn, tensors = build(batch)
        flops = count_flops(fn, *tensors)
        calls = {b: _op_call(fn, tensors, b, backward) for b in backends}
        times = time_round_robin(calls, reps)
        for b in backends:
            sec = median(times[b])
            row = {"case": name, "op": op, "backend": b, "batch": batch, "pass": "fwd+bwd" if backward else "fwd",
                   "ms": sec * 1e3, "gflops": flops / 1e9, "gflop_per_s": flops / sec / 1e9}
            if memory:
                row["peak_mb"] = probe_memory({"kind": "op", "case": name, "batch": batch, "backend": b,
                                               "backward": backward})
            rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------------------
# models

def create(name, **kwargs):
    import timm
    import visionattn.models  # noqa: F401  (registers the zoo with timm)
    if not timm.is_model(name):
        raise ValueError(f"unknown model {name!r}; registered visionattn / timm models include e.g. "
                         f"{', '.join(timm.list_models('*')[:5])} ... (timm.list_models() lists them)")
    return timm.create_model(name, **kwargs).eval()


# `--suite cpu`: one variant per family, with timm's own implementation beside ours where timm has the family
SUITES = {
    "cpu": {"va_swin_tiny_patch4_window7_224": "swin_tiny_patch4_window7_224", "agent_swin_t": None,
            "litv2_s": None, "va_shvit_s1": "shvit_s1", "va_convit_tiny": "convit_tiny", "biformer_t": None,
            "transnext_micro": None, "va_halonet26t": "halonet26t"},
}


def load_plugin(path):
    """A Python file with ``build(name) -> nn.Module`` (raising KeyError for names it does not have) and,
    optionally, ``forward_features(model, x)``: another implementation of our variants (e.g. a local checkout
    of an official repository), timed and probed beside ours as backend "official". Nothing of it is
    imported unless asked for."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("visionattn_bench_plugin", path)
    if spec is None or not os.path.isfile(path):
        raise FileNotFoundError(f"--compare: no such Python file {path!r}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "build", None)):
        raise ValueError(f"--compare: {path} must define build(name) -> torch.nn.Module")
    return module


def _features_fn(model, plugin=None):
    if plugin is not None and hasattr(plugin, "forward_features"):
        return lambda x: plugin.forward_features(model, x)
    return model.forward_features


# aten op (name without "aten::") -> kind of work, for the profile breakdown
PROFILE_KINDS = (
    ("gemm", ("addmm", "mm", "bmm", "baddbmm", "addbmm", "matmul", "linear", "_mkldnn_linear")),
    ("attention", ("_softmax", "softmax")),   # + every scaled_dot_product* op (profile_kind)
    ("convolution", ("convolution", "_convolution", "mkldnn_convolution", "conv", "deform_conv2d",
                     "_nnpack_spatial_convolution", "_slow_conv2d_forward", "thnn_conv2d")),
    ("layout copies", ("copy_", "clone", "contiguous", "cat", "stack", "roll", "index_select", "gather",
                       "index", "constant_pad_nd", "pad", "unfold", "im2col", "repeat", "flip",
                       "_unsafe_view", "reshape", "as_strided")),
    ("normalization", ("layer_norm", "native_layer_norm", "batch_norm", "native_batch_norm",
                       "_batch_norm_impl_index", "_native_batch_norm_legit_no_training", "group_norm",
                       "native_group_norm")),
    ("activation", ("gelu", "relu", "relu_", "silu", "silu_", "hardswish", "hardswish_", "sigmoid",
                    "hardsigmoid", "tanh", "elu")),
    ("pooling / reductions", ("avg_pool2d", "adaptive_avg_pool2d", "_adaptive_avg_pool2d", "max_pool2d",
                              "max_pool2d_with_indices", "upsample_bilinear2d", "upsample_nearest2d",
                              "grid_sampler_2d", "mean", "sum")),
    ("elementwise", ("add", "add_", "mul", "mul_", "div", "div_", "sub", "addcmul_", "addcmul", "where",
                     "masked_fill", "masked_fill_", "fill_", "zero_", "exp", "sqrt", "rsqrt", "pow", "neg",
                     "clamp", "abs", "log", "sign")),
)


_KIND_OF_OP = {op: kind for kind, names in PROFILE_KINDS for op in names}


def profile_kind(op_name):
    name = op_name.split("::", 1)[-1]
    if name.startswith(("scaled_dot_product", "_scaled_dot_product")):   # SDPA and its per-kernel variants
        return "attention"
    return _KIND_OF_OP.get(name, "other")


def profile_breakdown(run, top=4):
    """One call of run() under torch.profiler (after a warm-up call): {kind: share of self CPU time} over
    PROFILE_KINDS + "other", and the `top` aten ops by self time as "op share" strings."""
    from torch.profiler import ProfilerActivity, profile
    run()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    events = [e for e in prof.key_averages() if e.key.startswith("aten::") or e.key.startswith("torchvision::")]
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    shares = {kind: 0.0 for kind, _ in PROFILE_KINDS}
    shares["other"] = 0.0
    for e in events:
        shares[profile_kind(e.key)] += e.self_cpu_time_total / total
    ranked = sorted(events, key=lambda e: -e.self_cpu_time_total)[:top]
    return shares, [f"{e.key.split('::', 1)[-1]} {e.self_cpu_time_total / total:.0%}" for e in ranked]


def compile_for_inference(fn):
    """Backend "compile": fn under torch.compile (inductor, static shapes, weights frozen as constants so
    inductor can prepack them for oneDNN and fold them), attention ops on the torch backend; what a CPU
    inference user would deploy. Compiles on the first call of each input shape (the warm-up)."""
    import torch._inductor.config as inductor_config
    inductor_config.freezing = True   # only read by inductor, for graphs compiled under no_grad
    return torch.compile(fn, dynamic=False)


# backends that run the model exported with dynamic sizes (visionattn.export) in another inference engine
EXPORTED = ("onnxruntime", "openvino")


def _onnxruntime_runner(path):
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: torch.from_numpy(session.run(None, {name: x.numpy()})[0])


def _openvino_runner(path):
    import openvino
    core = openvino.Core()
    # f32 said outright: on CPUs with bf16 units OpenVINO's default precision is bf16
    compiled = core.compile_model(core.read_model(path), "CPU", {
        "INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": torch.get_num_threads()})
    request = compiled.create_infer_request()
    return lambda x: torch.from_numpy(request.infer([x.numpy()])[0].copy())


_ENGINES = {"onnxruntime": _onnxruntime_runner, "openvino": _openvino_runner}


def exported_runners(model, size, batch, engines=("onnxruntime",)):
    """Backends "onnxruntime" / "openvino": the model exported once with dynamic sizes (visionattn.export, which
    checks it against eager at three sizes), run by each engine on the CPU with as many threads as torch uses,
    fp32; each engine's output checked against eager once more at the benchmark's batch.
    Returns ({engine: x -> outputs}, {engine: why it is not timed}): an engine that cannot read the graph (e.g.
    OpenVINO has no ONNX DeformConv) or whose output differs from eager is reported, not timed."""
    import tempfile

    from visionattn.export import export
    runners, unavailable = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        export(model, path, example_size=size)
        for engine in engines:
            try:
                runners[engine] = _ENGINES[engine](path)
            except Exception as e:   # noqa: BLE001  (the engine's own conversion errors)
                unavailable[engine] = f"cannot run the export: {' '.join(str(e).split())[-160:]}"
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        want = model(x)
    for engine, run in list(runners.items()):
        err = (run(x) - want).abs().max().item()
        if not err <= 1e-4 * max(1.0, want.abs().max().item()):
            unavailable[engine] = f"output differs from eager by {err:.3g} at batch {batch}, {size}x{size}"
            del runners[engine]
    return runners, unavailable


def bench_models(names, size=None, batch=8, reps=5, backends=("reference", "torch"), memory=True, twins=None,
                 plugin=None, features=False, profile=False):
    """Throughput at `batch`, latency at batch 1, FLOPs, peak memory and the ratio to the same run's GEMM
    rate, for each backend; `twins` maps a model to timm's implementation of it, timed in the same
    round robin as backend "timm" (same weights); `plugin` (a path, see load_plugin) adds backend
    "official". `size` None: each model's default input size. `features`: forward_features only.
    `profile`: each row also gets the share of its batch's time per kind of work (profile_breakdown);
    backend "compile" (compile_for_inference) is timed but not profiled."""
    rows = []
    gemm = gemm_gflops()
    twins = twins or {}
    external = load_plugin(plugin) if plugin else None
    for name in names:
        torch.manual_seed(0)
        model = create(name)
        params = sum(p.numel() for p in model.parameters())
        s = size or model.pretrained_cfg["input_size"][-1]
        x1, xb = torch.randn(1, 3, s, s), torch.randn(batch, 3, s, s)
        eager = model.forward_features if features else model
        run_of = {b: compile_for_inference(eager) if b == "compile" else eager for b in backends
                  if b not in EXPORTED + ("fused",)}
        if "fused" in backends:   # BatchNorm folded into the convolutions (visionattn.deploy.fuse), eager torch
            fused = fuse(copy.deepcopy(model))
            run_of["fused"] = fused.forward_features if features else fused
        engines, unavailable = [b for b in backends if b in EXPORTED], {}
        if engines:
            if features:
                raise ValueError(f"backend {engines[0]} times the whole model; drop --features or the backend")
            runners, unavailable = exported_runners(model, s, batch, engines)
            run_of.update(runners)
        if twins.get(name):
            twin = create(twins[name])
            twin.load_state_dict(model.state_dict())   # same weights (the va_ model loads timm's)
            run_of["timm"] = twin.forward_features if features else twin
        if external is not None:
            try:
                other = external.build(name).eval()
            except KeyError:
                other = None
            if other is not None:
                run_of["official"] = _features_fn(other, external) if features else other
        with torch.no_grad():
            flops = count_flops(eager, x1)

        def call(backend, x):
            def run():
                with ops.use_backend(backend if backend in ops.BACKENDS else "torch"), torch.no_grad():
                    run_of[backend](x)
            return run

        thr = time_round_robin({b: call(b, xb) for b in run_of}, reps)
        lat = time_round_robin({b: call(b, x1) for b in run_of}, reps)
        for b in run_of:
            img_s = batch / median(thr[b])
            row = {"model": twins[name] if b == "timm" else name, "backend": b, "size": s, "batch": batch,
                   "params_m": params / 1e6, "gflops": flops / 1e9, "img_per_s": img_s,
                   "latency_ms": median(lat[b]) * 1e3, "gemm_gflop_per_s": gemm,
                   "gemm_ratio": flops * img_s / (gemm * 1e9)}
            if memory and b not in EXPORTED:   # the probe process would have to export the model again
                row["peak_mb"] = probe_memory({"kind": "model", "model": row["model"], "size": s, "batch": batch,
                                               "backend": b, "features": features,
                                               "plugin": plugin if b == "official" else None})
            if profile and b not in ("compile",) + EXPORTED:   # their fused kernels are not aten ops
                shares, top_ops = profile_breakdown(call(b, xb))
                row.update({f"share_{kind}": v for kind, v in shares.items()}, top_ops=", ".join(top_ops))
            rows.append(row)
        rows += [{"model": name, "backend": b, "size": s, "batch": batch, "note": why} for b, why in unavailable.items()]
    return rows


# ----------------------------------------------------------------------------------------------------------
# `--suite gpu`: inference and a training step per family in bf16 on a CUDA GPU

# one variant per family (Agent: every architecture), with timm's twin where timm has the family
SUITES["gpu"] = dict(SUITES["cpu"], agent_pvt_t=None, agent_deit_t=None, agent_cswin_t=None)


def _synced(fn, device):
    def run():
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return run


def bench_models_gpu(names, device="cuda", infer_batch=64, train_batch=32, dtype=torch.bfloat16, reps=10,
                     backends=("triton", "torch", "compile"), twins=None, plugin=None, size=None):
    """Per model and backend: inference at ``infer_batch`` and one training step (forward, backward, SGD step) at
    ``train_batch``, under ``dtype`` autocast on ``device``, timed in one round robin per mode (images / s, ms per
    call, peak allocated memory). ``twins``: timm's implementation of a model (same weights), backend "timm";
    ``plugin`` (see load_plugin): backend "official". ``compile``: the torch backend under torch.compile."""
    device = torch.device(device)
    twins = twins or {}
    external = load_plugin(plugin) if plugin else None
    rows = []
    for name in names:
        torch.manual_seed(0)
        model = create(name).to(device)
        s = size or model.pretrained_cfg["input_size"][-1]
        impls = {b: model for b in backends}
        if twins.get(name):
            twin = create(twins[name]).to(device)
            twin.load_state_dict(model.state_dict())
            impls["timm"] = twin
        if external is not None:
            try:
                impls["official"] = external.build(name).to(device)
            except KeyError:
                pass
        for mode, batch in (("inference", infer_batch), ("train", train_batch)):
            x = torch.randn(batch, 3, s, s, device=device)
            calls = {}
            for b, impl in impls.items():
                backend = b if b in ops.BACKENDS else "torch"
                fn = torch.compile(impl) if b == "compile" else impl

                def call(fn=fn, impl=impl, backend=backend, mode=mode):
                    with ops.use_backend(backend), torch.autocast(device.type, dtype=dtype):
                        if mode == "inference":
                            impl.eval()
                            with torch.no_grad():
                                fn(x)
                        else:
                            impl.train()
                            fn(x).float().mean().backward()
                            with torch.no_grad():
                                for p in impl.parameters():
                                    if p.grad is not None:
                                        p.sub_(1e-6 * p.grad)
                                        p.grad = None
                calls[b] = _synced(call, device)
            times = time_round_robin(calls, reps, warmup=2)
            for b in calls:
                peak = None
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                    calls[b]()
                    peak = torch.cuda.max_memory_allocated(device) / 2 ** 20
                rows.append({"model": twins[name] if b == "timm" else name, "backend": b, "mode": mode,
                             "size": s, "batch": batch, "dtype": str(dtype).removeprefix("torch."),
                             "img_per_s": batch / median(times[b]), "ms": median(times[b]) * 1e3,
                             "peak_mb": peak})
    return rows


# ----------------------------------------------------------------------------------------------------------
# output

def markdown(rows, columns):
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) and abs(v) < 100 else (f"{v:.0f}" if isinstance(v, float) else str(v))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def profile_table(rows):
    """The --profile shares of the rows that have them, as a markdown table ("" if none)."""
    rows = [r for r in rows if "top_ops" in r]
    if not rows:
        return ""
    kinds = [c.removeprefix("share_") for c in rows[0] if c.startswith("share_")]
    table = [{"model": r["model"], "backend": r["backend"], "top_ops": r["top_ops"],
              **{k: f"{r['share_' + k]:.0%}" for k in kinds}} for r in rows]
    return ("Share of one batch's self CPU time (torch.profiler, aten ops) by kind of work:\n\n"
            + markdown(table, ["model", "backend"] + kinds + ["top_ops"]))


def write_json_atomic(path, payload):
    atomic_write_text(path, json.dumps(payload, indent=1))


def _probe(spec):
    """Runs in a fresh process: build, warm up once (code pages, thread pools, caches), then measure the
    peak-RSS rise of one more call."""
    torch.manual_seed(0)
    if spec["kind"] == "op":
        _, _, build = _op_case(spec["case"])
        fn, tensors = build(spec["batch"])
        run = _op_call(fn, tensors, spec["backend"], spec["backward"])
    else:
        plugin = load_plugin(spec["plugin"]) if spec.get("plugin") else None
        model = plugin.build(spec["model"]).eval() if plugin else create(spec["model"])
        fn = _features_fn(model, plugin) if spec.get("features") else model
        if spec["backend"] == "compile":
            fn = compile_for_inference(fn)
        if spec["backend"] == "fused":
            model = fuse(model)
            fn = _features_fn(model, plugin) if spec.get("features") else model
        x = torch.randn(spec["batch"], 3, spec["size"], spec["size"])
        backend = spec["backend"] if spec["backend"] in ops.BACKENDS else "torch"

        def run():
            with ops.use_backend(backend), torch.no_grad():
                fn(x)
    run()
    reset_peak_rss()
    before = _status_mb("VmRSS")
    run()
    print(json.dumps({"peak_mb": _status_mb("VmHWM") - before}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        _probe(json.loads(sys.argv[2]))
    else:
        raise SystemExit("internal entry point; use tools/benchmark.py")
