"""Cross-view instances of MobileSAM's automatic masks at the `semlat masks` defaults (32×32 points).

`semlat eval --part instances` measures MobileSAM with 8×8 point prompts to keep its run short
(`semlat_toy.instances.SOURCES`); this runs the same evaluation with the defaults a user gets,
on both worlds, seeds 0-1, 6 views each (10 min in all on 2 CPU cores, where `--precision auto` is
bfloat16), and writes benchmarks/results/instances_defaults.json and .md.

    python benchmarks/instances_defaults.py [--seeds 0,1] [--views 6] [--worlds default,hard]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import semlat_toy.instances as instances
from semlat.encoders import model_spec
from semlat.encoders.toy import TOY_MODEL, TOY_WEIGHTS

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--views", type=int, default=6)
    parser.add_argument("--worlds", default="default,hard")
    args = parser.parse_args()
    instances.SOURCES["mobile-sam"] = {"levels": True, "n_labels": 0, "device": "cpu"}  # the defaults otherwise
    load_start = os.getloadavg()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        summary = instances.evaluate_instances(
            [int(seed) for seed in args.seeds.split(",")],
            model_spec(TOY_MODEL, str(TOY_WEIGHTS)),
            out,
            n_views=args.views,
            worlds=args.worlds.split(","),
            sources=["mobile-sam"],
            device="cpu",
        )
        print(f"{time.perf_counter() - start:.0f} s, load average {load_start} -> {os.getloadavg()}")
        for suffix in ("json", "md"):
            shutil.copy(Path(out) / f"instances.{suffix}", RESULTS / f"instances_defaults.{suffix}")
    print(instances.instances_markdown(summary))


if __name__ == "__main__":
    main()
