"""Search results on disk: a contact sheet PNG (region crops with their scores) and a JSON file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from semlat.crops import crop_box
from semlat.errors import SemlatError
from semlat.files import output_dir, save_png, write_json
from semlat.imageio import load_rgb
from semlat.stages.search.core import SearchHit
from semlat.types import WHOLE_IMAGE, FeatureKey, ImageRecord
from semlat.workspace import Workspace

TILE = 160
CAPTION = 28
COLUMNS = 5
_DIM = 0.3
"""Brightness kept outside the region in a crop."""


def region_tile(
    ws: Workspace, region_set: str, hit: SearchHit, size: int = TILE, record: ImageRecord | None = None
) -> npt.NDArray[np.uint8]:
    """The hit's bounding-box crop (with a small margin), outside the region dimmed, fitted in a square."""
    if record is None:
        record = next((r for r in ws.images() if r.image_id == hit.image_id), None)
    try:
        pixels = load_rgb(Path(record.path)) if record is not None else None
    except SemlatError:
        pixels = None
    if pixels is None:  # the photo moved: a grey tile still shows the caption
        return np.full((size, size, 3), 96, np.uint8)
    mask = ws.region_mask(region_set, record, hit.region_id) if hit.region_id != WHOLE_IMAGE else None
    if mask is not None:
        pixels = np.where(mask[..., None], pixels, (pixels * _DIM).astype(np.uint8))
    x0, y0, x1, y1 = crop_box(hit.bbox, *pixels.shape[:2])
    crop = pixels[y0:y1, x0:x1]
    image = Image.fromarray(crop)
    image.thumbnail((size, size), Image.Resampling.LANCZOS if max(crop.shape[:2]) > size else Image.Resampling.NEAREST)
    if max(image.size) < size:  # small regions are enlarged so they stay visible
        scale = size / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.NEAREST)
    tile = Image.new("RGB", (size, size), (24, 24, 24))
    tile.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
    return np.asarray(tile)


def contact_sheet(
    ws: Workspace, region_set: str, hits: Sequence[SearchHit], path: str | Path, columns: int = COLUMNS, tile: int = TILE
) -> Path:
    """A grid of the hits' crops, best first, each captioned ``image:region`` and its score."""
    if not hits:
        raise SemlatError("no hits to draw a contact sheet of")
    columns = max(1, min(columns, len(hits)))
    rows = -(-len(hits) // columns)
    sheet = Image.new("RGB", (columns * tile, rows * (tile + CAPTION)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    records = {r.image_id: r for r in ws.images()}
    for index, hit in enumerate(hits):
        left, top = (index % columns) * tile, (index // columns) * (tile + CAPTION)
        tile_pixels = region_tile(ws, region_set, hit, tile, records.get(hit.image_id))
        sheet.paste(Image.fromarray(tile_pixels), (left, top))
        name = hit.image if len(hit.image) <= 20 else hit.image[:9] + "…" + hit.image[-10:]
        draw.text((left + 3, top + tile + 1), f"{index + 1}. {name}:{hit.region_id}", fill=(0, 0, 0))
        draw.text((left + 3, top + tile + 14), f"score {hit.score:.3f}  label {hit.label}", fill=(60, 60, 60))
    return save_png(path, np.asarray(sheet))


def write_results(
    ws: Workspace, key: FeatureKey, hits: Sequence[SearchHit], out_dir: str | Path, settings: dict[str, Any]
) -> tuple[Path, Path]:
    """Write ``OUT/search.json`` (the settings and hits) and ``OUT/search.png`` (the contact sheet)."""
    summary = {**settings, "features": str(key), "hits": [{**asdict(hit), "bbox": list(hit.bbox)} for hit in hits]}
    with output_dir(out_dir) as out:
        json_path = write_json(out / "search.json", summary, sort_keys=False)
        png_path = out / "search.png"
        if hits:
            contact_sheet(ws, key.region_set, hits, png_path)
    return json_path, png_path
