"""The original research code's npz files, in and out (see DESIGN.md, "The original code").

The original code writes ``refined_mask.npz`` (SAM low-res logits per image), ``refined_label.npz``
(a cross-view label per mask) and ``semantic_features.npz`` (whole image + one CLIP vector per
mask). Import turns the logits into full-resolution binary masks exactly as the original's
retrieval step does, and stores them (and optionally the features) in a workspace. Export writes
the workspace back out in the original's format so its scripts and notebooks keep working.

Import checks every input before the workspace is touched, so a bad file costs nothing to undo;
writing is then per image and resumable like every other stage.

Python API: `import_original`, `export_original`, `original_masks_to_binary`; the registered
format ``original``: `OriginalImporter`, `OriginalExporter` (``semlat import/export original``).
"""

from __future__ import annotations

import pickle
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from semlat.crops import MASK_WEIGHT
from semlat.errors import SemlatError
from semlat.files import atomic_npz, output_dir
from semlat.formats.base import ExportResult, ImportResult
from semlat.ingest import ScannedImage, scan_images
from semlat.progress import track
from semlat.types import WHOLE_IMAGE, FeatureKey, ImageRecord, Region
from semlat.vectors import normalize

if TYPE_CHECKING:  # the workspace (LanceDB) and torch are imported when used: the CLI imports this module for --help
    from semlat.workspace import Workspace

ORIGINAL_REGION_SET = "original"
"""Region set that imported masks go to unless the caller names another."""

ORIGINAL_MODEL_KEY = "original-import"
"""Model key recorded for imported features unless the caller names another."""

IMPORT_BACKEND = "original-import"
"""The ``backend`` / ``strategy`` recorded in the manifest for imported regions and features."""

LOGIT_GRID = 256
"""Side of SAM's low-res logit grid, which covers the padded 1024-square frame."""

_CHUNK_BYTES = 1 << 28
"""Upper bound on the float32 (masks, L, L) buffer of one resize batch."""

_NPZ_ERRORS = (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError, pickle.UnpicklingError)

MASKS_FILE = "refined_mask.npz"
FEATURES_FILE = "semantic_features.npz"
LABELS_FILE = "refined_label.npz"


