"""`semlat label`: cross-view labels for the regions of any backend.

Every region gets a descriptor; all descriptors of the collection are L2-normalised and
clustered by KMeans into ``n_labels`` labels; each image's regions are rewritten with their
label (one atomic commit per image, through `Workspace.write_regions`).

Descriptors (``descriptor=``):

* ``"clip"``: the region's CLIP embedding from the workspace (``semlat embed`` first).
* ``"sam"``: the mean SAM image latent inside the region's mask (64×64 latent cells weighted by
  how much of each the mask covers). SAM backends store these while proposing (under
  ``WS/cache/regions/<set>/descriptors/``); for other regions (e.g. ``classical``) every image
  is encoded with SAM (MobileSAM by default), one image at a time, unless a clustered run kept
  its latents (``keep_latents``).
* ``"auto"``: ``clip`` when the region set has embeddings, else ``sam``.

Memory: one fp16 descriptor per region (256 values for SAM) is kept for the clustering.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.imageio import load_rgb
from semlat.progress import track
from semlat.regions import cache as cache_files
from semlat.regions import clustering
from semlat.types import FeatureKey, ImageRecord, Region
from semlat.vectors import normalize
from semlat.workspace import Workspace

DESCRIPTORS = ("auto", "clip", "sam")


@dataclass(frozen=True)
class LabelResult:
    """What `label_regions` did."""

    region_set: str
    descriptor: str
    n_labels: int
    n_regions: int
    n_images: int


def label_regions(
    ws: Workspace,
    region_set: str | None = None,
    *,
    n_labels: int = 15,
    descriptor: str = "auto",
    feature_set: str | None = None,
    backend: str = "mobile-sam",
    sam_type: str | None = None,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    seed: int = 0,
) -> LabelResult:
    """Give every region of ``region_set`` a cross-view label by clustering region descriptors.

    Args:
        ws: the workspace.
        region_set: region set to label (default: the only one).
        n_labels: number of labels G (fewer if there are fewer regions).
        descriptor: "auto", "clip" or "sam" (see the module docstring).
        feature_set: CLIP feature set to use with "clip" (default: see `Workspace.feature_key`).
        backend, sam_type, checkpoint, device: the SAM used for "sam" descriptors that were not
            stored while proposing.
        seed: KMeans seed (the same inputs give the same labels).
    """
    if descriptor not in DESCRIPTORS:
        raise SemlatError(f"unknown descriptor {descriptor!r}: use {', '.join(DESCRIPTORS)}")
    if n_labels < 1:
        raise SemlatError(f"--labels must be at least 1 (got {n_labels})")
    name = ws.region_set(region_set)
    embedded = any(key.region_set == name for key in ws.feature_keys())
    key = ws.feature_key(region_set=name, feature_set=feature_set) if embedded else None
    if descriptor == "auto":
        descriptor = "clip" if key is not None else "sam"
    if descriptor == "clip" and key is None:
        raise SemlatError(f"region set {name!r} has no CLIP features: run `semlat embed` first or use --descriptor sam")
    records = ws.images()
    cache_dir = cache_files.region_cache_dir(ws.root, name)
    sam = _SamDescriptors(backend, sam_type, checkpoint, device, cache_dir) if descriptor == "sam" else None

    per_image: list[tuple[ImageRecord, int]] = []
    vectors: list[npt.NDArray[np.float16]] = []
    for record in track(records, f"describing regions ({descriptor})"):
        regions = ws.regions(name, record)
        if not regions:
            continue
        if sam is not None:
            rows = sam(record, regions)
        else:
            rows = _clip_rows(ws, key, record, regions)
        vectors.append(normalize(rows, np.float16))
        per_image.append((record, len(regions)))
    if not vectors:
        raise SemlatError(f"region set {name!r} has no regions to label")
    features = np.concatenate(vectors).astype(np.float32)
    labels, _ = clustering.kmeans(features, n_labels, seed=seed)
    start = 0
    for record, count in track(per_image, "writing labels"):
        regions = ws.regions(name, record)
        mine = labels[start : start + count]
        ws.write_regions(name, record.image_id, [replace(r, label=int(mine[i])) for i, r in enumerate(regions)])
        start += count
    found = int(labels.max()) + 1
    ws.manifest.labels[name] = {"descriptor": descriptor, "n_labels": n_labels, "seed": seed, "found": found}
    ws.save_manifest()
    ws.compact()
    return LabelResult(name, descriptor, found, int(features.shape[0]), len(per_image))


def _clip_rows(ws: Workspace, key: FeatureKey, record: ImageRecord, regions: list[Region]) -> npt.NDArray[np.float32]:
    ids, vectors = ws.embeddings(key, record)
    lookup = {int(i): row for i, row in zip(ids, vectors)}
    missing = [r.region_id for r in regions if r.region_id not in lookup]
    if missing:
        raise SemlatError(f"features {key} lack regions {missing[:5]} of {record.file_name}: rerun `semlat embed`")
    return np.stack([lookup[r.region_id] for r in regions])


class _SamDescriptors:
    """Mean SAM latent inside each region: stored ones when they match, else encode the image."""

    def __init__(self, backend, sam_type, checkpoint, device, cache_dir: Path):
        from semlat.regions.sam import SamSpec

        self.spec = SamSpec.resolve(backend, sam_type, checkpoint)
        self.device = device
        self.cache_dir = cache_dir

    def __call__(self, record: ImageRecord, regions: list[Region]) -> npt.NDArray[np.float32]:
        stored = cache_files.load_npy(cache_files.descriptors_path(self.cache_dir, record.image_id))
        if stored is not None and stored.ndim == 2 and stored.shape[0] == len(regions):
            return stored.astype(np.float32)
        from semlat.regions.sam import Encoded, grid_coverage, input_size, load_sam, mean_latent

        original = (record.height, record.width)
        latent = cache_files.load_npy(cache_files.latents_dir(self.cache_dir, self.spec.tag()) / f"{record.sha256}.npy")
        if latent is not None and latent.shape == (256, 64, 64):  # kept by a clustered run of this model
            encoded = Encoded(latent.astype(np.float32), input_size(*original), original)
        else:
            encoded = load_sam(self.spec, self.device).encode(load_rgb(Path(record.path)))
        rows = np.stack([mean_latent(encoded.latent, grid_coverage(r.mask(), encoded.input_size)) for r in regions])
        cache_files.save_npy(cache_files.descriptors_path(self.cache_dir, record.image_id), rows.astype(np.float16))
        return rows
