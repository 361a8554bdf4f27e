"""The picture of the README: MobileSAM automatic regions on a real photo, one panel per level.

Run: python benchmarks/masks_picture.py [--photo chelsea] [--out docs/masks_chelsea.png]

Each panel shows one level's regions (0 whole, 1 part, 2 sub-part) filled with a colour each at
half opacity, with their outlines; the title says how many regions the level has. The regions
come from `semlat.regions.automatic.AutomaticProposer` at its default settings (no workspace).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from skimage import data
from skimage.segmentation import find_boundaries

from semlat.files import save_figure
from semlat.regions.automatic import AutomaticProposer, AutomaticSettings
from semlat.types import Region

ROOT = Path(__file__).resolve().parents[1]
LEVEL_NAMES = ("0: whole", "1: part", "2: sub-part")


def overlay(image: np.ndarray, masks: list[np.ndarray], seed: int = 0, colours: list[np.ndarray] | None = None) -> np.ndarray:
    """``image`` with every mask filled in its own colour (random, or ``colours``) at half opacity and outlined in white."""
    rng = np.random.default_rng(seed)
    colours = colours if colours is not None else [rng.integers(40, 256, 3) for _ in masks]
    out = image.astype(np.float32).copy()
    outline = np.zeros(image.shape[:2], bool)
    for index in sorted(range(len(masks)), key=lambda i: -int(masks[i].sum())):  # small regions drawn last, on top
        mask = masks[index]
        out[mask] = 0.5 * out[mask] + 0.5 * np.asarray(colours[index], np.float32)
        outline |= find_boundaries(mask, mode="inner")
    out[outline] = 255.0
    return out.astype(np.uint8)


def level_panels(
    figure: Figure,
    image: np.ndarray,
    regions: list[Region],
    row: int = 0,
    rows: int = 1,
    title: str = "",
    colour: Callable[[Region], np.ndarray] | None = None,
) -> None:
    """One panel per level of ``regions`` in row ``row`` of a ``rows`` × 3 grid, each region filled with ``colour(region)`` (default: at random)."""
    for level, name in enumerate(LEVEL_NAMES):
        shown = [region for region in regions if region.level == level]
        axes = figure.add_subplot(rows, 3, 3 * row + level + 1)
        colours = None if colour is None else [colour(region) for region in shown]
        axes.imshow(overlay(image, [region.mask() for region in shown], seed=level, colours=colours))
        axes.set_title(f"{title}level {name}: {len(shown)} region{'' if len(shown) == 1 else 's'}")
        axes.set_axis_off()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", default="chelsea", help="a scikit-image sample photo")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "masks_chelsea.png")
    args = parser.parse_args()
    image = getattr(data, args.photo)()
    regions = AutomaticProposer(AutomaticSettings(levels=True, n_labels=0, device="cpu")).propose(image)
    figure = Figure(figsize=(15, 4.6), dpi=100)
    level_panels(figure, image, regions)
    figure.tight_layout()
    print(save_figure(args.out, figure))


if __name__ == "__main__":
    main()
