"""Gaussian Grouping's object masks (``semlat export gaussian-grouping``).

Per image ``object_mask/<stem>.png``: 8-bit single channel, 0 = background, 1..255 = the object
id, the same id in every view (Gaussian Grouping gets these from DEVA tracking; ours are the
cross-view labels of one level, ``--level``). Labels are numbered 1.. in label order over the
whole region set, so an id means one thing in every image. Within an image regions are painted
largest first, so a pixel gets the smallest labelled region over it; unlabelled regions are
background. The size is what its camera loader trains at (``utils/camera_utils.py::loadCam``,
`semlat.formats.export.loader_size`: widths over 1600 scaled to 1600, or ``--resolution``); its
reader does not resize the masks, so they must match. More than 255 labels is refused before
anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.formats.base import ExportResult
from semlat.formats.export import (
    LEVEL,
    RESOLUTION,
    ExportSettings,
    ExportWriter,
    FunctionExporter,
    export_records,
    file_stem,
    image_patterns,
    last_covering,
    loader_size,
)
from semlat.progress import track
from semlat.settings import ranged
from semlat.types import ImageRecord, paint_order

if TYPE_CHECKING:
    from semlat.workspace import Workspace

FOLDER = "object_mask"
WIDTH_CAP = 1600
MAX_OBJECTS = 255


@dataclass(frozen=True)
class GaussianGroupingSettings(ExportSettings):
    """Options of ``semlat export gaussian-grouping`` (it needs regions with cross-view labels, not features).

    Args:
        level: The region level whose labels are the objects (0 whole, 1 part, 2 sub-part).
        resolution: Gaussian Grouping's --resolution: -1 scales widths over 1600 to 1600, 1/2/4/8 divide the size, another value is a target width.
    """

    level: int = ranged(0, LEVEL)
    resolution: int = ranged(-1, RESOLUTION)


def object_ids(ws: Workspace, region_set: str, level: int) -> dict[int, int]:
    """Cross-view label -> object id 1..255 for the labels of ``level``; every refusal before any file."""
    columns = ws.region_columns(region_set)
    levels = np.asarray(columns.column("level").to_pylist() if columns.num_rows else [], np.int64)
    labels = np.asarray(columns.column("label").to_pylist() if columns.num_rows else [], np.int64)
    if level not in set(levels.tolist()):
        raise SemlatError(
            f"region set {region_set!r} has no regions of level {level} (has: {', '.join(map(str, sorted(set(levels.tolist())))) or 'none'}): pass --level with one of those"
        )
    known = np.unique(labels[(levels == level) & (labels >= 0)])
    if known.size == 0:
        raise SemlatError(
            f"regions of level {level} in region set {region_set!r} have no cross-view labels: run `semlat label -w {ws.root}` first"
        )
    if known.size > MAX_OBJECTS:
        raise SemlatError(
            f"region set {region_set!r} has {known.size} cross-view labels at level {level}, more than the {MAX_OBJECTS} an 8-bit object_mask holds: "
            f"relabel with `semlat label --labels {MAX_OBJECTS}` (or merge with `semlat refine`), or pick another --level"
        )
    return {int(label): index + 1 for index, label in enumerate(known)}


def object_mask(
    ws: Workspace, region_set: str, record: ImageRecord, ids: dict[int, int], level: int, resolution: int = -1
) -> npt.NDArray[np.uint8]:
    """One image's (H, W) uint8 object-id image at Gaussian Grouping's training size."""
    regions = [region for region in ws.regions(region_set, record) if region.level == level and region.label in ids]
    size = loader_size(record.width, record.height, resolution, cap=WIDTH_CAP, capped="width")
    patterns, index = image_patterns(regions, record, size)
    order = paint_order(regions, range(len(regions)))
    position = last_covering(patterns, order)
    region_ids = np.array([ids[regions[i].label] for i in order] + [0], np.uint8)  # position -1 -> background
    return region_ids[position][index]


def export_gaussian_grouping(ws: Workspace, out_dir: Path, settings: GaussianGroupingSettings | None = None) -> ExportResult:
    """Write Gaussian Grouping's ``object_mask/<stem>.png`` for every image with regions, one at a time.

    Args:
        ws: The workspace to export.
        out_dir: The scene folder (or any folder) to write ``object_mask/`` into.
        settings: The region set, level, resolution, ``overwrite``.
    """
    from PIL import Image

    settings = settings or GaussianGroupingSettings()
    region_set = ws.region_set(settings.region_set)
    ids = object_ids(ws, region_set, settings.level)
    loader_size(1, 1, settings.resolution, cap=WIDTH_CAP, capped="width")  # a bad resolution fails before writing
    records = export_records(ws, region_set)
    sizes = set()
    with ExportWriter(Path(out_dir), FOLDER, "gaussian-grouping", overwrite=settings.overwrite) as writer:
        for record in track(records, "exporting gaussian-grouping"):
            picture = Image.fromarray(object_mask(ws, region_set, record, ids, settings.level, settings.resolution))
            writer.write(f"{file_stem(record.file_name)}.png", lambda handle, p=picture: p.save(handle, format="PNG"))
            sizes.add(picture.size)
        objects = {str(label): object_id for label, object_id in ids.items()}
        manifest = writer.finish(
            None,
            ws,
            region_set,
            len(records),
            settings,
            level=settings.level,
            objects=objects,
            resolution=sorted(map(list, sizes)),
        )
    return ExportResult("gaussian-grouping", Path(out_dir), (*writer.files, manifest), len(records))


class GaussianGroupingExporter(FunctionExporter):
    """``semlat export gaussian-grouping``: `export_gaussian_grouping` behind the `Exporter` interface."""

    name = "gaussian-grouping"
    description = "Gaussian Grouping's object_mask/<stem>.png: 8-bit cross-view object ids of one region level per image."
    settings = GaussianGroupingSettings
    export = staticmethod(export_gaussian_grouping)
