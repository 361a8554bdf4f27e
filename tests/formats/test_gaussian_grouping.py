"""Gaussian Grouping export read back the way its dataset reader and camera loader do: per pixel the covering region's object id."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from semlat.errors import SemlatError
from semlat.formats.export import loader_size
from semlat.formats.gaussian_grouping import GaussianGroupingSettings, export_gaussian_grouping
from semlat.types import Region
from tests.formats.conftest import IMAGES, KEY, covering


def read_objects(objects_folder, image_path):
    """Gaussian Grouping ``scene/dataset_readers.py::readColmapCameras`` (its object lines), then ``loadCam``'s tensor."""
    image_name = os.path.basename(image_path).split(".")[0]
    object_path = os.path.join(objects_folder, image_name + ".png")
    objects = Image.open(object_path) if os.path.exists(object_path) else None
    return None if objects is None else (objects.mode, torch.from_numpy(np.array(objects)))


@pytest.mark.parametrize(("level", "resolution"), [(0, -1), (1, -1), (2, 2)])
def test_every_pixel_holds_the_object_id_of_the_region_over_it(case, tmp_path, level, resolution):
    export_gaussian_grouping(case.ws, tmp_path, GaussianGroupingSettings(level=level, resolution=resolution))
    labels = sorted({label for *_, specs in IMAGES for lvl, label, _ in specs if lvl == level})
    ids = {label: index + 1 for index, label in enumerate(labels)}  # one id per cross-view label, in every view
    for name, width, height, _ in IMAGES:
        mode, objects = read_objects(str(tmp_path / "object_mask"), name)
        w, h = loader_size(width, height, resolution, cap=1600, capped="width")
        assert mode == "L" and objects.dtype == torch.uint8 and tuple(objects.shape) == (h, w)
        for y in range(h):
            for x in range(w):
                row, col = int((y + 0.5) * height / h), int((x + 0.5) * width / w)
                region = covering(case.masks[name], row, col, {level})
                expected = 0 if region is None else ids[case.masks[name][region][1]]
                assert int(objects[y, x]) == expected, (name, y, x)
    manifest = json.loads((tmp_path / "semlat_export_gaussian-grouping.json").read_text())
    assert manifest["objects"] == {str(label): ids[label] for label in labels} and manifest["level"] == level


def test_refusals_write_nothing(case, tmp_path):
    with pytest.raises(SemlatError, match="no regions of level 5 .*has: 0, 1, 2"):
        export_gaussian_grouping(case.ws, tmp_path / "out", GaussianGroupingSettings(level=5))
    record = case.ws.images()[2]
    many = [Region.from_mask(i, np.eye(20, 30, k=i, dtype=bool), label=100 + i, level=0) for i in range(256)]
    case.ws.write_regions(KEY.region_set, record.image_id, many)
    with pytest.raises(SemlatError, match="258 cross-view labels at level 0, more than the 255 .*semlat label --labels 255"):
        export_gaussian_grouping(case.ws, tmp_path / "out", GaussianGroupingSettings(level=0))
    case.ws.write_regions(KEY.region_set, record.image_id, [Region.from_mask(0, np.ones((20, 30), bool), level=3)])
    with pytest.raises(SemlatError, match="have no cross-view labels: run `semlat label"):
        export_gaussian_grouping(case.ws, tmp_path / "out", GaussianGroupingSettings(level=3))
    assert not (tmp_path / "out").exists()