# -- mask post-processing -------------------------------------------------------------------
def original_masks_to_binary(logits: npt.NDArray[np.floating], height: int, width: int) -> npt.NDArray[np.bool_]:
    """Turn (N, 256, 256) SAM low-res logits into (N, H, W) binary masks, as the original's retrieval step.

    The original smooths with a 4x4 box filter (padding 1, zeros counted: 256 -> 255), gives 0.8
    to cells whose filtered logit exceeds 0.5, resizes that weight bilinearly to the long side L
    and crops to the image. We keep the mask where the resized weight is >= 0.4, the bilinear
    midpoint, and apply the 0.8 weight at fusion time. Masks are resized in batches so the
    (batch, L, L) buffer stays bounded for large photos.
    """
    import torch
    import torch.nn.functional as F

    logits = np.asarray(logits)
    if logits.ndim != 3 or logits.shape[1:] != (LOGIT_GRID, LOGIT_GRID):
        raise ValueError(f"expected (N, {LOGIT_GRID}, {LOGIT_GRID}) logits, got {logits.shape}")
    side = max(height, width)
    out = np.empty((logits.shape[0], height, width), dtype=bool)
    batch = max(1, _CHUNK_BYTES // (4 * side * side))
    with torch.inference_mode():
        for start in range(0, logits.shape[0], batch):
            chunk = torch.from_numpy(np.ascontiguousarray(logits[start : start + batch], dtype=np.float32))
            filtered = F.avg_pool2d(chunk[:, None], kernel_size=4, stride=1, padding=1, count_include_pad=True)
            weight = torch.where(filtered > 0.5, MASK_WEIGHT, 0.0)
            resized = F.interpolate(weight, size=(side, side), mode="bilinear", align_corners=False)
            out[start : start + batch] = (resized[:, 0, :height, :width] >= MASK_WEIGHT / 2).numpy()
    return out


# -- reading npz files ---------------------------------------------------------------------
def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _open_npz(path: Path, what: str) -> np.lib.npyio.NpzFile:
    """Open an npz lazily, turning every way it can be broken into one clear error."""
    if not path.is_file():
        raise SemlatError(f"{what} file {path} does not exist: pass the {what} npz written by the original code")
    hint = f"pass the {what} npz the original code wrote"
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic.startswith(b"\x93NUMPY"):
        raise SemlatError(f"{what} file {path} is a single .npy array, not an npz file: {hint}")
    if not magic.startswith(b"PK"):
        raise SemlatError(f"{what} file {path} is not an npz file (pickled or other data, never unpickled): {hint}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except _NPZ_ERRORS as exc:
        raise SemlatError(
            f"{what} file {path} is truncated or not an npz file: copy it again from the original run ({_one_line(exc)})"
        ) from exc
    others = [name for name in loaded.zip.namelist() if not name.endswith(".npy")]
    if others:
        loaded.close()
        raise SemlatError(f"{what} file {path} is a zip but not an npz file (it holds {others[0]}): {hint}")
    return loaded


def _check_header(npz: np.lib.npyio.NpzFile, key: str, path: Path, what: str) -> None:
    """Compare the array an npz member's header announces with the bytes the member holds, before allocating it."""
    member = f"{key}.npy"
    with npz.zip.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(handle)
        header_bytes = handle.tell()
    if dtype.hasobject:
        raise SemlatError(
            f"entry {key!r} of {what} file {path} holds pickled objects, which semlat never unpickles: pass the {what} npz the original code wrote"
        )
    announced = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    held = npz.zip.getinfo(member).file_size - header_bytes
    if announced != held:
        raise SemlatError(
            f"entry {key!r} of {what} file {path} announces a {shape} {dtype} array ({announced / 2**30:.3g} GiB) "
            f"but holds {held} bytes: the file is damaged, copy it again from the original run"
        )


def _read(npz: np.lib.npyio.NpzFile, key: str, path: Path, what: str) -> npt.NDArray[Any]:
    """One array of an npz, its header checked first; a damaged member is reported like a damaged file."""
    try:
        _check_header(npz, key, path, what)
        return np.asarray(npz[key])
    except _NPZ_ERRORS as exc:
        raise SemlatError(
            f"{what} file {path} is truncated or not an npz file: entry {key!r} cannot be read ({_one_line(exc)}); copy it again from the original run"
        ) from exc


def _check_keys(mask_keys: list[str], label_keys: list[str], masks_npz: Path, labels_npz: Path) -> None:
    """Masks and labels must describe exactly the same images."""
    no_labels = sorted(set(mask_keys) - set(label_keys))
    if no_labels:
        raise SemlatError(
            f"{len(no_labels)} image(s) in {masks_npz} have no labels in {labels_npz} (first: {no_labels[0]}): pass the label file from the same original run"
        )
    no_masks = sorted(set(label_keys) - set(mask_keys))
    if no_masks:
        raise SemlatError(
            f"{len(no_masks)} image(s) in {labels_npz} have no masks in {masks_npz} (first: {no_masks[0]}): pass the mask file from the same original run"
        )
    if not mask_keys:
        raise SemlatError(f"{masks_npz} holds no images: pass the refined_mask.npz written by the original mask step")


def _check_logits(logits: npt.NDArray[Any], key: str, masks_npz: Path) -> None:
    if logits.ndim != 3 or logits.shape[1:] != (LOGIT_GRID, LOGIT_GRID) or logits.dtype.kind not in "fiu":
        raise SemlatError(
            f"masks of {key} in {masks_npz} have shape {logits.shape} ({logits.dtype}), expected (N, {LOGIT_GRID}, {LOGIT_GRID}) "
            "SAM low-res logits: pass the refined_mask.npz of the original mask step"
        )


def _check_labels(labels: npt.NDArray[Any], count: int, key: str, masks_npz: Path, labels_npz: Path) -> npt.NDArray[np.int64]:
    """Labels as int64, one per mask, each fitting the workspace's int32 label column."""
    if labels.ndim != 1 or labels.shape[0] != count:
        raise SemlatError(
            f"{key}: {count} masks in {masks_npz} but labels of shape {labels.shape} in {labels_npz}: pass the label file from the same original run"
        )
    integral = labels.dtype.kind in "iu" or (
        labels.dtype.kind == "f" and bool(np.all(np.isfinite(labels) & (labels == np.round(labels))))
    )
    info = np.iinfo(np.int32)
    if not integral or (count and (labels.min() < info.min or labels.max() > info.max)):
        raise SemlatError(
            f"labels of {key} in {labels_npz} are not 32-bit integers ({labels.dtype}): pass the refined_label.npz of the original mask step"
        )
    return labels.astype(np.int64)


# -- validation ------------------------------------------------------------------------------
@dataclass
class _OriginalImage:
    """One image of the original files, checked and with its regions encoded, ready to write."""

    key: str
    scanned: ScannedImage
    regions: list[Region]


def _scan(keys: list[str], images_dir: Path, masks_npz: Path) -> list[ScannedImage]:
    """Check every image named in the npz is in ``images_dir`` and readable."""
    if not images_dir.is_dir():
        raise SemlatError(f"image folder {images_dir} does not exist: pass the folder the original masks were made from")
    missing = [key for key in keys if not (images_dir / key).is_file()]
    if missing:
        raise SemlatError(
            f"{len(missing)} image(s) named in {masks_npz} are not in {images_dir} (first: {missing[0]}): pass the folder the original masks were made from"
        )
    return scan_images([images_dir / key for key in keys])


def _image_regions(key: str, logits: npt.NDArray[Any], labels: npt.NDArray[np.int64], width: int, height: int) -> list[Region]:
    """Post-process one image's masks; an empty mask is an error, since it cannot be embedded."""
    masks = original_masks_to_binary(logits, height, width)
    regions = []
    for index, (mask, label) in enumerate(zip(masks, labels, strict=True)):
        if not mask.any():
            raise SemlatError(
                f"mask {index} of {key} is empty after the original's post-processing ({width}x{height} image): "
                "check the masks belong to these images, or drop that mask from both npz files"
            )
        regions.append(Region.from_mask(index, mask, label=int(label)))
    return regions


def _check_masks(
    scanned: list[ScannedImage], masks_npz: Path, labels_npz: Path, masks: np.lib.npyio.NpzFile, labels: np.lib.npyio.NpzFile
) -> list[_OriginalImage]:
    """Read, check and post-process every image's masks, one image at a time."""
    items = []
    for path, width, height, sha in track(scanned, "checking original masks"):
        key = path.name
        logits = _read(masks, key, masks_npz, "masks")
        _check_logits(logits, key, masks_npz)
        image_labels = _check_labels(_read(labels, key, labels_npz, "labels"), logits.shape[0], key, masks_npz, labels_npz)
        items.append(_OriginalImage(key, (path, width, height, sha), _image_regions(key, logits, image_labels, width, height)))
    return items


def _feature_dim(vectors: npt.NDArray[Any], key: str, regions: int, features_npz: Path) -> int:
    """Check one image's features are (1 + regions, D), finite and non-zero; returns D."""
    expected = 1 + regions
    if vectors.ndim != 2 or vectors.shape[0] != expected or vectors.shape[1] == 0 or vectors.dtype.kind not in "fiu":
        raise SemlatError(
            f"features of {key} in {features_npz} have shape {vectors.shape}, expected ({expected}, D) "
            f"(whole image + {regions} masks): pass the semantic_features.npz from the same original run"
        )
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise SemlatError(
            f"features of {key} in {features_npz} hold NaN, infinite or all-zero rows: re-run the original retrieval step"
        )
    return int(vectors.shape[1])


def _check_features(features_npz: Path, items: list[_OriginalImage]) -> int:
    """Check the features cover every image with one row per region plus the whole image; returns D."""
    dims: set[int] = set()
    with _open_npz(features_npz, "features") as features:
        keys = set(features.files)
        for item in track(items, "checking original features"):
            if item.key not in keys:
                raise SemlatError(
                    f"image {item.key} has no features in {features_npz}: pass the semantic_features.npz from the same original run"
                )
            dim = _feature_dim(_read(features, item.key, features_npz, "features"), item.key, len(item.regions), features_npz)
            if dims and dim not in dims:
                raise SemlatError(
                    f"features of {item.key} in {features_npz} are {dim}-d but earlier ones are {dims.pop()}-d: pass one model's features"
                )
            dims.add(dim)
    return dims.pop()


def _check_workspace(
    ws: Workspace, items: list[_OriginalImage], claims: list[tuple[str, str, dict[str, Any]]], dim: int | None
) -> None:
    """Refuse, before writing anything, what the Workspace would refuse half-way through."""
    for section, name, config in claims:
        existing = ws.manifest.section(section).get(name)
        if existing is not None and existing != config:
            raise SemlatError(
                f"{section[:-1].replace('_', ' ')} {name!r} in {ws.root} was made with other settings ({existing}): "
                "import under another region set name or into a new workspace"
            )
    known_dim = ws.manifest.embedding_dim
    if dim is not None and known_dim is not None and known_dim != dim:
        raise SemlatError(
            f"workspace {ws.root} holds {known_dim}-d features and {dim}-d ones were given: use a new workspace for these features"
        )
    known = {record.file_name: record.sha256 for record in ws.images()}
    for item in items:
        path, _, _, sha = item.scanned
        if known.get(path.name, sha) != sha:
            raise SemlatError(
                f"image {path.name} differs from the one in workspace {ws.root}: use a new workspace for changed photos"
            )


# -- import ----------------------------------------------------------------------------------
def import_original(
    ws: Workspace,
    images_dir: Path,
    masks_npz: Path,
    labels_npz: Path,
    *,
    features_npz: Path | None = None,
    model_key: str = ORIGINAL_MODEL_KEY,
    region_set: str = ORIGINAL_REGION_SET,
) -> ImportResult:
    """Import the original's masks, labels and (optionally) features into a workspace.

    Args:
        ws: The workspace (`Workspace.open_or_create`: a new one is written with the first write).
        images_dir: Folder holding the images the npz files are keyed by (file names).
        masks_npz: The original's ``refined_mask.npz``.
        labels_npz: The original's ``refined_label.npz``.
        features_npz: The original's ``semantic_features.npz``; its rows are stored L2-normalised
            under ``FeatureKey(region_set, model_key, "raw")``.
        model_key: Model name recorded for the imported features.
        region_set: Region set the masks go to; region ids are the npz order 0..N-1.

    Returns:
        What was imported. Images already imported are skipped, so a re-run resumes.

    Raises:
        SemlatError: on any bad input, before anything is written.
    """
    images_dir, masks_npz, labels_npz = Path(images_dir), Path(masks_npz), Path(labels_npz)
    features_npz = None if features_npz is None else Path(features_npz)
    with _open_npz(masks_npz, "masks") as masks, _open_npz(labels_npz, "labels") as labels:
        keys = sorted(masks.files)
        _check_keys(keys, list(labels.files), masks_npz, labels_npz)
        items = _check_masks(_scan(keys, images_dir, masks_npz), masks_npz, labels_npz, masks, labels)
    dim = _check_features(features_npz, items) if features_npz is not None else None

    key = FeatureKey(region_set, model_key, "raw") if features_npz is not None else None
    region_config = {"backend": IMPORT_BACKEND, "masks": str(masks_npz.resolve()), "labels": str(labels_npz.resolve())}
    claims = [("region_sets", region_set, region_config)]
    if key is not None:
        claims.append(("feature_sets", str(key), {"strategy": IMPORT_BACKEND, "features": str(features_npz.resolve())}))
    _check_workspace(ws, items, claims, dim)

    for section, name, config in claims:
        ws.claim_config(section, name, config, hint="import under another region set name or into a new workspace")
    records = ws.add_images([item.scanned for item in items])
    written = _write_regions(ws, region_set, items, records)
    if key is not None:
        written |= _write_features(ws, key, features_npz, items, records)
    if written:
        ws.compact()
    return ImportResult("original", tuple(item.key for item in items), len(written), region_set, key)


def _write_regions(ws: Workspace, region_set: str, items: list[_OriginalImage], records: list[ImageRecord]) -> set[int]:
    """Write each image's regions not yet in the ledger; returns the ids of the images written."""
    from semlat.workspace import regions_stage

    done = ws.done_images(regions_stage(region_set))
    todo = [(item, record) for item, record in zip(items, records, strict=True) if record.image_id not in done]
    for item, record in track(todo, "importing original masks"):
        ws.write_regions(region_set, record.image_id, item.regions)
    return {record.image_id for _, record in todo}


def _write_features(
    ws: Workspace, key: FeatureKey, features_npz: Path, items: list[_OriginalImage], records: list[ImageRecord]
) -> set[int]:
    """Write each image's normalised features not yet in the ledger; returns the ids of the images written."""
    from semlat.workspace import embeddings_stage

    done = ws.done_images(embeddings_stage(key))
    todo = [(item, record) for item, record in zip(items, records, strict=True) if record.image_id not in done]
    with _open_npz(features_npz, "features") as features:
        for item, record in track(todo, "importing original features"):
            vectors = normalize(_read(features, item.key, features_npz, "features"))
            ws.write_embeddings(key, record.image_id, [WHOLE_IMAGE, *range(len(item.regions))], vectors)
    return {record.image_id for _, record in todo}


# -- export ----------------------------------------------------------------------------------
def _image_rows(ws: Workspace, key: FeatureKey, record: ImageRecord) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """(1+N, D) features and (N,) labels of one image in the original's row order."""
    regions, vectors = ws.regions_and_features(key, record)
    return vectors.astype(np.float32), np.array([region.label for region in regions], dtype=np.int64)


def export_original(ws: Workspace, out_dir: Path, *, key: FeatureKey | None = None) -> ExportResult:
    """Write ``semantic_features.npz`` and ``refined_label.npz`` as the original wrote them.

    Streams image by image; each file appears, complete, only when every image is written (and
    replaces an older one atomically). On any error ``out_dir`` is left as it was.

    Args:
        ws: The workspace to export.
        out_dir: Folder to write into (created if missing).
        key: Feature set to export; defaults to the workspace's only one.

    Returns:
        The files written: ``semantic_features.npz`` (key = image file name, value = (1+N, D)
        float32, row 0 the whole image, rows 1..N the regions), then ``refined_label.npz``
        (value = (N,) int64 cross-view labels).
    """
    from semlat.workspace import regions_stage

    key = ws.checked_key(key)
    done = ws.done_images(regions_stage(key.region_set))
    records = [record for record in ws.images() if record.image_id in done]
    if not records:
        raise SemlatError(
            f"region set {key.region_set!r} of workspace {ws.root} has no images: run `semlat masks` or `semlat import original` first"
        )
    out_dir = Path(out_dir)
    paths = (out_dir / FEATURES_FILE, out_dir / LABELS_FILE)
    with output_dir(out_dir), atomic_npz(paths[0]) as features, atomic_npz(paths[1]) as labels:
        for record in track(records, "exporting original npz"):
            vectors, image_labels = _image_rows(ws, key, record)
            features.add(record.file_name, vectors)
            labels.add(record.file_name, image_labels)
    return ExportResult("original", out_dir, paths, len(records), key)


# -- the registered format -------------------------------------------------------------------
@dataclass(frozen=True)
class OriginalImportSettings:
    """Inputs and options of ``semlat import original``.

    Args:
        images: Folder of the photos the files were made from.
        masks_npz: The original's refined_mask.npz.
        labels_npz: The original's refined_label.npz.
        features_npz: The original's semantic_features.npz (optional: masks and labels alone are a region set).
        region_set: Region set to import the masks into.
        model_key: Model name to record for the imported features.
    """

    images: Path
    masks_npz: Path
    labels_npz: Path
    features_npz: Path | None = None
    region_set: str = ORIGINAL_REGION_SET
    model_key: str = ORIGINAL_MODEL_KEY


class OriginalImporter:
    """``semlat import original``: `import_original` behind the `Importer` interface."""

    name = "original"
    description = "The original research code's refined_mask/refined_label (and semantic_features) npz files."
    settings = OriginalImportSettings

    def run(self, ws: Workspace, settings: OriginalImportSettings) -> ImportResult:
        return import_original(
            ws,
            settings.images,
            settings.masks_npz,
            settings.labels_npz,
            features_npz=settings.features_npz,
            model_key=settings.model_key,
            region_set=settings.region_set,
        )


@dataclass(frozen=True)
class OriginalExportSettings:
    """Options of ``semlat export original``: which feature set (default: `Workspace.feature_key`).

    Args:
        region_set: Region set of the features to export.
        features: Feature set to export, e.g. raw or smoothed.
        model_key: Model of the features to export (a model key or architecture name).
    """

    region_set: str | None = None
    features: str | None = None
    model_key: str | None = None


class OriginalExporter:
    """``semlat export original``: `export_original` behind the `Exporter` interface."""

    name = "original"
    description = (
        "semantic_features.npz (row 0 the whole image, rows 1..N the regions) and refined_label.npz, as the original wrote them."
    )
    settings = OriginalExportSettings

    def run(self, ws: Workspace, out_dir: Path, settings: OriginalExportSettings | None = None) -> ExportResult:
        settings = settings or OriginalExportSettings()
        chosen = (settings.region_set, settings.features, settings.model_key)
        key = None if chosen == (None, None, None) else ws.feature_key(*chosen)
        return export_original(ws, out_dir, key=key)
