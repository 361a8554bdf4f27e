"""Cross-view label agreement on scikit-image's stereo motorcycle, labels mapped through the true disparity.

The default path first: `semlat masks` at its defaults (MobileSAM automatic, 32×32 points,
LangSplat's three levels, then `label --method auto`, which is matches+appearance here), then
each labelling method again; agreement per level (labels are per level), with the share of matched
pixels labelled in both views, and the pixel-weighted mean over the levels. Then clustered MobileSAM regions (the tests' settings, `tests.stereo.CLUSTERED`) get their labels
from the clustered mode itself (the original's KMeans of SAM latents), then from `semlat label`
with each method (kmeans into 6 labels, as the tests do); agreement is the share of left pixels whose label equals the label at their
ground-truth match in the right view (`tests.stereo.agreement`). Prints JSON and writes
benchmarks/results/stereo_association.json.

    python benchmarks/stereo_association.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.stereo import agreement, clustered_workspace, level_agreement, write_views  # noqa: E402

from semlat.stages.label import label_regions  # noqa: E402
from semlat.stages.masks import propose_regions  # noqa: E402
from semlat.workspace import Workspace  # noqa: E402

METHODS = ("matches", "appearance", "matches+appearance", "kmeans")


def per_level(ws: Workspace, disparity) -> dict:
    """Agreement, chance and coverage of each level, and their coverage-weighted mean."""
    levels = {}
    for level in (0, 1, 2):
        agree, chance, covered = level_agreement(ws, "mobile-sam", disparity, level)
        levels[str(level)] = {"agreement": round(agree, 4), "chance": round(chance, 4), "coverage": round(covered, 4)}
    weight = sum(v["coverage"] for v in levels.values())
    mean = sum(v["agreement"] * v["coverage"] for v in levels.values()) / weight
    return {"levels": levels, "mean_over_levels": round(mean, 4)}


def default_path(results: dict) -> None:
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        disparity = write_views(folder)
        start = time.perf_counter()
        ws = Workspace.open_or_create(folder / "ws")
        found = propose_regions(ws, folder, backend="mobile-sam", device="cpu")
        seconds = time.perf_counter() - start
        assert found.labels is not None
        results["default masks + label auto"] = {
            "method": found.labels.method,
            "labels": found.labels.n_labels,
            "regions": found.labels.n_regions,
            "seconds_masks_and_labels": round(seconds, 1),
            **per_level(ws, disparity),
        }
        print(results["default masks + label auto"], flush=True)
        for method in ("matches", "appearance"):
            result = label_regions(ws, "mobile-sam", method=method, device="cpu")
            results[f"default masks + label {method}"] = {"labels": result.n_labels, **per_level(ws, disparity)}
            print(method, results[f"default masks + label {method}"], flush=True)


def main() -> None:
    results: dict = {}
    default_path(results)
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        workspace, disparity = clustered_workspace(Path(work))
        ws = Workspace.open(workspace)
        agree, chance = agreement(ws, "mobile-sam", disparity)
        results["clustered (its own labels)"] = {"agreement": round(agree, 4), "chance": round(chance, 4)}
        print(f"regions: {time.perf_counter() - start:.0f} s", flush=True)
        for method in METHODS:
            result = label_regions(ws, "mobile-sam", method=method, descriptor="sam", n_labels=6, device="cpu")
            agree, chance = agreement(ws, "mobile-sam", disparity)
            results[method] = {"agreement": round(agree, 4), "chance": round(chance, 4), "labels": result.n_labels}
            print(method, results[method], flush=True)
    out = ROOT / "benchmarks" / "results" / "stereo_association.json"
    payload = {"target": 0.9, "load_average_end": [round(x, 2) for x in os.getloadavg()], "results": results}
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
