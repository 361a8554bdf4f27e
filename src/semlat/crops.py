"""How a region is cut out of its image: the original's mask weight and the box with a margin.

One copy for the embed views, the search contact sheets and the consistency hint sheets, so a
region looks the same wherever it is shown or embedded.
"""

from __future__ import annotations

MASK_WEIGHT = 0.8
"""The original's value of a mask's pixels when it weights an image or a fused feature."""
BOX_MARGIN = 0.1
"""Fraction of a box's long side added on each side when a region is cropped."""


def crop_box(bbox: tuple[float, float, float, float], height: int, width: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of a COCO (x, y, w, h) box grown by `BOX_MARGIN` (+1 px) and clipped to the image, never empty."""
    x, y, w, h = bbox
    margin = BOX_MARGIN * max(w, h) + 1
    x0, y0 = max(0, int(x - margin)), max(0, int(y - margin))
    x1, y1 = min(width, int(round(x + w + margin))), min(height, int(round(y + h + margin)))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)
