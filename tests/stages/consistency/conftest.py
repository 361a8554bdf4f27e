"""Small hand-built workspaces: real PNG files, stripe-shaped regions with labels, chosen vectors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semlat.files import sha256_file
from semlat.types import WHOLE_IMAGE, FeatureKey, Region
from semlat.workspace import Workspace

HEIGHT, WIDTH = 24, 32
KEY = FeatureKey("test", "toy:hand", "raw")


def unit(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def basis(i: int, dim: int = 6) -> np.ndarray:
    e = np.zeros(dim, np.float32)
    e[i] = 1.0
    return e


def build_workspace(
    root: Path, labels: Sequence[Sequence[int]], vectors: Sequence[Sequence[np.ndarray]] | None, key: FeatureKey = KEY
) -> Workspace:
    """One image per entry of ``labels``; region j of image i is vertical stripe j with label labels[i][j].

    ``vectors[i][j]`` is its feature (whole-image rows get a fixed vector); None writes no features.
    """
    folder = root / "images"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    entries = []
    for i in range(len(labels)):
        path = folder / f"view_{i:02d}.png"
        Image.fromarray(rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)).save(path)
        entries.append((path, WIDTH, HEIGHT, sha256_file(path)))
    ws = Workspace.open_or_create(root / "ws")
    ws.claim_config("region_sets", key.region_set, {"backend": "test"}, hint="")
    records = ws.add_images(entries)
    if vectors is not None:
        ws.claim_config("feature_sets", str(key), {"strategy": "test"}, hint="")
    for record, image_labels, image_vectors in zip(records, labels, vectors or [None] * len(labels)):
        n = len(image_labels)
        regions = []
        for j, label in enumerate(image_labels):
            mask = np.zeros((HEIGHT, WIDTH), bool)
            mask[:, j * WIDTH // n : (j + 1) * WIDTH // n] = True
            regions.append(Region.from_mask(j, mask, label=label))
        ws.write_regions(key.region_set, record.image_id, regions)
        if image_vectors is not None:
            rows = (
                np.stack([unit(np.ones(len(image_vectors[0]))), *map(unit, image_vectors)]) if n else np.zeros((1, 6), np.float32)
            )
            ws.write_embeddings(key, record.image_id, [WHOLE_IMAGE, *range(n)], rows)
    return ws


@pytest.fixture
def make_ws(tmp_path):
    def make(labels, vectors, key: FeatureKey = KEY) -> Workspace:
        return build_workspace(tmp_path, labels, vectors, key)

    return make
