"""Cross-view label agreement on scikit-image's stereo motorcycle, labels mapped through the true disparity.

Clustered MobileSAM regions (the tests' settings, `tests.stereo.CLUSTERED`) get their labels
from the clustered mode itself (the original's KMeans of SAM latents), then from `semlat label`
with each method (kmeans into 6 labels, as the tests do); agreement is the share of left pixels whose label equals the label at their
ground-truth match in the right view (`tests.stereo.agreement`). Prints JSON and writes
benchmarks/results/stereo_association.json.

    python benchmarks/stereo_association.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.stereo import agreement, clustered_workspace  # noqa: E402

from semlat.stages.label import label_regions  # noqa: E402
from semlat.workspace import Workspace  # noqa: E402

METHODS = ("matches", "appearance", "matches+appearance", "kmeans")


def main() -> None:
    results = {}
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
    payload = {"target": 0.9, "results": results}
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
