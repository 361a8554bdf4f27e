"""Zero-shot accuracy of the shipped toy CLIP on held-out scenes of both toy worlds.

The hard world (`semlat_toy.scene.WORLDS`) adds textures, duplicates and small clutter objects;
this measures what they cost the toy CLIP (trained with half of its scenes from the hard world,
`semlat_toy.train.TrainConfig.hard_share`).
Prints JSON and writes benchmarks/results/toy_clip_worlds.json.

    python benchmarks/toy_clip_worlds.py [--seeds 8]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from semlat_toy.scene import WORLDS
from semlat_toy.train import evaluate_zero_shot


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=8, help="held-out scenes per world (seeds 0..N-1)")
    args = parser.parse_args()
    results = {name: evaluate_zero_shot(seeds=range(args.seeds), world=world) for name, world in WORLDS.items()}
    out = Path(__file__).parent / "results" / "toy_clip_worlds.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
