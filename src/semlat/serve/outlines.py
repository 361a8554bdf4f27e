"""Region outlines for the page: each mask as an SVG path in image pixels, plus pixels to score it by.

The browser draws the paths over the photo (an SVG whose viewBox is the image size, so they
scale with it); a few pixels sampled inside each mask let the server give a region's mean
score under a query without decoding its mask again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from semlat.types import Region

SAMPLES = 256
"""Pixels sampled per region (evenly over its mask) for its mean score."""
SIMPLIFY = 0.8
"""Douglas-Peucker tolerance of the outlines, in pixels."""


@dataclass(frozen=True)
class RegionShape:
    """What the page shows of one region: id, cross-view label, level, mask score, box, area and outline."""

    region_id: int
    label: int
    level: int
    score: float
    bbox: tuple[float, float, float, float]
    area: int
    path: str
    samples: npt.NDArray[np.int64]
    """Flat pixel indices inside the mask (row-major)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "region_id": self.region_id,
            "label": self.label,
            "level": self.level,
            "score": round(self.score, 4),
            "bbox": list(self.bbox),
            "area": self.area,
            "path": self.path,
        }


def outline_path(mask: npt.NDArray[np.bool_]) -> str:
    """The mask's outer and hole contours as one SVG path (even-odd fill), in pixel corners."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    parts = []
    for contour in contours:
        points = cv2.approxPolyDP(contour, SIMPLIFY, True).reshape(-1, 2)
        if len(points) < 2:
            points = np.concatenate([points, points + 1])  # a one-pixel region is still drawn
        parts.append("M" + "L".join(f"{x + 0.5:g} {y + 0.5:g}" for x, y in points) + "Z")
    return "".join(parts)


def region_shapes(regions: Sequence[Region]) -> list[RegionShape]:
    """Outline and score samples of every region, largest first (so smaller ones are drawn on top)."""
    shapes = []
    for region in sorted(regions, key=lambda r: -r.area):
        mask = region.mask()
        inside = np.flatnonzero(mask.reshape(-1))
        samples = inside[np.linspace(0, len(inside) - 1, min(SAMPLES, len(inside))).astype(np.int64)] if len(inside) else inside
        shapes.append(
            RegionShape(
                region.region_id,
                int(region.label),
                int(region.level),
                float(region.score),
                tuple(float(v) for v in region.bbox),
                int(region.area),
                outline_path(mask),
                samples.astype(np.int64),
            )
        )
    return shapes
