#!/usr/bin/env python
"""Build (once) and install mmcv 2.1.0 with its compiled ops for the current torch, CPU.

mmcv 2.1.0 publishes no wheel for current torch; its source release builds once two things are fixed:
torch >= 2.13 headers need C++20 (the release asks for -std=c++17), and its setup.py imports
``pkg_resources`` (setuptools >= 77, < 82 still ships it). The wheel is cached in
$VISIONATTN_WHEEL_CACHE (default ~/.cache/visionattn/wheels), keyed by the torch version, so later
installs take seconds instead of ~9 minutes.

    python tools/build_mmcv.py            # build if not cached, then pip install the cached wheel
    python tools/build_mmcv.py --no-install
"""
import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request

VERSION = "2.1.0"
SDIST = "mmcv-2.1.0.tar.gz"
SHA256 = "d387bcab66b467479b6660310e23746cfc79c6e57acf04094680adb499a5cd3f"
SIMPLE_INDEX = "https://pypi.org/simple/mmcv/"


def cache_dir():
    return os.environ.get("VISIONATTN_WHEEL_CACHE", os.path.expanduser("~/.cache/visionattn/wheels"))


def torch_tag():
    import torch
    return "torch" + torch.__version__.split("+")[0]


def cached_wheel():
    hits = glob.glob(os.path.join(cache_dir(), torch_tag(), f"mmcv-{VERSION}-*.whl"))
    return hits[0] if hits else None


def download(dest):
    page = urllib.request.urlopen(SIMPLE_INDEX, timeout=60).read().decode()
    match = re.search(r'href="([^"]*/' + re.escape(SDIST) + r')[^"]*"', page)
    if not match:
        raise SystemExit(f"{SDIST} not found on {SIMPLE_INDEX}")
    path = os.path.join(dest, SDIST)
    with urllib.request.urlopen(match.group(1), timeout=300) as r, open(path, "wb") as f:
        shutil.copyfileobj(r, f)
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"{SDIST}: sha256 {digest} does not match the release's {SHA256}")
    return path


def build():
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(download(tmp)) as tar:
            tar.extractall(tmp, filter="data")
        src = os.path.join(tmp, f"mmcv-{VERSION}")
        setup_py = os.path.join(src, "setup.py")
        text = open(setup_py).read()
        patched = text.replace("'-std=c++17'", "'-std=c++20'")
        if patched == text:
            raise SystemExit("mmcv setup.py no longer asks for -std=c++17: check the patch")
        open(setup_py, "w").write(patched)
        out = os.path.join(tmp, "wheel")
        env = dict(os.environ, MMCV_WITH_OPS="1", FORCE_CUDA="0", MAX_JOBS=str(os.cpu_count() or 2))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", out, src],
                       check=True, env=env)
        wheel = glob.glob(os.path.join(out, "mmcv-*.whl"))[0]
        target = os.path.join(cache_dir(), torch_tag())
        os.makedirs(target, exist_ok=True)
        final = os.path.join(target, os.path.basename(wheel))
        shutil.copy(wheel, final + ".part")
        os.replace(final + ".part", final)
        return final


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--no-install", action="store_true")
    p.add_argument("--rebuild", action="store_true")
    args = p.parse_args(argv)
    wheel = None if args.rebuild else cached_wheel()
    if wheel:
        print(f"using cached {wheel}")
    else:
        print(f"building mmcv {VERSION} with its CPU ops for {torch_tag()} (about 9 minutes on 2 cores)")
        wheel = build()
        print(f"cached {wheel}")
    if not args.no_install:
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", wheel], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
