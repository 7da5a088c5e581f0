"""Export any registered model with dynamic batch, height and width: ONNX (opset >= 18) or a ``torch.export``
program (``.pt2``).

    from visionattn.export import export
    report = export(model, "biformer_t.onnx", fmt="onnx")     # model: an nn.Module in eval mode
    report["dims"]   # {'batch': [1, 1024], 'height': [32, 4096], 'width': [32, 4096]}: the sizes it accepts

``tools/export.py`` is the command line. One path for both formats: ``torch.export`` traces the model once with
symbolic batch / height / width (non-strict), the sizes each accepts come from the program's own guards (what
the model's shape logic assumed at the example size, e.g. the minimum size its stages allow), and the ONNX file
is translated from that program. Each export is checked before it is kept: the exported model runs at three
sizes (two odd and non-square; ONNX in ONNX Runtime, ``.pt2`` in PyTorch) and must match eager. A report
(``<out>.json``) records the accepted sizes, the opset, the operators of the graph and the errors. Files are
written atomically: a failed or interrupted export leaves no file at ``out``.
"""
import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import torch
from torch import nn

__all__ = ["ExportError", "export", "FeatureMaps", "ONNX_STANDARD_DOMAINS"]

FORMATS = ("onnx", "pt2")
# the ONNX standard operator sets: the default domain (its two spellings) and ai.onnx.ml
ONNX_STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml")
MAX_SIZE = 4096
MAX_BATCH = 1024


class ExportError(RuntimeError):
    """An export that did not produce a file that runs like the eager model."""


class FeatureMaps(nn.Module):
    """The ``features_only`` view of a classifier: its feature maps (NCHW, ``forward_intermediates``), a tuple."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return tuple(self.model.forward_intermediates(x, intermediates_only=True))


def _outputs(out):
    return [o.detach().float() for o in (out if isinstance(out, (tuple, list)) else (out,))]


def _max_error(got, want):
    if len(got) != len(want):
        raise ExportError(f"the exported model returns {len(got)} outputs, eager {len(want)}")
    errors = []
    for g, w in zip(got, want):
        if tuple(g.shape) != tuple(w.shape):
            raise ExportError(f"the exported model returns shape {tuple(g.shape)}, eager {tuple(w.shape)}")
        errors.append((g - w).abs().max().item())
    return max(errors), max(w.abs().max().item() for w in want)


def _dims(model, example):
    """The dynamic dims of the input: batch >= 1, height and width >= the model's minimum size."""
    from torch.export import Dim
    low = int(getattr(model, "min_size", 1) or 1)
    low = max(low, getattr(getattr(model, "model", None), "min_size", 1) or 1)
    # AUTO: the range each dim accepts is what the model's shape logic allows (read back from the program),
    # within these bounds; a model whose logic fixes a dim exports it static and the report says so
    return {0: Dim.AUTO(min=1, max=MAX_BATCH), 2: Dim.AUTO(min=low, max=MAX_SIZE),
            3: Dim.AUTO(min=low, max=MAX_SIZE)}


class _Input:
    """Stands for the input in torch.export's guard expressions (``L['x'].size()[i]``)."""

    def __init__(self, shape):
        self.shape = shape

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]


def _guard_check(ep):
    """shape -> whether the program's guards (its assumptions on the input sizes) hold for an input of that
    shape. An ONNX graph carries no guards: outside them it would compute something else without an error."""
    import math
    guards = [compile(g, "<guard>", "eval") for g in getattr(ep, "_guards_code", [])]

    def ok(shape):
        env = {"L": {"x": _Input(list(shape))}, "torch": torch, "math": math}
        for guard in guards:
            try:
                if not eval(guard, env):   # noqa: S307  (torch.export's own guard code, over plain ints)
                    return False
            except Exception:   # a guard on something other than sizes: not decidable here
                continue
        return True
    return ok


