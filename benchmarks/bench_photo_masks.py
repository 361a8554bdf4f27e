"""The per-mask work of `semlat masks` on a 12 MP photo, beyond the generator: resize and RLE encode.

    python benchmarks/bench_photo_masks.py [--size 4032x3024] [--repeats 10] [--out FILE]

SAM's automatic mode finds masks on the 1024 copy it encodes; each is resized to the photo
(bilinear on 0/255, halfway up) and run-length encoded (pycocotools, column-major pixels). For a
real mask (scikit-image's coffee, thresholded at 1024 × 683) this times, in one run, PIL's resize
against OpenCV's (`semlat.regions.automatic._resize_mask`) with the share of pixels where they
differ, and numpy's Fortran-order copy against OpenCV's transpose before pycocotools' encode
(`semlat.rle.encode`, whose output is checked equal). Prints JSON and writes ``--out`` (default
benchmarks/results/photo_masks.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def best_ms(work, repeats: int) -> float:
    """The best of ``repeats`` timings of ``work()``, in ms (after one warm-up call)."""
    work()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="4032x3024", help="the photo's WIDTHxHEIGHT")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "photo_masks.json")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))

    from PIL import Image
    from pycocotools import mask as mask_utils
    from skimage import data

    from semlat import rle
    from semlat.regions.automatic import _resize_mask

    grey = np.asarray(Image.fromarray(data.coffee()).resize((1024, 683), Image.BICUBIC)).mean(2)
    mask = grey > 120  # the cup, saucer and table edge: long, curved boundaries

    def pil_resize() -> np.ndarray:
        return np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((width, height), Image.BILINEAR)) >= 128

    full = _resize_mask(mask, (height, width))
    assert rle.encode(full) == {
        "size": [height, width],
        "counts": mask_utils.encode(np.asfortranarray(full, dtype=np.uint8))["counts"].decode("ascii"),
    }
    resize = {
        "pil_bilinear_ms": best_ms(pil_resize, args.repeats),
        "opencv_linear_ms": best_ms(lambda: _resize_mask(mask, (height, width)), args.repeats),
        "pixels_that_differ": float((pil_resize() != full).mean()),
        "mask_pixels": float(full.mean()),
    }
    encode = {
        "numpy_fortran_copy_then_pycocotools_ms": best_ms(
            lambda: mask_utils.encode(np.asfortranarray(full, dtype=np.uint8)), args.repeats
        ),
        "semlat_rle_encode_ms": best_ms(lambda: rle.encode(full), args.repeats),
    }
    payload = {
        "what": "per mask of `semlat masks` on a photo: resize from SAM's 1024 copy, then RLE encode",
        "photo": [width, height],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_average": os.getloadavg()},
        "resize": resize,
        "encode": encode,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
