"""Which training recipe gets the toy CLIP furthest for the compute of one 20-minute CPU run?

Recipes are given in counts (rendered scenes, optimiser steps, batch size, learning rate), so the
comparison does not depend on the machine: run them on a GPU to compare many at once, then time
the winner on the 2-core CPU machine (`semlat toyworld train`) to check that it fits.

    python benchmarks/toy_clip_recipes.py render --out DIR --chunks 4 --workers 14
    python benchmarks/toy_clip_recipes.py train --out DIR --recipe s300-b256-n1800-lr1e-3 --device cuda

``render`` writes chunks of 150 training scenes each (seeds 1000, 1150, ...); ``train`` uses the
first ``s / 150`` chunks, trains, evaluates zero-shot on held-out scenes 0-19 (4 views) and writes
``DIR/RECIPE.json``. ``summary`` gathers them into one table.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import torch

from semlat_toy import clip_data
from semlat_toy.clip_data import ToyDataset
from semlat_toy.train import TrainConfig, evaluate_zero_shot, train_toy_clip

CHUNK_SCENES = 150


def parse_recipe(name: str) -> dict[str, float]:
    """``s300-b256-n1800-lr1e-3`` → scenes 300, batch 256, steps 1800, lr 1e-3."""
    match = re.fullmatch(r"s(\d+)-b(\d+)-n(\d+)-lr([0-9.e-]+)", name)
    if match is None:
        raise SystemExit(f"recipe {name!r} is not sSCENES-bBATCH-nSTEPS-lrLR, e.g. s150-b128-n4000-lr1e-3")
    scenes, batch, steps, lr = match.groups()
    return {"scenes": int(scenes), "batch": int(batch), "steps": int(steps), "lr": float(lr)}


def concat(datasets: list[ToyDataset]) -> ToyDataset:
    fields = ("images", "kind", "colour", "shape", "view", "contents")
    return ToyDataset(*(torch.cat([getattr(d, f) for d in datasets]) for f in fields))


def render(out: Path, chunks: int, workers: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for chunk in range(chunks):
        path = out / f"chunk{chunk}.pt"
        if path.is_file():
            continue
        start = time.perf_counter()
        data = clip_data.build_dataset(
            CHUNK_SCENES, 32, seed_start=clip_data.TRAIN_SEED_START + chunk * CHUNK_SCENES, workers=workers, progress=False
        )
        torch.save(vars(data), path)
        print(f"chunk {chunk}: {len(data)} samples in {time.perf_counter() - start:.0f}s", flush=True)


def train(out: Path, recipe: str, device: str, threads: int, seed: int = 0) -> None:
    spec = parse_recipe(recipe)
    chunks = [ToyDataset(**torch.load(out / f"chunk{i}.pt")) for i in range(-(-spec["scenes"] // CHUNK_SCENES))]
    data = concat(chunks)
    config = TrainConfig(batch_size=spec["batch"], lr=spec["lr"], threads=threads, device=device)
    start = time.perf_counter()
    name = recipe if seed == 0 else f"{recipe}-seed{seed}"
    weights = train_toy_clip(
        out / f"{name}.pt", 20.0, seed=seed, steps=spec["steps"], dataset=data, config=config, progress=False
    )
    seconds = time.perf_counter() - start
    result = evaluate_zero_shot(weights, range(20), n_views=4, device=device)
    record = {
        "recipe": name,
        "seed": seed,
        **spec,
        "samples": len(data),
        "train_seconds": round(seconds, 1),
        "device": device,
        "heldout": result,
    }
    (out / f"{name}.json").write_text(json.dumps(record, indent=2))
    print(name, {k: result[k]["accuracy"] for k in ("masked-crop", "crop", "masked-full")}, flush=True)


def summary(out: Path) -> None:
    rows = [json.loads(path.read_text()) for path in sorted(out.glob("s*.json"))]
    print("| recipe | samples | masked-crop | crop | masked-full | train s |")
    print("|---|---|---|---|---|---|")
    for row in sorted(rows, key=lambda r: -r["heldout"]["masked-crop"]["accuracy"]):
        h = row["heldout"]
        print(
            f"| {row['recipe']} | {row['samples']} | {h['masked-crop']['accuracy']:.3f} | {h['crop']['accuracy']:.3f} | {h['masked-full']['accuracy']:.3f} | {row['train_seconds']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("render", "train", "summary"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--recipe", default="s300-b256-n1800-lr1e-3")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.action == "render":
        render(args.out, args.chunks, args.workers)
    elif args.action == "train":
        train(args.out, args.recipe, args.device, args.threads, args.seed)
    else:
        summary(args.out)


if __name__ == "__main__":
    main()
