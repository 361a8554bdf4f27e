"""Per-label "hint" sheets: a few example region crops so a person can see what a label means.

Examples come from different images (one per image, the member closest to the label's mean
direction first), so a sheet shows the label across views rather than one view's fragments.
Each image is loaded once for all the labels that use it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from semlat.crops import crop_box
from semlat.errors import SemlatError
from semlat.files import save_png
from semlat.imageio import load_rgb
from semlat.stages.consistency.metrics import Metrics
from semlat.types import Region
from semlat.workspace import Workspace

MAX_EXAMPLES = 8
TILE = 128
GAP = 4


def pick_examples(metrics: Metrics, per_label: int = MAX_EXAMPLES) -> dict[int, list[tuple[int, int]]]:
    """label → up to ``per_label`` (image id, region id), each from a different image, most typical first."""
    table = metrics.table
    picks: dict[int, list[tuple[int, int]]] = {}
    for label in metrics.label_ids:
        rows = np.flatnonzero(table.labels == label)
        rows = rows[np.argsort(-metrics.region_cosine[rows], kind="stable")]
        seen: set[int] = set()
        chosen = []
        for row in rows:
            image = int(table.image_ids[row])
            if image not in seen:
                seen.add(image)
                chosen.append((image, int(table.region_ids[row])))
                if len(chosen) == per_label:
                    break
        picks[label] = chosen
    return picks


def region_crop(pixels: npt.NDArray[np.uint8], region: Region, tile: int = TILE) -> npt.NDArray[np.uint8]:
    """The region's crop (`semlat.crops.crop_box`) with everything outside the mask black, fitted into a tile × tile square."""
    mask = region.mask()
    canvas = np.zeros((tile, tile, 3), np.uint8)
    if not mask.any():
        return canvas
    x0, y0, x1, y1 = crop_box(region.bbox, *mask.shape)
    crop = np.where(mask[y0:y1, x0:x1, None], pixels[y0:y1, x0:x1], 0).astype(np.uint8)
    scale = tile / max(crop.shape[:2])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    resized = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BILINEAR))
    top, left = (tile - resized.shape[0]) // 2, (tile - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return canvas


def write_hint_sheets(
    metrics: Metrics, out_dir: Path, per_label: int = MAX_EXAMPLES
) -> tuple[dict[int, tuple[Path, list[str]]], list[str]]:
    """Write ``hints/label_<id>.png`` per label; returns label → (path, source file names) and unreadable images."""
    ws = Workspace.open(metrics.workspace)
    records = {r.image_id: r for r in ws.images()}
    picks = pick_examples(metrics, per_label)
    wanted: dict[int, set[int]] = {}
    for examples in picks.values():
        for image_id, region_id in examples:
            wanted.setdefault(image_id, set()).add(region_id)
    crops: dict[tuple[int, int], npt.NDArray[np.uint8]] = {}
    missing = []
    for image_id, region_ids in sorted(wanted.items()):
        record = records[image_id]
        try:
            pixels = load_rgb(Path(record.path))
        except SemlatError:
            missing.append(record.file_name)
            continue
        for region in ws.regions(metrics.key.region_set, record):
            if region.region_id in region_ids:
                crops[(image_id, region.region_id)] = region_crop(pixels, region)
    folder = out_dir / "hints"
    sheets = {}
    for label, examples in picks.items():
        tiles = [(crops[e], records[e[0]].file_name) for e in examples if e in crops]
        sheet = np.full((TILE, max(1, len(tiles)) * (TILE + GAP) - GAP, 3), 255, np.uint8)
        for i, (tile, _) in enumerate(tiles):
            sheet[:, i * (TILE + GAP) : i * (TILE + GAP) + TILE] = tile
        path = folder / f"label_{label}.png"
        save_png(path, sheet)
        sheets[label] = (path, [name for _, name in tiles])
    return sheets, missing
