"""`semlat label`: cross-view labels (instances) for the regions of any backend.

Methods (``method=``):

* ``"tracks"``: the scene's SfM tracks (a COLMAP model read into the workspace) link regions
  that see the same 3D points (`semlat.regions.association`).
* ``"matches"``: SIFT matches (ratio test, RANSAC fundamental matrix) between image pairs link
  regions the same way; the pairs are each view's most similar others by whole-image CLIP
  embedding when the region set is embedded, else its neighbours in file order.
* ``"appearance"``: region descriptors (CLIP, else SAM; `semlat.stages.label.descriptors`)
  link each region to its mutual nearest neighbour in the paired images above a cosine threshold.
* ``"matches+appearance"``: matches, then appearance for what matches leave apart.
* ``"auto"`` (default): tracks when the workspace holds them, else matches+appearance.
* ``"kmeans"``: the original's way: KMeans of all descriptors into ``n_labels`` labels.

Every method but kmeans clusters under cannot-link (two regions of one image and level are never
one instance) and finds the number of instances from the data; links never join levels. Each
image's regions are rewritten with their label (one atomic commit per image).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.progress import track
from semlat.regions import association, clustering
from semlat.regions.association import AssociationSettings
from semlat.stages.label import descriptors as describing
from semlat.stages.label import links as linking
from semlat.types import FeatureKey, ImageRecord
from semlat.workspace import Workspace

METHODS = ("auto", "tracks", "matches", "appearance", "matches+appearance", "kmeans")


@dataclass(frozen=True)
class LabelResult:
    """What `label_regions` did (``descriptor`` is "none" when no descriptor was used)."""

    region_set: str
    descriptor: str
    n_labels: int
    n_regions: int
    n_images: int
    method: str = "kmeans"


def label_regions(
    ws: Workspace,
    region_set: str | None = None,
    *,
    method: str = "auto",
    n_labels: int = 15,
    descriptor: str = "auto",
    feature_set: str | None = None,
    backend: str = "mobile-sam",
    sam_type: str | None = None,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    seed: int = 0,
    settings: AssociationSettings | None = None,
) -> LabelResult:
    """Give every region of ``region_set`` a cross-view label (see the module docstring).

    Args:
        ws: the workspace.
        region_set: region set to label (default: the only one).
        method: one of `METHODS`.
        n_labels: number of labels G of "kmeans" (fewer if there are fewer regions).
        descriptor: "auto", "clip" or "sam" (`semlat.stages.label.descriptors`), for "kmeans" and appearance.
        feature_set: CLIP feature set to use (default: see `Workspace.feature_key`).
        backend, sam_type, checkpoint, device: the SAM used for "sam" descriptors that were not
            stored while proposing.
        seed: KMeans seed (the same inputs give the same labels).
        settings: the association's thresholds (default: `AssociationSettings()`).
    """
    if method not in METHODS:
        raise SemlatError(f"unknown method {method!r}: use {', '.join(METHODS)}")
    if n_labels < 1:
        raise SemlatError(f"--labels must be at least 1 (got {n_labels})")
    name = ws.region_set(region_set)
    settings = settings or AssociationSettings()
    key = describing.clip_key(ws, name, feature_set)
    if method == "auto":
        method = "tracks" if ws.has_tracks() else "matches+appearance"
    if method == "tracks" and not ws.has_tracks():
        raise SemlatError("this workspace holds no SfM tracks: pass --colmap sparse/0 or use --method matches")
    uses_descriptors = method in ("kmeans", "appearance", "matches+appearance")
    descriptor = describing.resolve(descriptor, key, name) if uses_descriptors else "none"
    sam = {"backend": backend, "sam_type": sam_type, "checkpoint": checkpoint, "device": device}
    records = [r for r in ws.images() if ws.regions(name, r)]
    if not records:
        raise SemlatError(f"region set {name!r} has no regions to label")
    vectors = describing.describe(ws, name, records, descriptor, key, sam) if uses_descriptors else None
    if method == "kmeans":
        labels, _ = clustering.kmeans(vectors.astype(np.float32), n_labels, seed=seed)
    else:
        labels = _associate(ws, name, records, method, vectors, descriptor, key, settings)
    start = 0
    for record in track(records, "writing labels"):
        regions = ws.regions(name, record)
        mine = labels[start : start + len(regions)]
        ws.write_regions(name, record.image_id, [replace(r, label=int(mine[i])) for i, r in enumerate(regions)])
        start += len(regions)
    found = int(labels.max()) + 1
    entry = {"method": method, "descriptor": descriptor, "found": found}
    ws.manifest.labels[name] = {**entry, "n_labels": n_labels, "seed": seed} if method == "kmeans" else entry
    ws.save_manifest()
    ws.compact()
    return LabelResult(name, descriptor, found, len(labels), len(records), method)


def _associate(
    ws: Workspace,
    name: str,
    records: list[ImageRecord],
    method: str,
    vectors: npt.NDArray[np.float16] | None,
    descriptor: str,
    key: FeatureKey | None,
    settings: AssociationSettings,
) -> npt.NDArray[np.int64]:
    """Instances of every region by constrained clustering of its links (tracks or matches first)."""
    index = linking.RegionIndex.build(ws, name, records)
    tiers = []
    pairs: list[tuple[int, int]] = []
    if method != "tracks":
        similarity = describing.global_similarity(ws, key, records) if key is not None else None
        pairs = association.image_pairs(len(records), settings.pairs_per_view, similarity)
    if method in ("tracks", "matches", "matches+appearance"):
        if method == "tracks":
            observations = linking.track_observations(ws, records)
        else:
            observations = linking.match_observations(records, pairs, settings)
        found = linking.observed_regions(ws, name, records, index, observations)
        tiers.append(linking.point_links_per_level(found, index, settings))
    if vectors is not None:
        threshold = settings.appearance_threshold if descriptor == "clip" else settings.sam_appearance_threshold
        tiers.append(linking.appearance_links_per_level(vectors, index, pairs, threshold))
    return association.cluster(len(index), index.groups(), tiers)