def _summarise(values):
    """[min, max] for a run of consecutive sizes, else min / max / the step (multiple) or the count."""
    if not values:
        return None
    lo, hi = values[0], values[-1]
    if len(values) == hi - lo + 1:
        return [lo, hi]
    steps = {b - a for a, b in zip(values, values[1:])}
    if len(steps) == 1:
        return dict(min=lo, max=hi, step=steps.pop())
    return dict(min=lo, max=hi, sizes=len(values), note="not every size in between")


def _accepted(ep, example, low):
    """{'batch' | 'height' | 'width': accepted sizes} (each scanned with the others at the example's): what the
    program's guards allow within the exported bounds."""
    ok = _guard_check(ep)
    shape = list(example.shape)
    accepted, sets = {}, {}
    for name, index, lo, hi in (("batch", 0, 1, MAX_BATCH), ("height", 2, low, MAX_SIZE),
                                ("width", 3, low, MAX_SIZE)):
        sets[name] = [n for n in range(lo, hi + 1) if ok(shape[:index] + [n] + shape[index + 1:])]
        accepted[name] = _summarise(sets[name])
    return accepted, sets


def _pick(values, want):
    """The accepted size nearest ``want``, odd if one is as near."""
    return min(values, key=lambda n: (abs(n - want), n % 2 == 0))


def _check_sizes(sets, example):
    """Batch 1 at the example size; batch 3 at an odd, non-square size about 1.3 x 1.1 the example; batch 2 at one
    about 0.7 x 0.6 of it (each the nearest accepted size)."""
    _, c, h, w = example.shape
    return [(_pick(sets["batch"], 1), c, h, w),
            (_pick(sets["batch"], 3), c, _pick(sets["height"], int(h * 1.3) | 1), _pick(sets["width"], int(w * 1.1) | 1)),
            (_pick(sets["batch"], 2), c, _pick(sets["height"], int(h * 0.7) | 1), _pick(sets["width"], int(w * 0.6) | 1))]


def _program_ops(ep):
    return Counter(str(n.target) for n in ep.graph.nodes if n.op == "call_function")


def _onnx_ops(path):
    import onnx
    proto = onnx.load(str(path), load_external_data=False)
    ops = Counter()

    def visit(graph):
        for node in graph.node:
            ops[f"{node.domain or 'ai.onnx'}::{node.op_type}"] += 1
            for attr in node.attribute:
                if attr.g is not None and attr.g.node:
                    visit(attr.g)
                for sub in attr.graphs:
                    visit(sub)
    visit(proto.graph)
    for fn in proto.functions:   # local functions: their bodies are what a runtime executes
        ops[f"{fn.domain}::{fn.name} (function)"] += 1
        for node in fn.node:
            ops[f"{node.domain or 'ai.onnx'}::{node.op_type}"] += 1
    opset = max((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), default=None)
    return ops, opset


def _run_onnx(path, x):
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    outs = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    return [torch.from_numpy(o).float() for o in outs]


def _run_program(path, x):
    return _outputs(torch.export.load(str(path)).module()(x))


