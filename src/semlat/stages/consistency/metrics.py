"""Semantic consistency of cross-view labels: the original's intra- and inter-label numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from semlat.stages.consistency.collect import RegionFeatures, choose_key, collect_regions
from semlat.stages.consistency.measures import (
    intra_label_variance,
    label_means,
    overall_similarity,
    similarity_matrix,
)
from semlat.types import FeatureKey
from semlat.vectors import normalize
from semlat.workspace import Workspace


@dataclass(frozen=True)
class LabelStats:
    """One cross-view label's numbers."""

    label: int
    members: int
    images: int
    intra_variance: float
    """Variance of members' L2 distances to their mean (the original's intra-label number)."""
    mean_cosine: float
    """Mean cosine of members to the label's mean direction (1: all views agree)."""
    overall_similarity: float
    """Column sum of the centred-prototype cosine matrix minus 1 (lower: more distinct)."""


@dataclass
class Metrics:
    """All consistency numbers of one feature key, plus the per-region data the plots need."""

    workspace: Path
    key: FeatureKey
    labels: list[LabelStats]
    similarity: npt.NDArray[np.float64]
    """(L, L) cosines of centred, normalised prototypes, rows/columns in ``labels`` order."""
    summary: dict[str, float]
    table: RegionFeatures = field(repr=False)
    region_cosine: npt.NDArray[np.float32] = field(repr=False)
    """Per region of ``table``: cosine to its label's mean direction (NaN when unlabelled)."""

    @property
    def label_ids(self) -> list[int]:
        return [stats.label for stats in self.labels]

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace": str(self.workspace),
            "features": str(self.key),
            "summary": self.summary,
            "labels": [vars(stats) for stats in self.labels],
            "label_ids": self.label_ids,
            "similarity": np.round(self.similarity, 6).tolist(),
        }


def metrics_from_table(table: RegionFeatures, workspace: Path | str = ".") -> Metrics:
    """Compute every number from an already loaded region table (pure: no workspace access)."""
    mask = table.labelled
    vectors, labels, images = table.vectors[mask], table.labels[mask], table.image_ids[mask]
    label_ids = table.label_ids()
    means = label_means(vectors, labels, label_ids)
    similarity = similarity_matrix(means)
    overall = overall_similarity(similarity)
    index = np.searchsorted(label_ids, labels)
    cosines = np.sum(normalize(vectors) * normalize(means)[index], axis=1)
    stats = []
    for i, label in enumerate(label_ids):
        members = index == i
        stats.append(
            LabelStats(
                int(label),
                int(members.sum()),
                int(len(np.unique(images[members]))),
                intra_label_variance(vectors[members]),
                float(cosines[members].mean()),
                float(overall[i]),
            )
        )
    region_cosine = np.full(len(table.labels), np.nan, np.float32)
    region_cosine[mask] = cosines
    summary = {
        "images": int(len(np.unique(table.image_ids))),
        "regions": int(len(table.labels)),
        "labelled_regions": int(mask.sum()),
        "labels": int(len(label_ids)),
        "mean_intra_variance": float(np.mean([s.intra_variance for s in stats])),
        "mean_cosine_to_prototype": float(cosines.mean()),
        "mean_label_cosine": float(np.mean([s.mean_cosine for s in stats])),
        "mean_overall_similarity": float(overall.mean()),
        "std_overall_similarity": float(overall.std()),
        "mean_images_per_label": float(np.mean([s.images for s in stats])),
    }
    return Metrics(Path(workspace), table.key, stats, similarity, summary, table, region_cosine)


def compute_metrics(ws: Workspace, *, key: FeatureKey | None = None) -> Metrics:
    """Per-label and overall consistency numbers of one feature key of a workspace.

    Args:
        ws: the workspace.
        key: the features to measure (default: `Workspace.feature_key()`).
    Raises:
        SemlatError: no images, no features, or no labelled region.
    """
    key = choose_key(ws, key)
    return metrics_from_table(collect_regions(ws, key), ws.root)
