"""Pictures of query results: the original's heatmap overlays and an argmax segmentation figure.

Figures are built with ``matplotlib.figure.Figure`` (Agg canvas), never through pyplot, so no
GUI backend is needed and no figure outlives the call.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from semlat.files import save_figure
from semlat.scoring import argmax_segmentation


def mix_half(image: npt.NDArray[np.uint8], colour: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """50/50 mix of two uint8 RGB images (rounded half up)."""
    return ((image.astype(np.uint16) + colour.astype(np.uint16) + 1) // 2).astype(np.uint8)


def heatmap_overlays(image: npt.NDArray[np.uint8], maps: npt.NDArray[np.floating]) -> list[npt.NDArray[np.uint8]]:
    """One jet-coloured overlay per prompt, as the original displays them.

    All maps share one min-max normalisation, so colours are comparable across prompts (a prompt
    that nowhere wins stays blue rather than being stretched to red).
    """
    low, high = float(np.min(maps)), float(np.max(maps))
    scale = 1.0 / (high - low) if high > low else 0.0
    jet = matplotlib.colormaps["jet"]
    overlays = []
    for heat in maps:
        colour = jet((heat - low) * scale, bytes=True)[..., :3]
        overlays.append(mix_half(image, colour))
    return overlays


def segmentation_colours(count: int) -> npt.NDArray[np.uint8]:
    """(count, 3) tab20 colours, cycled past 20 prompts."""
    tab20 = matplotlib.colormaps["tab20"]
    return np.asarray(tab20(np.arange(count) % 20, bytes=True))[:, :3]


def segmentation_image(image: npt.NDArray[np.uint8], maps: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    """The argmax-over-prompts label image in tab20 colours, blended 50/50 with the photo."""
    labels = argmax_segmentation(maps)
    return mix_half(image, segmentation_colours(len(maps))[labels])


def segmentation_figure(
    image: npt.NDArray[np.uint8], maps: npt.NDArray[np.floating], prompts: Sequence[str], path: str | Path
) -> Path:
    """Save the argmax segmentation with a legend naming the prompts as a PNG."""
    if len(prompts) != len(maps):
        raise ValueError(f"{len(prompts)} prompts for {len(maps)} maps")
    height, width = image.shape[:2]
    figure = Figure(figsize=(8.0, 8.0 * height / max(width, 1) + 1.0), dpi=100)
    axes = figure.add_subplot()
    axes.imshow(segmentation_image(image, maps))
    axes.set_axis_off()
    colours = segmentation_colours(len(prompts)) / 255.0
    handles = [Patch(facecolor=colour, label=prompt) for colour, prompt in zip(colours, prompts)]
    axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(prompts), 5), frameon=False)
    with warnings.catch_warnings():  # a prompt in a script the font lacks is drawn as boxes, not an error
        warnings.filterwarnings("ignore", "Glyph .* missing from font")
        return save_figure(path, figure, bbox_inches="tight")