def export(model, out, fmt=None, example_size=None, batch=2, opset=20, optimize=True, check=True,
           tolerance=1e-4, name=None):
    """Export ``model`` (eval mode; its ``pretrained_cfg`` gives the example size unless ``example_size``) to
    ``out`` with dynamic batch, height and width; returns the report also written to ``<out>.json``.

    ``fmt``: 'onnx' or 'pt2' (default: from the suffix of ``out``). ``check``: run the export at three sizes (the
    example's at batch 1, and two odd, non-square ones, larger and smaller) and compare with eager (max error <=
    ``tolerance`` x max(1, |y|max)), raising ``ExportError`` (nothing written) when it does not match.

    The report's ``dims``: the sizes the program accepts along each axis (the others at the example's), read from
    its guards, which hold the model's size-dependent choices made at the example (e.g. Swin leaves a stage whose
    map fits in one window unshifted): export at an example size in the regime you will run. A .pt2 program
    refuses inputs outside them; an ONNX graph cannot check them."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    out = Path(out)
    fmt = fmt or out.suffix.lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)} (or an output file "
                         f"ending in .onnx / .pt2)")
    if fmt == "onnx" and opset < 18:
        raise ValueError(f"opset {opset}: the exporter writes opset 18 or newer")
    if out.is_dir():
        raise IsADirectoryError(f"{out} is a folder: give the path of the file to write")
    model = model.eval()
    cfg = getattr(model, "pretrained_cfg", None) or getattr(getattr(model, "model", None), "pretrained_cfg", {})
    in_chans, height, width = cfg.get("input_size", (3, 224, 224))
    if example_size is not None:
        height, width = (example_size, example_size) if isinstance(example_size, int) else example_size
    x = torch.randn(batch, in_chans, height, width, generator=torch.Generator().manual_seed(0))

    # the attention's math form: the CPU flash kernel's output strides differ from the decomposition the exporter
    # re-traces it with, and a later view fails (pytorch/pytorch#136543); the graph holds the same attention op
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        try:
            # size-oblivious: the example's batch of 2 does not make the program refuse a batch of 1
            with torch.fx.experimental._config.patch(backed_size_oblivious=True):
                ep = torch.export.export(model, (x,), dynamic_shapes=(_dims(model, x),), strict=False)
        except Exception as e:   # torch's message names the shape logic that failed and suggests fixes
            raise ExportError(f"torch.export could not trace {name or type(model).__name__} with dynamic batch / "
                              f"height / width:\n{e}") from e
    low = _dims(model, x)[2].min
    accepted, sets = _accepted(ep, x, low)
    if not all(sets.values()):
        raise ExportError(f"the program traced from {name or type(model).__name__} accepts no input (its guards "
                          f"exclude every size): {accepted}")
    report = dict(model=name or type(model).__name__, format=fmt, file=out.name, input="images (batch, "
                  f"{in_chans}, height, width)", example=list(x.shape), dims=accepted, torch=torch.__version__)

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        target = staging / out.name
        if fmt == "pt2":
            torch.export.save(ep, str(target))
            report["ops"] = dict(sorted(_program_ops(ep).items()))
            run = _run_program
        else:
            import onnx  # noqa: F401  (a clear ImportError before a long export)
            with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
                program = torch.onnx.export(ep, (x,), dynamo=True, opset_version=opset, optimize=optimize,
                                            input_names=["images"], verbose=False)
            program.save(str(target), external_data=sum(p.numel() * p.element_size()
                                                         for p in model.parameters()) > 1.5e9)
            ops, report["opset"] = _onnx_ops(target)
            report["ops"] = dict(sorted(ops.items()))
            report["nonstandard_ops"] = sorted(op for op in ops if op.split("::")[0] not in ONNX_STANDARD_DOMAINS)
            run = _run_onnx
        if check:
            report["checks"] = []
            sizes = _check_sizes(sets, x)
            if fmt == "onnx":   # a batch of 1 runs in the graph even where the tracer assumed more (see _run_program)
                sizes[0] = (1,) + sizes[0][1:]
            for i, size in enumerate(sizes):
                inputs = torch.randn(*size, generator=torch.Generator().manual_seed(i))
                with torch.no_grad():
                    expected = _outputs(model(inputs))
                err, scale = _max_error(run(target, inputs), expected)
                report["checks"].append(dict(input=list(inputs.shape), max_abs_error=err, max_abs_output=scale))
                if not err <= tolerance * max(1.0, scale):
                    raise ExportError(f"the exported {fmt} model differs from eager at input {list(inputs.shape)}: "
                                      f"max |error| {err:.3g} for outputs up to {scale:.3g}")
        batch = report["dims"]["batch"]
        if fmt == "onnx" and check and isinstance(batch, list) and batch[0] > 1:
            # the tracer assumed a batch > 1 (the memory-format logic of CPU convolutions and norms); the graph
            # holds no memory format, and the check above ran it at batch 1
            report["dims"]["batch"] = [1, batch[1]]
        for part in staging.iterdir():   # the file (and its external data, if any), then the report
            os.replace(part, out.parent / part.name)
        tmp_report = staging / (out.name + ".json")
        tmp_report.write_text(json.dumps(report, indent=1) + "\n")
        os.replace(tmp_report, out.parent / tmp_report.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report
