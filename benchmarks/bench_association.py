"""Association at scale: 1,000 images x 100 regions with synthetic SfM tracks, seconds and peak memory.

A synthetic capture: images in a row, each seeing 100 instances of a sliding window over the
scene's instances (so every instance is seen by about five images); each image's regions are the
cells of a grid over a 320x240 frame with jittered cell borders, one per instance it sees. Every instance
has 50 surface points; an image observes each point of its instances with probability 0.8, at a
random pixel of the instance's region, and 2% of the observations are wrong (a random pixel).
The timed work is what `semlat label --method tracks` does after reading the workspace: the
observation pixels looked up in each image's masks (one image at a time), the point links, and
the constrained clustering. Prints JSON and writes benchmarks/results/association.json.

    python benchmarks/bench_association.py [--images 1000] [--regions 100]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from semlat.regions import association
from semlat.regions.association import AssociationSettings, Incidences

WIDTH, HEIGHT = 320, 240
POINTS_PER_INSTANCE = 50
STEP = 20  # the window of instances moves this many instances per image


def synthetic_image(rng: np.random.Generator, index: int, n_regions: int):
    """Masks, the instance of each region, and observations (xy, point id) of image ``index``."""
    side = int(np.ceil(np.sqrt(n_regions)))
    cols = np.sort(rng.uniform(0, WIDTH, side - 1))
    rows = np.sort(rng.uniform(0, HEIGHT, side - 1))
    ys, xs = np.mgrid[:HEIGHT, :WIDTH]
    cells = np.searchsorted(rows, ys + 0.5) * side + np.searchsorted(cols, xs + 0.5)
    cells = rng.permutation(side * side)[cells] % n_regions
    masks = [cells == r for r in range(n_regions)]
    instances = index * STEP + np.arange(n_regions)
    point = (instances[:, None] * POINTS_PER_INSTANCE + np.arange(POINTS_PER_INSTANCE)).ravel()
    owner = np.repeat(np.arange(n_regions), POINTS_PER_INSTANCE)
    seen = rng.uniform(size=len(point)) < 0.8
    point, owner = point[seen], owner[seen]
    flat = cells.ravel()
    order = np.argsort(flat, kind="stable")
    starts = np.searchsorted(flat[order], np.arange(n_regions + 1))
    sizes = np.diff(starts)
    inside = sizes[owner] > 0  # a grid cell may come out empty
    point, owner = point[inside], owner[inside]
    pick = order[starts[owner] + (rng.uniform(size=len(owner)) * sizes[owner]).astype(np.int64)]
    xy = np.stack([pick % WIDTH + 0.5, pick // WIDTH + 0.5], axis=1).astype(np.float32)
    wrong = rng.uniform(size=len(xy)) < 0.02
    xy[wrong] = rng.uniform([0, 0], [WIDTH, HEIGHT], (int(wrong.sum()), 2))
    return masks, instances, xy, point


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--regions", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "association.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    settings = AssociationSettings()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lookup = generate = 0.0
    parts, truth = [], []
    for index in range(args.images):
        start = time.perf_counter()
        masks, instances, xy, point = synthetic_image(rng, index, args.regions)
        generate += time.perf_counter() - start
        start = time.perf_counter()
        lo = index * args.regions
        parts.append(association.incidences(masks, range(lo, lo + args.regions), index, xy, point))
        lookup += time.perf_counter() - start
        truth.append(instances)
    start = time.perf_counter()
    found = Incidences.concat(parts)
    del parts
    links = association.point_links(found, settings)
    linked = time.perf_counter() - start
    start = time.perf_counter()
    groups = np.repeat(np.arange(args.images), args.regions)
    labels = association.cluster(args.images * args.regions, groups, [links])
    clustered = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    truth_ids = np.concatenate(truth)
    result = {
        "images": args.images,
        "regions_per_image": args.regions,
        "regions": int(args.images * args.regions),
        "observations_in_regions": int((found.region != association.NOWHERE).sum()),
        "observations": int((found.region == association.NOWHERE).sum()),
        "links": len(links),
        "seconds": {
            "mask_lookup": round(lookup, 2),
            "point_links": round(linked, 2),
            "clustering": round(clustered, 2),
            "total": round(lookup + linked + clustered, 2),
            "generating_the_synthetic_data_not_counted": round(generate, 2),
        },
        "peak_rss_mb": round(peak, 1),
        "rss_before_mb": round(baseline, 1),
        "instances_found": int(labels.max()) + 1,
        "true_instances": int(len(np.unique(truth_ids))),
        "ari_vs_truth": round(float(adjusted_rand_score(truth_ids, labels)), 4),
        "targets": {"seconds": 60, "peak_memory_mb": 2048},
        "machine": f"{platform.processor() or platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores",
        "settings": settings.__dict__,
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
