"""The association's inputs read from a workspace: observations inside regions, and image pairs.

Observations come from the scene's SfM tracks (`Workspace.observations`) or from SIFT matches
between chosen image pairs (`semlat.regions.matching`). Each image's masks are decoded one at a
time and only the observation pixels are looked up, so what is kept grows with observations and
regions. An observation belongs to the region that shows its pixel at each level (`semlat.types.shown_masks`:
the smallest region of the level over it), as the labels are read out in the exports and the
evaluation; a part painted over a whole does not also vote for the whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from semlat.imageio import load_rgb
from semlat.progress import track
from semlat.regions import association, matching
from semlat.regions.association import AssociationSettings, Incidences
from semlat.types import ImageRecord, shown_masks, visible_order
from semlat.workspace import Workspace

Observations = Callable[[int], tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]]
"""Image index -> (xy (K, 2), point id (K,)) of its observations."""


@dataclass(frozen=True)
class RegionIndex:
    """Every region of a region set in one global order: image index, region id and level of each."""

    image: npt.NDArray[np.int64]
    region_id: npt.NDArray[np.int64]
    level: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]  # (n_images + 1,): the image's regions are start[i]:start[i + 1]

    @classmethod
    def build(cls, ws: Workspace, region_set: str, records: list[ImageRecord]) -> RegionIndex:
        image, region_id, level, start = [], [], [], [0]
        for index, record in enumerate(records):
            regions = ws.regions(region_set, record)
            image += [index] * len(regions)
            region_id += [r.region_id for r in regions]
            level += [r.level for r in regions]
            start.append(start[-1] + len(regions))
        return cls(*(np.asarray(v, np.int64) for v in (image, region_id, level, start)))

    def __len__(self) -> int:
        return len(self.image)

    def groups(self) -> npt.NDArray[np.int64]:
        """Cannot-link group of each region: its image and level."""
        return self.image * (int(self.level.max(initial=0)) + 1) + self.level


def track_observations(ws: Workspace, records: list[ImageRecord]) -> Observations:
    """The SfM observations of the scene stored in the workspace."""
    return lambda index: ws.observations(records[index].image_id)


def match_observations(records: list[ImageRecord], pairs: list[tuple[int, int]], settings: AssociationSettings) -> Observations:
    """Two-view tracks of SIFT matches between ``pairs`` (keypoints found once per image)."""
    found: dict[int, matching.Keypoints] = {}

    def keypoints(index: int) -> matching.Keypoints:
        if index not in found:
            found[index] = matching.sift(load_rgb(Path(records[index].path)), settings.max_features)
        return found[index]

    tracks = matching.match_tracks(
        keypoints,
        track(pairs, "matching image pairs"),
        settings.ratio,
        settings.ransac_threshold,
        settings.min_inliers,
    )
    empty = (np.zeros((0, 2), np.float32), np.zeros(0, np.int64))
    return lambda index: tracks.get(index, empty)


def observed_regions(
    ws: Workspace, region_set: str, records: list[ImageRecord], index: RegionIndex, observations: Observations
) -> Incidences:
    """Which regions show which observations, over every image (each mask decoded once, one at a time)."""
    parts = []
    for position, record in enumerate(track(records, "observations in regions")):
        xy, point = observations(position)
        if not len(xy):
            continue
        regions = ws.regions(region_set, record)
        lo = int(index.start[position])
        order = [lo + i for i in visible_order(regions)]  # global indices, as shown_masks yields them
        parts.append(association.incidences(shown_masks(regions), order, position, xy, point))
    return Incidences.concat(parts)


def point_links_per_level(found: Incidences, index: RegionIndex, settings: AssociationSettings) -> association.Links:
    """Point links computed level by level (regions of different levels are never linked).

    Each level sees every observation's image (the `association.NOWHERE` rows), so a region is
    measured against what the other image observes, not against what that level's regions hold.
    """
    parts = []
    nowhere = found.region == association.NOWHERE
    level_of = np.where(nowhere, -1, index.level[np.where(nowhere, 0, found.region)])
    for level in np.unique(index.level):
        parts.append(association.point_links(found.select(nowhere | (level_of == level)), settings))
    return _concat(parts)


def appearance_links_per_level(
    descriptors: npt.NDArray[np.floating], index: RegionIndex, pairs: list[tuple[int, int]], threshold: float
) -> association.Links:
    parts = []
    for level in np.unique(index.level):
        members = np.flatnonzero(index.level == level)
        links = association.appearance_links(descriptors[members], index.image[members], pairs, threshold)
        parts.append(association.Links(members[links.a], members[links.b], links.strength))
    return _concat(parts)


def _concat(parts: list[association.Links]) -> association.Links:
    if not parts:
        return association.Links.empty()
    return association.Links(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("a", "b", "strength")))
