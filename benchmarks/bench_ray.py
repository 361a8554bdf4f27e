"""What Ray Data adds per image: `masks` and `embed` on a local Ray cluster against the local loop, same images, one run.

    python benchmarks/bench_ray.py [--images 24] [--out FILE]

Photos: scikit-image's astronaut, coffee, chelsea, rocket and Hubble deep field, cycled to
``--images`` files and resized to at most 640 px. Masks: the classical backend at its defaults.
Embed: ``semlat-tiny`` with seeded random weights, whose work per image is small, so what Ray
adds is what shows. Ray: `RayRunner("local")`, a Ray instance on this machine (``ray.init`` on
its 2 CPUs) with one actor per CPU, each loading its proposer or model once. The local loop runs
in this process with torch's 2 threads. Ray's own start is reported apart; per stage, the wall
time of each way, the Ray run's time to its first result (the actors' start: a process each that
imports torch and loads the model) and its steady time per image after that (from the first
result to the last), which against the local loop's time per image is what Ray adds per image.
The Ray workspace is checked against the local one: the same regions, and the same vectors.
Prints JSON and writes ``--out`` (default benchmarks/results/ray.json).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench_consistency import tiny_checkpoint  # benchmarks/ is on the path of a script run from it

RESULTS = Path(__file__).resolve().parent / "results" / "ray.json"
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field")


def write_photos(folder: Path, count: int) -> None:
    from PIL import Image
    from skimage import data

    folder.mkdir(parents=True)
    for index in range(count):
        image = Image.fromarray(getattr(data, PHOTOS[index % len(PHOTOS)])())
        image.thumbnail((640, 640), Image.BICUBIC)
        image.save(folder / f"photo_{index:02d}.png")


class ArrivalTimes:
    """A runner that passes another's results through and notes when each one arrived."""

    def __init__(self, runner) -> None:
        self.runner, self.start, self.arrivals = runner, 0.0, []

    def map(self, worker, args, items):
        self.start, self.arrivals = time.perf_counter(), []
        for result in self.runner.map(worker, args, items):
            self.arrivals.append(time.perf_counter())
            yield result


def timed(run) -> tuple[Any, float]:
    start = time.perf_counter()
    value = run()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from semlat.encoders import model_spec
    from semlat.runners import make_runner
    from semlat.stages.embed import embed_regions
    from semlat.stages.masks import propose_regions
    from semlat.workspace import Workspace

    result: dict[str, Any] = {"images": args.images, "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="semlat-bench-ray-") as work:
        root = Path(work)
        write_photos(root / "images", args.images)
        spec = model_spec("semlat-tiny", str(tiny_checkpoint(root)))
        ray_runner, result["ray_start_s"] = timed(lambda: make_runner("local"))
        result["ray_actors"] = ray_runner.actors()[0]
        runner = ArrivalTimes(ray_runner)
        workspaces = {"local": Workspace.open_or_create(root / "local"), "ray": Workspace.open_or_create(root / "ray")}
        stages = {
            "masks": lambda ws, chosen: propose_regions(ws, root / "images", backend="classical", runner=chosen),
            "embed": lambda ws, chosen: embed_regions(ws, model=spec, device="cpu", runner=chosen),
        }
        for name, stage in stages.items():
            _, local_s = timed(lambda stage=stage: stage(workspaces["local"], None))
            _, ray_s = timed(lambda stage=stage: stage(workspaces["ray"], runner))
            first, last = runner.arrivals[0] - runner.start, runner.arrivals[-1] - runner.start
            steady = (last - first) / max(len(runner.arrivals) - 1, 1)
            result[name] = {
                "local_s": round(local_s, 2),
                "local_s_per_image": round(local_s / args.images, 3),
                "ray_s": round(ray_s, 2),
                "ray_first_result_s": round(first, 2),
                "ray_steady_s_per_image": round(steady, 3),
                "ray_steady_minus_local_s_per_image": round(steady - local_s / args.images, 3),
            }
        local, ray = workspaces["local"], workspaces["ray"]
        same_regions, largest_difference, regions = True, 0.0, 0
        key = {way: ws.feature_keys()[0] for way, ws in workspaces.items()}
        for a, b in zip(local.images(), ray.images(), strict=True):
            ra, rb = local.regions("classical", a), ray.regions("classical", b)
            regions += len(ra)
            same_regions &= [r.rle for r in ra] == [r.rle for r in rb]
            va, vb = local.embeddings(key["local"], a)[1], ray.embeddings(key["ray"], b)[1]
            largest_difference = max(largest_difference, float(np.abs(va - vb).max()))
        result["regions"] = regions
        result["same_workspace"] = {"regions_equal": same_regions, "largest_vector_difference": largest_difference}
        result["steady_state_note"] = (
            "two actors share the 2 cores, so the steady time per image is about the local loop's (which uses both "
            "cores in one process) plus what Ray adds: scheduling, pickling and moving the results to the driver"
        )
    result["load_average_at_end"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
