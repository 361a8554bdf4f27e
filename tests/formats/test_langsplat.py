"""LangSplat export read back the way LangSplat reads it: the feature at every pixel is the covering region's."""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import pytest
import torch

from semlat.errors import SemlatError
from semlat.formats.export import loader_size
from semlat.formats.langsplat import LangSplatSettings, export_langsplat
from tests.formats.conftest import IMAGES, covering

# LangSplat's feature_level -> the region levels of that plane (default: every level)
PLANE_LEVELS = {0: None, 1: {2}, 2: {1}, 3: {0}}


def get_language_feature(language_feature_dir, image_name, feature_level, image_height, image_width):
    """LangSplat ``scene/cameras.py::Camera.get_language_feature``, its reading lines as they are (no ``.cuda()``)."""
    language_feature_name = os.path.join(language_feature_dir, image_name)
    seg_map = torch.from_numpy(np.load(language_feature_name + "_s.npy"))
    feature_map = torch.from_numpy(np.load(language_feature_name + "_f.npy"))
    y, x = torch.meshgrid(torch.arange(0, image_height), torch.arange(0, image_width), indexing="ij")
    x = x.reshape(-1, 1)
    y = y.reshape(-1, 1)
    seg = seg_map[:, y, x].squeeze(-1).long()
    mask = seg != -1
    point_feature1 = feature_map[seg[feature_level : feature_level + 1]].squeeze(0)
    mask = mask[feature_level : feature_level + 1].reshape(1, image_height, image_width)
    point_feature = point_feature1.reshape(image_height, image_width, -1).permute(2, 0, 1)
    return point_feature, mask


def autoencoder_dataset(data_dir):
    """LangSplat ``autoencoder/dataset.py::Autoencoder_dataset.__init__``: every ``*f.npy`` concatenated."""
    data_names = glob.glob(os.path.join(data_dir, "*f.npy"))
    data_dic = {}
    for i in range(len(data_names)):
        features = np.load(data_names[i])
        name = data_names[i].split("/")[-1].split(".")[0]
        data_dic[name] = features.shape[0]
        if i == 0:
            data = features
        else:
            data = np.concatenate([data, features], axis=0)  # noqa: F821 (bound on the first pass, as in LangSplat)
    return data, data_dic


def image_name(file_name: str) -> str:
    """LangSplat's ``dataset_readers.py``: ``os.path.basename(image_path).split(".")[0]``."""
    return os.path.basename(file_name).split(".")[0]


@pytest.mark.parametrize("resolution", [-1, 2, 20])
def test_every_pixel_reads_the_feature_of_the_region_over_it(case, tmp_path, resolution):
    result = export_langsplat(case.ws, tmp_path / "scene", LangSplatSettings(resolution=resolution))
    folder = tmp_path / "scene" / "language_features"
    for name, width, height, _ in IMAGES:
        w, h = loader_size(width, height, resolution, cap=1080, capped="height")  # the camera's image size
        features = np.load(folder / f"{image_name(name)}_f.npy")
        seg = np.load(folder / f"{image_name(name)}_s.npy")
        assert features.dtype == np.float32 and seg.dtype == np.float32 and seg.shape == (4, h, w)
        assert len(features) == seg.max() + 1  # preprocess.py's assert
        masks, vectors = case.masks[name], case.vectors[name]
        for level, levels in PLANE_LEVELS.items():
            point_feature, mask = get_language_feature(str(folder), image_name(name), level, h, w)
            assert point_feature.shape == (features.shape[1], h, w) and mask.shape == (1, h, w)
            for y in range(h):
                for x in range(w):
                    row, col = int((y + 0.5) * height / h), int((x + 0.5) * width / w)  # the full-resolution pixel
                    region = covering(masks, row, col, levels)
                    if not masks and level == 0:  # an image without regions: its whole-image feature
                        assert mask[0, y, x] and np.array_equal(point_feature[:, y, x].numpy(), vectors[0])
                        continue
                    assert bool(mask[0, y, x]) == (region is not None), (name, level, y, x)
                    if region is not None:
                        np.testing.assert_array_equal(point_feature[:, y, x].numpy(), vectors[1 + region])
    assert result.images == 3 and result.files[-1] == tmp_path / "scene" / "semlat_export_langsplat.json"


