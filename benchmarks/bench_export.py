"""Export speed and memory: LangSplat, Feature 3DGS and Gaussian Grouping files from a synthetic workspace.

A workspace of N images at 1000×750 with ~150 regions each (SAM-like ellipses over three levels,
which LangSplat's four planes default/s/m/l are made of), cross-view labels and 512-d features.
Each format is exported at two collection sizes; per format: seconds per image and the peak RSS
the export added (VmHWM after resetting it, minus VmRSS before), to show memory does not grow
with the number of images. Prints JSON and writes ``benchmarks/results/export.json``.

    python benchmarks/bench_export.py [--images 25 100] [--feature-images 10 20]

Feature 3DGS writes 480×360×512 float16 maps (~177 MB per image), so it is measured on fewer
images by default to spare a shared disk; its memory is per image all the same.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from semlat.formats.feature_3dgs import Feature3DGSSettings, export_feature_3dgs
from semlat.formats.gaussian_grouping import GaussianGroupingSettings, export_gaussian_grouping
from semlat.formats.langsplat import LangSplatSettings, export_langsplat
from semlat.types import WHOLE_IMAGE, FeatureKey, Region
from semlat.workspace import Workspace

WIDTH, HEIGHT, DIM = 1000, 750, 512
LEVEL_COUNTS = {0: 25, 1: 50, 2: 75}
"""Regions per level (0 whole, 1 part, 2 sub-part): 150 per image."""
LABELS = 200
KEY = FeatureKey("sam", "bench", "raw")
RESULTS = Path(__file__).parent / "results" / "export.json"


def ellipse_masks(rng: np.random.Generator, level: int, count: int) -> list[np.ndarray]:
    """``count`` random ellipses, larger for lower levels; each computed inside its box only."""
    scale = {0: (150, 400), 1: (50, 160), 2: (10, 60)}[level]
    masks = []
    for _ in range(count):
        ry, rx = rng.uniform(*scale, size=2)
        cy, cx = rng.uniform(0, HEIGHT), rng.uniform(0, WIDTH)
        y0, y1 = max(0, int(cy - ry)), min(HEIGHT, int(cy + ry) + 1)
        x0, x1 = max(0, int(cx - rx)), min(WIDTH, int(cx + rx) + 1)
        yy, xx = np.ogrid[y0:y1, x0:x1]
        mask = np.zeros((HEIGHT, WIDTH), bool)
        mask[y0:y1, x0:x1] = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        if mask.any():
            masks.append(mask)
    return masks


def build_workspace(root: Path, n_images: int, seed: int = 0) -> Workspace:
    rng = np.random.default_rng(seed)
    ws = Workspace.open_or_create(root)
    ws.claim_config("region_sets", KEY.region_set, {"backend": "synthetic"}, hint="")
    ws.claim_config("models", KEY.model_key, {"name": "synthetic", "pretrained": None}, hint="")
    ws.claim_config("feature_sets", str(KEY), {"strategy": "synthetic"}, hint="")
    records = ws.add_images([(Path(f"/synthetic/img_{i:04d}.jpg"), WIDTH, HEIGHT, f"{i}") for i in range(n_images)])
    for record in records:
        regions = []
        for level, count in LEVEL_COUNTS.items():
            for mask in ellipse_masks(rng, level, count):
                regions.append(Region.from_mask(len(regions), mask, label=int(rng.integers(LABELS)), level=level))
        ws.write_regions(KEY.region_set, record.image_id, regions)
        vectors = rng.normal(size=(1 + len(regions), DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ws.write_embeddings(KEY, record.image_id, [WHOLE_IMAGE, *range(len(regions))], vectors)
    ws.compact()
    return ws


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def measure(export: Callable[[], Any]) -> dict[str, float]:
    """Seconds of one export and the peak RSS it added over the RSS before it (MiB)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = _kib("VmRSS")
    start = time.perf_counter()
    result = export()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss_added_mib": (_kib("VmHWM") - before) / 1024, "files": len(result.files)}


FORMATS: dict[str, Callable[[Workspace, Path], Any]] = {
    "langsplat": lambda ws, out: export_langsplat(ws, out, LangSplatSettings()),
    "feature-3dgs": lambda ws, out: export_feature_3dgs(ws, out, Feature3DGSSettings()),
    "gaussian-grouping": lambda ws, out: export_gaussian_grouping(ws, out, GaussianGroupingSettings(level=1)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--images", type=int, nargs=2, default=[25, 100], help="collection sizes for langsplat and gaussian-grouping"
    )
    parser.add_argument("--feature-images", type=int, nargs=2, default=[10, 20], help="collection sizes for feature-3dgs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch  # noqa: F401  (imported before measuring: its import is not the export's memory)

    sizes = sorted({*args.images, *args.feature_images})
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__},
        "workload": {
            "image": [WIDTH, HEIGHT],
            "regions_per_level": LEVEL_COUNTS,
            "dim": DIM,
            "note": "Synthetic workspace (ellipse regions, random unit features); export reads regions and features from LanceDB per image.",
            "sizes": (
                f"langsplat and gaussian-grouping on {args.images} images, feature-3dgs on {args.feature_images}: its maps are "
                "~169 MiB each, so fewer images spare the shared disk; peak memory is per image, flat in the count either way."
            ),
            "machine_load": "2 cores shared with other work; timings include writing every file atomically (fsync).",
        },
        "formats": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench_export_") as tmp:
        for n in sizes:
            start = time.perf_counter()
            ws = build_workspace(Path(tmp) / f"ws{n}", n)
            regions = ws.region_columns(KEY.region_set).num_rows
            print(f"workspace of {n} images ({regions} regions) built in {time.perf_counter() - start:.0f} s", flush=True)
            for fmt, export in FORMATS.items():
                if n not in (args.feature_images if fmt == "feature-3dgs" else args.images):
                    continue
                out = Path(tmp) / f"out_{fmt}_{n}"
                row = measure(lambda ws=ws, out=out, export=export: export(ws, out))
                row.update(images=n, seconds_per_image=row["seconds"] / n, regions_per_image=regions / n)
                row["output_mib"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
                shutil.rmtree(out)
                report["formats"].setdefault(fmt, []).append(row)
                print(json.dumps({fmt: row}), flush=True)
    targets = {"langsplat": 0.2, "feature-3dgs": 1.0}
    for fmt, rows in report["formats"].items():
        small, large = rows[0], rows[-1]
        report.setdefault("summary", {})[fmt] = {
            "seconds_per_image": large["seconds_per_image"],
            "target_seconds_per_image": targets.get(fmt),
            "peak_rss_added_mib": {str(r["images"]): r["peak_rss_added_mib"] for r in rows},
            "memory_growth_mib_per_image": (large["peak_rss_added_mib"] - small["peak_rss_added_mib"])
            / max(1, large["images"] - small["images"]),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))


if __name__ == "__main__":
    main()
