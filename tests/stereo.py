"""scikit-image's stereo motorcycle: two views with ground-truth disparity, to measure cross-view label agreement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from semlat.workspace import Workspace


def write_views(folder: Path) -> np.ndarray:
    """Save the two views as ``left.png`` and ``right.png`` in ``folder``; returns the disparity."""
    left, right, disparity = data.stereo_motorcycle()
    Image.fromarray(left).save(folder / "left.png")
    Image.fromarray(right).save(folder / "right.png")
    return disparity


def label_map(ws: Workspace, region_set: str, name: str, level: int | None = None) -> np.ndarray:
    """Each pixel's label: that of the smallest region holding it (-1 where none), of one level or all."""
    record = ws.image(name)
    out = np.full((record.height, record.width), -1)
    regions = [r for r in ws.regions(region_set, record) if level is None or r.level == level]
    for region in sorted(regions, key=lambda r: -r.area):
        out[region.mask()] = region.label
    return out


def agreement(ws: Workspace, region_set: str, disparity: np.ndarray, level: int | None = None) -> tuple[float, float]:
    """Fraction of left pixels whose label equals the label at their ground-truth match, and chance."""
    return level_agreement(ws, region_set, disparity, level)[:2]


def level_agreement(ws: Workspace, region_set: str, disparity: np.ndarray, level: int | None) -> tuple[float, float, float]:
    """`agreement` plus coverage: the share of matched left pixels labelled in both views.

    Only pixels labelled in both views count; ``level`` restricts both views to one level (labels
    are per level: links never join levels).
    """
    left, right = label_map(ws, region_set, "left.png", level), label_map(ws, region_set, "right.png", level)
    height, width = left.shape
    ys, xs = np.mgrid[:height, :width]
    finite = np.isfinite(disparity)
    matched = np.where(finite, np.round(xs - np.where(finite, disparity, 0)), -1).astype(int)
    valid = finite & (matched >= 0) & (matched < width)
    a, b = left[valid], right[ys[valid], matched[valid]]
    both = (a >= 0) & (b >= 0)
    covered = float(both.mean())
    a, b = a[both], b[both]
    chance = sum((a == k).mean() * (b == k).mean() for k in np.union1d(a, b))
    return float((a == b).mean()), float(chance), covered


CLUSTERED = {"mode": "clustered", "keep_latents": True, "device": "cpu", "max_regions": 0, "min_area": 0.0}
"""Clustered MobileSAM settings of the stereo tests: latents kept for the next region set, every
mask kept (the agreement thresholds were measured so)."""


def clustered_workspace(folder: Path) -> tuple[Path, np.ndarray]:
    """The two views in ``folder`` and a workspace ``folder/ws`` with the clustered region set ``mobile-sam``."""
    from semlat.stages.masks import propose_regions

    disparity = write_views(folder)
    propose_regions(Workspace.open_or_create(folder / "ws"), folder, backend="mobile-sam", **CLUSTERED)
    return folder / "ws", disparity
