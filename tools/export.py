#!/usr/bin/env python
"""Export a registered model to ONNX or a torch.export program with dynamic batch, height and width.

    python tools/export.py biformer_t --pretrained --format onnx --dynamic --out biformer_t.onnx
    python tools/export.py agent_swin_t --checkpoint agent_swin_t.safetensors --out agent_swin_t.pt2
    python tools/export.py transnext_micro --features --out transnext_micro_features.onnx
    python tools/export.py va_swin_tiny_patch4_window7_224 --example-size 448 --out swin_t_large_images.onnx

Weights: --pretrained (the variant's release) or --checkpoint (any format the family reads, or a run's
checkpoint folder); neither: random weights (to try the export). --features exports the features_only view (the
NCHW feature maps of every level, as timm's features_only model). The export is traced at --example-size (default:
the model's input size) and checked before it is kept: it runs at three sizes, two of them odd and non-square, and
must match eager PyTorch (ONNX in ONNX Runtime). It prints and writes (OUT.json) the sizes it accepts: some families
choose their computation by size (e.g. Swin leaves a stage whose map fits in one window unshifted), and the program
holds the choice made at the example size, so export at a size in the regime you will run. Writing is atomic.
"""
import argparse
import json
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("model", help="registered model name (timm.list_models())")
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--pretrained", action="store_true", help="the variant's released weights")
    weights.add_argument("--checkpoint", help="a weight file or a run's checkpoint folder")
    parser.add_argument("--format", choices=("onnx", "pt2"), help="default: from the suffix of --out")
    parser.add_argument("--dynamic", action="store_true", default=True,
                        help="dynamic batch, height and width (always on; kept for the documented command)")
    parser.add_argument("--out", required=True, help="the file to write (.onnx or .pt2); OUT.json gets the report")
    parser.add_argument("--features", action="store_true", help="export the feature maps (features_only)")
    parser.add_argument("--example-size", type=int, nargs="+", metavar="N",
                        help="H [W] of the example the export is traced at (default: the model's input size)")
    parser.add_argument("--opset", type=int, default=20, help="ONNX opset (>= 18; default 20)")
    parser.add_argument("--no-optimize", action="store_true", help="skip onnxscript's graph optimizer (faster)")
    args = parser.parse_args(argv)
    fmt = args.format or args.out.rsplit(".", 1)[-1]
    if fmt not in ("onnx", "pt2"):
        parser.error(f"--out {args.out!r}: give --format onnx|pt2 or an output ending in .onnx / .pt2")
    if args.example_size and (len(args.example_size) > 2 or min(args.example_size) < 1):
        parser.error("--example-size takes H or H W, positive")

    from visionattn.checkpoint import CheckpointError, PretrainedUnavailableError
    from visionattn.export import ExportError, FeatureMaps, export
    from visionattn.predict import load_classifier
    try:
        model, _, _ = load_classifier(args.model, args.pretrained, args.checkpoint)
        if args.features:
            model = FeatureMaps(model)
        size = None if not args.example_size else tuple(args.example_size * (3 - len(args.example_size)))[:2]
        report = export(model, args.out, fmt=fmt, example_size=size, opset=args.opset,
                        optimize=not args.no_optimize, name=args.model + (" (features)" if args.features else ""))
    except (ExportError, CheckpointError, PretrainedUnavailableError, OSError, KeyError, ValueError,
            ImportError) as e:
        print(f"export: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({fmt}) and {args.out}.json")
    print("accepts: " + ", ".join(f"{k} {v}" for k, v in report["dims"].items()))
    for c in report.get("checks", []):
        print(f"  checked at {c['input']}: max |export - eager| = {c['max_abs_error']:.2e} "
              f"(outputs up to {c['max_abs_output']:.3g})")
    if report.get("nonstandard_ops"):
        print("operators outside the ONNX standard domain: " + json.dumps(report["nonstandard_ops"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
