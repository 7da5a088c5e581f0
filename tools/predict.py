#!/usr/bin/env python
"""Top-5 ImageNet classes for images, with a model's own preprocessing.

    python tools/predict.py cat.jpg dog.png --model biformer_s --pretrained
    python tools/predict.py photos/ --model agent_swin_t --checkpoint agent_swin_t.safetensors --json preds.json
    python tools/predict.py digits/ --model va_swin_tiny_patch4_window7_224 --checkpoint runs/ft/best \\
        --class-names classes.txt

IMAGE: files or folders (their images; --recursive for subfolders), any size: each is resized and center-cropped
as the model's evaluation transform says (timm's resolve_data_config). Weights: --pretrained (the variant's
release; offline, see the README's "Weights offline" section) or --checkpoint (any format the family reads, or a
run's checkpoint folder; the class count comes from the file). Class names: timm's ImageNet names for 1000 /
11821 / 21841 classes, else --class-names (one per line) or "class i". Every input is checked before the model
runs: an unreadable image stops the command with the list of such files, and nothing is written.
"""
import argparse
import json
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    parser.add_argument("--model", required=True, help="registered model name (timm.list_models())")
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--pretrained", action="store_true", help="the variant's released weights")
    weights.add_argument("--checkpoint", help="a weight file or a run's checkpoint folder")
    parser.add_argument("--class-names", help="a text file with one class name per line")
    parser.add_argument("--topk", type=int, default=5, help="classes per image (default 5)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--recursive", action="store_true", help="look for images in subfolders too")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--json", metavar="FILE", help="also write the predictions as JSON ('-': stdout only)")
    args = parser.parse_args(argv)
    if args.topk < 1 or args.batch_size < 1:
        parser.error("--topk and --batch-size must be at least 1")

    from visionattn.checkpoint import CheckpointError, PretrainedUnavailableError, atomic_write_text
    from visionattn.predict import ImageError, image_files, load_classifier, predict_images, read_images
    try:
        files = image_files(args.images, args.recursive)
        images = read_images(files)                                # every input checked before any model work
        model, transform, names = load_classifier(args.model, args.pretrained, args.checkpoint, args.class_names,
                                                  args.device)
        results = predict_images(model, transform, names, files, images, args.topk, args.batch_size)
    except (ImageError, CheckpointError, PretrainedUnavailableError, FileNotFoundError, KeyError, ValueError) as e:
        print(f"predict: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    text = json.dumps(dict(model=args.model, predictions=results), indent=1)
    if args.json == "-":
        print(text)
        return 0
    for r in results:
        print(f"{r['file']} ({r['size'][0]}x{r['size'][1]})")
        for t in r["top"]:
            print(f"  {t['probability']:7.2%}  {t['index']:5d}  {t['name']}")
    if args.json:
        atomic_write_text(args.json, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
