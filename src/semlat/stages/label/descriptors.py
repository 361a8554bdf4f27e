"""Region descriptors for labelling: CLIP embeddings from the workspace, or mean SAM latents.

* ``"clip"``: the region's CLIP embedding (``semlat embed`` first).
* ``"sam"``: the mean SAM image latent inside the region's mask (64×64 latent cells weighted by
  how much of each the mask covers). SAM backends store these while proposing (under
  ``WS/cache/regions/<set>/descriptors/``); for other regions (e.g. ``classical``) every image
  is encoded with SAM (MobileSAM by default), one image at a time, unless a clustered run kept
  its latents (``keep_latents``).
* ``"auto"``: ``clip`` when the region set has embeddings, else ``sam``.

One fp16 descriptor per region is kept in memory (256 values for SAM).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.imageio import load_rgb
from semlat.progress import track
from semlat.regions import cache as cache_files
from semlat.types import FeatureKey, ImageRecord, Region
from semlat.vectors import normalize
from semlat.workspace import Workspace

DESCRIPTORS = ("auto", "clip", "sam")


def clip_key(ws: Workspace, region_set: str, feature_set: str | None) -> FeatureKey | None:
    """The region set's CLIP features (see `Workspace.feature_key`), None when it has none."""
    embedded = any(key.region_set == region_set for key in ws.feature_keys())
    return ws.feature_key(region_set=region_set, feature_set=feature_set) if embedded else None


def resolve(descriptor: str, key: FeatureKey | None, region_set: str) -> str:
    """ "clip" or "sam" for ``descriptor`` (see the module docstring)."""
    if descriptor not in DESCRIPTORS:
        raise SemlatError(f"unknown descriptor {descriptor!r}: use {', '.join(DESCRIPTORS)}")
    if descriptor == "auto":
        descriptor = "clip" if key is not None else "sam"
    if descriptor == "clip" and key is None:
        raise SemlatError(f"region set {region_set!r} has no CLIP features: run `semlat embed` first or use --descriptor sam")
    return descriptor


def describe(
    ws: Workspace,
    region_set: str,
    records: list[ImageRecord],
    descriptor: str,
    key: FeatureKey | None,
    sam: dict,
) -> npt.NDArray[np.float16]:
    """(N, D) L2-normalised descriptors of every region of ``records``, in workspace order.

    Args:
        ws, region_set, records: what to describe.
        descriptor: "clip" or "sam".
        key: the CLIP features for "clip".
        sam: backend, sam_type, checkpoint, device of the SAM that encodes images for "sam".
    """
    cache_dir = cache_files.region_cache_dir(ws.root, region_set)
    encoder = SamDescriptors(cache_dir=cache_dir, **sam) if descriptor == "sam" else None
    vectors: list[npt.NDArray[np.float16]] = []
    for record in track(records, f"describing regions ({descriptor})"):
        regions = ws.regions(region_set, record)
        if not regions:
            continue
        rows = encoder(record, regions) if encoder is not None else clip_rows(ws, key, record, regions)
        vectors.append(normalize(rows, np.float16))
    return np.concatenate(vectors) if vectors else np.zeros((0, 1), np.float16)


def clip_rows(ws: Workspace, key: FeatureKey, record: ImageRecord, regions: list[Region]) -> npt.NDArray[np.float32]:
    ids, vectors = ws.embeddings(key, record)
    lookup = {int(i): row for i, row in zip(ids, vectors)}
    missing = [r.region_id for r in regions if r.region_id not in lookup]
    if missing:
        raise SemlatError(f"features {key} lack regions {missing[:5]} of {record.file_name}: rerun `semlat embed`")
    return np.stack([lookup[r.region_id] for r in regions])


def global_similarity(ws: Workspace, key: FeatureKey, records: list[ImageRecord]) -> npt.NDArray[np.float32] | None:
    """(n, n) cosine of the whole-image CLIP embeddings, None if an image lacks one."""
    rows = []
    for record in records:
        ids, vectors = ws.embeddings(key, record)
        whole = np.flatnonzero(ids == -1)
        if not len(whole):
            return None
        rows.append(vectors[whole[0]])
    x = normalize(np.stack(rows)) if rows else np.zeros((0, 1), np.float32)
    return x @ x.T


class SamDescriptors:
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
