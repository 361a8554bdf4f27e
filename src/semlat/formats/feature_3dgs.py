"""Feature 3DGS's per-image feature maps (``semlat export feature-3dgs``).

Per image ``<stem>_fmap_CxHxW.pt``: ``torch.save`` of a C×H×W float16 tensor, in the folder its
``scene/dataset_readers.py`` reads for ``--foundation_model lseg`` (``rgb_feature_langseg/``,
``--folder`` for another). The map is the fused per-pixel feature of ``semlat query``'s
``--fusion`` (the original's ``normalize(g + Σ 0.8·mask_i·f_i)`` by default) at ``--long-side``
(480, as its LSeg encoder; Feature 3DGS resizes the rendered feature to the image, so any size
trains). ``--dim`` projects on the first principal components of the scene's per-pixel features
(fitted over every output pixel in a first streaming pass; the projection is saved as
``semlat_feature-3dgs_pca.npz``: ``mean`` (D,), ``components`` (C, D), to map text features the
same way).

Computed from the run-length fast path: per image, one fused feature per mask-membership
pattern, painted through the pattern-index image, so only the one output map is ever in memory.
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
    ExportWriter,
    FeatureExportSettings,
    FunctionExporter,
    export_key,
    export_records,
    file_stem,
    image_patterns,
)
from semlat.progress import track
from semlat.scoring.fusion import FUSIONS, pattern_features
from semlat.settings import POSITIVE, Range, ranged
from semlat.types import FeatureKey, ImageRecord

if TYPE_CHECKING:
    from semlat.workspace import Workspace

FOLDER = "rgb_feature_langseg"
"""Where Feature 3DGS's reader looks with ``--foundation_model lseg``."""
LONG_SIDE = 480
PCA_FILE = "semlat_feature-3dgs_pca.npz"


@dataclass(frozen=True)
class Feature3DGSSettings(FeatureExportSettings):
    """Options of ``semlat export feature-3dgs``.

    Args:
        long_side: Long side of the feature maps in pixels (480, as Feature 3DGS's LSeg maps).
        dim: Channels C: project the features on this many principal components of the scene (default: the model's D).
        fusion: Per-pixel fusion, as semlat query: sum (the original), conceptfusion, region.
        level: Only regions of this level (0 whole, 1 part, 2 sub-part; default: all).
        folder: Folder name the maps go to (rgb_feature_langseg is Feature 3DGS's for --foundation_model lseg).
    """

    long_side: int = ranged(LONG_SIDE, Range(1, 16384))
    dim: int | None = ranged(None, POSITIVE)
    fusion: str = "sum"
    level: int | None = ranged(None, LEVEL)
    folder: str = FOLDER


def map_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(w, h) with the long side ``long_side`` and the image's aspect."""
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _pattern_maps(
    ws: Workspace, key: FeatureKey, record: ImageRecord, settings: Feature3DGSSettings
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.integer]]:
    """(U, D) fused feature per pattern and the (h, w) pattern-index image at the map size."""
    regions, vectors = ws.regions_and_features(key, record)
    if settings.level is not None:
        keep = [i for i, region in enumerate(regions) if region.level == settings.level]
        regions, vectors = [regions[i] for i in keep], np.concatenate([vectors[:1], vectors[1:][keep]])
    patterns, index = image_patterns(regions, record, map_size(record.width, record.height, settings.long_side))
    return pattern_features(patterns, vectors[0], vectors[1:], settings.fusion), index


def feature_map(
    ws: Workspace,
    key: FeatureKey,
    record: ImageRecord,
    settings: Feature3DGSSettings,
    projection: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
) -> npt.NDArray[np.float16]:
    """One image's C×h×w float16 feature map (projected by ``(mean, components)`` when given)."""
    features, index = _pattern_maps(ws, key, record, settings)
    if projection is not None:
        mean, components = projection
        features = (features.astype(np.float64) - mean) @ components.T
    per_pattern = np.ascontiguousarray(features.T, dtype=np.float16)  # (C, U): one gather writes (C, h*w)
    return per_pattern[:, index.ravel()].reshape(-1, *index.shape)


