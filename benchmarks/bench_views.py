"""Region views per second: the uint8 path (`semlat.encoders.views`) against the float32 path it replaced.

    python benchmarks/bench_views.py [--regions 41] [--threads 1,2] [--device cuda] [--out FILE]

scikit-image's astronaut resized to 1920×1080, its classical regions (the default settings), views
at 224 px. For each strategy, the time per view of the float32 reference (`tests.views_reference`:
full-mask decode, float resize) and of ours (box decode, uint8 channels-last resize), one thread,
in the same run; then ours with a pool of worker threads (one torch thread each), the way the
embed stage makes views while the model runs. With ``--device cuda`` also the views cut on the
GPU (the image uploaded once; ms per view, synchronised) and their largest difference from the
CPU's. Prints JSON and writes ``--out`` (default benchmarks/results/views.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.views_reference import float_view  # noqa: E402

from semlat.encoders.views import STRATEGIES, Pixels, region_view  # noqa: E402
from semlat.regions.classical import ClassicalProposer  # noqa: E402

SIZE = 224


def photo() -> np.ndarray:
    from PIL import Image
    from skimage import data

    return np.array(Image.fromarray(data.astronaut()).resize((1920, 1080), Image.BICUBIC))


def per_view_ms(make, regions, repeats: int = 3) -> float:
    """Best of ``repeats`` of the mean time per view."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for region in regions:
            make(region)
        best = min(best, (time.perf_counter() - start) / len(regions))
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int, default=41)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--device", default=None, help="also time the views cut on this device (e.g. cuda)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "views.json")
    args = parser.parse_args()

    load_start = os.getloadavg()
    pixels = photo()
    regions = ClassicalProposer().propose(pixels)[: args.regions]
    image, float_image = Pixels(pixels), torch.from_numpy(pixels).permute(2, 0, 1).float() / 255
    torch.set_num_threads(1)
    results: dict[str, dict] = {}
    for strategy in STRATEGIES:
        reference = per_view_ms(lambda r: float_view(float_image, r.mask(), r, strategy, SIZE), regions)  # noqa: B023
        ours = per_view_ms(lambda r: region_view(image, r, strategy, SIZE), regions)  # noqa: B023
        diff = max(
            float(
                (region_view(image, r, strategy, SIZE).float() / 255 - float_view(float_image, r.mask(), r, strategy, SIZE))
                .abs()
                .mean()
            )
            for r in regions
        )
        results[strategy] = {
            "float32_reference_ms_per_view": round(reference, 2),
            "uint8_ms_per_view": round(ours, 2),
            "speedup": round(reference / ours, 1),
            "worst_mean_abs_difference": round(diff, 5),
        }
        print(strategy, results[strategy], flush=True)
    pooled = {}
    for threads in (int(t) for t in args.threads.split(",")):
        with ThreadPoolExecutor(threads) as pool:
            start = time.perf_counter()
            list(pool.map(lambda r: region_view(image, r, "masked-crop", SIZE), regions * 4))
            seconds = time.perf_counter() - start
        pooled[str(threads)] = round(len(regions) * 4 / seconds, 1)
    print("masked-crop views per second by worker threads:", pooled)
    on_device = None
    if args.device:
        device_image = Pixels(pixels, args.device)
        region_view(device_image, regions[0], "masked-crop", SIZE)  # warm-up

        def synced(region):
            region_view(device_image, region, "masked-crop", SIZE)
            if torch.cuda.is_available():
                torch.cuda.synchronize()

        on_device = {
            "device": args.device,
            "masked_crop_ms_per_view": round(per_view_ms(synced, regions), 3),
            "max_levels_from_cpu": max(
                int(
                    (
                        region_view(device_image, r, "masked-crop", SIZE).cpu().int()
                        - region_view(image, r, "masked-crop", SIZE).int()
                    )
                    .abs()
                    .max()
                )
                for r in regions
            ),
        }
        print(on_device)
    payload = {
        "image": "astronaut resized to 1920x1080",
        "regions": len(regions),
        "view_size": SIZE,
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "strategies": results,
        "masked_crop_views_per_second_by_threads": pooled,
        "on_device": on_device,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
