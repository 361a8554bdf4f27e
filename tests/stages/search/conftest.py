"""Small workspaces whose search ranking is known by construction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semlat.stages.search import SearchHit
from semlat.types import FeatureKey, Region
from semlat.workspace import Workspace

DIM = 16
KEY = FeatureKey("rs", "toy:unit", "raw")


def unit(x):
    x = np.asarray(x, np.float64)
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def make_workspace(
    root: Path, vectors_per_image: list[np.ndarray], labels: list[list[int]] | None = None, key: FeatureKey = KEY
) -> Workspace:
    """Images 24×32 with one horizontal band per region (region i covers rows 2i..2i+1, or more for i = 0).

    ``vectors_per_image[i]`` is (1 + R, DIM): the whole image, then regions 0..R-1.
    """
    ws = Workspace.open_or_create(root)
    folder = root.parent / f"{root.name}-images"
    folder.mkdir(exist_ok=True)
    entries = []
    for index in range(len(vectors_per_image)):
        path = folder / f"view_{index:02d}.png"
        Image.fromarray(np.full((24, 32, 3), 40 * index % 255, np.uint8)).save(path)
        entries.append((path, 32, 24, f"sha{index}"))
    records = ws.add_images(entries)
    ws.claim_config("region_sets", key.region_set, {"backend": "test"}, hint="")
    ws.claim_config("feature_sets", str(key), {"strategy": "test"}, hint="")
    for record, vectors in zip(records, vectors_per_image):
        regions = []
        for region_id in range(len(vectors) - 1):
            mask = np.zeros((24, 32), bool)
            rows = slice(0, 8) if region_id == 0 else slice(8 + 2 * region_id, 10 + 2 * region_id)
            mask[rows, 4:28] = True
            label = labels[record.image_id][region_id] if labels else region_id
            regions.append(Region.from_mask(region_id, mask, label=label))
        ws.write_regions(key.region_set, record.image_id, regions)
        ws.write_embeddings(key, record.image_id, [-1, *range(len(vectors) - 1)], unit(vectors))
    return ws


@pytest.fixture
def known(tmp_path):
    """3 images × 4 regions. Region (i, r) = normalize(e0 + s·e_{1+4i+r}), with s chosen so that
    the cosine with e0 falls strictly with a known order; the whole images point along e0 exactly."""
    order = [(1, 2), (0, 1), (2, 0), (1, 0), (0, 3), (2, 2), (1, 3), (0, 0), (2, 3), (1, 1), (0, 2), (2, 1)]
    spread = {pair: 0.1 + 0.15 * rank for rank, pair in enumerate(order)}
    per_image = []
    for i in range(3):
        rows = [np.eye(DIM)[0]]
        for r in range(4):
            rows.append(np.eye(DIM)[0] + spread[(i, r)] * np.eye(DIM)[1 + 4 * i + r])
        per_image.append(np.array(rows))
    labels = [[7, 3, 3, 5], [3, 7, 5, 5], [5, 5, 7, 3]]
    ws = make_workspace(tmp_path / "ws", per_image, labels)
    return ws, order


def ranked(hits: list[SearchHit]) -> list[tuple[int, int]]:
    return [(h.image_id, h.region_id) for h in hits]


@pytest.fixture
def clustered(tmp_path):
    """600 regions (6 images × 100) around 12 centres: enough rows to train an index."""
    rng = np.random.default_rng(0)
    centres = unit(rng.normal(size=(12, DIM)))
    per_image = [unit(centres[rng.integers(0, 12, 101)] + 0.3 * rng.normal(size=(101, DIM))) for _ in range(6)]
    return make_workspace(tmp_path / "ws", per_image), rng
