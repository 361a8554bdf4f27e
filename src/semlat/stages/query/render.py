"""Pictures of query results a person can read: heatmaps with a colour bar, a segmentation with a legend.

Every picture keeps the photo at its own resolution (no resampling); the colour bar and the
legend are strips drawn below it. One module draws for `semlat query` and for `semlat serve`.

- Colours are blended over the photo in grey (`greyscale`), so they read as themselves.
- Heatmaps use a perceptual colour map (`HEAT_COLORMAP`). By default each
  prompt is scaled to its own minimum and maximum (``normalize="prompt"``), so a prompt's own map is
  never washed out by another's; ``"joint"`` keeps the original's one min-max over all prompts. The
  colour bar says which scores the colours span.
- The segmentation colours a prompt by its index in the query (`segmentation_colours`), so a
  prompt keeps its colour in every image of a query, and the first 10 are tab10's distinct colours.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from semlat.files import save_png
from semlat.scoring import argmax_segmentation

NORMALIZE = ("prompt", "joint")
"""Heatmap scaling: each prompt to its own range (default), or all prompts to one (the original's)."""
HEAT_COLORMAP = "inferno"
"""Perceptual and readable in grey: dark = low score, bright yellow = high."""
HEAT_ALPHA = 0.65
"""Weight of the colour map over the photo."""
SEGMENTATION_ALPHA = 0.55
"""Weight of the class colour over the photo."""
BAR_HEIGHT = 14
FONT_SIZE = 13
STRIP_MIN_WIDTH = 320
"""Colour bars and legends are at least this wide (a small photo gets a wider strip, never a resized photo)."""


@cache
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=FONT_SIZE)


def blend(image: npt.NDArray[np.uint8], colour: npt.NDArray[np.uint8], alpha: float) -> npt.NDArray[np.uint8]:
    """``(1 - alpha) · image + alpha · colour`` in 8-bit fixed point (within 1 of the exact value), as uint8."""
    weight = round(alpha * 256)
    mixed = image.astype(np.uint16) * (256 - weight)
    mixed += colour.astype(np.uint16) * weight
    mixed += 128
    return (mixed >> 8).astype(np.uint8)


