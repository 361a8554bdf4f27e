"""The embed stage against the bare model forward on the same views, in one run.

    python benchmarks/bench_embed.py [--model ViT-B-16] [--images 4] [--device cpu|cuda] [--out FILE]

Images: scikit-image's astronaut, coffee, chelsea and rocket resized to 1920×1080, with their
classical regions at the defaults. The model: OpenCLIP ``--model`` with seeded random weights
(no weights can be downloaded here; the arithmetic is the real one). Measured, same process:

* ``bare_forward``: the views made beforehand (`image_views`), then only
  ``encoder.encode_images`` over them, in the stage's batches: the rate the model alone allows;
* ``stage``: `embed_regions` on a fresh feature set: reading regions, making the views on worker
  threads while the model runs, encoding, and one commit per image;
* ``view_preparation_ms_per_view``: making the views alone (one thread, reading the image included).

Target (issue 16): the stage at ≥ 90% of the bare forward's regions per second; on a GPU ≥ 2,000
regions/s with ViT-B-16. Prints JSON and writes ``--out`` (default benchmarks/results/embed.json,
``embed_cuda.json`` with ``--device cuda``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

RESULTS = Path(__file__).resolve().parent / "results"
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def write_photos(folder: Path, count: int) -> None:
    from PIL import Image
    from skimage import data

    folder.mkdir(parents=True)
    for index in range(count):
        image = Image.fromarray(getattr(data, PHOTOS[index % len(PHOTOS)])()).convert("RGB")
        image.resize((1920, 1080), Image.BICUBIC).save(folder / f"photo_{index:02d}.png")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="ViT-B-16")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import open_clip

    from semlat.encoders import ModelSpec, load_encoder
    from semlat.stages.embed import embed_regions, image_vectors, image_views
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace

    result: dict[str, Any] = {
        "model": f"{args.model} (random weights)",
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "load_average_at_start": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="semlat-bench-embed-") as work:
        root = Path(work)
        write_photos(root / "images", args.images)
        torch.manual_seed(0)
        checkpoint = root / f"{args.model}.pt"
        torch.save(open_clip.create_model(args.model).state_dict(), checkpoint)
        encoder = load_encoder(ModelSpec(args.model, str(checkpoint)), args.device)
        ws = Workspace.open_or_create(root / "ws")
        propose_regions(ws, root / "images", backend="classical")
        records = ws.images()
        regions = {record.image_id: ws.regions("classical", record) for record in records}
        views_count = sum(1 + len(found) for found in regions.values())
        result["images"], result["views"] = len(records), views_count

        start = time.perf_counter()
        views = [
            image_views(record, regions[record.image_id], "masked-crop", encoder.image_size, encoder.device) for record in records
        ]
        prepare_s = time.perf_counter() - start
        image_vectors(encoder, views[0][:2], args.batch_size)  # warm-up
        if encoder.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for image in views:
            image_vectors(encoder, image, args.batch_size)
        bare_s = time.perf_counter() - start

        start = time.perf_counter()
        embed_regions(ws, encoder=encoder, feature_set="bench", batch_size=args.batch_size)
        stage_s = time.perf_counter() - start

        result["bare_forward"] = {"s": round(bare_s, 2), "views_per_s": round(views_count / bare_s, 1)}
        result["stage"] = {"s": round(stage_s, 2), "views_per_s": round(views_count / stage_s, 1)}
        result["stage_over_bare_forward_rate"] = round(bare_s / stage_s, 3)
        result["view_preparation_ms_per_view"] = round(1000 * prepare_s / views_count, 2)
    if args.device.startswith("cuda"):  # issue 16's GPU targets
        result["targets"] = {
            "stage_at_least_2000_regions_per_s": result["stage"]["views_per_s"] >= 2000,
            "stage_at_least_0.5_of_bare_forward": result["stage_over_bare_forward_rate"] >= 0.5,
        }
    else:
        result["targets"] = {"stage_at_least_0.9_of_bare_forward": result["stage_over_bare_forward_rate"] >= 0.9}
    result["load_average_at_end"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    print(text)
    out = args.out or RESULTS / ("embed_cuda.json" if args.device.startswith("cuda") else "embed.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