def fit_projection(
    ws: Workspace, key: FeatureKey, records: list[ImageRecord], settings: Feature3DGSSettings, dim: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(mean (D,), components (dim, D)): PCA of every output pixel's feature, from per-pattern pixel counts."""
    total, first, second = 0, None, None
    for record in track(records, "fitting the feature PCA"):
        features, index = _pattern_maps(ws, key, record, settings)
        counts = np.bincount(index.ravel(), minlength=len(features)).astype(np.float64)
        weighted = features.astype(np.float64) * counts[:, None]
        first = weighted.sum(axis=0) if first is None else first + weighted.sum(axis=0)
        second = weighted.T @ features if second is None else second + weighted.T @ features
        total += int(counts.sum())
    mean = first / total
    covariance = second / total - np.outer(mean, mean)
    values, vectors = np.linalg.eigh(covariance)
    components = vectors[:, np.argsort(values)[::-1][:dim]].T
    signs = np.sign(components[np.arange(dim), np.abs(components).argmax(axis=1)])  # a fixed sign per component
    return mean, components * signs[:, None]


def _check(ws: Workspace, key: FeatureKey, settings: Feature3DGSSettings) -> None:
    if settings.fusion not in FUSIONS:
        raise SemlatError(f"unknown fusion {settings.fusion!r}: choose one of {', '.join(FUSIONS)}")
    if settings.long_side < 1:
        raise SemlatError(f"--long-side {settings.long_side} is not a size: pass a number of pixels such as 480")
    dim = ws.manifest.embedding_dim or 0
    if settings.dim is not None and not 1 <= settings.dim <= dim:
        raise SemlatError(f"--dim {settings.dim} is not between 1 and the features' {dim} dimensions: pick one in that range")
    if settings.level is not None:
        levels = set(ws.region_columns(key.region_set).column("level").to_pylist())
        if settings.level not in levels:
            raise SemlatError(
                f"region set {key.region_set!r} has no regions of level {settings.level} (has: {', '.join(map(str, sorted(levels)))}): pass one of those"
            )
    if not settings.folder or Path(settings.folder).name != settings.folder:
        raise SemlatError(f"--folder {settings.folder!r} is not a folder name: pass a name such as {FOLDER}")


def export_feature_3dgs(ws: Workspace, out_dir: Path, settings: Feature3DGSSettings | None = None) -> ExportResult:
    """Write Feature 3DGS's ``<stem>_fmap_CxHxW.pt`` for every image with features, one image at a time.

    Args:
        ws: The workspace to export.
        out_dir: The scene folder (or any folder) to write ``settings.folder`` into.
        settings: Which features, fusion, size, channels, ``overwrite``.
    """
    import torch

    settings = settings or Feature3DGSSettings()
    key = export_key(ws, settings)
    _check(ws, key, settings)
    records = export_records(ws, key.region_set, key)
    with ExportWriter(Path(out_dir), settings.folder, "feature-3dgs", overwrite=settings.overwrite) as writer:
        projection = None
        if settings.dim is not None and settings.dim != ws.manifest.embedding_dim:
            projection = fit_projection(ws, key, records, settings, settings.dim)
        sizes = set()
        for record in track(records, "exporting feature-3dgs"):
            fmap = torch.from_numpy(feature_map(ws, key, record, settings, projection))
            writer.write(f"{file_stem(record.file_name)}_fmap_CxHxW.pt", lambda handle, t=fmap: torch.save(t, handle))
            sizes.add((fmap.shape[2], fmap.shape[1]))
            channels = fmap.shape[0]
            del fmap
        if projection is not None:
            mean, components = projection
            writer.write(PCA_FILE, lambda handle: np.savez(handle, mean=mean, components=components), beside=True)
        manifest = writer.finish(
            key, ws, key.region_set, len(records), settings, channels=channels, resolution=sorted(map(list, sizes))
        )
    return ExportResult("feature-3dgs", Path(out_dir), (*writer.files, manifest), len(records), key)


class Feature3DGSExporter(FunctionExporter):
    """``semlat export feature-3dgs``: `export_feature_3dgs` behind the `Exporter` interface."""

    name = "feature-3dgs"
    description = (
        "Feature 3DGS's rgb_feature_langseg/<stem>_fmap_CxHxW.pt: fused per-pixel features, C x H x W float16 per image."
    )
    settings = Feature3DGSSettings
    export = staticmethod(export_feature_3dgs)
