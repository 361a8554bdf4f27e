"""Region outlines: SVG paths that trace the mask (holes too), score samples inside it, largest regions first."""

from __future__ import annotations

import re

import numpy as np

from semlat.serve.outlines import SAMPLES, outline_path, region_shapes
from semlat.types import Region


def _points(path: str) -> list[np.ndarray]:
    return [np.array([float(v) for v in re.findall(r"-?[\d.]+", part)]).reshape(-1, 2) for part in path.split("M")[1:]]


def test_a_rectangle_is_traced_at_its_corners():
    mask = np.zeros((20, 30), bool)
    mask[4:10, 5:15] = True
    (points,) = _points(outline_path(mask))
    assert points[:, 0].min() == 5.5 and points[:, 0].max() == 14.5  # pixel centres of the border columns
    assert points[:, 1].min() == 4.5 and points[:, 1].max() == 9.5
    assert len(points) == 4


def test_a_hole_is_its_own_subpath_and_a_single_pixel_is_drawn():
    ring = np.zeros((20, 20), bool)
    ring[2:18, 2:18] = True
    ring[8:12, 8:12] = False
    assert outline_path(ring).count("M") == 2
    dot = np.zeros((5, 5), bool)
    dot[2, 2] = True
    assert outline_path(dot).count("L") >= 1


def test_shapes_are_sorted_largest_first_with_samples_inside_each_mask():
    small, large = np.zeros((40, 40), bool), np.zeros((40, 40), bool)
    small[1:4, 1:4] = True
    large[10:39, 5:35] = True
    shapes = region_shapes([Region.from_mask(0, small, label=3), Region.from_mask(1, large, label=5, level=1, score=0.7)])
    assert [s.region_id for s in shapes] == [1, 0]
    big = shapes[0]
    assert (big.label, big.level, big.score, big.area) == (5, 1, 0.7, int(large.sum()))
    assert len(big.samples) == SAMPLES and large.reshape(-1)[big.samples].all()
    assert len(shapes[1].samples) == 9 and small.reshape(-1)[shapes[1].samples].all()
    assert shapes[1].to_json()["path"].startswith("M")
