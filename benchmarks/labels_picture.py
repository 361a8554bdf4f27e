"""The README's picture of cross-view labels: the default `semlat masks` on scikit-image's stereo motorcycle.

Run: python benchmarks/labels_picture.py [--out docs/labels_motorcycle.png]

The two views go through `semlat.stages.masks.propose_regions` at its defaults (MobileSAM
automatic, LangSplat's levels, then the cross-view labels: matches + appearance, as for a bare
images folder). One row per view, one panel per level; every region is filled with its label's
colour, so a region with the same colour in both rows has the same instance.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from tests.stereo import write_views  # noqa: E402

from masks_picture import level_panels  # noqa: E402
from semlat.files import save_figure  # noqa: E402
from semlat.imageio import load_rgb  # noqa: E402
from semlat.stages.masks import propose_regions  # noqa: E402
from semlat.workspace import Workspace  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "labels_motorcycle.png")
    args = parser.parse_args()
    palette = np.random.default_rng(0).integers(40, 256, (4096, 3))
    figure = Figure(figsize=(15, 7.2), dpi=80)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_views(folder)
        ws = Workspace.open_or_create(folder / "ws")
        name = propose_regions(ws, folder, backend="mobile-sam").region_set
        for row, record in enumerate(ws.images()):
            image = load_rgb(Path(record.path))
            regions = ws.regions(name, record)
            level_panels(
                figure, image, regions, row, 2, f"{record.file_name}, ", lambda region: palette[region.label % len(palette)]
            )
    figure.tight_layout()
    print(save_figure(args.out, figure))


if __name__ == "__main__":
    main()
