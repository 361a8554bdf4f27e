"""The CPU floor of the automatic generator's decoder: its multiply-adds per prompt against this machine's GEMM rate.

    python benchmarks/decoder_floor.py [--prompts 64] [--precisions float32,bfloat16] [--out FILE]

Counts the multiply-accumulates (MACs) of one point prompt through `semlat.regions.prompt_decoder`
with PyTorch's FLOP counter (MobileSAM; the decoder's own arrangement: the first layer's image
projections made once per image, the second layer read from the first layer's update as factors,
the final attention folded into the tokens, the upscaling's first product read from the layers'
updates), measures this machine's best matrix-multiply rate (2048² by 2048², all threads, in each
precision), and times the decoder itself in the same run (scikit-image's astronaut, every prompt
given masks, chunks as the generator runs them, freed memory kept as the generator keeps it). The floor for SAM's 32×32 grid is 1024 × MACs / best rate: no
implementation of these products on this CPU gets under it. Prints JSON and writes ``--out``
(default benchmarks/results/decoder_floor.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
GRID_PROMPTS = 32 * 32


def decoder_macs(model, latent, points) -> dict[str, int]:
    """MACs per prompt of the transformer and of the mask upscaling, as PyTorch's FLOP counter counts the ops that run."""
    from torch.utils.flop_counter import FlopCounterMode

    decoder = model.prompt_decoder(latent)
    sparse = model.point_embeddings(points[:, None, :], np.ones((len(points), 1), np.int64))
    with FlopCounterMode(display=False) as counter:
        tokens = decoder.tokens(sparse)
    transformer = counter.get_total_flops() // 2 // len(points)
    with FlopCounterMode(display=False) as counter:
        decoder.masks(tokens)
    return {"transformer": transformer, "mask_upscaling": counter.get_total_flops() // 2 // len(points)}


def gemm_rate(dtype: torch.dtype, side: int = 2048, repeats: int = 5) -> float:
    """Best GMAC/s of a side³ matrix product in ``dtype`` on all threads."""
    a, b = torch.randn(side, side).to(dtype), torch.randn(side, side).to(dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return side**3 / best / 1e9


def decoder_ms_per_prompt(model, latent, points, dtype, repeats: int = 3) -> float:
    """Best over ``repeats`` of the mean time per prompt of `PromptDecoder.decode` with every prompt given masks."""
    decoder = model.prompt_decoder(latent, dtype)
    sparse = model.point_embeddings(points[:, None, :], np.ones((len(points), 1), np.int64))
    decoder.decode(sparse[:4], 0.0)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        decoder.decode(sparse, 0.0)
        best = min(best, (time.perf_counter() - start) / len(points))
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument(
        "--precisions", default="float32,bfloat16", help="bfloat16 only means something on a CPU with it natively"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "decoder_floor.json")
    args = parser.parse_args()

    from skimage import data

    from semlat.device import keep_freed_memory, native_bfloat16
    from semlat.regions.generator import point_grid
    from semlat.regions.prompt_decoder import CPU_CHUNK
    from semlat.regions.sam import SamSpec, load_sam, to_input_frame

    load_start = os.getloadavg()
    keep_freed_memory()
    model = load_sam(SamSpec.resolve("mobile-sam"), "cpu")
    image = data.astronaut()
    latent = model.encode(image).latent
    points = to_input_frame(point_grid(32) * np.array([image.shape[1], image.shape[0]]), image.shape[:2])
    points = points[np.random.default_rng(0).choice(len(points), args.prompts, replace=False)]
    macs = decoder_macs(model, latent, points[:4])
    per_prompt = sum(macs.values())
    precisions = {}
    for name in args.precisions.split(","):
        dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[name]
        rate = gemm_rate(dtype)
        ms = decoder_ms_per_prompt(model, latent, points, None if dtype == torch.float32 else dtype)
        precisions[name] = {
            "best_gemm_gmac_per_s": round(rate, 1),
            "decoder_ms_per_prompt": round(ms, 2),
            "decoder_gmac_per_s": round(per_prompt / ms / 1e6, 1),
            "share_of_best_gemm_rate": round(per_prompt / ms / 1e6 / rate, 3),
            "floor_s_for_32x32_prompts": round(GRID_PROMPTS * per_prompt / rate / 1e9, 2),
            "measured_s_for_32x32_prompts": round(GRID_PROMPTS * ms / 1000, 2),
        }
        print(name, precisions[name], flush=True)
    payload = {
        "what": "the decoder's multiply-adds per prompt (MobileSAM, as semlat.regions.prompt_decoder arranges them) against this machine's best GEMM rate",
        "machine": {
            "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "native_bfloat16": native_bfloat16(torch.device("cpu")),
        },
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "prompts_timed": args.prompts,
        "cpu_chunk": CPU_CHUNK,
        "macs_per_prompt": {**macs, "total": per_prompt},
        "precisions": precisions,
        "note": "every prompt is given masks here; in a run only prompts with an output above the IoU threshold are",
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
