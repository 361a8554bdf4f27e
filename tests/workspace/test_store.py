from pathlib import Path

import numpy as np
import pytest

from semlat.errors import SemlatError
from semlat.types import FeatureKey, Region
from semlat.workspace import Workspace, regions_stage


@pytest.fixture
def ws(tmp_path) -> Workspace:
    workspace = Workspace.open_or_create(tmp_path / "ws")
    workspace.add_images([(Path("/photos/a.png"), 6, 4, "aaa"), (Path("/photos/b.png"), 6, 4, "bbb")])
    return workspace


def _square(region_id: int, label: int = 3) -> Region:
    mask = np.zeros((4, 6), bool)
    mask[1:3, region_id : region_id + 2] = True
    return Region.from_mask(region_id, mask, label=label)


def test_open_requires_a_workspace(tmp_path):
    with pytest.raises(SemlatError, match="not a semlat workspace"):
        Workspace.open(tmp_path)


def test_images_are_registered_once_and_changes_refused(ws):
    again = ws.add_images([(Path("/elsewhere/a.png"), 6, 4, "aaa"), (Path("/photos/c.png"), 6, 4, "ccc")])
    assert [r.image_id for r in again] == [0, 2]
    assert [r.file_name for r in ws.images()] == ["a.png", "b.png", "c.png"]
    with pytest.raises(SemlatError, match="differs"):
        ws.add_images([(Path("/photos/b.png"), 6, 4, "changed")])
    assert ws.image("b").image_id == 1
    with pytest.raises(SemlatError, match="no image named"):
        ws.image("zzz.png")


def test_regions_round_trip_and_rewrite_replaces(ws):
    image = ws.images()[0]
    ws.write_regions("set", image.image_id, [_square(0), _square(2, label=5)])
    ws.write_regions("set", image.image_id, [_square(1, label=7)])  # a redo replaces, never appends
    (region,) = ws.regions("set", image)
    assert (region.region_id, region.label, region.area) == (1, 7, 4)
    np.testing.assert_array_equal(region.mask(), _square(1).mask())
    assert ws.done_images(regions_stage("set")) == {image.image_id}


def test_embeddings_round_trip_sorted_and_dimension_fixed(ws):
    image = ws.images()[1]
    key = FeatureKey("set", "m:x")
    vectors = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    ws.write_embeddings(key, image.image_id, [1, -1, 0], vectors)
    ids, stored = ws.embeddings(key, image)
    assert ids.tolist() == [-1, 0, 1]
    np.testing.assert_array_equal(stored, vectors[[1, 2, 0]])
    with pytest.raises(SemlatError, match="5-d"):
        ws.write_embeddings(key, image.image_id, [-1], np.zeros((1, 7), np.float32))
    reopened = Workspace.open(ws.root)
    np.testing.assert_array_equal(reopened.embeddings(key, image)[1], stored)


def test_one_name_one_configuration(ws):
    ws.claim_config("region_sets", "set", {"backend": "classical"}, hint="rename")
    ws.claim_config("region_sets", "set", {"backend": "classical"}, hint="rename")
    with pytest.raises(SemlatError, match="other settings.*rename"):
        ws.claim_config("region_sets", "set", {"backend": "sam"}, hint="rename")
    assert Workspace.open(ws.root).region_sets() == ["set"]


def test_new_workspace_is_written_with_its_first_write(tmp_path):
    root = tmp_path / "new" / "ws"
    ws = Workspace.open_or_create(root)
    assert ws.images() == [] and ws.region_sets() == []
    assert not root.exists()  # opening and reading create nothing
    ws.add_images([(tmp_path / "a.png", 4, 3, "0" * 64)])
    assert (root / "semlat.json").is_file() and Workspace.open(root).images()[0].file_name == "a.png"
