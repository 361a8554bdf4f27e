"""Core data types shared by every stage (re-exported at the package top)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from semlat import rle as rle_ops

WHOLE_IMAGE = -1
"""Region id under which the whole-image embedding is stored."""

NO_LABEL = -1
"""Cross-view label of a region that has none yet."""


@dataclass(frozen=True)
class ImageRecord:
    """One photo of the scene, as registered in a workspace."""

    image_id: int
    file_name: str
    path: str
    width: int
    height: int
    sha256: str


@dataclass(frozen=True)
class Region:
    """One region of one image: a full-resolution mask plus what we know about it.

    ``bbox`` (x, y, w, h) and ``area`` are derived from the mask when not given (the workspace
    passes its stored values, so reading regions never decodes masks).
    """

    region_id: int
    rle: rle_ops.RLE
    label: int = NO_LABEL
    level: int = 0
    score: float = 1.0
    bbox: tuple[float, float, float, float] = None  # type: ignore[assignment]
    area: int = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.bbox is None:
            object.__setattr__(self, "bbox", rle_ops.bbox(self.rle))
        if self.area is None:
            object.__setattr__(self, "area", rle_ops.area(self.rle))

    @classmethod
    def from_mask(
        cls, region_id: int, mask: npt.NDArray[np.bool_], label: int = NO_LABEL, level: int = 0, score: float = 1.0
    ) -> Region:
        """Build a region from an (H, W) boolean mask; area and box are derived from it."""
        return cls(region_id, rle_ops.encode(mask), label, level, score)

    def mask(self) -> npt.NDArray[np.bool_]:
        return rle_ops.decode(self.rle)


def paint_order(regions: Sequence[Region], keep: Sequence[int]) -> list[int]:
    """``keep`` (indices into ``regions``) largest first, so a smaller region is painted over a larger one.

    The one rule by which overlapping regions of one level become a map of labels (the exports,
    the evaluation) and by which they take observations (`shown_masks`).
    """
    return sorted(keep, key=lambda i: (-regions[i].area, regions[i].region_id))


def visible_order(regions: Sequence[Region]) -> list[int]:
    """Indices of ``regions`` level by level, each level from the top of its painting down (`paint_order` reversed)."""
    order: list[int] = []
    for level in sorted({region.level for region in regions}):
        order += reversed(paint_order(regions, [i for i, region in enumerate(regions) if region.level == level]))
    return order


def shown_masks(regions: Sequence[Region]) -> Iterator[npt.NDArray[np.bool_]]:
    """What each region shows once its level is painted (`paint_order`), in `visible_order`.

    A region shows its mask less the smaller regions of its level painted on it. One mask and
    the union of those above it are decoded at a time, so memory does not grow with regions.
    """
    above, level = None, None
    for index in visible_order(regions):
        mask = regions[index].mask()
        if above is None or regions[index].level != level:
            above, level = np.zeros_like(mask), regions[index].level
        yield mask & ~above
        above |= mask


@dataclass(frozen=True)
class FeatureKey:
    """Names one set of embeddings: which regions, which model, which feature set."""

    region_set: str
    model_key: str
    feature_set: str = "raw"

    def __str__(self) -> str:
        return f"{self.region_set}/{self.model_key}/{self.feature_set}"
