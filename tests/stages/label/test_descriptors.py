"""Descriptors for labelling: which kind is used, the CLIP rows of regions, whole-image similarity."""

from __future__ import annotations

import numpy as np
import pytest

from semlat.errors import SemlatError
from semlat.stages.label import descriptors
from tests.stages.consistency.conftest import KEY, basis, build_workspace


def test_auto_is_clip_when_embedded_and_clip_needs_features(tmp_path):
    assert descriptors.resolve("auto", KEY, "test") == "clip"
    assert descriptors.resolve("auto", None, "test") == "sam"
    with pytest.raises(SemlatError, match="no CLIP features"):
        descriptors.resolve("clip", None, "test")
    with pytest.raises(SemlatError, match="unknown descriptor"):
        descriptors.resolve("dino", KEY, "test")


def test_clip_descriptors_and_global_similarity(tmp_path):
    ws = build_workspace(tmp_path, [[-1, -1], [-1]], [[basis(0), basis(1)], [basis(2)]])
    records = ws.images()
    assert descriptors.clip_key(ws, "test", None) == KEY and descriptors.clip_key(ws, "other", None) is None
    rows = descriptors.describe(ws, "test", records, "clip", KEY, {})
    np.testing.assert_allclose(rows.astype(np.float32), np.stack([basis(0), basis(1), basis(2)]), atol=1e-3)
    similarity = descriptors.global_similarity(ws, KEY, records)
    np.testing.assert_allclose(similarity, np.ones((2, 2)), atol=1e-6)  # the test workspace's whole images are alike
