"""What the 3D-pipeline exporters share: options, the output folder, the manifest, sizes and painting.

LangSplat, Feature 3DGS and Gaussian Grouping each read a folder of per-image files beside a
scene. Their exporters (`semlat.formats.langsplat`, `feature_3dgs`, `gaussian_grouping`) stream
image by image through `ExportWriter`, which

- refuses an output whose folder for this format already holds files (or that holds this
  format's manifest) unless ``--overwrite``, so an earlier export is never mixed into;
- writes every file atomically (`semlat.files`), and on an error removes what this export wrote,
  so a failed export leaves the output as it was;
- ends with ``semlat_export_<format>.json``: the features, model, region set, levels, resolution
  and every file written.

Per-pixel content comes from the run-length fast path (`semlat.scoring.fusion`): an image's
masks become membership patterns and a small pattern-index image at the output size; a pixel's
value is its pattern's, so no H×W map per region and no H×W×C tensor is ever made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.files import atomic_write, write_json
from semlat.names import is_safe_name
from semlat.scoring.fusion import nearest_sample, pattern_index, segment_patterns
from semlat.settings import Range, check_ranges
from semlat.types import FeatureKey, ImageRecord, Region

if TYPE_CHECKING:
    from semlat.workspace import Workspace

MANIFEST_PREFIX = "semlat_export_"
"""The manifest of format F is ``semlat_export_F.json`` in the output folder."""


LEVEL = Range(0, 127)
"""A region level (SAM's: 0 whole, 1 part, 2 sub-part; stored as int8)."""
RESOLUTION = Range(-1, 100_000)
"""The 3D pipelines' --resolution: -1, a divisor 1/2/4/8 or a target width (`loader_size` checks the rest)."""


@dataclass(frozen=True)
class ExportSettings:
    """Options every 3D-pipeline export has.

    Args:
        region_set: Region set to export (default: the workspace's only one, or the features').
        overwrite: Write into an output that already holds this export, replacing its files.
    """

    region_set: str | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        check_ranges(self)  # the fields' `Range`s (the command line checks them as it parses)


@dataclass(frozen=True)
class FeatureExportSettings(ExportSettings):
    """Options of the exports that write features.

    Args:
        features: Feature set to export, e.g. raw or smoothed (default: raw, or the only one).
        model_key: Model of the features to export (a model key or architecture name).
    """

    features: str | None = None
    model_key: str | None = None


def export_key(ws: Workspace, settings: FeatureExportSettings) -> FeatureKey:
    """The feature set the options pick (`Workspace.feature_key`); one clear error without embeddings."""
    return ws.feature_key(settings.region_set, settings.features, settings.model_key)


def export_records(ws: Workspace, region_set: str, key: FeatureKey | None = None) -> list[ImageRecord]:
    """The images with regions of ``region_set`` (and features of ``key``), by image id.

    Their `file_stem` must be distinct and a plain file name (`semlat.names.is_safe_name`): the
    consumers' naming is kept, so a collision or an unusable stem is refused, never renamed.
    """
    from semlat.workspace import embeddings_stage, regions_stage

    done = ws.done_images(regions_stage(region_set))
    if key is not None:
        done &= ws.done_images(embeddings_stage(key))
    records = [record for record in ws.images() if record.image_id in done]
    if not records:
        what = f"features {key}" if key is not None else f"regions of set {region_set!r}"
        raise SemlatError(f"no image of workspace {ws.root} has {what}: run `semlat masks` and `semlat embed` first")
    seen: dict[str, str] = {}
    for record in records:
        stem = file_stem(record.file_name)
        if not is_safe_name(stem):
            raise SemlatError(
                f"image {record.file_name} gives the name {stem!r} (before its first dot) that the 3D pipelines key files by, "
                "which is not a file name: rename the image"
            )
        if stem in seen:
            raise SemlatError(
                f"images {seen[stem]} and {record.file_name} share the name {stem!r} the 3D pipelines key files by: rename one"
            )
        seen[stem] = record.file_name
    return records


def file_stem(file_name: str) -> str:
    """The name before its first dot, as LangSplat, Feature 3DGS and Gaussian Grouping name an image's files."""
    return file_name.split(".")[0]


def loader_size(width: int, height: int, resolution: int, *, cap: int, capped: str) -> tuple[int, int]:
    """(w, h) the 3DGS-family camera loader (``utils/camera_utils.py::loadCam``) trains at.

    ``resolution`` 1, 2, 4 or 8 divides the size (rounded); -1 scales images whose ``capped``
    side ("height" for LangSplat, "width" for 3DGS and Gaussian Grouping) exceeds ``cap`` down to
    it; any other value is a target width. Sizes are truncated, as the loader's ``int()``.
    """
    if resolution in (1, 2, 4, 8):
        return round(width / resolution), round(height / resolution)
    if resolution == -1:
        side = height if capped == "height" else width
        down = side / cap if side > cap else 1.0
    elif resolution > 0:
        down = width / resolution
    else:
        raise SemlatError(f"resolution {resolution} is not -1, 1, 2, 4, 8 or a target width in pixels: pick one of those")
    return int(width / down), int(height / down)


def image_patterns(
    regions: Sequence[Region], record: ImageRecord, size: tuple[int, int]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.integer]]:
    """(U, K) membership patterns of an image's masks and the (h, w) pattern-index image at ``size`` (w, h).

    Pixels of the output take the pattern under their centre in the full-resolution image.
    """
    shape = (record.height, record.width)
    patterns, of_segment, lengths = segment_patterns([region.rle for region in regions], shape)
    index = pattern_index(of_segment, lengths, shape, len(patterns))
    return patterns, nearest_sample(index, (size[1], size[0]))


