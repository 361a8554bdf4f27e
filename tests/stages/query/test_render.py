"""Query pictures: per-prompt or joint scaling, the colour map and its bar, distinct stable colours, native resolution."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from PIL import Image

from semlat.stages.query.render import (
    HEAT_ALPHA,
    HEAT_COLORMAP,
    SEGMENTATION_ALPHA,
    STRIP_MIN_WIDTH,
    blend,
    colour_bar,
    greyscale,
    heatmap_overlays,
    heatmap_picture,
    map_ranges,
    segmentation_colours,
    segmentation_figure,
    segmentation_image,
    segmentation_picture,
)


def _image(h: int = 6, w: int = 8) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _cmap(value: float) -> np.ndarray:
    return np.asarray(matplotlib.colormaps[HEAT_COLORMAP](value, bytes=True))[:3]


def _grey(pixel: np.ndarray) -> float:
    return round(float(pixel.astype(float) @ [0.299, 0.587, 0.114]))


def _expected(image_pixel: np.ndarray, value: float) -> np.ndarray:
    return np.rint((1 - HEAT_ALPHA) * _grey(image_pixel) + HEAT_ALPHA * _cmap(value))


def test_overlays_have_image_shape_and_dtype():
    maps = np.random.default_rng(1).random((3, 6, 8)).astype(np.float32)
    overlays = heatmap_overlays(_image(), maps)
    assert len(overlays) == 3
    assert all(o.shape == (6, 8, 3) and o.dtype == np.uint8 for o in overlays)


def _two_prompts() -> np.ndarray:
    maps = np.full((2, 6, 8), 0.1, dtype=np.float32)
    maps[0, 2, 3] = 0.9  # prompt 0 spans 0.1..0.9
    maps[1, 4, 5] = 0.2  # prompt 1 spans 0.1..0.2 only
    return maps


def test_each_prompt_is_scaled_to_its_own_range_by_default():
    image, maps = _image(), _two_prompts()
    overlays = heatmap_overlays(image, maps)
    np.testing.assert_allclose(overlays[0][2, 3], _expected(image[2, 3], 1.0), atol=1)
    np.testing.assert_allclose(overlays[1][4, 5], _expected(image[4, 5], 1.0), atol=1)  # its own maximum is bright
    np.testing.assert_allclose(overlays[1][0, 0], _expected(image[0, 0], 0.0), atol=1)
    np.testing.assert_allclose(map_ranges(maps), [[0.1, 0.9], [0.1, 0.2]], rtol=1e-6)


def test_joint_scaling_keeps_the_originals_one_range():
    image, maps = _image(), _two_prompts()
    overlays = heatmap_overlays(image, maps, normalize="joint")
    np.testing.assert_allclose(overlays[0][2, 3], _expected(image[2, 3], 1.0), atol=1)
    np.testing.assert_allclose(overlays[1][4, 5], _expected(image[4, 5], 0.125), atol=1)  # 0.2 of 0.1..0.9
    np.testing.assert_allclose(map_ranges(maps, "joint"), [[0.1, 0.9], [0.1, 0.9]], rtol=1e-6)
    with pytest.raises(ValueError, match="normalize"):
        map_ranges(maps, "global")


def test_constant_maps_do_not_divide_by_zero():
    overlays = heatmap_overlays(_image(), np.ones((2, 6, 8)))
    assert all(np.isfinite(o).all() for o in overlays)


def test_the_colour_map_is_perceptual_dark_to_bright():
    ramp = np.asarray([_cmap(v) for v in np.linspace(0, 1, 11)], np.float64)
    luminance = ramp @ [0.2126, 0.7152, 0.0722]
    assert (np.diff(luminance) > 0).all()  # jet is not: its luminance rises and falls


def test_heatmap_picture_keeps_the_photo_at_its_resolution_above_a_colour_bar():
    image = _image(30, 40)
    heat = np.tile(np.linspace(0, 1, 40), (30, 1))
    picture = heatmap_picture(image, heat, 0.0, 1.0, "floor")
    assert picture.shape[0] > 30 and picture.shape[1] == STRIP_MIN_WIDTH
    np.testing.assert_array_equal(picture[:30, :40], heatmap_overlays(image, heat[None])[0])
    bar = colour_bar(200, 0.0, 1.0)
    row = bar[8, 6:194].astype(int)  # the ramp runs dark to bright, left to right
    assert row[:10].sum() < row[-10:].sum()
    wide = _image(30, 500)
    assert heatmap_picture(wide, np.zeros((30, 500)), 0, 1, "x").shape[1] == 500


def test_segmentation_colours_are_distinct_and_stable_by_prompt_index():
    colours = segmentation_colours(50)
    assert len({tuple(c) for c in colours}) == 50
    np.testing.assert_array_equal(segmentation_colours(3), colours[:3])  # a prompt keeps its colour as prompts are added
    tab10 = np.rint(np.asarray(matplotlib.colormaps["tab10"](np.arange(10)))[:, :3] * 255)
    np.testing.assert_array_equal(colours[:10], tab10)
    gaps = np.linalg.norm(colours[:10, None].astype(float) - colours[None, :10].astype(float), axis=2)
    assert gaps[~np.eye(10, dtype=bool)].min() > 40


def test_segmentation_image_colours_the_argmax():
    image = np.zeros((2, 2, 3), np.uint8)
    maps = np.zeros((2, 2, 2))
    maps[1, 0, 0] = 1.0
    seg = segmentation_image(image, maps)
    colours = segmentation_colours(2)
    np.testing.assert_array_equal(seg[0, 0], blend(image[0, 0], colours[1], SEGMENTATION_ALPHA))
    np.testing.assert_array_equal(seg[1, 1], blend(image[1, 1], colours[0], SEGMENTATION_ALPHA))
    photo = _image(2, 2)
    coloured = segmentation_image(photo, maps)
    np.testing.assert_array_equal(coloured, segmentation_image(greyscale(photo), maps))  # the photo's hue never mixes in
    assert greyscale(photo).std(axis=-1).max() == 0


def test_segmentation_picture_has_the_photo_unscaled_and_a_legend(tmp_path):
    image = _image(30, 40)
    maps = np.random.default_rng(2).random((3, 30, 40))
    picture = segmentation_picture(image, maps, ["ceiling", "ground", "toilet paper"])
    np.testing.assert_array_equal(picture[:30, :40], segmentation_image(image, maps))
    legend = picture[30:].reshape(-1, 3)
    for colour in segmentation_colours(3):
        assert (legend == colour).all(axis=1).any()  # every prompt has its swatch
    many = segmentation_picture(image, np.random.default_rng(3).random((30, 30, 40)), [f"prompt {i}" for i in range(30)])
    assert many.shape[0] > picture.shape[0]  # the legend wraps into more rows
    path = segmentation_figure(image, maps, ["ceiling", "ground", "toilet paper"], tmp_path / "out" / "seg.png")
    with Image.open(path) as png:
        assert png.format == "PNG" and png.size == (picture.shape[1], picture.shape[0])
    with pytest.raises(ValueError):
        segmentation_figure(image, maps, ["one"], tmp_path / "bad.png")
