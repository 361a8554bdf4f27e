"""Gathering every labelled region's feature vector from a workspace, one image at a time.

Metrics, smoothing and refinement all work on the same flat table: one row per region that has
a feature vector, with its label, image and region id. Holding N_regions × D floats is fine;
pixels are never loaded here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from semlat.errors import SemlatError
from semlat.progress import track
from semlat.types import NO_LABEL, FeatureKey
from semlat.workspace import Workspace


@dataclass(frozen=True)
class RegionFeatures:
    """Every region of one feature key: rows aligned across all arrays, images in id order.

    ``labels`` is -1 for regions without a cross-view label; they are kept so that smoothing can
    copy them through unchanged.
    """

    key: FeatureKey
    image_ids: npt.NDArray[np.int32]
    region_ids: npt.NDArray[np.int32]
    labels: npt.NDArray[np.int32]
    vectors: npt.NDArray[np.float32]

    @property
    def labelled(self) -> npt.NDArray[np.bool_]:
        return self.labels != NO_LABEL

    def label_ids(self) -> npt.NDArray[np.int32]:
        """Sorted distinct labels (without -1)."""
        return np.unique(self.labels[self.labelled]).astype(np.int32)


def choose_key(ws: Workspace, key: FeatureKey | None = None) -> FeatureKey:
    """The feature key to work on (`Workspace.checked_key`), in a workspace that has images."""
    if not ws.images():
        raise SemlatError(f"workspace {ws.root} has no images: run `semlat masks` or `semlat import original` first")
    return ws.checked_key(key)


def collect_regions(ws: Workspace, key: FeatureKey, require_labels: bool = True) -> RegionFeatures:
    """Load every region's vector and label for ``key``, checking features match the regions."""
    image_ids: list[npt.NDArray[np.int32]] = []
    region_ids: list[npt.NDArray[np.int32]] = []
    labels: list[npt.NDArray[np.int32]] = []
    vectors: list[npt.NDArray[np.float32]] = []
    dim = ws.manifest.embedding_dim or 0
    for record in track(ws.images(), f"reading features {key}"):
        regions, vecs = ws.regions_and_features(key, record)
        image_ids.append(np.full(len(regions), record.image_id, np.int32))
        region_ids.append(np.array([r.region_id for r in regions], np.int32))
        labels.append(np.array([r.label for r in regions], np.int32))
        vectors.append(vecs[1:].astype(np.float32))
        dim = vecs.shape[1]
    table = RegionFeatures(
        key,
        np.concatenate(image_ids) if image_ids else np.zeros(0, np.int32),
        np.concatenate(region_ids) if region_ids else np.zeros(0, np.int32),
        np.concatenate(labels) if labels else np.zeros(0, np.int32),
        np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32),
    )
    if require_labels and not table.labelled.any():
        raise SemlatError(
            f"no region of set {key.region_set!r} in {ws.root} has a cross-view label "
            f"({len(table.labels)} regions, all unlabelled): import labelled masks with `semlat import original` "
            "or use a region set whose regions carry labels"
        )
    return table