def visible_regions(patterns: npt.NDArray[np.bool_], index: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
    """(K,) whether each region covers at least one output pixel (a small one may vanish in a downscale)."""
    return patterns[np.unique(index)].any(axis=0)


def last_covering(patterns: npt.NDArray[np.bool_], order: Sequence[int]) -> npt.NDArray[np.intp]:
    """Per pattern, the position in ``order`` of the last of its regions painted in that order (-1: none).

    Painting masks one after another, each over the earlier ones (``seg[mask] = i``), leaves every
    pixel with the last mask that covers it; this is that, once per pattern.
    """
    order = np.asarray(order, dtype=np.intp)
    if order.size == 0:
        return np.full(len(patterns), -1, np.intp)
    covered = patterns[:, order]
    last = order.size - 1 - np.argmax(covered[:, ::-1], axis=1)
    return np.where(covered.any(axis=1), last, -1)


class FunctionExporter:
    """An `Exporter` whose ``run`` is the format's export function (its ``export`` attribute)."""

    name: ClassVar[str]
    description: ClassVar[str]
    settings: ClassVar[type]
    export: ClassVar[Callable[..., Any]]

    def run(self, ws: Workspace, out_dir: Path, settings: Any = None) -> Any:
        return type(self).export(ws, out_dir, settings)


class ExportWriter:
    """Writes one export's files into ``out_dir/folder`` atomically, then its manifest.

    Use as a context manager; on an exception every file it wrote that did not exist before is
    removed again, and folders it made are removed when empty.
    """

    def __init__(self, out_dir: Path, folder: str, fmt: str, *, overwrite: bool):
        self.out_dir = Path(out_dir)
        self.folder = self.out_dir / folder
        self.manifest_path = self.out_dir / f"{MANIFEST_PREFIX}{fmt}.json"
        self.fmt = fmt
        self.files: list[Path] = []
        self._new: list[Path] = []
        self._made: list[Path] = []
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise SemlatError(f"output folder {self.out_dir} is a file: pass a folder")
        if self.folder.exists() and not self.folder.is_dir():
            raise SemlatError(f"{self.folder} is a file: pass another output folder")
        taken = self.manifest_path.exists() or (self.folder.is_dir() and any(self.folder.iterdir()))
        if taken and not overwrite:
            raise SemlatError(
                f"{self.folder if self.folder.is_dir() else self.out_dir} already holds a {fmt} export: "
                "pass --overwrite to replace its files, or another output folder"
            )

    def __enter__(self) -> ExportWriter:
        self._made = [path for path in (self.folder, *self.folder.parents) if not path.exists()]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SemlatError(
                f"cannot create output folder {self.folder} ({exc.strerror}): pass a folder you can write to"
            ) from exc
        return self

    def __exit__(self, kind: type | None, *_: Any) -> None:
        if kind is None:
            return
        for path in self._new:
            path.unlink(missing_ok=True)
        for folder in sorted(set(self._made), key=lambda path: len(path.parts), reverse=True):  # deepest first
            try:
                folder.rmdir()
            except OSError:
                continue

    def write(self, name: str, write: Callable[[IO[bytes]], Any], *, beside: bool = False) -> Path:
        """Write ``folder/name`` (``out_dir/name`` when ``beside``; sub-folders are made) atomically; returns its path."""
        path = (self.out_dir if beside else self.folder) / name
        self._made += [parent for parent in path.parents if not parent.exists()]
        if not path.exists():
            self._new.append(path)
        atomic_write(path, write, make_parents=True)
        self.files.append(path)
        return path

    def finish(self, key: FeatureKey | None, ws: Workspace, region_set: str, images: int, settings: Any, **record: Any) -> Path:
        """Write the manifest (what made the files and every file written) last; returns its path."""
        manifest = {
            "format": self.fmt,
            "images": images,
            "region_set": region_set,
            "region_set_config": ws.manifest.region_sets.get(region_set),
            "features": None if key is None else str(key),
            "model": None if key is None else ws.manifest.models.get(key.model_key),
            "settings": asdict(settings),
            **record,
            "files": [str(path.relative_to(self.out_dir)) for path in self.files],
        }
        if not self.manifest_path.exists():
            self._new.append(self.manifest_path)
        write_json(self.manifest_path, manifest)
        return self.manifest_path
