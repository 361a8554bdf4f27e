"""Feature 3DGS export read back the way its dataset reader does: each pixel holds the fused feature of the regions over it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from semlat.errors import SemlatError
from semlat.formats.feature_3dgs import Feature3DGSSettings, export_feature_3dgs, map_size
from tests.formats.conftest import DIM, IMAGES


def read_semantic_features(semantic_feature_folder, image_paths):
    """Feature 3DGS ``scene/dataset_readers.py::readColmapCameras`` (its feature lines) and the feature dim it takes."""
    features = {}
    for image_path in image_paths:
        image_name = os.path.basename(image_path).split(".")[0]
        semantic_feature_path = os.path.join(semantic_feature_folder, image_name) + "_fmap_CxHxW.pt"
        features[image_name] = torch.load(semantic_feature_path)
    semantic_feature_dim = next(iter(features.values())).shape[0]
    return features, semantic_feature_dim


def fused(masks, vectors, y, x, levels=None, fusion="sum"):
    """The original's fusion at one full-resolution pixel, from the masks themselves."""
    g, regions = vectors[0].astype(np.float64), vectors[1:].astype(np.float64)
    inside = [i for i, (level, _, mask) in enumerate(masks) if mask[y, x] and (levels is None or level in levels)]
    f = g + sum((0.8 * regions[i] for i in inside), np.zeros_like(g)) if fusion == "sum" else None
    if fusion == "region":
        f = sum((0.8 * regions[i] for i in inside), np.zeros_like(g)) if inside else g
    return f / np.linalg.norm(f)


@pytest.mark.parametrize(("fusion", "level", "long_side"), [("sum", None, 480), ("sum", 1, 17), ("region", None, 40)])
def test_every_pixel_holds_the_fused_feature(case, tmp_path, fusion, level, long_side):
    settings = Feature3DGSSettings(fusion=fusion, level=level, long_side=long_side)
    result = export_feature_3dgs(case.ws, tmp_path, settings)
    features, dim = read_semantic_features(str(tmp_path / "rgb_feature_langseg"), [name for name, *_ in IMAGES])
    assert dim == DIM and result.images == 3
    for name, width, height, _ in IMAGES:
        fmap = features[name.split(".")[0]]
        w, h = map_size(width, height, long_side)
        assert fmap.dtype == torch.float16 and tuple(fmap.shape) == (DIM, h, w) and max(w, h) == long_side
        for y in range(0, h, max(1, h // 9)):
            for x in range(0, w, max(1, w // 9)):
                row, col = int((y + 0.5) * height / h), int((x + 0.5) * width / w)
                expected = fused(case.masks[name], case.vectors[name], row, col, None if level is None else {level}, fusion)
                np.testing.assert_allclose(fmap[:, y, x].float().numpy(), expected, atol=2e-3)
    manifest = json.loads((tmp_path / "semlat_export_feature-3dgs.json").read_text())
    assert manifest["channels"] == DIM and manifest["settings"]["fusion"] == fusion


def test_dim_projects_on_the_scene_principal_components(case, tmp_path):
    full = tmp_path / "full"
    export_feature_3dgs(case.ws, full, Feature3DGSSettings(long_side=40))
    export_feature_3dgs(case.ws, tmp_path / "pca", Feature3DGSSettings(long_side=40, dim=3))
    pca = np.load(tmp_path / "pca" / "semlat_feature-3dgs_pca.npz")
    mean, components = pca["mean"], pca["components"]
    assert components.shape == (3, DIM)
    np.testing.assert_allclose(components @ components.T, np.eye(3), atol=1e-9)
    pixels = []
    for name, *_ in IMAGES:
        stem = name.split(".")[0]
        big = torch.load(full / "rgb_feature_langseg" / f"{stem}_fmap_CxHxW.pt").float().numpy()
        small = torch.load(tmp_path / "pca" / "rgb_feature_langseg" / f"{stem}_fmap_CxHxW.pt").float().numpy()
        assert small.shape == (3, *big.shape[1:])
        projected = np.einsum("cd,dhw->chw", components, big - mean[:, None, None])
        np.testing.assert_allclose(small, projected, atol=5e-3)
        pixels.append(big.reshape(DIM, -1).T)
    pixels = np.concatenate(pixels)  # the PCA is that of every exported pixel
    np.testing.assert_allclose(mean, pixels.mean(axis=0), atol=2e-3)
    top = np.linalg.eigh(np.cov(pixels.T, bias=True))[1][:, ::-1][:, :3]
    np.testing.assert_allclose(np.abs(components @ top), np.eye(3), atol=2e-2)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"level": 7}, "no regions of level 7"),
        ({"dim": 99}, "--dim 99"),
        ({"fusion": "max"}, "unknown fusion"),
        ({"long_side": 0}, "--long-side 0"),
        ({"folder": "../x"}, "not a folder name"),
    ],
)
def test_bad_options_write_nothing(case, tmp_path, settings, message):
    with pytest.raises(SemlatError, match=message):
        export_feature_3dgs(case.ws, tmp_path / "out", Feature3DGSSettings(**settings))
    assert not (tmp_path / "out").exists()
