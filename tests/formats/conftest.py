"""A small workspace for the export tests: regions on three levels with cross-view labels and features."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from semlat.types import WHOLE_IMAGE, FeatureKey, Region
from semlat.workspace import Workspace

DIM = 8
KEY = FeatureKey("sam", "test-model", "raw")
# per image: (name, width, height, [(level, label, (row0, row1, col0, col1)), ...]); nested and overlapping
IMAGES = [
    (
        "view_00.png",
        40,
        30,
        [
            (0, 0, (0, 30, 0, 24)),  # left half, whole
            (0, 1, (0, 30, 20, 40)),  # right half, overlaps the left one
            (1, 2, (4, 20, 2, 18)),  # a part of the left
            (1, 3, (10, 28, 22, 38)),  # a part of the right
            (2, 4, (6, 12, 4, 10)),  # a sub-part
            (2, 5, (15, 16, 30, 31)),  # a single pixel: vanishes at half resolution
        ],
    ),
    ("view_01.png", 40, 30, [(0, 1, (0, 30, 0, 40)), (2, 4, (2, 9, 30, 38))]),  # no level-1 region
    ("scan.2.jpg", 30, 20, []),  # no region at all; the stem is "scan"
]


@dataclass
class ExportCase:
    ws: Workspace
    masks: dict[str, list[tuple[int, int, np.ndarray]]]
    """Per image file name: (level, label, mask) per region, in region-id order."""
    vectors: dict[str, np.ndarray]
    """Per image file name: its (1 + N, D) features, row 0 the whole image."""


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def build(root: Path, seed: int = 0, dim: int = DIM) -> ExportCase:
    rng = np.random.default_rng(seed)
    ws = Workspace.open_or_create(root)
    ws.claim_config("region_sets", KEY.region_set, {"backend": "test"}, hint="")
    ws.claim_config("models", KEY.model_key, {"name": "test", "pretrained": None}, hint="")
    ws.claim_config("feature_sets", str(KEY), {"strategy": "test"}, hint="")
    records = ws.add_images([(Path("/photos") / name, w, h, name) for name, w, h, _ in IMAGES])
    masks, vectors = {}, {}
    for record, (name, width, height, specs) in zip(records, IMAGES):
        regions, masks[name] = [], []
        for region_id, (level, label, (r0, r1, c0, c1)) in enumerate(specs):
            mask = np.zeros((height, width), bool)
            mask[r0:r1, c0:c1] = True
            regions.append(Region.from_mask(region_id, mask, label=label, level=level))
            masks[name].append((level, label, mask))
        ws.write_regions(KEY.region_set, record.image_id, regions)
        vectors[name] = unit(rng.normal(size=(1 + len(regions), dim)))
        ws.write_embeddings(KEY, record.image_id, [WHOLE_IMAGE, *range(len(regions))], vectors[name])
    return ExportCase(ws, masks, vectors)


@pytest.fixture
def case(tmp_path) -> ExportCase:
    return build(tmp_path / "ws")


def covering(masks: list[tuple[int, int, np.ndarray]], y: int, x: int, levels: set[int] | None = None) -> int | None:
    """The region a pixel shows when masks are painted largest first: the smallest one covering it (None: none)."""
    over = [(mask.sum(), -i, i) for i, (level, _, mask) in enumerate(masks) if mask[y, x] and (levels is None or level in levels)]
    return min(over)[2] if over else None
