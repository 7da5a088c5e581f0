#!/usr/bin/env python
"""Turn an official weight file into this project's safetensors layout and print its sha256, so a lab can verify
a release once and mirror it.

    python tools/convert_checkpoint.py agent_swin_t agent_swin_t_max_acc.pth --out agent_swin_t.safetensors
    python tools/convert_checkpoint.py agent_cswin_b.in1k_384 agent_cswin_b_384_max_acc.pth --out b384.safetensors

MODEL is a registered name, with a pretrained tag where the tag builds another model (e.g. the 384 releases). FILE
is any format the family reads (bare state dicts, {'model': ...} / {'state_dict': ...} containers, Agent's yacs
training checkpoints, ``module.`` prefixes, safetensors); ``--ema`` takes the EMA weights of a container that
holds both. The weights go through the family's conversion and must fill the model exactly (the load is strict),
so a file of another variant is refused with the keys that do not fit. The output loads with
``timm.create_model(MODEL, pretrained=True, pretrained_cfg_overlay=dict(file=OUT))`` (or from a hub mirror:
``hf_hub_id``), the training engine's ``model.pretrained=OUT`` and mm configs' ``init_cfg``.
"""
import argparse
import os
import sys

def convert(model_name, source, out, ema=False, overwrite=False):
    """Convert ``source`` for ``model_name`` into ``out`` (safetensors, written atomically); returns (the output's
    sha256, the source's sha256)."""
    import timm

    import visionattn  # noqa: F401  (registers the zoo)
    from visionattn.checkpoint import atomic_save_safetensors, sha256_of
    from visionattn.models import check_model_name, load_checkpoint

    check_model_name(model_name)
    if not out.endswith(".safetensors"):
        raise ValueError(f"--out must name a .safetensors file, got {out!r}")
    if os.path.exists(out) and not overwrite:
        raise FileExistsError(f"{out!r} exists; pass --overwrite to replace it")
    if os.path.abspath(out) == os.path.abspath(source):
        raise ValueError("--out must differ from FILE")
    model = timm.create_model(model_name, pretrained=False)
    load_checkpoint(model, source, strict=True, new_head=False, ema=ema)
    source_sha = sha256_of(source)
    metadata = {"format": "pt", "model": model_name, "source_file": os.path.basename(source),
                "source_sha256": source_sha, "weights": "ema" if ema else "model"}
    atomic_save_safetensors(model.state_dict(), out, metadata=metadata)
    return sha256_of(out), source_sha


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="registered model name, optionally with a pretrained tag")
    parser.add_argument("file", help="the official weight file")
    parser.add_argument("--out", required=True, help="the .safetensors file to write")
    parser.add_argument("--ema", action="store_true", help="take the EMA weights of the container")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    args = parser.parse_args(argv)
    from visionattn.checkpoint import CheckpointError
    try:
        out_sha, source_sha = convert(args.model, args.file, args.out, args.ema, args.overwrite)
    except (CheckpointError, FileNotFoundError, FileExistsError, KeyError, ValueError) as e:
        print(f"convert_checkpoint: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    print(f"{args.file}: sha256 {source_sha}")
    print(f"{args.out}: sha256 {out_sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