def greyscale(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The photo's luminance (ITU-R 601) in all three channels: the base colours are drawn over, so an
    object's own hue never mixes with them (a blue sphere coloured green must not look teal)."""
    luma = (
        image[..., 0].astype(np.uint32) * 299
        + image[..., 1].astype(np.uint32) * 587
        + image[..., 2].astype(np.uint32) * 114
        + 500
    ) // 1000
    return np.repeat(luma.astype(np.uint8)[..., None], 3, axis=-1)


def map_ranges(maps: npt.NDArray[np.floating], normalize: str = "prompt") -> npt.NDArray[np.float64]:
    """(P, 2) (low, high) of each map's colour scale: its own min and max, or all maps' (``"joint"``)."""
    if normalize not in NORMALIZE:
        raise ValueError(f"unknown normalize {normalize!r}: choose one of {', '.join(NORMALIZE)}")
    flat = np.asarray(maps).reshape(len(maps), -1)
    if flat.size == 0:  # no prompts, or an empty image
        return np.zeros((len(maps), 2))
    ranges = np.stack([flat.min(axis=1), flat.max(axis=1)], axis=1).astype(np.float64)
    if normalize == "joint":
        return np.tile([ranges[:, 0].min(), ranges[:, 1].max()], (len(maps), 1))
    return ranges


@cache
def _heat_table() -> npt.NDArray[np.uint8]:
    colormap = matplotlib.colormaps[HEAT_COLORMAP]
    return np.asarray(colormap(np.arange(colormap.N), bytes=True))[:, :3]  # integers index the table itself


def heat_colours(heat: npt.NDArray[np.floating], low: float, high: float) -> npt.NDArray[np.uint8]:
    """(H, W, 3) `HEAT_COLORMAP` colours of ``heat`` scaled from [low, high] to [0, 1] (a flat map: the low end).

    A table lookup, as matplotlib's colormap call does it (value v → entry ⌊v·N⌋, the top one at 1).
    """
    table = _heat_table()
    scale = len(table) / (high - low) if high > low else 0.0
    index = (np.asarray(heat, np.float32) - np.float32(low)) * np.float32(scale)
    np.clip(index, 0, len(table) - 1, out=index)
    return table[index.astype(np.intp)]


def heatmap_overlay(
    image: npt.NDArray[np.uint8], heat: npt.NDArray[np.floating], low: float, high: float
) -> npt.NDArray[np.uint8]:
    """The photo in grey with ``heat`` in `HEAT_COLORMAP` over it, at the photo's resolution."""
    return blend(greyscale(image), heat_colours(heat, low, high), HEAT_ALPHA)


def heatmap_overlays(
    image: npt.NDArray[np.uint8], maps: npt.NDArray[np.floating], normalize: str = "prompt"
) -> list[npt.NDArray[np.uint8]]:
    """One overlay per prompt, scaled as `map_ranges` says."""
    return [heatmap_overlay(image, heat, low, high) for heat, (low, high) in zip(maps, map_ranges(maps, normalize))]


def _text_strip(width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    strip = Image.new("RGB", (width, height), (255, 255, 255))
    return strip, ImageDraw.Draw(strip)


def _draw_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, anchor: str = "la") -> None:
    with warnings.catch_warnings():  # a prompt in a script the font lacks is drawn as boxes, not an error
        warnings.simplefilter("ignore")
        draw.text(xy, text, fill=(20, 20, 20), font=_font(), anchor=anchor)


def _value(value: float) -> str:
    """A score for a colour bar: three decimals, or one significant digit when smaller than that."""
    return f"{value:.3f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.0e}"


def colour_bar(width: int, low: float, high: float, title: str = "") -> npt.NDArray[np.uint8]:
    """A strip ``width`` wide: the colour map from ``low`` to ``high`` with both values and ``title`` written under it."""
    pad = 6
    strip, draw = _text_strip(width, BAR_HEIGHT + FONT_SIZE + 3 * pad)
    ramp = heat_colours(np.linspace(0.0, 1.0, max(width - 2 * pad, 1))[None, :], 0.0, 1.0)
    strip.paste(Image.fromarray(np.repeat(ramp, BAR_HEIGHT, axis=0)), (pad, pad))
    text_y = pad * 2 + BAR_HEIGHT
    _draw_text(draw, (pad, text_y), _value(low))
    _draw_text(draw, (width - pad, text_y), _value(high), anchor="ra")
    if title:
        _draw_text(draw, (width / 2, text_y), title, anchor="ma")
    return np.asarray(strip)


def _stack(image: npt.NDArray[np.uint8], strip: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The photo above the strip, on white, left-aligned (the photo is never resized)."""
    width = max(image.shape[1], strip.shape[1])
    canvas = np.full((image.shape[0] + strip.shape[0], width, 3), 255, np.uint8)
    canvas[: image.shape[0], : image.shape[1]] = image
    canvas[image.shape[0] :, : strip.shape[1]] = strip
    return canvas


def heatmap_picture(
    image: npt.NDArray[np.uint8], heat: npt.NDArray[np.floating], low: float, high: float, prompt: str
) -> npt.NDArray[np.uint8]:
    """`heatmap_overlay` with its `colour_bar` (titled with the prompt) below it."""
    strip = colour_bar(max(image.shape[1], STRIP_MIN_WIDTH), low, high, prompt)
    return _stack(heatmap_overlay(image, heat, low, high), strip)


def segmentation_colours(count: int) -> npt.NDArray[np.uint8]:
    """(count, 3) colours by prompt index: tab10's 10, then tab20's light halves, tab20b and tab20c; cycled past 50."""
    palette = np.concatenate(
        [
            matplotlib.colormaps["tab10"](np.arange(10)),
            matplotlib.colormaps["tab20"](np.arange(1, 20, 2)),
            matplotlib.colormaps["tab20b"](np.arange(0, 20, 2)),
            matplotlib.colormaps["tab20c"](np.arange(0, 20, 4)),
            matplotlib.colormaps["tab20b"](np.arange(1, 20, 2)),
            matplotlib.colormaps["tab20c"](np.arange(2, 20, 4)),
        ]
    )
    return np.rint(palette[np.arange(count) % len(palette), :3] * 255).astype(np.uint8)


def segmentation_image(image: npt.NDArray[np.uint8], maps: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    """The argmax-over-prompts label image in `segmentation_colours`, blended over the photo in grey."""
    labels = argmax_segmentation(maps)
    return blend(greyscale(image), segmentation_colours(len(maps))[labels], SEGMENTATION_ALPHA)


def legend_strip(width: int, prompts: Sequence[str], colours: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Swatches and prompt names in rows ``width`` wide."""
    pad, swatch, gap = 6, FONT_SIZE, 14
    font = _font()
    entries = [(prompt, swatch + 4 + font.getlength(prompt)) for prompt in prompts]
    rows: list[list[tuple[int, float]]] = [[]]
    x = pad
    for index, (_, length) in enumerate(entries):
        if rows[-1] and x + length > width - pad:
            rows.append([])
            x = pad
        rows[-1].append((index, x))
        x += length + gap
    line = FONT_SIZE + 6
    strip, draw = _text_strip(width, pad * 2 + line * len(rows))
    for row_index, row in enumerate(rows):
        y = pad + row_index * line
        for index, left in row:
            draw.rectangle((left, y + 1, left + swatch, y + 1 + swatch), fill=tuple(int(c) for c in colours[index]))
            _draw_text(draw, (left + swatch + 4, y), entries[index][0])
    return np.asarray(strip)


def segmentation_picture(
    image: npt.NDArray[np.uint8], maps: npt.NDArray[np.floating], prompts: Sequence[str]
) -> npt.NDArray[np.uint8]:
    """The argmax segmentation at the photo's resolution with a legend naming every prompt below it."""
    if len(prompts) != len(maps):
        raise ValueError(f"{len(prompts)} prompts for {len(maps)} maps")
    strip = legend_strip(max(image.shape[1], STRIP_MIN_WIDTH), prompts, segmentation_colours(len(prompts)))
    return _stack(segmentation_image(image, maps), strip)


def segmentation_figure(
    image: npt.NDArray[np.uint8], maps: npt.NDArray[np.floating], prompts: Sequence[str], path: str | Path
) -> Path:
    """Save `segmentation_picture` as a PNG."""
    return save_png(path, segmentation_picture(image, maps, prompts))
