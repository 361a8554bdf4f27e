"""LangSplat's language features (``semlat export langsplat``), as its ``preprocess.py`` writes them.

Per image, in ``language_features/`` (LangSplat's ``-l`` folder; LangSplatV2, OpenGaussian and
Dr-Splat read the same files):

- ``<stem>_f.npy``: float32 (N, D), the region features of the four levels concatenated in
  LangSplat's order default, s, m, l;
- ``<stem>_s.npy``: float32 (4, H, W), per level the row of ``_f`` of the region covering each
  pixel (that level's offset added, as ``preprocess.py`` does), −1 where no region does; so
  ``N == s.max() + 1``.

Levels: LangSplat's ``default`` holds the masks of SAM's automatic generator over all three
outputs, and s, m, l each one of SAM's outputs (sub-part, part, whole). Ours: ``default`` = every
region of the set, s = level 2 (small), m = level 1 (medium), l = level 0 (large / whole). Within
a level regions are painted largest first, so a pixel gets the smallest region over it, as
overlapping masks overwrite each other in ``preprocess.py``. A level without regions still gets
its plane (all −1) where ``preprocess.py`` crashes. A region too small to cover a pixel at the
export size is left out, so every row is seen somewhere. An image without any region gets its
whole-image feature as the one ``default`` region over every pixel: LangSplat's reader indexes
the feature array at every pixel, and an empty one crashes it.

H×W is what LangSplat's camera loader trains at (`semlat.formats.export.loader_size`): heights
over 1080 scaled to 1080 keeping the aspect, or ``--resolution`` as LangSplat reads it (1/2/4/8
divide, another value is a target width). stem = the image name before its first dot.
``--autoencoder`` also trains LangSplat's 512 -> 3 autoencoder (`semlat.formats.langsplat_autoencoder`).
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
    RESOLUTION,
    ExportWriter,
    FeatureExportSettings,
    FunctionExporter,
    export_key,
    export_records,
    file_stem,
    image_patterns,
    last_covering,
    loader_size,
    visible_regions,
)
from semlat.formats.langsplat_autoencoder import EPOCHS, INPUT_DIM, write_autoencoder
from semlat.progress import track
from semlat.settings import Range, ranged
from semlat.types import FeatureKey, ImageRecord, paint_order

if TYPE_CHECKING:
    from semlat.workspace import Workspace

FOLDER = "language_features"
HEIGHT_CAP = 1080
LEVELS = ("default", "s", "m", "l")
"""LangSplat's feature levels, in the order of the planes of ``_s.npy`` (its ``--feature_level`` 0..3)."""
OUR_LEVEL = {"s": 2, "m": 1, "l": 0}
"""The `Region.level` each of LangSplat's s, m, l planes holds (0 whole, 1 part, 2 sub-part); default holds all."""


@dataclass(frozen=True)
class LangSplatSettings(FeatureExportSettings):
    """Options of ``semlat export langsplat``.

    Args:
        resolution: LangSplat's --resolution: -1 scales heights over 1080 to 1080, 1/2/4/8 divide the size, another value is a target width.
        autoencoder: Also train LangSplat's 512->3 autoencoder on the features: language_features_dim3/ and ckpt/<name>/best_ckpt.pth.
        epochs: Training epochs of --autoencoder (LangSplat's 100).
    """

    resolution: int = ranged(-1, RESOLUTION)
    autoencoder: bool = False
    epochs: int = ranged(EPOCHS, Range(1, 100_000))


def image_language_features(
    ws: Workspace, key: FeatureKey, record: ImageRecord, resolution: int = -1
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], list[int]]:
    """One image's ``_f`` (N, D) and ``_s`` (4, H, W) arrays, and how many rows each level has."""
    regions, vectors = ws.regions_and_features(key, record)
    width, height = loader_size(record.width, record.height, resolution, cap=HEIGHT_CAP, capped="height")
    patterns, index = image_patterns(regions, record, (width, height))
    visible = np.flatnonzero(visible_regions(patterns, index)) if regions else np.zeros(0, np.intp)
    seg = np.empty((len(LEVELS), height, width), np.float32)
    rows, counts, offset = [], [], 0
    for plane, level in enumerate(LEVELS):
        keep = [int(i) for i in visible if level == "default" or regions[i].level == OUR_LEVEL[level]]
        order = paint_order(regions, keep)
        position = last_covering(patterns, order)
        lookup = np.where(position >= 0, position + offset, -1).astype(np.float32)
        seg[plane] = lookup[index]
        rows.append(vectors[1:][order])
        counts.append(len(order))
        offset += len(order)
    if offset == 0:  # LangSplat's reader indexes the feature rows even where seg is -1: it needs one row
        seg[0] = 0
        return vectors[:1].astype(np.float32), seg, [1, 0, 0, 0]
    return np.concatenate(rows).astype(np.float32), seg, counts


def export_langsplat(ws: Workspace, out_dir: Path, settings: LangSplatSettings | None = None) -> ExportResult:
    """Write LangSplat's ``language_features/`` for every image with features; streams image by image.

    Args:
        ws: The workspace to export.
        out_dir: The scene folder (or any folder) to write ``language_features/`` into.
        settings: Which features, the resolution, ``overwrite``.

    Returns:
        The files written (``_f.npy`` then ``_s.npy`` per image, then the manifest).
    """
    settings = settings or LangSplatSettings()
    key = export_key(ws, settings)
    records = export_records(ws, key.region_set, key)
    loader_size(1, 1, settings.resolution, cap=HEIGHT_CAP, capped="height")  # a bad resolution fails before writing
    if settings.autoencoder and ws.manifest.embedding_dim != INPUT_DIM:
        raise SemlatError(
            f"--autoencoder needs {INPUT_DIM}-d features (LangSplat's autoencoder takes {INPUT_DIM}), these are "
            f"{ws.manifest.embedding_dim}-d: export without --autoencoder"
        )
    sizes, rows = set(), [0, 0, 0, 0]
    with ExportWriter(Path(out_dir), FOLDER, "langsplat", overwrite=settings.overwrite) as writer:
        for record in track(records, "exporting langsplat"):
            features, seg, counts = image_language_features(ws, key, record, settings.resolution)
            stem = file_stem(record.file_name)
            writer.write(f"{stem}_f.npy", lambda handle, a=features: np.save(handle, a, allow_pickle=False))
            writer.write(f"{stem}_s.npy", lambda handle, a=seg: np.save(handle, a, allow_pickle=False))
            sizes.add((seg.shape[2], seg.shape[1]))
            rows = [total + count for total, count in zip(rows, counts)]
        if settings.autoencoder:
            write_autoencoder(writer, [file_stem(record.file_name) for record in records], epochs=settings.epochs)
        levels = {level: {"region_level": OUR_LEVEL.get(level, "all"), "rows": count} for level, count in zip(LEVELS, rows)}
        manifest = writer.finish(
            key, ws, key.region_set, len(records), settings, levels=levels, resolution=sorted(map(list, sizes))
        )
    return ExportResult("langsplat", Path(out_dir), (*writer.files, manifest), len(records), key)


class LangSplatExporter(FunctionExporter):
    """``semlat export langsplat``: `export_langsplat` behind the `Exporter` interface."""

    name = "langsplat"
    description = "LangSplat's language_features/<stem>_f.npy (N, D) and _s.npy (4, H, W) per image (LangSplatV2, OpenGaussian, Dr-Splat read them too)."
    settings = LangSplatSettings
    export = staticmethod(export_langsplat)