def test_levels_are_offset_and_empty_levels_keep_their_plane(case, tmp_path):
    export_langsplat(case.ws, tmp_path, LangSplatSettings())
    folder = tmp_path / "language_features"
    seg = np.load(folder / "view_01_s.npy")  # regions: one of level 0, one of level 2, none of level 1
    features = np.load(folder / "view_01_f.npy")
    assert len(features) == 2 + 1 + 0 + 1  # default (both), s (level 2), m (none), l (level 0)
    assert set(np.unique(seg[0])) == {0, 1} and set(np.unique(seg[1])) == {-1, 2}
    assert set(np.unique(seg[2])) == {-1} and set(np.unique(seg[3])) == {3}
    np.testing.assert_array_equal(features[2], case.vectors["view_01.png"][2])  # s = the level-2 region
    empty = np.load(folder / "scan_s.npy")  # no region: the whole image is the one default region
    assert (empty[0] == 0).all() and (empty[1:] == -1).all()
    np.testing.assert_array_equal(np.load(folder / "scan_f.npy"), case.vectors["scan.2.jpg"][:1])
    manifest = json.loads((tmp_path / "semlat_export_langsplat.json").read_text())
    assert manifest["levels"]["m"] == {"region_level": 1, "rows": 2} and manifest["features"] == "sam/test-model/raw"
    assert "language_features/scan_f.npy" in manifest["files"] and manifest["images"] == 3


def test_a_region_that_vanishes_at_the_export_size_is_left_out(case, tmp_path):
    export_langsplat(case.ws, tmp_path, LangSplatSettings(resolution=2))
    seg = np.load(tmp_path / "language_features" / "view_00_s.npy")
    features = np.load(tmp_path / "language_features" / "view_00_f.npy")
    assert len(features) == 5 + 1 + 2 + 2  # the single-pixel region is in neither default nor s
    for plane in range(1, 4):  # preprocess.py's per-level assert: each level's rows all appear
        rows = np.unique(seg[plane][seg[plane] >= 0])
        assert len(rows) == 0 or rows.max() - seg[:plane][seg[:plane] >= 0].max() == len(rows)


def test_the_autoencoder_dataset_reads_every_row(case, tmp_path):
    export_langsplat(case.ws, tmp_path, LangSplatSettings())
    data, sizes = autoencoder_dataset(str(tmp_path / "language_features"))
    assert data.shape == (sum(sizes.values()), 8) and set(sizes) == {"view_00_f", "view_01_f", "scan_f"}
    np.testing.assert_allclose(np.linalg.norm(data, axis=1), 1.0, atol=1e-6)


def test_a_non_empty_output_is_refused_unless_overwrite(case, tmp_path):
    export_langsplat(case.ws, tmp_path, LangSplatSettings())
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(SemlatError, match="already holds a langsplat export: pass --overwrite"):
        export_langsplat(case.ws, tmp_path, LangSplatSettings())
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    again = export_langsplat(case.ws, tmp_path, LangSplatSettings(overwrite=True))
    assert len(again.files) == 7


def test_bad_options_write_nothing(case, tmp_path):
    with pytest.raises(SemlatError, match="resolution -3"):
        export_langsplat(case.ws, tmp_path / "out", LangSplatSettings(resolution=-3))
    with pytest.raises(SemlatError, match="no matching embeddings"):
        export_langsplat(case.ws, tmp_path / "out", LangSplatSettings(features="smoothed"))
    assert not (tmp_path / "out").exists()


def test_a_failure_half_way_removes_what_it_wrote(case, tmp_path, monkeypatch):
    from semlat.formats import langsplat

    real, calls = langsplat.image_language_features, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk gone")
        return real(*args, **kwargs)

    monkeypatch.setattr(langsplat, "image_language_features", failing)
    with pytest.raises(RuntimeError):
        export_langsplat(case.ws, tmp_path / "out", LangSplatSettings())
    assert not (tmp_path / "out").exists()
