"""Overlays and segmentation figures: shapes, the shared min-max, files that open."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from PIL import Image

from semlat.stages.query.render import (
    heatmap_overlays,
    mix_half,
    segmentation_figure,
    segmentation_image,
)


def _image(h: int = 6, w: int = 8) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _jet(value: float) -> np.ndarray:
    return np.asarray(matplotlib.colormaps["jet"](value, bytes=True))[:3]


def test_overlays_have_image_shape_and_dtype():
    image = _image()
    maps = np.random.default_rng(1).random((3, 6, 8)).astype(np.float32)
    overlays = heatmap_overlays(image, maps)
    assert len(overlays) == 3
    assert all(o.shape == (6, 8, 3) and o.dtype == np.uint8 for o in overlays)


def test_all_maps_share_one_min_max():
    image = _image()
    maps = np.full((3, 6, 8), 0.5, dtype=np.float32)
    maps[1, 2, 3] = 0.9  # the single maximum over all maps
    maps[0, 4, 5] = 0.1  # the single minimum over all maps
    overlays = heatmap_overlays(image, maps)
    expected_max = np.round(0.5 * image[2, 3] + 0.5 * _jet(1.0))
    np.testing.assert_allclose(overlays[1][2, 3], expected_max, atol=1)
    np.testing.assert_allclose(overlays[0][4, 5], np.round(0.5 * image[4, 5] + 0.5 * _jet(0.0)), atol=1)
    # Map 2 is constant at the middle of the global range: jet(0.5) everywhere, not stretched.
    np.testing.assert_array_equal(overlays[2], mix_half(image, np.broadcast_to(_jet(0.5), image.shape)))
    # Map 1's maximum is pure (dark) jet red, i.e. red channel only.
    assert tuple(_jet(1.0)[1:]) == (0, 0)


def test_constant_maps_do_not_divide_by_zero():
    overlays = heatmap_overlays(_image(), np.ones((2, 6, 8)))
    assert all(np.isfinite(o).all() for o in overlays)


def test_segmentation_image_colours_the_argmax():
    image = np.zeros((2, 2, 3), np.uint8)
    maps = np.zeros((2, 2, 2))
    maps[1, 0, 0] = 1.0
    seg = segmentation_image(image, maps)
    tab20 = np.asarray(matplotlib.colormaps["tab20"]([0, 1], bytes=True))[:, :3]
    np.testing.assert_array_equal(seg[0, 0], mix_half(image[0, 0], tab20[1]))
    np.testing.assert_array_equal(seg[1, 1], mix_half(image[1, 1], tab20[0]))


def test_segmentation_figure_writes_a_png(tmp_path):
    image = _image(30, 40)
    maps = np.random.default_rng(2).random((3, 30, 40))
    path = segmentation_figure(image, maps, ["ceiling", "ground", "toilet paper"], tmp_path / "out" / "seg.png")
    with Image.open(path) as png:
        assert png.format == "PNG" and png.size[0] > 40
    with pytest.raises(ValueError):
        segmentation_figure(image, maps, ["one"], tmp_path / "bad.png")
