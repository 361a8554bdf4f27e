"""Batches of prompts side by side on a CPU against one batch at a time on all threads: the generator, interleaved.

    python benchmarks/generator_threads.py [--rounds 2] [--out FILE]

`semlat.regions.generator.generate` with ``threads=1`` (one batch of prompts at a time, PyTorch's
intra-op threads over every op) and ``threads=CPU_THREADS`` (that many batches at once, each
thread with its share of the intra-op threads), on the generator benchmark's photos (scikit-image's
astronaut, coffee, chelsea, rocket at a 1024 long side; MobileSAM, 32×32 prompts), float32 and
bfloat16. The two settings alternate image by image in one process (the order flips each round),
so the machine's slow and fast minutes fall on both; the masks of the two are checked equal.
Prints JSON and writes ``--out`` (default benchmarks/results/generator_threads.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks")]

from bench_masks import photos  # noqa: E402

NAMES = ["astronaut", "coffee", "chelsea", "rocket"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "generator_threads.json")
    args = parser.parse_args()

    import torch

    from semlat.imageio import load_rgb
    from semlat.regions.generator import CPU_THREADS, generate
    from semlat.regions.sam import SamSpec, load_sam

    model = load_sam(SamSpec.resolve("mobile-sam"), "cpu")
    with tempfile.TemporaryDirectory() as tmp:  # the generator benchmark's photos, written and read as it does
        images = dict(zip(NAMES, [load_rgb(path) for path in photos(len(NAMES), Path(tmp))], strict=True))
    start_load = os.getloadavg()
    results: dict[str, dict] = {}
    for precision, dtype in (("bfloat16", torch.bfloat16), ("float32", None)):
        seconds: dict[int, list[float]] = {1: [], CPU_THREADS: []}
        for round_ in range(args.rounds):
            for name, image in images.items():
                masks = {}
                order = (1, CPU_THREADS) if round_ % 2 == 0 else (CPU_THREADS, 1)
                for threads in order:
                    start = time.perf_counter()
                    masks[threads] = generate(model, image, dtype=dtype, threads=threads).masks
                    seconds[threads].append(time.perf_counter() - start)
                    print(precision, round_, name, threads, round(seconds[threads][-1], 2), flush=True)
                assert np.array_equal(masks[1], masks[CPU_THREADS]), f"{name}: the masks differ"
        one, several = float(np.mean(seconds[1])), float(np.mean(seconds[CPU_THREADS]))
        results[precision] = {
            "s_per_image_one_batch_at_a_time": round(one, 2),
            f"s_per_image_{CPU_THREADS}_batches_side_by_side": round(several, 2),
            "time_saved": round(1 - several / one, 3),
            "runs_per_setting": len(seconds[1]),
            "same_masks": True,
        }
        print(precision, results[precision], flush=True)
    payload = {
        "what": "the automatic generator with batches of prompts side by side on a CPU against one at a time, interleaved in one process",
        "machine": {"cpus": os.cpu_count(), "threads": torch.get_num_threads(), "platform": platform.platform()},
        "load_average_start": [round(x, 2) for x in start_load],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "images": list(images),
        "settings": "MobileSAM (bundled weights), 32x32 prompts, 64 a batch, 1024 long side, crop layers 0, levels off",
        "results": results,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
