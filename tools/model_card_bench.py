#!/usr/bin/env python
"""Write a `tools/benchmark.py --json` result into the model cards: each family's card gets a "CPU speed"
section (command, machine, date and its rows), replaced in place on the next run.

    python tools/benchmark.py --suite cpu --json bench.json [--compare official.py]
    python tools/model_card_bench.py bench.json
"""
import argparse
import json
import re
from pathlib import Path

from visionattn import bench

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("biformer", "agent", "litv2", "transnext", "shvit", "swin", "halonet", "convit")
START, END = "<!-- cpu-speed:start -->", "<!-- cpu-speed:end -->"
NOTE = ("`reference` / `torch`: this project's model on each attention backend; `timm`: timm's implementation "
        "with the same weights; `official`: the official repository's code run locally through `--compare` "
        "(not shipped). gemm_ratio: FLOPs x img/s over the same run's fp32 2048^3 GEMM rate. Figures are "
        "medians of round-robin repetitions in one run; compare rows with each other, not with other machines.")


def family_of(model):
    name = model.removeprefix("va_")
    for family in FAMILIES:
        if name.startswith(family):
            return family
    raise ValueError(f"{model}: no model card family")


def section(payload, rows):
    m = payload["machine"]
    columns = [c for c in payload["columns"] if any(c in r for r in rows)]
    profile = bench.profile_table(rows)   # "" unless the run had --profile
    return "\n".join([
        START, "## CPU speed", "",
        f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores, {m['threads']} torch threads), torch {m['torch']}, "
        f"fp32, by `{payload['command']}`.", "",
        bench.markdown(rows, columns), "", NOTE, *(["", profile] if profile else []), END])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("json", help="output of tools/benchmark.py --json")
    p.add_argument("--cards", default=str(ROOT / "model_cards"))
    args = p.parse_args(argv)
    payload = json.loads(Path(args.json).read_text())
    by_family = {}
    for row in payload["rows"]:
        by_family.setdefault(family_of(row["model"]), []).append(row)
    for family, rows in by_family.items():
        card = Path(args.cards) / f"{family}.md"
        text = card.read_text()
        block = section(payload, rows)
        if START in text:
            text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
        elif "\n## Citation" in text:
            text = text.replace("\n## Citation", "\n" + block + "\n\n## Citation", 1)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        tmp = card.with_suffix(".md.tmp")
        tmp.write_text(text)
        tmp.replace(card)
        print(f"{card}: {len(rows)} rows")


if __name__ == "__main__":
    main()
